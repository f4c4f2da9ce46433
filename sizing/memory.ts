/**
 * Per-GPU memory of a vLLM replica, the way vLLM's v1 engine budgets it
 * (vllm `v1/worker/gpu_worker.py` `determine_available_memory`, `utils/mem_utils.py`):
 * it claims `gpu_memory_utilization` x device memory, loads the weights, runs one profiling
 * forward pass of `max_num_batched_tokens` tokens and a sampler pass over `max_num_seqs`
 * sequences (the activation peak), counts what NCCL and the CUDA libraries took meanwhile
 * (non-torch memory), estimates the CUDA graphs it will capture, and turns what is left into
 * KV-cache blocks. Source: shared/reference/sizing-facts.md "How vLLM budgets GPU memory";
 * the rows of shared/reference/vllm-startup-logs.md are reproduced in test/sizing/startup-logs.test.ts.
 */
import type { Checkpoint, GpuSpec, ModelSpec } from "./catalog";

export const GIB = 2 ** 30;

/** vLLM's default `gpu_memory_utilization`. */
export const DEFAULT_GPU_MEMORY_UTILIZATION = 0.9;

/** vLLM's default KV-cache block size in tokens (`CacheConfig.DEFAULT_BLOCK_SIZE`); some attention backends ask for larger blocks (attentionBackend). */
export const KV_BLOCK_TOKENS = 16;

/** Bytes of one activation value: the models run in BF16. */
export const ACTIVATION_BYTES = 2;

/**
 * What changed between vLLM generations in how memory is profiled; the pinned release is
 * `v1`. `v1-2025` (the V1 releases of 2025, 0.8 to 0.11) and `v0` (vLLM <= 0.8 with
 * `VLLM_USE_V1=0`) are kept to check the model on the published logs of those releases.
 */
export interface EngineMemoryBehaviour {
  /**
   * Bytes per sequence per vocabulary entry the profiling sampler pass holds at its peak.
   * v1: bf16 logits (2), their fp32 copy (4), softmax probabilities (4), the exponential noise
   * (4) and probs / noise (4) = 18 (vllm `v1/sample/sampler.py`, `ops/topk_topp_sampler.py`;
   * top-k/top-p without a sort since vllm#33538, FlashInfer sampling since vllm#40376); a
   * DeepSeek-R1 log of vLLM 0.18 (`held-out` rows of test/sizing/startup-logs.test.ts) agrees.
   * v0: the top-k/top-p sort adds fp32 values (4) and int64 indices (8) = 30
   * (`model_executor/layers/sampler.py` `_apply_top_k_top_p`). v1-2025 sorted too, and its two
   * logs measure 38.5: the 4.76 and 4.84 GiB peaks of Llama-3.1-8B and Llama-3.3-70B at TP 2
   * (llm-d-benchmark), less their hidden states, over the same 1024 x 128,256 logits.
   */
  samplerBytesPerSeqVocab: number;
  /**
   * Tokens the fused-MoE kernels take at once: their workspace is sized for this many. v1 has no
   * chunking (vllm#34086) and keeps one persistent workspace (`v1/worker/workspace.py`); v0
   * chunked at `VLLM_FUSED_MOE_CHUNK_SIZE` = 32768 and allocated per call.
   */
  moeChunkTokens: number;
  /** The MoE workspace stays allocated after the pass (v1's workspace manager), so it adds to every later peak. */
  persistentMoeWorkspace: boolean;
  /** CUDA-graph memory is estimated and subtracted before the KV cache is sized (`VLLM_MEMORY_PROFILER_ESTIMATE_CUDAGRAPHS`, default since vLLM 0.21, vllm#38284). */
  cudaGraphsInBudget: boolean;
  /**
   * GiB of NCCL buffers inside the budget per doubling of the replica's ranks. v1 takes its
   * memory snapshot after NCCL's init (vllm#25359): only what NCCL allocates lazily at the first
   * collectives counts, 0.42 GiB from TP 1 to TP 2 on H100 (0.13 -> 0.55 GiB non-torch,
   * llm-d-benchmark). v0 counted NCCL's init too: 1.79 GiB from TP 1 to TP 2 on H100
   * (1.79 -> 3.58 GiB, vllm#10511).
   */
  ncclGiBPerRankDoubling: number;
  /** MLA cache entries padded to this many bytes (v0's `align_to_256bytes`, removed by vllm#14842); 1 for none. */
  mlaEntryAlignBytes: number;
  /**
   * MLA weights kept beside the checkpoint's, per layer per rank, in parameters and bytes each.
   * v1 de-quantizes `kv_b_proj` once into a BF16 copy that W_UK and W_UV view
   * (`layers/attention/mla_attention.py` `process_weights_after_loading`); v0 stored the
   * absorbed W_Q_UK and W_UV_O products at the checkpoint's precision
   * (`VLLM_MLA_PERFORM_MATRIX_ABSORPTION`, on by default in vLLM 0.7): 4.0 GiB per GPU for R1 at
   * TP 8, where V0 logs print about 84 GiB of weights and V1 logs 79.7.
   */
  mlaExtraWeights: "kv-b-bf16-copy" | "absorbed-products";
}

export const ENGINES = ["v1", "v1-2025", "v0"] as const;
export type Engine = (typeof ENGINES)[number];

export const ENGINE_MEMORY: { readonly [engine in Engine]: EngineMemoryBehaviour } = {
  v1: {
    samplerBytesPerSeqVocab: 18,
    moeChunkTokens: Infinity,
    persistentMoeWorkspace: true,
    cudaGraphsInBudget: true,
    ncclGiBPerRankDoubling: 0.55 - 0.13,
    mlaEntryAlignBytes: 1,
    mlaExtraWeights: "kv-b-bf16-copy",
  },
  "v1-2025": {
    samplerBytesPerSeqVocab: 38.5,
    moeChunkTokens: 32768,
    persistentMoeWorkspace: false,
    cudaGraphsInBudget: false,
    ncclGiBPerRankDoubling: 0.55 - 0.13,
    mlaEntryAlignBytes: 1,
    mlaExtraWeights: "kv-b-bf16-copy",
  },
  v0: {
    samplerBytesPerSeqVocab: 30,
    moeChunkTokens: 32768,
    persistentMoeWorkspace: false,
    cudaGraphsInBudget: false,
    ncclGiBPerRankDoubling: 3.58 - 1.79,
    mlaEntryAlignBytes: 256,
    mlaExtraWeights: "absorbed-products",
  },
};

/**
 * Non-torch memory the first forward pass adds on one GPU with no peers: cuBLAS and kernel
 * workspaces (0.13 GiB for Llama-3.1-8B at TP 1 on H100, llm-d-benchmark
 * `config_explorer/empirical-vllm-memory-results.md`).
 */
export const NON_TORCH_BASE_GIB = 0.13;

/**
 * Hidden-state-sized buffers one captured CUDA graph keeps at the largest capture size (its
 * input, residual and output): a count fitted to one log, not derived. 2 modes x 51 sizes x 3
 * x 512 x 7168 x 2 B = 2.09 GiB for DeepSeek-R1, where vLLM logged "Graph capturing ... took
 * 2.27 GiB" at TP 8 on H200 (vLLM 0.18, ashishkamra/vllm-memory-estimator
 * `test_data/validation_db.json`); 12 MiB per graph for an 8B model, within the 6-28 MiB
 * vllm#22897's logs show.
 */
export const CUDA_GRAPH_HIDDEN_COPIES = 3;

/** CUDA-graph modes vLLM captures by default: FULL for uniform decode and PIECEWISE for mixed batches (vllm#25444). */
export const CUDA_GRAPH_MODES = 2;

/** Tokens of context the MLA profiling pass up-projects at most (`determine_chunked_prefill_workspace_size`). */
const MLA_WORKSPACE_MAX_TOKENS = 64 * 1024;

export const KvCacheDtype = {
  /** The model's 16-bit dtype. */
  Auto: "auto",
  /** Half the cache; FP8 GPUs only. */
  Fp8: "fp8",
} as const;
export type KvCacheDtype = (typeof KvCacheDtype)[keyof typeof KvCacheDtype];
export const KV_CACHE_DTYPES: readonly KvCacheDtype[] = Object.values(KvCacheDtype);

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

/** The attention backend vLLM picks for a cache, and the block size it asks for. */
export interface AttentionBackend {
  name: string;
  /** Tokens per KV-cache block: the backend's preferred size from vLLM's default of 16 (`get_preferred_block_size`). */
  blockTokens: number;
}

/**
 * The attention backend vLLM picks for a model's cache on a GPU, and so whether the cache can be
 * FP8 (each backend's `supported_kv_cache_dtypes` and the CUDA platform's priorities, vllm
 * `platforms/cuda.py`, `v1/attention/backends/`). Every catalog GPU has one that takes an FP8
 * cache: FlashAttention 3 on Hopper, FlashInfer (compute capability 7.5-12.1) elsewhere for GQA,
 * since FlashAttention 2 has no FP8 cache; for MLA FlashMLA on Hopper (64-token blocks),
 * FlashInfer MLA on B200/B300 (32), Triton MLA on Ampere, Ada and the RTX PRO. On Ampere an FP8
 * cache halves memory but is de-quantized for the math (no FP8 tensor cores). The block sizes
 * agree with published R1 logs: 653,808 tokens on H200 (a multiple of 16, not 64) and
 * 1,219,424 on B200 (of 32, not 64 or 128; ashishkamra/vllm-memory-estimator).
 */
export function attentionBackend(model: ModelSpec, gpu: GpuSpec, kvCacheDtype: KvCacheDtype): AttentionBackend {
  const cc = gpu.computeCapability;
  const hopper = cc >= 9 && cc < 10;
  const datacenterBlackwell = cc >= 10 && cc < 12;
  switch (model.attention.kind) {
    case "gqa":
      if (hopper) return { name: "FlashAttention 3", blockTokens: KV_BLOCK_TOKENS };
      return { name: kvCacheDtype === "fp8" ? "FlashInfer" : "FlashAttention 2", blockTokens: KV_BLOCK_TOKENS };
    case "mla":
      if (hopper) return kvCacheDtype === "fp8" ? { name: "FlashMLA", blockTokens: 64 } : { name: "FlashAttention MLA", blockTokens: KV_BLOCK_TOKENS };
      return datacenterBlackwell ? { name: "FlashInfer MLA", blockTokens: 32 } : { name: "Triton MLA", blockTokens: KV_BLOCK_TOKENS };
    default: {
      const unreachable: never = model.attention;
      throw new Error(`unknown attention kind ${JSON.stringify(unreachable)}`);
    }
  }
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
export function kvBytesPerTokenPerLayer(model: ModelSpec, tp: number, kvCacheDtype: KvCacheDtype, engine: Engine = "v1"): number {
  const bytes = kvCacheDtypeBytes(kvCacheDtype);
  const a = model.attention;
  switch (a.kind) {
    case "mla": {
      // One compressed latent plus the rope key per token, replicated on every TP rank
      // (vllm `v1/kv_cache_interface.py` `MLAAttentionSpec`: 576 values, no padding in v1).
      const align = ENGINE_MEMORY[engine].mlaEntryAlignBytes;
      return Math.ceil(((a.kvLoraRank + a.qkRopeHeadDim) * bytes) / align) * align;
    }
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

/**
 * Bytes one rank keeps per MLA layer beside the checkpoint's tensors (see
 * EngineMemoryBehaviour.mlaExtraWeights): v1's BF16 copy of `kv_b_proj` when the checkpoint
 * stores it quantized (kv_lora_rank x heads/TP x (qk_nope + v_head) x 2 B, 4 MiB per layer at
 * TP 8 for DeepSeek-V3), v0's absorbed q_b x W_UK and W_UV x o_proj products.
 */
export function mlaExtraWeightBytesPerLayer(model: ModelSpec, checkpoint: Checkpoint, tp: number, engine: Engine): number {
  const a = model.attention;
  if (a.kind !== "mla") return 0;
  const heads = model.attentionHeads / tp;
  switch (ENGINE_MEMORY[engine].mlaExtraWeights) {
    case "kv-b-bf16-copy":
      return checkpoint.precision === "bf16" ? 0 : a.kvLoraRank * heads * (a.qkNopeHeadDim + a.vHeadDim) * ACTIVATION_BYTES;
    case "absorbed-products":
      return (a.qLoraRank * heads * a.kvLoraRank + heads * a.kvLoraRank * model.hiddenSize) * (checkpoint.weightBits / 8);
    default: {
      const unreachable: never = ENGINE_MEMORY[engine].mlaExtraWeights;
      throw new Error(`unknown MLA weight handling ${String(unreachable)}`);
    }
  }
}

/** What the profiling pass sizes the activation peak by. */
export interface ProfileShape {
  model: ModelSpec;
  tensorParallelSize: number;
  /** Data-parallel attention ranks: the MoE layers see all their tokens. */
  dataParallelSize: number;
  maxNumBatchedTokens: number;
  maxNumSeqs: number;
  maxModelLen: number;
  /** Tokens per KV-cache block (the MLA workspace is at least max_num_seqs blocks). @default 16 */
  blockTokens?: number;
  /** Only the last pipeline stage samples. */
  lastStage: boolean;
  engine: Engine;
}

/** The activation peak of the profiling pass on one GPU, in bytes, by where it comes from. */
export interface ActivationPeak {
  /** The largest layer's transient tensors in the forward pass. */
  forwardBytes: number;
  /** The sampler pass over max_num_seqs sequences, with the pass's hidden states still held; 0 on stages before the last. */
  samplerBytes: number;
  /** v1's persistent fused-MoE workspace, held through the sampler pass. */
  moeWorkspaceBytes: number;
  /** persistent + the larger of forward and sampler. */
  peakBytes: number;
}

/**
 * The profiling pass (vllm `v1/worker/gpu_model_runner.py` `profile_run`): one forward of
 * T = max_num_batched_tokens tokens, activations freed layer by layer, so the largest layer
 * sets the peak; then, on the last stage, the sampler over S = min(T, max_num_seqs) rows of
 * logits. Per layer, with b = 2 bytes and h the hidden size, on one rank:
 * - dense MLP: hidden, residual and output b T 3h, gate/up and its activation b T 3i/TP;
 * - GQA attention: b T 3h plus q and the output b T 2H d/TP, k and v b T 2 max(1, H_kv/TP) d;
 * - MLA attention: b T (3h + q_lora + kv_lora + rope + H/TP (qk_nope + rope + v)) plus the
 *   stand-in for the context up-projection, b W H/TP (qk_nope + v) with W = the chunked-prefill
 *   workspace, at most 64K tokens (`mla_attention.py`, `determine_chunked_prefill_workspace_size`);
 * - MoE: hidden, residual and output b T 3h, the shared expert b T 3i_s/TP, and the fused-MoE workspace
 *   b M topk (max(N/2, K) + max(N, K)) with N = 2 i_e / TP, K = h and M the tokens the rank's
 *   experts see: T, or DP x T when data-parallel attention ranks gather their tokens for the
 *   experts (`fused_moe/modular_kernel.py` `workspace_shapes`; `all2all_backend`
 *   allgather_reducescatter); the router logits, top-k ids and weights and the FP8 input add M (4E + 8 topk + K).
 * Attention kernels do not run in the pass (no attention metadata), so their workspaces are not
 * in it. Sources: vllm `model_executor/models/llama.py`, `deepseek_v2.py`.
 */
export function activationPeak(shape: ProfileShape): ActivationPeak {
  const { model, engine } = shape;
  const b = ACTIVATION_BYTES;
  const behaviour = ENGINE_MEMORY[engine];
  const tp = shape.tensorParallelSize;
  const T = shape.maxNumBatchedTokens;
  const h = model.hiddenSize;
  const a = model.attention;
  let attention: number;
  switch (a.kind) {
    case "gqa":
      // q and the output split by head; K and V too, up to one replicated head per rank.
      attention = b * T * (3 * h + ((2 * model.attentionHeads) / tp + 2 * Math.max(1, model.kvHeads / tp)) * a.headDim);
      break;
    case "mla": {
      const heads = model.attentionHeads / tp;
      const block = shape.blockTokens ?? KV_BLOCK_TOKENS;
      const workspaceTokens = Math.max(
        Math.min(Math.max(8 * shape.maxModelLen, 4 * shape.maxNumSeqs * block), MLA_WORKSPACE_MAX_TOKENS),
        shape.maxNumSeqs * block,
      );
      attention =
        b * T * (3 * h + a.qLoraRank + a.kvLoraRank + a.qkRopeHeadDim + heads * (a.qkNopeHeadDim + a.qkRopeHeadDim + a.vHeadDim)) +
        b * workspaceTokens * heads * (a.qkNopeHeadDim + a.vHeadDim);
      break;
    }
    default: {
      const unreachable: never = a;
      throw new Error(`unknown attention kind ${JSON.stringify(unreachable)}`);
    }
  }
  const moe = model.moe;
  const denseMlp = moe && moe.denseLayers === 0 ? 0 : b * T * (3 * h + (3 * model.intermediateSize) / tp);
  let moeWorkspace = 0;
  let moeLayer = 0;
  if (moe) {
    const m = Math.min(T * shape.dataParallelSize, behaviour.moeChunkTokens);
    const n = (2 * moe.expertIntermediateSize) / tp;
    moeWorkspace = b * m * moe.expertsPerToken * (Math.max(n / 2, h) + Math.max(n, h));
    // Router logits (fp32), top-k ids (int32) and weights (fp32), and the FP8-quantized input.
    const routing = m * (4 * moe.routedExperts + 8 * moe.expertsPerToken + h);
    const shared = (b * T * 3 * moe.sharedExperts * moe.expertIntermediateSize) / tp;
    moeLayer = b * T * 3 * h + shared + routing + (behaviour.persistentMoeWorkspace ? 0 : moeWorkspace);
  }
  const forwardBytes = Math.max(attention, denseMlp, moeLayer);
  const samplerBytes = shape.lastStage
    ? b * T * h + Math.min(T, shape.maxNumSeqs) * model.vocabSize * behaviour.samplerBytesPerSeqVocab
    : 0;
  const moeWorkspaceBytes = behaviour.persistentMoeWorkspace ? moeWorkspace : 0;
  return { forwardBytes, samplerBytes, moeWorkspaceBytes, peakBytes: moeWorkspaceBytes + Math.max(forwardBytes, samplerBytes) };
}

/**
 * Non-torch memory inside vLLM's budget on one GPU: the CUDA libraries' workspaces
 * (NON_TORCH_BASE_GIB) and NCCL's buffers, which grow with each doubling of the ranks the
 * replica's communicators join (TP, PP and DP groups together). The CUDA context, NCCL's own
 * init and the custom all-reduce buffers (2 x 8 MiB + 8 MiB per rank inside a node,
 * `custom_all_reduce.py`; off when TP spans nodes) are allocated before v1's memory snapshot
 * (vllm#25359), so they come out of the headroom above the budget, not out of the KV cache.
 */
export function nonTorchGiB(ranks: number, engine: Engine): number {
  return NON_TORCH_BASE_GIB + ENGINE_MEMORY[engine].ncclGiBPerRankDoubling * Math.log2(ranks);
}

/**
 * CUDA-graph sizes vLLM captures (`VllmConfig._set_cudagraph_sizes`): up to
 * min(2 x max_num_seqs, 512, max_num_batched_tokens) tokens, as 1, 2, 4, then steps of 8 to
 * 255 and of 16 from 256: 51 sizes at the defaults.
 */
export function cudaGraphCaptureSizes(maxNumSeqs: number, maxNumBatchedTokens: number): number[] {
  const largest = Math.min(2 * maxNumSeqs, 512, maxNumBatchedTokens);
  const sizes = [1, 2, 4].filter((n) => n <= largest);
  for (let n = 8; n <= Math.min(largest, 255); n += 8) sizes.push(n);
  for (let n = 256; n <= largest; n += 16) sizes.push(n);
  return sizes;
}

// The planner asks for the same few batch settings thousands of times per plan.
const captureCache = new Map<string, { count: number; largest: number }>();

/** Memory of the captured CUDA graphs on one GPU, in bytes; 0 with `--enforce-eager`. */
export function cudaGraphBytes(model: ModelSpec, maxNumSeqs: number, maxNumBatchedTokens: number, enforceEager: boolean): number {
  if (enforceEager) return 0;
  const key = `${maxNumSeqs}|${maxNumBatchedTokens}`;
  let captures = captureCache.get(key);
  if (!captures) {
    const sizes = cudaGraphCaptureSizes(maxNumSeqs, maxNumBatchedTokens);
    captureCache.set(key, (captures = { count: sizes.length, largest: sizes[sizes.length - 1] ?? 0 }));
  }
  return CUDA_GRAPH_MODES * captures.count * CUDA_GRAPH_HIDDEN_COPIES * captures.largest * model.hiddenSize * ACTIVATION_BYTES;
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
  /** vLLM's `--max-num-seqs`; the GPU class's default when omitted, lowered to max_num_batched_tokens as vLLM does. */
  maxNumSeqs?: number;
  /** vLLM's `--enforce-eager`: no CUDA graphs. @default false */
  enforceEager?: boolean;
  /** The vLLM engine generation whose profiling is modelled. @default "v1" (the pinned release) */
  engine?: Engine;
}

/** Per-GPU memory of the pipeline stage that limits the replica, in GiB. */
export interface MemoryBreakdown {
  /** What vLLM claims: utilization x device memory. */
  budgetGiB: number;
  weightsGiB: number;
  /** Activation peak plus non-torch and CUDA-graph memory: what the budget keeps beside weights and KV. */
  activationsGiB: number;
  reserves: { activationPeakGiB: number; nonTorchGiB: number; cudaGraphsGiB: number };
  /** The activation peak by source, in GiB. */
  activationPeak: { forwardGiB: number; samplerGiB: number; moeWorkspaceGiB: number };
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
  kvCacheDtype: KvCacheDtype;
  enforceEager: boolean;
  engine: Engine;
  /** Data-parallel attention ranks, each with its own engine core, KV cache and startup check. */
  dataParallelSize: number;
  /** The attention backend vLLM picks for this cache dtype on this GPU (attentionBackend). */
  attentionBackend: string;
  /** Tokens per KV-cache block of that backend: capacity is counted in whole blocks. */
  kvBlockTokens: number;
  /** Pipeline stage whose numbers are shown (0-based). */
  stage: number;
}

export function memoryBreakdown(input: MemoryInput): MemoryBreakdown {
  const { model, checkpoint, gpu, maxModelLen } = input;
  const tp = input.tensorParallelSize;
  const pp = input.pipelineParallelSize;
  const dp = input.dataParallelSize ?? 1;
  const engine = input.engine ?? "v1";
  const enforceEager = input.enforceEager ?? false;
  const defaults = schedulerDefaults(gpu);
  const maxNumBatchedTokens = input.maxNumBatchedTokens ?? defaults.maxNumBatchedTokens;
  // vLLM lowers its default max_num_seqs to max_num_batched_tokens (`arg_utils.py`).
  const maxNumSeqs = input.maxNumSeqs ?? Math.min(defaults.maxNumSeqs, maxNumBatchedTokens);

  const budgetGiB = gpu.memoryGiB * input.gpuMemoryUtilization;
  const nonTorch = nonTorchGiB(tp * pp * dp, engine);
  const cudaGraphsGiB = ENGINE_MEMORY[engine].cudaGraphsInBudget ? cudaGraphBytes(model, maxNumSeqs, maxNumBatchedTokens, enforceEager) / GIB : 0;

  // Embeddings and the LM head stay 16-bit in every checkpoint format; they are vocab-parallel across TP.
  const embeddingBytes = model.vocabSize * model.hiddenSize * 2;
  const headBytes = model.tieWordEmbeddings ? 0 : embeddingBytes;
  // The checkpoint's bytes per layer parameter, applied to what one rank holds of each layer.
  const bytesPerParam = layerBytesPerParam(model, checkpoint);
  const perRank = layerParamsPerRank(model, tp, dp);
  const mlaExtra = mlaExtraWeightBytesPerLayer(model, checkpoint, tp, engine);
  const perLayer = kvBytesPerTokenPerLayer(model, tp, input.kvCacheDtype, engine);

  const stageLayers = pipelineStageLayers(model.layers, pp);
  const backend = attentionBackend(model, gpu, input.kvCacheDtype);
  const block = backend.blockTokens;
  // Every stage runs the same forward pass; only the last one samples.
  const peakOf = (lastStage: boolean): ActivationPeak =>
    activationPeak({ model, tensorParallelSize: tp, dataParallelSize: dp, maxNumBatchedTokens, maxNumSeqs, maxModelLen, blockTokens: block, lastStage, engine });
  const lastPeak = peakOf(true);
  const innerPeak = pp > 1 ? peakOf(false) : lastPeak;
  let first = 0;
  let limiting:
    | { stage: number; weightsGiB: number; kvCacheGiB: number; tokens: number; kvBytesPerTokenPerGpu: number; peak: ActivationPeak }
    | undefined;
  stageLayers.forEach((count, stage) => {
    const stageParamsPerRank = perRank.slice(first, first + count).reduce((sum, p) => sum + p, 0);
    first += count;
    let stageBytes = stageParamsPerRank * bytesPerParam + count * mlaExtra;
    if (stage === 0) stageBytes += embeddingBytes / tp;
    if (stage === pp - 1) stageBytes += headBytes / tp;
    const weightsGiB = stageBytes / GIB;
    const peak = stage === pp - 1 ? lastPeak : innerPeak;
    const kvCacheGiB = budgetGiB - weightsGiB - peak.peakBytes / GIB - nonTorch - cudaGraphsGiB;
    const kvBytesPerTokenPerGpu = perLayer * count;
    const blocks = kvCacheGiB > 0 ? Math.floor((kvCacheGiB * GIB) / (kvBytesPerTokenPerGpu * block)) : 0;
    const tokens = blocks * block;
    if (!limiting || tokens < limiting.tokens || (tokens === limiting.tokens && kvCacheGiB < limiting.kvCacheGiB)) {
      limiting = { stage, weightsGiB, kvCacheGiB, tokens, kvBytesPerTokenPerGpu, peak };
    }
  });
  const worst = limiting!;
  const activationPeakGiB = worst.peak.peakBytes / GIB;
  return {
    budgetGiB,
    weightsGiB: worst.weightsGiB,
    activationsGiB: activationPeakGiB + nonTorch + cudaGraphsGiB,
    reserves: { activationPeakGiB, nonTorchGiB: nonTorch, cudaGraphsGiB },
    activationPeak: {
      forwardGiB: worst.peak.forwardBytes / GIB,
      samplerGiB: worst.peak.samplerBytes / GIB,
      moeWorkspaceGiB: worst.peak.moeWorkspaceBytes / GIB,
    },
    kvCacheGiB: worst.kvCacheGiB,
    freeGiB: gpu.memoryGiB - budgetGiB,
    kvCacheTokens: worst.tokens * dp,
    kvCacheTokensPerRank: worst.tokens,
    kvBytesPerTokenPerGpu: worst.kvBytesPerTokenPerGpu,
    maxConcurrentSequences: Math.min(Math.floor(worst.tokens / maxModelLen), maxNumSeqs) * dp,
    maxNumSeqs,
    maxNumBatchedTokens,
    kvCacheDtype: input.kvCacheDtype,
    enforceEager,
    engine,
    dataParallelSize: dp,
    attentionBackend: backend.name,
    kvBlockTokens: block,
    stage: worst.stage,
  };
}
