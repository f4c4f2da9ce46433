/**
 * Per-GPU memory of a vLLM replica, the way vLLM's v1 engine budgets it:
 * it claims `gpu_memory_utilization` x device memory, loads the weights, profiles a
 * forward pass at `max_num_batched_tokens` (activations, non-torch memory, CUDA graphs),
 * and turns what is left into KV-cache blocks.
 * Source: shared/reference/sizing-facts.md "How vLLM budgets GPU memory".
 */
import type { Checkpoint, GpuSpec, ModelSpec } from "./catalog";

export const GIB = 2 ** 30;

/** vLLM's default `gpu_memory_utilization`. */
export const DEFAULT_GPU_MEMORY_UTILIZATION = 0.9;

/** vLLM's KV-cache block size in tokens: capacity is counted in whole blocks. */
export const KV_BLOCK_TOKENS = 16;

/**
 * Activation peak per batched token per unit of hidden size, in bytes: 0.85 GiB measured
 * for the 8B distill (hidden 4096) at 2048 batched tokens on an A10G (awslabs/ai-on-eks),
 * 0.85 x 2^30 / (2048 x 4096) = 108.8. It also lands inside the 4.8-7.4 GiB peaks seen on
 * H100 at 8192 tokens (llm-d-benchmark).
 */
export const ACTIVATION_BYTES_PER_TOKEN_PER_HIDDEN = (0.85 * GIB) / (2048 * 4096);

/** NCCL buffers and CUDA context outside torch's allocator: upper end of 0.1-0.6 GiB (llm-d-benchmark). */
export const NON_TORCH_RESERVE_GIB = 0.6;

/** CUDA-graph capture: about +/-1 GiB on H100 (llm-d-benchmark); the upper end is reserved. */
export const CUDA_GRAPH_RESERVE_GIB = 1.0;

export const KV_CACHE_DTYPES = ["auto", "fp8"] as const;
export type KvCacheDtype = (typeof KV_CACHE_DTYPES)[number];

/**
 * vLLM's scheduler defaults by GPU class (vllm `engine/arg_utils.py`): large batches on
 * devices of at least 70 GiB whose CUDA name does not contain "a100".
 */
export function schedulerDefaults(gpu: GpuSpec): { maxNumSeqs: number; maxNumBatchedTokens: number } {
  const highEnd = gpu.memoryGiB >= 70 && !gpu.cudaDeviceName.toLowerCase().includes("a100");
  return highEnd ? { maxNumSeqs: 1024, maxNumBatchedTokens: 8192 } : { maxNumSeqs: 256, maxNumBatchedTokens: 2048 };
}

/** Bytes vLLM loads: the files, less the MTP module it skips when speculative decoding is off. */
export function loadedWeightBytes(model: ModelSpec, checkpoint: Checkpoint): number {
  const bytes = checkpoint.sizeOnDiskGB * 1e9;
  if (!checkpoint.includesMtpModule || model.mtpParamsB === 0) return bytes;
  return (bytes * model.totalParamsB) / (model.totalParamsB + model.mtpParamsB);
}

/**
 * Parameters of one decoder layer, split into what tensor parallelism shards and what
 * every rank keeps whole. vLLM replicates DeepSeek's fused q_a/kv_a down-projection
 * (`MergedReplicatedLinear`) and the MoE router (`ReplicatedLinear`) in
 * `vllm/model_executor/models/deepseek_v2.py`; GQA K/V projections hold whole heads, so
 * past TP = kvHeads each rank keeps one head's worth.
 */
interface LayerParams {
  /** All parameters of the layer. */
  total: number;
  /** Parameters one rank holds at this TP size. */
  perRank: number;
}

function layerParamsAt(model: ModelSpec, index: number, tp: number, dp: number): LayerParams {
  const h = model.hiddenSize;
  const a = model.attention;
  let sharded: number;
  let replicated: number;
  let total: number;
  switch (a.kind) {
    case "mla": {
      const down = h * (a.qLoraRank + a.kvLoraRank + a.qkRopeHeadDim);
      const up =
        a.qLoraRank * model.attentionHeads * (a.qkNopeHeadDim + a.qkRopeHeadDim) +
        a.kvLoraRank * model.attentionHeads * (a.qkNopeHeadDim + a.vHeadDim) +
        model.attentionHeads * a.vHeadDim * h;
      sharded = up;
      replicated = down;
      total = down + up;
      break;
    }
    case "gqa": {
      const qo = 2 * h * model.attentionHeads * a.headDim;
      const kv = 2 * h * model.kvHeads * a.headDim;
      sharded = qo;
      // K and V per rank: kvHeads / tp heads, at least one.
      replicated = 2 * h * a.headDim * Math.max(1, model.kvHeads / tp) - kv / tp;
      sharded += kv;
      total = qo + kv;
      break;
    }
    default: {
      const unreachable: never = a;
      throw new Error(`unknown attention kind ${JSON.stringify(unreachable)}`);
    }
  }
  const moe = model.moe;
  if (!moe || index < moe.denseLayers) {
    const mlp = 3 * h * model.intermediateSize;
    sharded += mlp;
    total += mlp;
  } else {
    const routed = moe.routedExperts * 3 * h * moe.expertIntermediateSize;
    const shared = moe.sharedExperts * 3 * h * moe.expertIntermediateSize;
    const router = h * moe.routedExperts;
    sharded += shared;
    replicated += router;
    total += routed + shared + router;
    // Expert parallelism spreads the routed experts over every rank of the replica, data-parallel
    // attention ranks included (vLLM docs/serving/data_parallel_deployment.md).
    return { total, perRank: sharded / tp + replicated + routed / (tp * dp) };
  }
  return { total, perRank: sharded / tp + replicated };
}

// The planner asks for the same model and layout thousands of times per plan.
const perRankCache = new WeakMap<ModelSpec, Map<string, readonly number[]>>();

/** Parameters of each decoder layer, to weigh pipeline stages by their layers. */
export function layerParams(model: ModelSpec): readonly number[] {
  return Array.from({ length: model.layers }, (_, i) => layerParamsAt(model, i, 1, 1).total);
}

/** Parameters one rank holds of each decoder layer, at TP `tp` and `dp` data-parallel attention ranks. */
export function layerParamsPerRank(model: ModelSpec, tp: number, dp = 1): readonly number[] {
  let byLayout = perRankCache.get(model);
  if (!byLayout) perRankCache.set(model, (byLayout = new Map()));
  const key = `${tp}x${dp}`;
  let perRank = byLayout.get(key);
  if (!perRank) {
    byLayout.set(key, (perRank = Array.from({ length: model.layers }, (_, i) => layerParamsAt(model, i, tp, dp).perRank)));
  }
  return perRank;
}

/**
 * Bytes per decoder-layer parameter of a checkpoint: its loaded bytes less the 16-bit
 * embeddings and LM head, over the layers' parameters (quantization scales included).
 */
export function layerBytesPerParam(model: ModelSpec, checkpoint: Checkpoint): number {
  const embeddingBytes = model.vocabSize * model.hiddenSize * 2;
  const headBytes = model.tieWordEmbeddings ? 0 : embeddingBytes;
  const layerBytes = loadedWeightBytes(model, checkpoint) - embeddingBytes - headBytes;
  return layerBytes / layerParamsPerRank(model, 1).reduce((sum, p) => sum + p, 0);
}

/**
 * Layers per pipeline stage as vLLM assigns them (`get_pp_indices`): an even split,
 * the remainder going to the stages just before the last one, which holds the LM head.
 */
export function pipelineStageLayers(layers: number, pp: number): number[] {
  const stages = Array.from({ length: pp }, () => Math.floor(layers / pp));
  const remaining = layers % pp;
  for (let i = 2; i < remaining + 2; i++) stages[pp - i]! += 1;
  return stages;
}

/** Bytes per cached value: `auto` keeps the models' 16-bit activation dtype. */
export function kvCacheDtypeBytes(dtype: KvCacheDtype): number {
  switch (dtype) {
    case "auto":
      return 2;
    case "fp8":
      return 1;
    default: {
      const unreachable: never = dtype;
      throw new Error(`unknown KV-cache dtype ${String(unreachable)}`);
    }
  }
}

/** KV-cache bytes one token occupies in one layer on one GPU. */
export function kvBytesPerTokenPerLayer(model: ModelSpec, tp: number, kvCacheDtype: KvCacheDtype): number {
  const bytes = kvCacheDtypeBytes(kvCacheDtype);
  const a = model.attention;
  switch (a.kind) {
    case "mla":
      // One compressed latent plus the rope key per token, replicated on every TP rank.
      return (a.kvLoraRank + a.qkRopeHeadDim) * bytes;
    case "gqa": {
      // K and V heads split across TP ranks; past TP = kvHeads each rank keeps one replica.
      const headsPerRank = Math.max(1, model.kvHeads / tp);
      return 2 * headsPerRank * a.headDim * bytes;
    }
    default: {
      const unreachable: never = a;
      throw new Error(`unknown attention kind ${JSON.stringify(unreachable)}`);
    }
  }
}

export interface MemoryInput {
  model: ModelSpec;
  checkpoint: Checkpoint;
  gpu: GpuSpec;
  tensorParallelSize: number;
  pipelineParallelSize: number;
  /** Data-parallel attention ranks (`--data-parallel-size`), each with its own sequences. @default 1 */
  dataParallelSize?: number;
  maxModelLen: number;
  gpuMemoryUtilization: number;
  kvCacheDtype: KvCacheDtype;
  /** vLLM's `--max-num-batched-tokens`; the GPU class's default when omitted. */
  maxNumBatchedTokens?: number;
}

/** Per-GPU memory of the pipeline stage that limits the replica, in GiB. */
export interface MemoryBreakdown {
  /** What vLLM claims: utilization x device memory. */
  budgetGiB: number;
  weightsGiB: number;
  /** Activation peak plus non-torch and CUDA-graph reserves. */
  activationsGiB: number;
  reserves: { activationPeakGiB: number; nonTorchGiB: number; cudaGraphsGiB: number };
  /** KV-cache memory; negative when the weights and activations do not fit the budget. */
  kvCacheGiB: number;
  /** Device memory outside vLLM's claim. */
  freeGiB: number;
  /** Tokens of KV cache the replica holds (the least of its stages, whole blocks; every data-parallel rank's together). */
  kvCacheTokens: number;
  /** Tokens of KV cache one data-parallel rank holds: what one request must fit in. */
  kvCacheTokensPerRank: number;
  kvBytesPerTokenPerGpu: number;
  /** Full-length sequences that fit at once: per rank kvCacheTokens / maxModelLen, capped at max_num_seqs, times the ranks. */
  maxConcurrentSequences: number;
  maxNumSeqs: number;
  maxNumBatchedTokens: number;
  /** Pipeline stage whose numbers are shown (0-based). */
  stage: number;
}

export function memoryBreakdown(input: MemoryInput): MemoryBreakdown {
  const { model, checkpoint, gpu, maxModelLen } = input;
  const tp = input.tensorParallelSize;
  const pp = input.pipelineParallelSize;
  const defaults = schedulerDefaults(gpu);
  const maxNumSeqs = defaults.maxNumSeqs;
  const maxNumBatchedTokens = input.maxNumBatchedTokens ?? defaults.maxNumBatchedTokens;

  const budgetGiB = gpu.memoryGiB * input.gpuMemoryUtilization;
  const activationPeakGiB = (maxNumBatchedTokens * model.hiddenSize * ACTIVATION_BYTES_PER_TOKEN_PER_HIDDEN) / GIB;
  const reserves = { activationPeakGiB, nonTorchGiB: NON_TORCH_RESERVE_GIB, cudaGraphsGiB: CUDA_GRAPH_RESERVE_GIB };
  const activationsGiB = activationPeakGiB + NON_TORCH_RESERVE_GIB + CUDA_GRAPH_RESERVE_GIB;

  const dp = input.dataParallelSize ?? 1;
  // Embeddings and the LM head stay 16-bit in every checkpoint format; they are vocab-parallel across TP.
  const embeddingBytes = model.vocabSize * model.hiddenSize * 2;
  const headBytes = model.tieWordEmbeddings ? 0 : embeddingBytes;
  // The checkpoint's bytes per layer parameter, applied to what one rank holds of each layer.
  const bytesPerParam = layerBytesPerParam(model, checkpoint);
  const perRank = layerParamsPerRank(model, tp, dp);
  const perLayer = kvBytesPerTokenPerLayer(model, tp, input.kvCacheDtype);

  const stageLayers = pipelineStageLayers(model.layers, pp);
  let first = 0;
  let limiting: { stage: number; weightsGiB: number; kvCacheGiB: number; tokens: number; kvBytesPerTokenPerGpu: number } | undefined;
  stageLayers.forEach((count, stage) => {
    const stageParamsPerRank = perRank.slice(first, first + count).reduce((sum, p) => sum + p, 0);
    first += count;
    let stageBytes = stageParamsPerRank * bytesPerParam;
    if (stage === 0) stageBytes += embeddingBytes / tp;
    if (stage === pp - 1) stageBytes += headBytes / tp;
    const weightsGiB = stageBytes / GIB;
    const kvCacheGiB = budgetGiB - weightsGiB - activationsGiB;
    const kvBytesPerTokenPerGpu = perLayer * count;
    const blocks = kvCacheGiB > 0 ? Math.floor((kvCacheGiB * GIB) / (kvBytesPerTokenPerGpu * KV_BLOCK_TOKENS)) : 0;
    const tokens = blocks * KV_BLOCK_TOKENS;
    if (!limiting || tokens < limiting.tokens || (tokens === limiting.tokens && kvCacheGiB < limiting.kvCacheGiB)) {
      limiting = { stage, weightsGiB, kvCacheGiB, tokens, kvBytesPerTokenPerGpu };
    }
  });
  const worst = limiting!;
  return {
    budgetGiB,
    weightsGiB: worst.weightsGiB,
    activationsGiB,
    reserves,
    kvCacheGiB: worst.kvCacheGiB,
    freeGiB: gpu.memoryGiB - budgetGiB,
    kvCacheTokens: worst.tokens * dp,
    kvCacheTokensPerRank: worst.tokens,
    kvBytesPerTokenPerGpu: worst.kvBytesPerTokenPerGpu,
    maxConcurrentSequences: Math.min(Math.floor(worst.tokens / maxModelLen), maxNumSeqs) * dp,
    maxNumSeqs,
    maxNumBatchedTokens,
    stage: worst.stage,
  };
}
