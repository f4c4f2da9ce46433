/**
 * The feasibility rules. Each is a pure function that returns null when the candidate
 * passes, or a one-line reason with the numbers when it does not.
 */
import type { Checkpoint, GpuId, GpuSpec, InstanceSpec, InstanceType, ModelSpec } from "./catalog";
import type { MemoryBreakdown } from "./memory";

export const RULES = [
  "offering",
  "price",
  "architecture",
  "multi-node",
  "tensor-parallel",
  "pipeline-parallel",
  "memory",
  "kv-cache",
  "latency",
  "scale",
] as const;
export type RuleId = (typeof RULES)[number];

/** What each rule checks, for grouped output. */
export const RULE_TITLES: { readonly [id in RuleId]: string } = {
  offering: "not sold in this region or capacity type",
  price: "no price known",
  architecture: "checkpoint has no vLLM kernels for this GPU",
  "multi-node": "multi-node replica needs EFA",
  "tensor-parallel": "tensor-parallel size does not divide the model",
  "pipeline-parallel": "more pipeline stages than layers",
  memory: "weights and activations exceed the GPU memory budget",
  "kv-cache": "KV cache too small for one max_model_len request",
  latency: "misses a latency target even at one sequence per replica",
  scale: "needs more nodes than one deployment plans",
};

/**
 * Nodes one deployment may plan: the most EC2 sells in one Capacity Block
 * (https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/ec2-capacity-blocks.html); past it,
 * quota requests, not sizing, decide.
 */
export const MAX_NODES_PER_DEPLOYMENT = 64;

const gib = (n: number) => `${n.toFixed(1)} GiB`;
const tokens = (n: number) => n.toLocaleString("en-US");

export function architectureRule(checkpoint: Checkpoint, gpuId: GpuId, gpu: GpuSpec): string | null {
  if (checkpoint.architectures.includes(gpu.architecture)) return null;
  return (
    `${checkpoint.repo} (${checkpoint.format}) runs on ${checkpoint.architectures.join("/")}; ` +
    `${gpuId} is ${gpu.architecture} (compute capability ${gpu.computeCapability.toFixed(1)})`
  );
}

/** A replica spanning nodes talks NCCL between them; without EFA that falls back to TCP sockets. */
export function multiNodeRule(instanceType: InstanceType, instance: InstanceSpec, nodesPerReplica: number): string | null {
  if (nodesPerReplica === 1 || instance.efaInterfaces > 0) return null;
  return `a replica over ${nodesPerReplica} nodes needs EFA between them; ${instanceType} has none`;
}

/**
 * vLLM shards attention heads over TP ranks: TP must divide the query heads, and the KV
 * heads must divide evenly over the ranks or be replicated evenly (vllm `config.py`).
 * TP spans part of one node or whole nodes: every node then runs the same share of ranks
 * (vLLM's multi-node launch, `--nnodes` with `--tensor-parallel-size` over all of them).
 */
export function tensorParallelRule(model: ModelSpec, tp: number, gpusPerNode: number): string | null {
  if (tp > gpusPerNode && tp % gpusPerNode !== 0) {
    return `TP ${tp} spans ${(tp / gpusPerNode).toFixed(2)} nodes of ${gpusPerNode} GPUs; across nodes TP takes whole nodes (${gpusPerNode * 2}, ${gpusPerNode * 3}, ...)`;
  }
  if (model.attentionHeads % tp !== 0) {
    return `TP ${tp} does not divide ${model.displayName}'s ${model.attentionHeads} attention heads`;
  }
  if (model.attention.kind === "gqa") {
    const kv = model.kvHeads;
    const even = tp <= kv ? kv % tp === 0 : tp % kv === 0;
    if (!even) return `TP ${tp} cannot split or replicate ${model.displayName}'s ${kv} KV heads evenly`;
  }
  return null;
}

export function pipelineParallelRule(model: ModelSpec, pp: number): string | null {
  if (pp <= model.layers) return null;
  return `PP ${pp} exceeds ${model.displayName}'s ${model.layers} layers`;
}

/** The weights and the profiled activations must fit inside vLLM's share of the GPU. */
export function memoryRule(
  memory: MemoryBreakdown,
  gpuId: GpuId,
  gpuMemoryUtilization: number,
): string | null {
  if (memory.kvCacheGiB > 0) return null;
  return (
    `needs ${gib(memory.weightsGiB)} weights + ${gib(memory.activationsGiB)} activations per GPU; ` +
    `${gpuId} leaves ${gib(memory.budgetGiB)} at utilization ${gpuMemoryUtilization.toFixed(2)}`
  );
}

export function scaleRule(nodes: number, concurrency: number, sequencesPerReplica: number, throughput?: number): string | null {
  if (nodes <= MAX_NODES_PER_DEPLOYMENT) return null;
  const seqs = (n: number) => `${tokens(n)} ${n === 1 ? "sequence" : "sequences"}`;
  const load = throughput === undefined ? `${seqs(concurrency)} in flight` : `${seqs(concurrency)} and ${tokens(throughput)} output tokens/s`;
  return (
    `needs ${tokens(nodes)} nodes for ${load} at ${tokens(sequencesPerReplica)} per replica; ` +
    `a deployment plans at most ${MAX_NODES_PER_DEPLOYMENT} nodes (lower the load, loosen a target or split the deployment)`
  );
}

/** The latency targets one replica must meet, and what it reaches at one sequence. */
export interface LatencyCheck {
  maxTpotMs?: number | undefined;
  maxTtftMs?: number | undefined;
  tpotMs: number;
  ttftMs: number;
}

/** A layout that misses a target with a single sequence per replica cannot meet it with more replicas. */
export function latencyRule(check: LatencyCheck): string | null {
  const misses: string[] = [];
  if (check.maxTpotMs !== undefined && check.tpotMs > check.maxTpotMs) {
    misses.push(`TPOT ${check.tpotMs.toFixed(1)} ms at 1 sequence per replica, target ${check.maxTpotMs} ms`);
  }
  if (check.maxTtftMs !== undefined && check.ttftMs > check.maxTtftMs) {
    misses.push(`TTFT ${Math.round(check.ttftMs)} ms at 1 sequence per replica, target ${check.maxTtftMs} ms`);
  }
  if (misses.length === 0) return null;
  return `${misses.join("; ")}: more replicas cannot help; try a faster GPU, a wider layout or a looser target`;
}

/**
 * vLLM refuses to start unless one request of max_model_len tokens fits in the KV cache
 * (`v1/core/kv_cache_utils.py` `_check_enough_kv_cache_memory`, which names the estimated
 * maximum model length). Each data-parallel rank runs its own engine core and checks its own
 * cache, so the request must fit one rank's.
 */
export function kvCacheRule(memory: MemoryBreakdown, maxModelLen: number): string | null {
  if (memory.kvCacheTokensPerRank >= maxModelLen) return null;
  const where = memory.dataParallelSize > 1 ? ` on each of its ${memory.dataParallelSize} data-parallel ranks` : "";
  return (
    `KV cache of ${gib(memory.kvCacheGiB)} per GPU holds ${tokens(memory.kvCacheTokensPerRank)} tokens${where}; ` +
    `one ${tokens(maxModelLen)}-token request does not fit (largest max_model_len that fits: ${tokens(memory.kvCacheTokensPerRank)})`
  );
}
