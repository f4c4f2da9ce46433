/**
 * The models for one layout the caller names (what `llm-fleet estimate` shows): memory per
 * GPU, and latency and throughput at a batch, without planning or pricing.
 */
import { z } from "zod";
import { GPUS, GPU_IDS, INSTANCES, INSTANCE_TYPES, MODELS, PRECISIONS, type InstanceType } from "./catalog";
import { InputError, type InputProblem } from "./errors";
import { memoryBreakdown, type MemoryBreakdown } from "./memory";
import type { PerformanceEstimate } from "./performance";
import { replicaPerformance } from "./planner";
import {
  DEFAULT_MAX_MODEL_LEN,
  ENGINE_FIELDS,
  MAX_NODES_PER_REPLICA,
  count,
  defaultLengths,
  gpuId,
  instanceType,
  modelId,
  oneOf,
} from "./request";
import { architectureRule, kvCacheRule, memoryRule, multiNodeRule, pipelineParallelRule, tensorParallelRule } from "./rules";

/** One layout to estimate. The zod schema is the single source of its types. */
export const EstimateRequestSchema = z
  .object({
    model: modelId,
    gpu: gpuId,
    /** The smallest instance type of the GPU with enough GPUs when omitted. */
    instanceType: instanceType.optional(),
    tensorParallelSize: count("GPUs"),
    /** @default 1 */
    pipelineParallelSize: count("stages").default(1),
    /** Data-parallel attention ranks, MoE models only. @default 1 */
    dataParallelSize: count("ranks").default(1),
    /** The model's native precision when omitted. */
    precision: oneOf("precision", PRECISIONS).optional(),
    /** Sequences in flight on this one replica. @default 1 */
    concurrency: count("sequences").default(1),
    promptTokens: count("tokens").optional(),
    outputTokens: count("tokens").optional(),
    /** @default 32768, or the model's context when shorter */
    maxModelLen: count("tokens").optional(),
    ...ENGINE_FIELDS,
  })
  .strict();

export type EstimateRequestInput = z.input<typeof EstimateRequestSchema>;

/** The request with every default resolved. */
export interface EstimateRequest extends Omit<z.output<typeof EstimateRequestSchema>, "instanceType" | "precision" | "promptTokens" | "outputTokens" | "maxModelLen"> {
  instanceType: InstanceType;
  precision: (typeof PRECISIONS)[number];
  checkpoint: string;
  nodes: number;
  promptTokens: number;
  outputTokens: number;
  maxModelLen: number;
}

export interface LayoutEstimate {
  request: EstimateRequest;
  /** Null when the layout does not fit in memory or cannot run the checkpoint. */
  estimate: PerformanceEstimate | null;
  memory: {
    fits: boolean;
    /** Why it does not fit; null when it does. */
    problem: string | null;
    perGpuMemoryGiB: { weights: number; kvCache: number; activations: number; free: number };
    kvCacheTokens: number;
    maxConcurrentSequences: number;
    breakdown: MemoryBreakdown;
  };
}

export class EstimateInputError extends InputError {
  constructor(problems: readonly InputProblem[]) {
    super("estimate request", problems);
    this.name = "EstimateInputError";
    this.message = problems.map((p) => `${p.path || "request"}: ${p.message}`).join("\n");
  }
}

/** The instance type a layout of `gpus` GPUs runs on when the caller names none. */
function defaultInstance(gpu: (typeof GPU_IDS)[number], gpus: number): InstanceType {
  // Smallest first; of equal size, one sold on demand (p5en before the Capacity-Block-only p5e).
  const onDemand = (t: InstanceType) => (INSTANCES[t].capacityTypes.includes("on-demand") ? 0 : 1);
  const types = INSTANCE_TYPES.filter((t) => INSTANCES[t].gpu === gpu).sort(
    (a, b) => INSTANCES[a].gpuCount - INSTANCES[b].gpuCount || onDemand(a) - onDemand(b),
  );
  // Past one node: the largest node, again one sold on demand where there is one.
  const largest = Math.max(...types.map((t) => INSTANCES[t].gpuCount));
  return types.find((t) => INSTANCES[t].gpuCount >= gpus) ?? types.find((t) => INSTANCES[t].gpuCount === largest)!;
}

/** Parses and resolves the request; every problem at once, each with its path. */
export function parseEstimateRequest(input: unknown): EstimateRequest {
  const parsed = EstimateRequestSchema.safeParse(input);
  if (!parsed.success) {
    throw new EstimateInputError(parsed.error.issues.map((i) => ({ path: i.path.map(String).join("."), message: i.message })));
  }
  const r = parsed.data;
  const model = MODELS[r.model];
  const problems: InputProblem[] = [];
  const gpus = r.tensorParallelSize * r.pipelineParallelSize * r.dataParallelSize;
  const instanceType = r.instanceType ?? defaultInstance(r.gpu, gpus);
  const instance = INSTANCES[instanceType];
  if (instance.gpu !== r.gpu) problems.push({ path: "instanceType", message: `${instanceType} carries ${instance.gpu}, not ${r.gpu}; name an instance type with ${r.gpu} GPUs or leave it out` });
  const perNode = instance.gpuCount;
  const acrossNodes = r.tensorParallelSize > perNode;
  if (acrossNodes ? r.tensorParallelSize % perNode !== 0 : perNode % r.tensorParallelSize !== 0) {
    problems.push({
      path: "tensorParallelSize",
      message:
        `${r.tensorParallelSize} neither divides the ${perNode} GPUs of ${instanceType} nor spans whole nodes of them: ` +
        `give one of ${divisors(perNode).join(", ")} inside a node, or ${[2, 3, 4].map((n) => n * perNode).join(", ")} across nodes`,
    });
  } else {
    const tp = tensorParallelRule(model, r.tensorParallelSize, perNode);
    if (tp) problems.push({ path: "tensorParallelSize", message: tp });
  }
  const pp = pipelineParallelRule(model, r.pipelineParallelSize);
  if (pp) problems.push({ path: "pipelineParallelSize", message: pp });
  if (r.dataParallelSize > 1) {
    if (!model.moe) {
      problems.push({ path: "dataParallelSize", message: `${model.displayName} is dense; data-parallel attention with expert parallelism needs a MoE model (DeepSeek-R1/V3): leave it at 1` });
    } else if (r.pipelineParallelSize > 1 || gpus > perNode) {
      problems.push({ path: "dataParallelSize", message: `data-parallel attention is planned inside one node: TP ${r.tensorParallelSize} x DP ${r.dataParallelSize} must fit the ${perNode} GPUs of ${instanceType} with PP 1` });
    }
  }
  const nodes = gpus <= perNode ? 1 : gpus / perNode;
  if (gpus > perNode && (!Number.isInteger(nodes) || nodes > MAX_NODES_PER_REPLICA)) {
    problems.push({ path: "pipelineParallelSize", message: `TP ${r.tensorParallelSize} x PP ${r.pipelineParallelSize} = ${gpus} GPUs is not 1 to ${MAX_NODES_PER_REPLICA} whole nodes of ${perNode} GPUs (${instanceType})` });
  }
  const precision = r.precision ?? model.nativePrecision;
  const checkpoint = model.checkpoints.find((c) => c.precision === precision);
  if (!checkpoint) {
    problems.push({ path: "precision", message: `${model.displayName} has no ${precision} checkpoint vLLM can load; it has ${[...new Set(model.checkpoints.map((c) => c.precision))].join(", ")}` });
  }
  const maxModelLen = r.maxModelLen ?? Math.min(DEFAULT_MAX_MODEL_LEN, model.maxContextTokens);
  const lengths = {
    ...defaultLengths(model, maxModelLen),
    ...(r.promptTokens ? { promptTokens: r.promptTokens } : {}),
    ...(r.outputTokens ? { outputTokens: r.outputTokens } : {}),
  };
  if (maxModelLen > model.maxContextTokens) {
    problems.push({ path: "maxModelLen", message: `${maxModelLen} exceeds ${model.displayName}'s context of ${model.maxContextTokens} tokens; use at most ${model.maxContextTokens}` });
  }
  if (lengths.promptTokens + lengths.outputTokens > maxModelLen) {
    problems.push({
      path: r.promptTokens !== undefined ? "promptTokens" : r.outputTokens !== undefined ? "outputTokens" : "maxModelLen",
      message: `a request of ${lengths.promptTokens} prompt + ${lengths.outputTokens} output tokens is longer than max_model_len ${maxModelLen}; raise it to at least ${lengths.promptTokens + lengths.outputTokens} or shorten the lengths`,
    });
  }
  if (problems.length > 0) throw new EstimateInputError(problems);
  return { ...r, ...lengths, instanceType, precision, checkpoint: checkpoint!.repo, nodes, maxModelLen };
}

function divisors(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i + 1).filter((d) => n % d === 0);
}

/** Memory and performance of the named layout. Throws EstimateInputError on bad input. */
export function estimateLayout(input: unknown): LayoutEstimate {
  const request = parseEstimateRequest(input);
  const model = MODELS[request.model];
  const checkpoint = model.checkpoints.find((c) => c.repo === request.checkpoint)!;
  const gpu = GPUS[request.gpu];
  const memory = memoryBreakdown({
    model,
    checkpoint,
    gpu,
    tensorParallelSize: request.tensorParallelSize,
    pipelineParallelSize: request.pipelineParallelSize,
    dataParallelSize: request.dataParallelSize,
    maxModelLen: request.maxModelLen,
    gpuMemoryUtilization: request.gpuMemoryUtilization,
    kvCacheDtype: request.kvCacheDtype,
    maxNumBatchedTokens: request.maxNumBatchedTokens,
    enforceEager: request.enforceEager,
  });
  const problem =
    architectureRule(checkpoint, request.gpu, gpu) ??
    multiNodeRule(request.instanceType, INSTANCES[request.instanceType], request.nodes) ??
    memoryRule(memory, request.gpu, request.gpuMemoryUtilization) ??
    kvCacheRule(memory, request.maxModelLen);
  const estimate =
    problem === null
      ? replicaPerformance(
          { model: request.model, promptTokens: request.promptTokens, outputTokens: request.outputTokens },
          checkpoint,
          request.instanceType,
          request.nodes,
          { tp: request.tensorParallelSize, pp: request.pipelineParallelSize, dp: request.dataParallelSize },
          memory,
          request.concurrency,
        )
      : null;
  return {
    request,
    estimate,
    memory: {
      fits: problem === null,
      problem,
      // A layout that does not fit has no KV cache (the breakdown keeps the negative remainder).
      perGpuMemoryGiB: { weights: memory.weightsGiB, kvCache: Math.max(0, memory.kvCacheGiB), activations: memory.activationsGiB, free: memory.freeGiB },
      kvCacheTokens: memory.kvCacheTokens,
      maxConcurrentSequences: memory.maxConcurrentSequences,
      breakdown: memory,
    },
  };
}
