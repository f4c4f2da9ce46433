/**
 * A benchmark of a deployed vLLM server, decided from its plan: a Kubernetes Job that runs
 * `vllm bench serve` from the server's own image against the server's Service, with the
 * plan's workload, and prints the result file as its last log line. Pure functions with no
 * Pulumi import: `llm-fleet bench` writes the Job as YAML, BenchmarkJob creates it.
 */
import { BENCH_METADATA, CALIBRATION_FACTOR_RANGE, InputError, layoutTag, type InputProblem, type Plan } from "../../sizing";
import { NODE_LABELS } from "../aws/node-group-spec";
import { HTTP_ADDON, type ReplicaScaling } from "./autoscaling-spec";
import { IMAGE_PULL_SECONDS, SECRET_KEY, VLLM_PORT, type VllmServerSpec } from "./vllm-spec";

/** Where the result file is written inside the Job's pod (an emptyDir). */
export const RESULT_DIR = "/results";
/** The Hugging Face cache for the tokenizer download (an emptyDir). */
export const TOKENIZER_CACHE = "/cache/hf";
/**
 * vLLM's own `--ready-check-timeout-sec` default (vllm/benchmarks/serve.py): how long the
 * benchmark retries a first request while the server is still starting.
 */
export const READY_CHECK_SECONDS = 600;
/** A day to fetch the log line before Kubernetes deletes the finished Job and its pod's logs. */
export const RESULT_TTL_SECONDS = 86_400;
/**
 * Requests each concurrency slot runs one after another, at least. The first round starts every
 * sequence at once (a burst of prompts, whose TTFT the planner's steady state does not model);
 * the spread lengths (RANDOM_RANGE_RATIO) make later requests finish, and the next start, at
 * different times. Four rounds put the burst in a quarter of the requests, so the median TTFT
 * that calibrate compares sits outside it.
 */
export const ROUNDS_PER_SLOT = 4;
/** Requests at least, so that a run at concurrency 1 still averages over enough of them for a stable mean. */
export const MIN_PROMPTS = 32;
/** `vllm bench serve --random-range-ratio`: prompt and output lengths within +-25 % of the plan's. */
export const RANDOM_RANGE_RATIO = 0.25;
/**
 * The run may take this many times the plan's prediction before the Job is stopped: the largest
 * factor `llm-fleet:calibration` accepts (CALIBRATION_FACTOR_RANGE.max). A server slower than
 * that would give a factor calibrate refuses, so a deadline there loses no usable result.
 */
export const DEADLINE_MARGIN = CALIBRATION_FACTOR_RANGE.max;
/** The tokenizer download from the Hub: a few MB, planned generously. */
export const TOKENIZER_DOWNLOAD_SECONDS = 60;

/** The server a benchmark targets: its namespace, object names and served model name, as vllmServerSpec gives them. */
export interface BenchmarkServer {
  namespace: string;
  names: Pick<VllmServerSpec["names"], "apiService" | "entryService" | "apiKeySecret" | "hfTokenSecret">;
  servedModelName: string;
}

/**
 * The server of a stack deployment: the stack program names its VllmServer `<deployment>-vllm`,
 * in a namespace of the same name, and vllmServerSpec derives the object names from it.
 */
export function stackServer(deployment: string, plan: Pick<Plan, "model">): BenchmarkServer {
  const name = `${deployment}-vllm`;
  return {
    namespace: name,
    names: { apiService: `${name}-api`, entryService: `${name}-entry`, apiKeySecret: `${name}-api-key`, hfTokenSecret: `${name}-hf-token` },
    // vllmServerSpec serves the plan's catalog id (`--served-model-name`).
    servedModelName: plan.model,
  };
}

export interface BenchmarkJobInput {
  /** The stack deployment's name: it names the Job (`<deployment>-bench`) and the result file. */
  deployment: string;
  plan: Pick<
    Plan,
    "model" | "image" | "checkpoint" | "promptTokens" | "outputTokens" | "performance" | "instanceType" | "tensorParallelSize" | "pipelineParallelSize" | "dataParallelSize"
  >;
  server: BenchmarkServer;
  /** Sequences in flight across the deployment: the workload's concurrency the plan was made for. */
  concurrency: number;
  /** The deployment's replica scaling: a scale-to-zero deployment is called through the interceptor. */
  scaling: ReplicaScaling;
  /** The stack sets `llm-fleet:apiKey`: the server then has the API key Secret and requires the key. */
  hasApiKey: boolean;
  /** The stack sets `llm-fleet:hfToken`: the tokenizer of a gated repo needs it. */
  hasHfToken: boolean;
  /** The image the server runs. @default the plan's image */
  image?: string | undefined;
  /** @default max(ROUNDS_PER_SLOT x concurrency, MIN_PROMPTS) */
  numPrompts?: number | undefined;
  /**
   * Where the pod runs: it requests no GPU and does not tolerate the GPU taint, so it stays off
   * the GPU nodes either way. null lets any other node take it (an existing cluster's own nodes).
   * @default the system node group of a cluster llm-fleet creates
   */
  nodeSelector?: Record<string, string> | null | undefined;
}

/** What the Job does, in numbers: the manifest is built from these. */
export interface BenchmarkSpec {
  name: string;
  namespace: string;
  image: string;
  /** The URL `vllm bench serve` calls. */
  baseUrl: string;
  /** The first request waits for a replica to start (scale to zero). */
  heldAtZero: boolean;
  numPrompts: number;
  concurrency: number;
  readyCheckSeconds: number;
  activeDeadlineSeconds: number;
  /** The result file's name in RESULT_DIR, and the command that prints it last. */
  resultFile: string;
  /** Arguments of `vllm bench serve`. */
  args: string[];
  labels: Record<string, string>;
}

/**
 * Replicas that serve a benchmark at `concurrency` sequences: a fixed deployment's count; an
 * autoscaled one's minimum, at least one (the held request brings a scale-to-zero deployment to
 * one). `llm-fleet calibrate --replicas` says otherwise when more served the run.
 */
export function benchmarkReplicas(scaling: ReplicaScaling, _concurrency: number): number {
  if (scaling.mode === "fixed") return scaling.replicas;
  // A replica KEDA adds for the load needs a node, the image and the weights first (minutes, see
  // the cold start), longer than a default run: the run is served by what is up when it starts.
  return Math.max(1, scaling.minReplicas);
}

/** The default number of requests: ROUNDS_PER_SLOT per concurrency slot, at least MIN_PROMPTS. */
export function defaultNumPrompts(concurrency: number): number {
  return Math.max(ROUNDS_PER_SLOT * concurrency, MIN_PROMPTS);
}

/**
 * Seconds the Job may run: the image pull and tokenizer download on a node that has neither,
 * the ready check, and the run itself: rounds of (TTFT + output tokens x TPOT) as the plan
 * predicts them, times DEADLINE_MARGIN.
 */
export function benchmarkDeadlineSeconds(
  performance: Pick<Plan["performance"], "tpotMs" | "ttftMs">,
  outputTokens: number,
  numPrompts: number,
  concurrency: number,
  readyCheckSeconds: number,
): number {
  const rounds = Math.ceil(numPrompts / concurrency);
  const roundSeconds = (performance.ttftMs + outputTokens * performance.tpotMs) / 1000;
  return Math.ceil(IMAGE_PULL_SECONDS + TOKENIZER_DOWNLOAD_SECONDS + readyCheckSeconds + rounds * roundSeconds * DEADLINE_MARGIN);
}

const positiveInteger = (n: number) => Number.isInteger(n) && n >= 1;

export function benchmarkJobProblems(input: BenchmarkJobInput): InputProblem[] {
  const problems: InputProblem[] = [];
  if (!positiveInteger(input.concurrency)) {
    problems.push({ path: "concurrency", message: `${input.concurrency} is not a whole number of sequences of at least 1; give the workload's concurrency` });
  }
  if (input.numPrompts !== undefined && !positiveInteger(input.numPrompts)) {
    problems.push({ path: "numPrompts", message: `${input.numPrompts} is not a whole number of requests of at least 1; give one such as ${defaultNumPrompts(Math.max(1, Math.floor(input.concurrency) || 1))}, or leave it out` });
  }
  return problems;
}

/** The benchmark of a deployment, or the problems with the input. */
export function benchmarkSpec(input: BenchmarkJobInput): { spec: BenchmarkSpec } | { problems: InputProblem[] } {
  const problems = benchmarkJobProblems(input);
  if (problems.length > 0) return { problems };
  const { plan, server, scaling, concurrency } = input;
  const heldAtZero = scaling.mode === "autoscaled" && scaling.scaleToZero;
  // A deployment at zero replicas is entered through the HTTP add-on's interceptor, which holds
  // the request while a replica starts; the API Service has no endpoint until then.
  const baseUrl = heldAtZero
    ? `http://${server.names.entryService}.${server.namespace}.svc.cluster.local:${HTTP_ADDON.interceptorPort}`
    : `http://${server.names.apiService}.${server.namespace}.svc.cluster.local:${VLLM_PORT}`;
  const readyCheckSeconds = heldAtZero && scaling.mode === "autoscaled" && scaling.holdSeconds !== null ? scaling.holdSeconds : READY_CHECK_SECONDS;
  const numPrompts = input.numPrompts ?? defaultNumPrompts(concurrency);
  const resultFile = `${input.deployment}.json`;
  const args = [
    "--backend", "openai",
    "--base-url", baseUrl,
    "--endpoint", "/v1/completions",
    "--model", server.servedModelName,
    // The served name is no Hub repo: the tokenizer comes from the checkpoint the server loads.
    "--tokenizer", plan.checkpoint.repo,
    "--dataset-name", "random",
    "--random-input-len", String(plan.promptTokens),
    "--random-output-len", String(plan.outputTokens),
    // Every request generates its full output length; lengths spread +-25 % around the plan's means
    // (calibrate predicts at the measured means), so requests finish, and the next ones arrive,
    // at different times instead of in synchronized rounds whose prefills queue behind each other.
    "--random-range-ratio", String(RANDOM_RANGE_RATIO),
    "--ignore-eos",
    "--num-prompts", String(numPrompts),
    "--max-concurrency", String(concurrency),
    // All requests are ready at once; --max-concurrency alone sets the load.
    "--request-rate", "inf",
    "--percentile-metrics", "ttft,tpot,itl",
    "--metric-percentiles", "50,95,99",
    "--save-result",
    "--result-dir", RESULT_DIR,
    "--result-filename", resultFile,
    // Saved as keys of the result: llm-fleet calibrate checks the run measured what the stack plans.
    "--metadata", `${BENCH_METADATA.instanceType}=${plan.instanceType}`, `${BENCH_METADATA.layout}=${layoutTag(plan)}`, `${BENCH_METADATA.checkpoint}=${plan.checkpoint.repo}`,
    "--ready-check-timeout-sec", String(readyCheckSeconds),
  ];
  return {
    spec: {
      name: `${input.deployment}-bench`,
      namespace: server.namespace,
      image: input.image ?? plan.image,
      baseUrl,
      heldAtZero,
      numPrompts,
      concurrency,
      readyCheckSeconds,
      activeDeadlineSeconds: benchmarkDeadlineSeconds(plan.performance, plan.outputTokens, numPrompts, concurrency, readyCheckSeconds),
      resultFile,
      args,
      labels: { "app.kubernetes.io/name": "vllm-bench", "app.kubernetes.io/instance": input.deployment, "llm-fleet.dev/model": plan.model },
    },
  };
}

/**
 * The shell line the container runs, with the arguments as "$@": the benchmark, then its result
 * file (one line of JSON, `json.dump` without indent) and a newline, so that the Job's last log
 * line is the result: `kubectl logs job/<name> --tail=1 > result.json`.
 */
export function benchmarkScript(resultFile: string): string {
  return `vllm bench serve "$@" && cat ${RESULT_DIR}/${resultFile} && echo`;
}

/** The batch/v1 Job of a benchmark, as a plain object. Throws InputError on bad input. */
export function benchmarkJobManifest(input: BenchmarkJobInput) {
  const result = benchmarkSpec(input);
  if ("problems" in result) throw new InputError(`benchmark of "${input.deployment}"`, result.problems);
  const spec = result.spec;
  const secretEnv = (name: string, secret: string) => ({ name, valueFrom: { secretKeyRef: { name: secret, key: SECRET_KEY } } });
  const nodeSelector = input.nodeSelector === undefined ? { [NODE_LABELS.nodeGroup]: "system" } : input.nodeSelector;
  return {
    apiVersion: "batch/v1" as const,
    kind: "Job" as const,
    metadata: { name: spec.name, namespace: spec.namespace, labels: spec.labels },
    spec: {
      // A retry would mix a second run's requests into the server's state; one run, one result.
      backoffLimit: 0,
      activeDeadlineSeconds: spec.activeDeadlineSeconds,
      ttlSecondsAfterFinished: RESULT_TTL_SECONDS,
      template: {
        metadata: { labels: spec.labels },
        spec: {
          restartPolicy: "Never",
          // The client needs no Kubernetes API, and Service variables named VLLM_* would reach vLLM's settings.
          automountServiceAccountToken: false,
          enableServiceLinks: false,
          ...(nodeSelector === null ? {} : { nodeSelector }),
          securityContext: { seccompProfile: { type: "RuntimeDefault" } },
          containers: [
            {
              name: "vllm-bench",
              image: spec.image,
              // $0 names the script; the benchmark's arguments follow as "$@".
              command: ["sh", "-c", benchmarkScript(spec.resultFile), "vllm-bench"],
              args: spec.args,
              env: [
                { name: "HF_HOME", value: TOKENIZER_CACHE },
                // Sent as `Authorization: Bearer` by the openai backend.
                ...(input.hasApiKey ? [secretEnv("OPENAI_API_KEY", input.server.names.apiKeySecret)] : []),
                ...(input.hasHfToken ? [secretEnv("HF_TOKEN", input.server.names.hfTokenSecret)] : []),
              ],
              // One Python process on an asyncio loop: it uses one core (the GIL), so one is requested;
              // no CPU limit, since a throttled client would add its own delay to the measured latencies.
              // The default system nodes (m7i.large, 2 vCPU) could not schedule a 2-CPU request.
              resources: { requests: { cpu: "1", memory: "4Gi" }, limits: { memory: "4Gi" } },
              securityContext: { allowPrivilegeEscalation: false, privileged: false, capabilities: { drop: ["ALL"] } },
              volumeMounts: [
                { name: "results", mountPath: RESULT_DIR },
                { name: "cache", mountPath: "/cache" },
              ],
            },
          ],
          volumes: [
            { name: "results", emptyDir: { sizeLimit: "64Mi" } },
            { name: "cache", emptyDir: { sizeLimit: "2Gi" } },
          ],
        },
      },
    },
  };
}

export type BenchmarkJobManifest = ReturnType<typeof benchmarkJobManifest>;
