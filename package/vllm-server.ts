import * as pulumi from "@pulumi/pulumi";
import { COMPONENT_TYPES } from "../components/component-types";
import { deploymentSpec, planSummary, type Workload } from "../components/deployment-spec";
import { checkedVllmServer, vllmServerResources, type VllmServerArgs as TypeScriptArgs } from "../components/k8s/vllm-server";
import { InputError, type CapacityType } from "../sizing";
import { deploymentTargets } from "./references";
import { typeScriptServing, type ClusterAddonsReference, type GpuClusterReference, type Serving, type Toleration } from "./types";

export interface VllmServerArgs extends Serving {
  /** The GpuCluster to deploy onto. */
  cluster: GpuClusterReference;
  /** Catalog model id or hub repo id, e.g. `r1-distill-qwen-7b`. */
  model: string;
  /** EC2 instance type of the nodes the pods get: the server is planned for it. */
  instanceType: string;
  /**
   * What the server must serve.
   * @default { maxModelLen: 32768, concurrency: 1, no latency target, native precision }
   */
  workload?: Workload;
  /**
   * How the nodes are bought, for the plan's prices.
   * @default "on-demand"
   */
  capacityType?: CapacityType;
  /** Node selector of the node group the pods must land on (a GpuNodeGroup's `nodeSelector`). */
  nodeSelector: pulumi.Input<Record<string, string>>;
  /** Tolerations for the node group's taints (a GpuNodeGroup's `tolerations`). */
  tolerations: pulumi.Input<Toleration[]>;
  /**
   * Namespace for every object.
   * @default the component's name
   */
  namespace?: string;
  /**
   * Create the namespace; false when it exists already.
   * @default true
   */
  createNamespace?: boolean;
  /**
   * The add-ons the pods need first (device plugins, the LeaderWorkerSet controller).
   * @default none
   */
  addons?: ClusterAddonsReference;
}

/**
 * vLLM serving a model on nodes that exist (a GpuNodeGroup's, or your own), planned for their
 * instance type: a Deployment when a replica fits one node, a LeaderWorkerSet when it spans
 * nodes; a weights cache, probes sized to the load time, a disruption budget and a Service.
 */
export class VllmServer extends pulumi.ComponentResource {
  /** In-cluster base URL of the OpenAI-compatible API. */
  readonly endpoint: pulumi.Output<string>;
  /** The namespace of the server's objects. */
  readonly namespace: pulumi.Output<string>;
  /** The model name clients send. */
  readonly servedModelName: string;
  /** The plan served, in one line. */
  readonly planSummary: string;

  constructor(name: string, args: VllmServerArgs, opts?: pulumi.ComponentResourceOptions) {
    const typeScriptArgs = vllmServerArgs(name, args);
    const spec = checkedVllmServer(name, typeScriptArgs);
    super(COMPONENT_TYPES.VllmServer, name, {}, opts);
    const parts = vllmServerResources(this, name, typeScriptArgs, spec);
    this.endpoint = parts.endpoint;
    this.namespace = parts.namespace;
    this.servedModelName = parts.servedModelName;
    this.planSummary = planSummary(typeScriptArgs.plan);
    this.registerOutputs({ endpoint: this.endpoint, namespace: this.namespace, servedModelName: this.servedModelName, planSummary: this.planSummary });
  }
}

/** The TypeScript form: the references resolved and the model planned on the instance type; throws every problem. */
function vllmServerArgs(name: string, args: VllmServerArgs): TypeScriptArgs {
  const subject = `VllmServer "${name}"`;
  const { cluster: _cluster, model, instanceType, workload, capacityType, nodeSelector, tolerations, namespace, createNamespace, addons: _addons, ...options } = args;
  const serving = typeScriptServing(options, "");
  const { cluster, addons } = deploymentTargets(subject, args.cluster, args.addons, serving.problems);
  const result = deploymentSpec({
    name,
    model,
    workload,
    placement: { instanceTypes: [instanceType], ...(capacityType ? { capacityType } : {}) },
    region: cluster.region,
    operations: { autoscaling: false },
  });
  if ("problems" in result) throw new InputError(subject, result.problems);
  return {
    ...serving.serving,
    provider: cluster.provider,
    plan: result.spec.plan,
    node: result.spec.node,
    nodeSelector,
    tolerations: tolerations as TypeScriptArgs["tolerations"],
    cluster: { clusterName: cluster.clusterName, region: cluster.region },
    ...(addons ? { addons } : {}),
    ...(namespace !== undefined ? { namespace } : {}),
    ...(createNamespace !== undefined ? { createNamespace } : {}),
    waitFor: cluster.storage,
  };
}
