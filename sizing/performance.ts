/**
 * Latency and throughput of one vLLM replica at a steady batch: a step-time model built from
 * what a decode step physically does (shared/reference/perf-facts.md), with global constants
 * calibrated on shared/reference/perf-calibration.csv and none fitted to a single row.
 *
 * One decode step on one GPU:
 *   max(weights read, GEMM compute) + max(KV read, attention compute) + collectives + fixed cost
 * Prefill is mixed into decode steps by chunked prefill (perf-facts 7): a prompt arrives as a
 * chunk of up to `max_num_batched_tokens` tokens, so a fraction of the steps carries a whole
 * chunk and is compute bound; TPOT is the expected step. Pipeline stages run one after another
 * for a token; TTFT is the prompt's own chunks plus the wait for the running step, for other
 * prompts ahead of it and, past the KV cache's capacity, for a free slot.
 */
import {
  ALL_REDUCE_CURVES,
  GPUS,
  INSTANCES,
  INTERCONNECTS,
  familyOf,
  type Checkpoint,
  type GpuId,
  type GpuSpec,
  type InstanceType,
  type InterconnectKind,
  type InterconnectSpec,
  type ModelSpec,
} from "./catalog";
// On the wire too, activations are bf16 (perf-facts.md 4 times bf16 elements).
import { ACTIVATION_BYTES, kvBytesPerTokenPerLayer, layerBytesPerParam, layerParamsPerRank, type KvCacheDtype } from "./memory";

/**
 * Achieved share of peak memory bandwidth in decode: 0.8 for dense models (aiconfigurator's
 * `mem_bw_empirical_scaling_factor: 0.8`; Llama-3.1-8B on one A100 at ~77 %, johnmusgrave.com),
 * nearer 0.65 for DeepSeek's MoE grouped GEMMs (perf-facts.md 1).
 */
export const BANDWIDTH_EFFICIENCY = { dense: 0.8, moe: 0.65 } as const;

/**
 * Achieved share of dense tensor-core peak in large GEMMs (prefill, and decode at large batch):
 * DeepSeek runs at 15-30 % of FP8 peak (LMSYS large-scale EP, 57,674 prompt tok/s per 8 x H100
 * node; perf-facts.md 5), dense models higher. Calibrated: the TTFT slope of the 70B rows of
 * perf-calibration.csv between 1K and 8K prompts gives 0.34-0.45 of FP8 peak from TP 8 to TP 1.
 */
export const COMPUTE_UTILISATION = { dense: 0.45, moe: 0.3 } as const;

/**
 * Fixed cost of one engine step (scheduling, sampling, the CPU-GPU round trip), and of each MoE
 * layer's routing and token permutation kernels. Calibrated on perf-calibration.csv: the 70B
 * rows at batch 4 sit 2-3 ms above their bandwidth and all-reduce time; R1 TP 8 on H200 at
 * batch 4 measures 10.3 ms against a 3.2 ms bandwidth roofline (perf-facts.md 6), the rest
 * being its 122 all-reduces and 58 MoE layers.
 */
export const STEP_OVERHEAD_MS = 2.5;
export const MOE_LAYER_OVERHEAD_MS = 0.02;

/**
 * Time from a request's arrival to its first scheduled step and from its first token to the
 * client: HTTP, tokenization, detokenization. Calibrated: the 70B TP 1 rows' TTFT at 1K prompts
 * and batch 4 less their prefill compute (perf-calibration.csv).
 */
export const REQUEST_OVERHEAD_MS = 40;

/**
 * One hop between pipeline stages: NCCL point-to-point latency inside a node, over EFA's SRD
 * between nodes, over TCP sockets without EFA (order-of-magnitude figures; pipeline layouts are
 * not in the calibration set and are labelled extrapolated).
 */
export const PIPELINE_HOP_LATENCY_MS = { intraNode: 0.01, efa: 0.03, tcp: 0.1 } as const;

/**
 * Host time per decoder layer of an eager step (`--enforce-eager`): without CUDA graphs the CPU
 * launches every kernel of the forward, and a small batch waits for it. Qwen2.5-Omni-7B's
 * thinker (28 Qwen2 layers) on 2 x A800 decodes at ~22 ms per token eager and ~13 ms with
 * graphs (vllm-project/vllm-omni#7960): 22 ms / 28 layers, less the step's own overhead.
 */
export const EAGER_HOST_MS_PER_LAYER = 0.7;


/** GPUs and precisions the calibration set measures (perf-calibration.csv: H200, FP8, TP 1-8, PP 1). */
export const CALIBRATED_GPUS: readonly GpuId[] = ["h200"];
/** The longest request (prompt + output) and the largest batch perf-calibration.csv measures. */
export const CALIBRATED_MAX_REQUEST_TOKENS = 9216;
export const CALIBRATED_MAX_BATCH = 128;

export type Bottleneck = "memory" | "compute" | "interconnect" | "overhead";
/**
 * `calibrated`: within the calibration set; `extrapolated`: outside it, scaled by the model;
 * `measured`: scaled by factors measured on the deployment itself (`llm-fleet calibrate`).
 */
export type Confidence = "calibrated" | "extrapolated" | "measured";

export interface PerformanceInput {
  model: ModelSpec;
  checkpoint: Checkpoint;
  instanceType: InstanceType;
  /** The GPU of the instance type unless given (to ask "what if" of a GPU variant). */
  gpu?: GpuSpec;
  /** The instance family's scale-up link unless given. */
  interconnect?: InterconnectSpec;
  tensorParallelSize: number;
  pipelineParallelSize: number;
  /** Data-parallel attention ranks with expert parallelism; 1 for plain TP x PP. @default 1 */
  dataParallelSize?: number;
  /** Nodes the replica spans (pipeline stages cross between them). @default 1 */
  nodesPerReplica?: number;
  /** Sequences in flight on this replica. */
  concurrency: number;
  /** Mean prompt length in tokens. */
  promptTokens: number;
  /** Mean output length in tokens. */
  outputTokens: number;
  kvCacheDtype: KvCacheDtype;
  /** vLLM's `--enforce-eager`: every step pays the host's kernel launches. @default false */
  enforceEager?: boolean;
  /** vLLM's `--max-num-batched-tokens`: the largest prefill chunk a step carries. */
  maxNumBatchedTokens: number;
  /** KV-cache tokens of the replica; sequences beyond what it holds wait in the queue. @default unlimited */
  kvCacheTokens?: number;
  /** vLLM's `--max-num-seqs` per data-parallel rank. @default unlimited */
  maxNumSeqs?: number;
  /** Share of prompt tokens served from vLLM's prefix cache instead of computed. @default 0 */
  prefixCacheHitRate?: number;
}

/** Milliseconds per output token, by what the time is spent on; the parts add up to `tpotMs`. */
export interface StepBreakdown {
  weightsReadMs: number;
  kvReadMs: number;
  /** GEMM and attention compute beyond what the memory reads hide. */
  computeMs: number;
  collectivesMs: number;
  overheadMs: number;
  /** Prefill chunks mixed into the decode steps, on average per step. */
  prefillMs: number;
  /** Hops between pipeline stages. */
  pipelineMs: number;
  /** Without CUDA graphs (`--enforce-eager`): the host's kernel launches beyond what the GPU's work hides. */
  hostLaunchMs: number;
}

export interface PerformanceEstimate {
  tpotMs: number;
  ttftMs: number;
  /** The replica's output tokens per second at this batch. */
  outputTokensPerSecond: number;
  outputTokensPerSecondPerGpu: number;
  /** 1000 / tpotMs. */
  tokensPerSecondPerUser: number;
  /** Sequences decoding at once: the batch, or what the KV cache and max_num_seqs allow. */
  runningSequences: number;
  /** Sequences waiting for KV-cache room. */
  queuedSequences: number;
  /** The part of TTFT spent behind other prompts' chunks, already paid for in TPOT. */
  prefillQueueMs: number;
  breakdown: StepBreakdown;
  bottleneck: Bottleneck;
  /** The basis of TPOT and the rates derived from it. */
  confidence: Confidence;
  /** Why they are extrapolated; empty when calibrated. */
  extrapolatedBecause: string[];
  /** TTFT has its own basis: it is the weaker figure (queueing, and MoE prefill the model underrates). */
  ttftConfidence: Confidence;
  ttftExtrapolatedBecause: string[];
  /** The measurement that scaled the figures, when the confidence is `measured`. */
  measuredBecause?: string;
}

interface Workload {
  promptTokens: number;
  outputTokens: number;
}

interface StepParts {
  weightsMs: number;
  gemmMs: number;
  kvMs: number;
  attentionMs: number;
  collectivesMs: number;
  overheadMs: number;
  /** Host time to launch the step's kernels without CUDA graphs; 0 with them. */
  hostMs: number;
}

// Plain functions, not closures, on the planner's hot path: it calls them thousands of times per plan.
function gpuWorkMs(p: StepParts): number {
  return Math.max(p.weightsMs, p.gemmMs) + Math.max(p.kvMs, p.attentionMs) + p.collectivesMs;
}

function sumParts(p: StepParts): number {
  // An eager step runs as fast as the host launches its kernels, or the GPU runs them.
  return Math.max(gpuWorkMs(p), p.hostMs) + p.overheadMs;
}

/** Dense tensor throughput the checkpoint's kernels run at on this GPU, in TFLOPS. */
export function computeTflops(checkpoint: Checkpoint, gpu: GpuSpec): number {
  const t = gpu.denseTflops;
  switch (checkpoint.precision) {
    case "bf16":
      return t.bf16;
    case "fp8":
      // Ampere has no FP8 tensor cores: FP8 weights run weight-only, math in BF16 (perf-facts.md 8).
      return t.fp8 ?? t.bf16;
    case "int8":
      return t.int8 ?? t.bf16;
    case "int4":
      // W4A16 (AWQ, GPTQ Marlin): 4-bit weights de-quantized into BF16 math.
      return t.bf16;
    case "fp4":
      return t.fp4 ?? t.fp8 ?? t.bf16;
    default: {
      const unreachable: never = checkpoint.precision;
      throw new Error(`unknown precision ${String(unreachable)}`);
    }
  }
}

function ringFactor(ranks: number): number {
  return (2 * (ranks - 1)) / ranks;
}

function interpolate(points: readonly (readonly [number, number])[], elements: number): number {
  const first = points[0]!;
  if (elements <= first[0]) return first[1];
  for (let i = 1; i < points.length; i++) {
    const [x1, y1] = points[i]!;
    const [x0, y0] = points[i - 1]!;
    if (elements <= x1) return y0 + ((y1 - y0) * (elements - x0)) / (x1 - x0);
  }
  // Past the last point the time grows with the bytes at the last segment's bandwidth.
  const [x1, y1] = points[points.length - 1]!;
  const [x0, y0] = points[points.length - 2]!;
  return y1 + ((y1 - y0) * (elements - x1)) / (x1 - x0);
}

const CURVES = new Map(ALL_REDUCE_CURVES.map((c) => [`${c.kind}/${c.ranks}`, c.points]));
function curve(kind: InterconnectKind, ranks: number): readonly (readonly [number, number])[] | undefined {
  return CURVES.get(`${kind}/${ranks}`);
}

/** A curve with its bandwidth-bound part (above the smallest message's time) scaled. */
function scaled(points: readonly (readonly [number, number])[], elements: number, bandwidthScale: number): number {
  const latency = points[0]![1];
  return latency + (interpolate(points, elements) - latency) * bandwidthScale;
}

/**
 * Microseconds of one all-reduce of `elements` bf16 values over `ranks` GPUs on `link`, and
 * whether a measured curve for that link and rank count gave it. Other NVLink generations
 * scale the bandwidth-bound part of the NVLink 4 curve by their link speed, other rank counts
 * by the ring's 2(n-1)/n traffic; PCIe 4 at 4 ranks lies between its 2- and 8-rank curves.
 */
export function allReduceUs(link: InterconnectSpec, ranks: number, elements: number): { us: number; measured: boolean } {
  if (ranks <= 1) return { us: 0, measured: true };
  const nvlink4 = INTERCONNECTS.p5.gbpsPerDirection;
  switch (link.kind) {
    case "nvlink3":
    case "nvlink4":
    case "nvlink5": {
      const scale = (nvlink4 / link.gbpsPerDirection) * (ringFactor(ranks) / ringFactor(8));
      const us = scaled(curve("nvlink4", 8)!, elements, scale);
      // The 8-rank curve is measured; 2 and 4 ranks on NVLink 4 are covered end to end by the
      // TP 1-8 rows of perf-calibration.csv, which the model meets at those rank counts.
      return { us, measured: link.kind === "nvlink4" };
    }
    case "pcie4":
    case "pcie5": {
      const exact = curve(link.kind, ranks);
      if (exact) return { us: interpolate(exact, elements), measured: true };
      if (link.kind === "pcie4" && ranks === 4) {
        const two = interpolate(curve("pcie4", 2)!, elements);
        const eight = interpolate(curve("pcie4", 8)!, elements);
        return { us: Math.sqrt(two * eight), measured: false };
      }
      // PCIe 5 at 2 or 4 ranks: the PCIe 4 shape at twice the link speed, never above the 8-rank curve.
      const pcie4 = allReduceUs({ ...link, kind: "pcie4" }, ranks, elements).us;
      const latency = curve("pcie4", 2)![0]![1];
      const us = latency + (pcie4 - latency) * (INTERCONNECTS.g6e.gbpsPerDirection / link.gbpsPerDirection);
      return { us: Math.min(us, interpolate(curve("pcie5", 8)!, elements)), measured: false };
    }
    default: {
      const unreachable: never = link.kind;
      throw new Error(`unknown interconnect ${String(unreachable)}`);
    }
  }
}

/** Attention FLOPs per query token per layer per token of context it attends to. */
function attentionFlopsPerContextToken(model: ModelSpec, phase: "decode" | "prefill"): number {
  const a = model.attention;
  switch (a.kind) {
    case "gqa":
      // QK^T and PV, two FLOPs per multiply-add each.
      return 4 * model.attentionHeads * a.headDim;
    case "mla":
      // Decode runs on the absorbed latent (576-wide scores, 512-wide values); prefill on full heads.
      return phase === "decode"
        ? 2 * model.attentionHeads * (a.kvLoraRank + a.qkRopeHeadDim + a.kvLoraRank)
        : 2 * model.attentionHeads * (a.qkNopeHeadDim + a.qkRopeHeadDim + a.vHeadDim);
    default: {
      const unreachable: never = a;
      throw new Error(`unknown attention kind ${JSON.stringify(unreachable)}`);
    }
  }
}

/** What a replica's layout fixes, whatever its batch: resolved once per layout and cached. */
interface Resolved {
  model: ModelSpec;
  checkpoint: Checkpoint;
  instanceType: InstanceType;
  /** The caller passed a GPU variant of its own. */
  gpuOverridden: boolean;
  gpu: GpuSpec;
  link: InterconnectSpec | null;
  tp: number;
  pp: number;
  dp: number;
  nodes: number;
  /** Nodes one TP group spans: 1 inside a node, more when TP crosses nodes over EFA. */
  tpNodes: number;
  eager: boolean;
  kind: "dense" | "moe";
  /** Per GPU, per stage: bytes of weights every step reads, and of routed experts all touched. */
  fixedWeightBytes: number;
  routedWeightBytes: number;
  /** Per stage: FLOPs per token of the weights every token uses (attention, dense MLPs, shared experts, head), and of its routed experts. */
  denseFlopsPerToken: number;
  routedFlopsPerToken: number;
  kvBytesPerTokenPerGpu: number;
  layersPerStage: number;
  moeLayersPerStage: number;
  bandwidth: number;
  flops: number;
  measuredCollectives: boolean;
  extrapolatedBecause: string[];
}

const RESOLVED = new Map<string, Resolved>();
/** Layouts kept: far more than one plan visits, small enough to stay in cache. */
const RESOLVED_LIMIT = 20_000;

function resolveCached(input: PerformanceInput): Resolved {
  // A caller's own GPU or link variant is resolved afresh: it has no stable key.
  if (input.gpu || input.interconnect) return resolve(input);
  const key = `${input.checkpoint.repo}|${input.instanceType}|${input.tensorParallelSize}|${input.pipelineParallelSize}|${input.dataParallelSize ?? 1}|${input.nodesPerReplica ?? 1}|${input.kvCacheDtype}|${input.enforceEager === true}`;
  let r = RESOLVED.get(key);
  if (r === undefined || r.model !== input.model || r.checkpoint !== input.checkpoint) {
    if (RESOLVED.size >= RESOLVED_LIMIT) RESOLVED.clear();
    r = resolve(input);
    RESOLVED.set(key, r);
  }
  return r;
}

function resolve(input: PerformanceInput): Resolved {
  const { model, checkpoint } = input;
  const instance = INSTANCES[input.instanceType];
  const gpu = input.gpu ?? GPUS[instance.gpu];
  const tp = input.tensorParallelSize;
  const pp = input.pipelineParallelSize;
  const dp = input.dataParallelSize ?? 1;
  const moe = model.moe;
  const kind = moe ? "moe" : "dense";
  // TP across single-GPU nodes has no link inside a node, only EFA between them.
  const link = instance.gpuCount > 1 || input.interconnect || tp > instance.gpuCount ? (input.interconnect ?? INTERCONNECTS[familyOf(input.instanceType)]) : null;
  const bytesPerParam = layerBytesPerParam(model, checkpoint);
  let perRank = 0;
  for (const p of layerParamsPerRank(model, tp, dp)) perRank += p;
  const routedPerRank = moe ? ((model.layers - moe.denseLayers) * moe.routedExperts * 3 * model.hiddenSize * moe.expertIntermediateSize) / (tp * dp) : 0;
  // Routed-expert parameters one token uses: 8 of 256 experts in each MoE layer.
  const routedActive = moe ? (model.layers - moe.denseLayers) * moe.expertsPerToken * 3 * model.hiddenSize * moe.expertIntermediateSize : 0;
  // The LM head (16-bit, vocab-parallel over TP) is read every step; embedding lookups read a few rows.
  const headBytes = (model.vocabSize * model.hiddenSize * 2) / tp;
  const resolved: Resolved = {
    model,
    checkpoint,
    instanceType: input.instanceType,
    gpuOverridden: input.gpu !== undefined && input.gpu !== GPUS[instance.gpu],
    gpu,
    link,
    tp,
    pp,
    dp,
    nodes: input.nodesPerReplica ?? 1,
    tpNodes: tp > instance.gpuCount ? tp / instance.gpuCount : 1,
    eager: input.enforceEager === true,
    kind,
    fixedWeightBytes: ((perRank - routedPerRank) * bytesPerParam + headBytes) / pp,
    routedWeightBytes: (routedPerRank * bytesPerParam) / pp,
    denseFlopsPerToken: (2 * (model.activeParamsB * 1e9 - routedActive)) / pp,
    routedFlopsPerToken: (2 * routedActive) / pp,
    kvBytesPerTokenPerGpu: (kvBytesPerTokenPerLayer(model, tp, input.kvCacheDtype) * model.layers) / pp,
    layersPerStage: model.layers / pp,
    moeLayersPerStage: moe ? (model.layers - moe.denseLayers) / pp : 0,
    bandwidth: gpu.memoryBandwidthGBps * 1e9 * BANDWIDTH_EFFICIENCY[kind],
    flops: computeTflops(checkpoint, gpu) * 1e12 * COMPUTE_UTILISATION[kind],
    // Whether a measured curve prices the collectives depends on the link and ranks, not the size.
    measuredCollectives: link === null || ((tp === 1 || (tp <= instance.gpuCount && allReduceUs(link, tp, 1).measured)) && dp === 1),
    extrapolatedBecause: [],
  };
  resolved.extrapolatedBecause = confidenceOf(resolved);
  return resolved;
}

/**
 * One pipeline stage's step on its busiest GPU, for one micro-batch: `decode` sequences spread
 * over the data-parallel ranks, `prefill` prompt tokens in all of which `busiest` sit on one
 * rank (a rank's chunk is its own; the other ranks wait for it at the expert all-to-all).
 * Routed-expert work is spread over every rank by expert parallelism; the rest is the rank's.
 */
function stageStep(r: Resolved, w: Workload, decode: number, prefill: number, busiest: number): StepParts {
  const model = r.model;
  const { promptTokens, outputTokens } = w;
  const tokens = decode + prefill;
  // The busiest rank's own sequences: the even share, and at least the one a lone sequence is.
  const rankSequences = Math.max(1, decode / r.dp);
  const rankTokens = rankSequences + busiest;
  const moe = model.moe;
  // Experts the step's tokens touch: 256 x (1 - (1 - 8/256)^tokens) of 256 (perf-facts.md 2).
  const touched = moe ? 1 - (1 - moe.expertsPerToken / moe.routedExperts) ** tokens : 0;
  const weightsMs = ((r.fixedWeightBytes + r.routedWeightBytes * touched) / r.bandwidth) * 1e3;
  const gemmFlops = (r.denseFlopsPerToken * rankTokens) / r.tp + (r.routedFlopsPerToken * tokens) / (r.tp * r.dp);
  const gemmMs = (gemmFlops / r.flops) * 1e3;
  const contextTokens = promptTokens + outputTokens / 2;
  // MLA's latent is replicated on every TP rank; data-parallel ranks hold only their own sequences.
  const kvMs = ((rankSequences * contextTokens * r.kvBytesPerTokenPerGpu) / r.bandwidth) * 1e3;
  const attentionFlops =
    (rankSequences * contextTokens * attentionFlopsPerContextToken(model, "decode") +
      busiest * (promptTokens / 2) * attentionFlopsPerContextToken(model, "prefill")) *
    (r.layersPerStage / r.tp);
  const attentionMs = (attentionFlops / r.flops) * 1e3;
  let collectivesUs = 0;
  if (r.link) {
    const tpReduceUs = tpAllReduceUs(r, rankTokens * model.hiddenSize);
    if (r.dp === 1) {
      // Two all-reduces per layer over the TP group: after attention and after the MLP or MoE.
      collectivesUs += 2 * r.layersPerStage * tpReduceUs;
    } else {
      // DP attention with EP: one reduce after attention (and after each dense MLP) within the TP
      // group; each MoE layer dispatches its tokens to the experts' ranks and combines them back,
      // priced as two exchanges of the rank's tokens over all TP x DP ranks.
      collectivesUs += (r.layersPerStage + (r.layersPerStage - r.moeLayersPerStage)) * tpReduceUs;
      collectivesUs += 2 * r.moeLayersPerStage * allReduceUs(r.link, r.tp * r.dp, rankTokens * model.hiddenSize).us;
    }
  }
  return {
    weightsMs,
    gemmMs,
    kvMs,
    attentionMs,
    collectivesMs: collectivesUs / 1e3,
    overheadMs: STEP_OVERHEAD_MS / r.pp + r.moeLayersPerStage * MOE_LAYER_OVERHEAD_MS,
    hostMs: r.eager ? r.layersPerStage * EAGER_HOST_MS_PER_LAYER : 0,
  };
}

/**
 * One all-reduce over the TP group. Across nodes NCCL reduces inside each node over NVLink,
 * exchanges each GPU's 1/gpusPerNode slice with the other nodes over EFA (a ring of `tpNodes`:
 * 2(n-1) hops, 2(n-1)/n of the slice on the wire) and gathers inside the node again; the two
 * node-local halves cost about one node-local all-reduce.
 */
function tpAllReduceUs(r: Resolved, elements: number): number {
  const link = r.link!;
  if (r.tpNodes === 1) return allReduceUs(link, r.tp, elements).us;
  const instance = INSTANCES[r.instanceType];
  const gpusPerNode = instance.gpuCount;
  const sliceBytes = (elements * ACTIVATION_BYTES) / gpusPerNode;
  const efaBytesPerSecondPerGpu = (instance.networkGbps / 8 / gpusPerNode) * 1e9;
  const interNodeUs =
    2 * (r.tpNodes - 1) * PIPELINE_HOP_LATENCY_MS.efa * 1e3 + ((ringFactor(r.tpNodes) * sliceBytes) / efaBytesPerSecondPerGpu) * 1e6;
  return allReduceUs(link, gpusPerNode, elements).us + interNodeUs;
}

/** Milliseconds of one hop between pipeline stages for `sequences` hidden states. */
function hopMs(r: Resolved, sequences: number, crossesNodes: boolean): number {
  const bytes = sequences * r.model.hiddenSize * ACTIVATION_BYTES;
  if (!crossesNodes) {
    const gbps = r.link?.gbpsPerDirection ?? INTERCONNECTS.g6e.gbpsPerDirection;
    return PIPELINE_HOP_LATENCY_MS.intraNode + (bytes / (gbps * 1e9)) * 1e3;
  }
  const instance = INSTANCES[r.instanceType];
  const efa = instance.efaInterfaces > 0;
  const gbps = instance.networkGbps / 8 / instance.gpuCount;
  return (efa ? PIPELINE_HOP_LATENCY_MS.efa : PIPELINE_HOP_LATENCY_MS.tcp) + (bytes / (gbps * 1e9)) * 1e3;
}

function confidenceOf(r: Resolved): string[] {
  const { model, checkpoint } = r;
  const why: string[] = [];
  const gpuId = INSTANCES[r.instanceType].gpu;
  if (!CALIBRATED_GPUS.includes(gpuId) || r.gpuOverridden) {
    why.push(`${r.gpu.name} is not in the calibration set (${CALIBRATED_GPUS.join(", ")}); scaled by its bandwidth and FLOPS`);
  }
  if (r.tpNodes > 1) {
    why.push(`tensor parallelism across ${r.tpNodes} nodes (all-reduces over EFA) is not in the calibration set`);
  } else if (r.link && (r.link.kind === "pcie4" || r.link.kind === "pcie5") && r.tp * r.dp > 1) {
    why.push(`tensor parallelism over ${r.link.kind === "pcie4" ? "PCIe 4" : "PCIe 5"} is not in the calibration set`);
  } else if (!r.measuredCollectives) {
    why.push("collective times scaled from another link or rank count");
  }
  if (r.gpu.denseTflops.fp8 === null && checkpoint.precision === "fp8") why.push("FP8 runs weight-only on Ampere (no FP8 tensor cores)");
  if (checkpoint.precision !== "fp8") why.push(`${checkpoint.precision} kernels are not in the calibration set (FP8 only)`);
  if (model.moe && checkpoint.precision === "int4") why.push("INT4 MoE (Marlin) kernels are not measured");
  if (r.eager) why.push("eager mode (--enforce-eager) is not in the calibration set");
  if (r.dp > 1) why.push("data-parallel attention with expert parallelism is not in the calibration set");
  if (r.pp > 1) why.push("pipeline parallelism is not in the calibration set");
  return why;
}

/** The performance of one replica at `concurrency` sequences in flight. */
export function estimatePerformance(input: PerformanceInput): PerformanceEstimate {
  const r = resolveCached(input);
  const { promptTokens, outputTokens } = input;
  const contextTokens = promptTokens + outputTokens / 2;
  const seqCap = input.maxNumSeqs === undefined ? Infinity : input.maxNumSeqs * r.dp;
  const kvCap = input.kvCacheTokens === undefined ? Infinity : Math.max(1, Math.floor(input.kvCacheTokens / contextTokens));
  const running = Math.max(1, Math.min(input.concurrency, seqCap, kvCap));
  const queued = Math.max(0, input.concurrency - running);

  // One micro-batch per pipeline stage in flight (vLLM's virtual engines); with fewer sequences
  // than stages, each sequence is a micro-batch of its own.
  const decode = Math.max(1, running / r.pp);
  // Prompt tokens per step at steady state: every finished sequence is replaced by a new prompt.
  const computedPrompt = Math.max(1, promptTokens * (1 - (input.prefixCacheHitRate ?? 0)));
  const prefillPerStep = (decode * computedPrompt) / outputTokens;
  // Each data-parallel rank schedules its own chunks; a step's chunk is at most the budget left after decode.
  const chunk = Math.max(1, Math.min(computedPrompt, input.maxNumBatchedTokens - decode / r.dp));
  const prefillShare = prefillPerStep / r.dp / chunk;
  const pure = stageStep(r, input, decode, 0, 0);
  const pureMs = sumParts(pure);
  let stepMs: number;
  let chunkStepMs: number;
  if (prefillShare >= 1) {
    stepMs = sumParts(stageStep(r, input, decode, prefillPerStep, prefillPerStep / r.dp));
    chunkStepMs = stepMs;
  } else {
    // A step waits for every data-parallel rank, so any rank's chunk delays it; such a step
    // carries dp x share / (1 - (1 - share)^dp) chunks on average, one on the busiest rank.
    const share = 1 - (1 - prefillShare) ** r.dp;
    const chunksInStep = (r.dp * prefillShare) / share;
    chunkStepMs = sumParts(stageStep(r, input, decode, chunk * chunksInStep, chunk));
    stepMs = (1 - share) * pureMs + share * chunkStepMs;
  }

  let pipelineMs = 0;
  for (let boundary = 1; boundary < r.pp; boundary++) {
    const crossesNodes = r.nodes > 1 && boundary % (r.pp / r.nodes) === 0;
    pipelineMs += hopMs(r, decode, crossesNodes);
  }
  const tpotMs = r.pp * stepMs + pipelineMs;

  // TTFT: the prompt's own chunks (each a full step through every stage), the running step,
  // other prompts ahead of it (an M/D/1 queue of chunk steps), and any wait for KV room.
  const fullChunks = Math.floor(computedPrompt / chunk);
  const lastChunk = computedPrompt - fullChunks * chunk;
  const fullChunkMs = r.pp * sumParts(stageStep(r, input, decode, chunk, chunk)) + pipelineMs;
  const lastChunkMs = lastChunk > 0 ? r.pp * sumParts(stageStep(r, input, decode, lastChunk, lastChunk)) + pipelineMs : 0;
  const ownPrefillMs = fullChunks * fullChunkMs + lastChunkMs;
  const busy = Math.min(0.9, prefillShare >= 1 ? 0.9 : ((1 - (1 - prefillShare) ** r.dp) * chunkStepMs) / stepMs);
  const queueMs = (busy / (2 * (1 - busy))) * chunkStepMs * r.pp;
  const baseTtftMs = REQUEST_OVERHEAD_MS + tpotMs / 2 + queueMs + ownPrefillMs;
  // The wait behind other prompts is contention the mixed-in prefill already charges to every
  // step (TPOT); counting it again in the rate would make more sequences yield fewer tokens.
  // A running sequence holds its KV slot for the rest of its request.
  const slotMs = baseTtftMs - queueMs + outputTokens * tpotMs;
  const waitMs = (queued / running) * slotMs;
  const ttftMs = baseTtftMs + waitMs;

  // perf-facts.md 9: B / (TPOT + TTFT / output), with TTFT less the prefill queue above.
  const outputTokensPerSecond = input.concurrency / ((tpotMs + (ttftMs - queueMs) / outputTokens) / 1e3);
  const gpus = r.tp * r.pp * r.dp;
  const breakdown: StepBreakdown = {
    weightsReadMs: r.pp * (pure.weightsMs >= pure.gemmMs ? pure.weightsMs : 0),
    kvReadMs: r.pp * (pure.kvMs >= pure.attentionMs ? pure.kvMs : 0),
    computeMs: r.pp * (Math.max(0, pure.gemmMs - pure.weightsMs) + Math.max(0, pure.attentionMs - pure.kvMs)),
    collectivesMs: r.pp * pure.collectivesMs,
    overheadMs: r.pp * pure.overheadMs,
    prefillMs: r.pp * (stepMs - pureMs),
    pipelineMs,
    hostLaunchMs: r.pp * Math.max(0, pure.hostMs - gpuWorkMs(pure)),
  };
  const shares: [Bottleneck, number][] = [
    ["memory", breakdown.weightsReadMs + breakdown.kvReadMs],
    ["compute", breakdown.computeMs + breakdown.prefillMs],
    ["interconnect", breakdown.collectivesMs + breakdown.pipelineMs],
    ["overhead", breakdown.overheadMs + breakdown.hostLaunchMs],
  ];
  let bottleneck = shares[0]![0];
  let largestMs = shares[0]![1];
  for (const [name, ms] of shares) {
    if (ms > largestMs) {
      bottleneck = name;
      largestMs = ms;
    }
  }
  const extrapolatedBecause = [...r.extrapolatedBecause];
  if (promptTokens + outputTokens > CALIBRATED_MAX_REQUEST_TOKENS) {
    extrapolatedBecause.push(`requests of ${promptTokens + outputTokens} tokens are longer than the calibration set's ${CALIBRATED_MAX_REQUEST_TOKENS}`);
  }
  if (running > CALIBRATED_MAX_BATCH) extrapolatedBecause.push(`${Math.round(running)} sequences at once is past the calibration set's ${CALIBRATED_MAX_BATCH}`);
  const ttftExtrapolatedBecause = [...extrapolatedBecause];
  // SGLang's R1 rows measure 2-6x the TTFT the model gives (perf-calibration.csv; the README has the figures).
  if (r.model.moe) ttftExtrapolatedBecause.push("TTFT of the MoE models is 2-6x below the measured R1 first-token times");
  return {
    tpotMs,
    ttftMs,
    outputTokensPerSecond,
    outputTokensPerSecondPerGpu: outputTokensPerSecond / gpus,
    tokensPerSecondPerUser: 1000 / tpotMs,
    runningSequences: running,
    queuedSequences: queued,
    prefillQueueMs: queueMs,
    breakdown,
    bottleneck,
    confidence: extrapolatedBecause.length === 0 ? "calibrated" : "extrapolated",
    extrapolatedBecause,
    ttftConfidence: ttftExtrapolatedBecause.length === 0 ? "calibrated" : "extrapolated",
    ttftExtrapolatedBecause,
  };
}
