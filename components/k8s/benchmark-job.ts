import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { InputError, type Plan } from "../../sizing";
import type { ReplicaScaling } from "./autoscaling-spec";
import { benchmarkJobManifest, benchmarkSpec, type BenchmarkServer, type BenchmarkSpec } from "./benchmark-spec";

export interface BenchmarkJobArgs {
  /** Kubernetes provider of the cluster the server runs on. */
  provider: k8s.Provider;
  /** The stack deployment's name: the Job is `<deployment>-bench`, its result file `<deployment>.json`. */
  deployment: string;
  /** The server's plan: image, checkpoint (the tokenizer), lengths and predicted TPOT and TTFT. */
  plan: Plan;
  /** The server's namespace, object names and served model name, e.g. `stackServer(deployment, plan)` or from VllmServer's spec. */
  server: BenchmarkServer;
  /** Sequences in flight across the deployment: the workload's concurrency. */
  concurrency: number;
  /** The deployment's replica scaling: a scale-to-zero deployment is called through the interceptor. */
  scaling: ReplicaScaling;
  /**
   * The server requires an API key (its Secret exists): the benchmark sends it.
   * @default false
   */
  hasApiKey?: boolean;
  /**
   * The server has a Hugging Face token Secret: the tokenizer download of a gated repo uses it.
   * @default false
   */
  hasHfToken?: boolean;
  /**
   * The image the server runs.
   * @default the plan's image
   */
  image?: string;
  /**
   * Requests of the run.
   * @default max(4 x concurrency, 32)
   */
  numPrompts?: number;
  /**
   * Where the pod runs; null for any node without the GPU taint.
   * @default { "llm-fleet.dev/node-group": "system" }
   */
  nodeSelector?: Record<string, string> | null;
  /**
   * Resources the Job waits for: the server, so that its Service and Secrets exist.
   * @default []
   */
  waitFor?: pulumi.Resource[];
}

/**
 * `vllm bench serve` against a deployed server, as a Kubernetes Job: the plan's workload from
 * the server's own image, the result printed as the Job's last log line for `llm-fleet calibrate`.
 * `pulumi up` does not wait for the run (`pulumi.com/skipAwait`).
 */
export class BenchmarkJob extends pulumi.ComponentResource {
  readonly spec: BenchmarkSpec;
  readonly jobName: pulumi.Output<string>;
  readonly namespace: string;

  constructor(name: string, args: BenchmarkJobArgs, opts?: pulumi.ComponentResourceOptions) {
    const input = {
      deployment: args.deployment,
      plan: args.plan,
      server: args.server,
      concurrency: args.concurrency,
      scaling: args.scaling,
      hasApiKey: args.hasApiKey ?? false,
      hasHfToken: args.hasHfToken ?? false,
      image: args.image,
      numPrompts: args.numPrompts,
      nodeSelector: args.nodeSelector,
    };
    const result = benchmarkSpec(input);
    if ("problems" in result) throw new InputError(`BenchmarkJob "${name}"`, result.problems);
    super("llm-fleet:k8s:BenchmarkJob", name, {}, opts);
    this.spec = result.spec;
    const manifest = benchmarkJobManifest(input);
    const job = new k8s.batch.v1.Job(
      `${name}-job`,
      {
        ...manifest,
        // A benchmark runs for minutes to hours: the provider creates the Job without waiting for it to complete.
        metadata: { ...manifest.metadata, annotations: { "pulumi.com/skipAwait": "true" } },
        // Kept until the stack removes it: deleted by its TTL, a later refresh would create it again
        // and run a full benchmark against the deployment once more.
        spec: { ...manifest.spec, ttlSecondsAfterFinished: undefined },
      },
      { parent: this, provider: args.provider, dependsOn: args.waitFor ?? [] },
    );
    this.jobName = job.metadata.name;
    this.namespace = result.spec.namespace;
    this.registerOutputs({ jobName: this.jobName, namespace: this.namespace });
  }
}
