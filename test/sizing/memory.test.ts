import { describe, expect, it } from "vitest";
import {
  GPUS,
  MODELS,
  kvBytesPerTokenPerLayer,
  layerParams,
  layerParamsPerRank,
  loadedWeightBytes,
  memoryBreakdown,
  pipelineStageLayers,
  schedulerDefaults,
  attentionBackend,
} from "../../sizing";

const GIB = 2 ** 30;
const r1 = MODELS["deepseek-r1"];
const r1Fp8 = r1.checkpoints.find((c) => c.repo === "deepseek-ai/DeepSeek-R1")!;
const llama70 = MODELS["r1-distill-llama-70b"];
const llama70Bf16 = llama70.checkpoints.find((c) => c.precision === "bf16")!;

describe("MLA: DeepSeek-R1 native FP8 on 8 x H200, TP 8, max_model_len 32768", () => {
  const m = memoryBreakdown({
    model: r1,
    checkpoint: r1Fp8,
    gpu: GPUS.h200,
    tensorParallelSize: 8,
    pipelineParallelSize: 1,
    maxModelLen: 32768,
    gpuMemoryUtilization: 0.9,
    kvCacheDtype: "auto",
  });

  // Worked by hand (vLLM v1, the pinned release):
  // loaded   688.6e9 B x 671/685 (MTP skipped) = 674,526,423,357.66 B
  // replicated on every rank: per layer the fused q_a/kv_a projection 7168 x (1536 + 512 + 64),
  //          per MoE layer the router 7168 x 256:
  //          61 x 15,138,816 + 58 x 1,835,008 = 1,029,898,240 parameters
  // weights  loaded / 8 + replicated x 7/8 x bytes per layer parameter = 79.367 GiB
  //          + the BF16 copy of kv_b_proj, 512 x 16 heads x 256 x 2 B = 4 MiB x 61 layers = 79.605 GiB
  // budget   139.95 GiB x 0.9 = 125.955 GiB
  // profile  T = 8192 tokens, S = 1024 sequences:
  //          MoE workspace 2 B x 8192 x 8 x (7168 + 7168)              = 1,879,048,192 B (held)
  //          largest layer: MLA 2 x 8192 x (3 x 7168 + 2112 + 16 x 320)
  //                         + 2 x 65,536 x 16 x 256 (context stand-in)  = 1,007,681,536 B
  //          sampler 2 x 8192 x 7168 + 1024 x 129,280 x 18              = 2,500,329,472 B
  //          peak = workspace + max(layer, sampler)                     = 4,379,377,664 B = 4.0786 GiB
  // non-torch 0.13 + 0.42 x log2(8) = 1.39 GiB
  // graphs   2 modes x 51 sizes x 3 x 512 x 7168 x 2 B = 2,246,049,792 B = 2.0918 GiB
  // KV       125.955 - 79.605 - 4.0786 - 1.39 - 2.0918 = 38.79 GiB
  // per token 61 layers x (512 + 64) x 2 B = 70,272 B, the same on every TP rank
  it("splits the weights over the 8 ranks, MTP module excluded, replicated projections whole, kv_b_proj also in BF16", () => {
    const loaded = 674_526_423_357.66;
    expect(loadedWeightBytes(r1, r1Fp8)).toBeCloseTo(loaded, 1);
    const embeddings = 2 * 129280 * 7168 * 2;
    const bytesPerLayerParam = (loaded - embeddings) / layerParams(r1).reduce((s, p) => s + p, 0);
    const replicated = 61 * 7168 * (1536 + 512 + 64) + 58 * 7168 * 256;
    expect(replicated).toBe(1_029_898_240);
    const kvBCopy = 61 * 512 * 16 * 256 * 2;
    expect(m.weightsGiB).toBeCloseTo((loaded / 8 + replicated * (7 / 8) * bytesPerLayerParam + kvBCopy) / GIB, 9);
    expect(m.weightsGiB).toBeCloseTo(79.605, 3);
  });
  it("claims 90 % of the device", () => {
    expect(m.budgetGiB).toBeCloseTo(125.955, 6);
    expect(m.freeGiB).toBeCloseTo(13.995, 6);
  });
  it("profiles 8192 tokens and 1024 sequences: the MoE workspace held through the sampler pass", () => {
    expect(m.maxNumBatchedTokens).toBe(8192);
    expect(m.maxNumSeqs).toBe(1024);
    expect(m.activationPeak.moeWorkspaceGiB * GIB).toBe(1_879_048_192);
    expect(m.activationPeak.forwardGiB * GIB).toBe(1_007_681_536);
    expect(m.activationPeak.samplerGiB * GIB).toBe(2_500_329_472);
    expect(m.reserves.activationPeakGiB * GIB).toBe(4_379_377_664);
    expect(m.reserves.nonTorchGiB).toBeCloseTo(1.39, 9);
    expect(m.reserves.cudaGraphsGiB * GIB).toBe(2_246_049_792);
    expect(m.activationsGiB).toBeCloseTo(4_379_377_664 / GIB + 1.39 + 2_246_049_792 / GIB, 9);
  });
  it("replicates the MLA latent cache on every rank", () => {
    expect(kvBytesPerTokenPerLayer(r1, 8, "auto")).toBe(1152);
    expect(kvBytesPerTokenPerLayer(r1, 1, "auto")).toBe(1152);
    expect(kvBytesPerTokenPerLayer(r1, 8, "fp8")).toBe(576);
    expect(m.kvBytesPerTokenPerGpu).toBe(70_272);
  });
  it("turns what is left into whole 16-token blocks", () => {
    expect(m.kvCacheGiB).toBeCloseTo(125.955 - m.weightsGiB - m.activationsGiB, 9);
    expect(m.kvCacheGiB).toBeCloseTo(38.79, 2);
    expect(m.kvCacheTokens).toBe(Math.floor((m.kvCacheGiB * GIB) / (70_272 * 16)) * 16);
    expect(m.kvCacheTokens).toBe(592_688);
    expect(m.maxConcurrentSequences).toBe(18); // floor(592,688 / 32,768)
  });
  it("adds up to the device memory", () => {
    expect(m.weightsGiB + m.kvCacheGiB + m.activationsGiB + m.freeGiB).toBeCloseTo(GPUS.h200.memoryGiB, 9);
  });
});

describe("MLA with pipeline parallelism: DeepSeek-R1 on 2 x 8 H100, TP 8 x PP 2", () => {
  const m = memoryBreakdown({
    model: r1,
    checkpoint: r1Fp8,
    gpu: GPUS.h100,
    tensorParallelSize: 8,
    pipelineParallelSize: 2,
    maxModelLen: 32768,
    gpuMemoryUtilization: 0.9,
    kvCacheDtype: "auto",
  });
  it("splits 61 layers 31 / 30 as vLLM does", () => {
    expect(pipelineStageLayers(61, 2)).toEqual([31, 30]);
  });
  it("weighs each stage by its layers' parameters and lets the stage with the fewest KV tokens limit the replica", () => {
    const params = layerParams(r1);
    const down = 7168 * (1536 + 512 + 64); // replicated
    const up = 1536 * 128 * 192 + 512 * 128 * 256 + 128 * 128 * 7168; // sharded
    const router = 7168 * 256; // replicated
    const experts = 257 * 3 * 7168 * 2048; // sharded
    expect(params[0]).toBe(down + up + 3 * 7168 * 18432);
    expect(params[3]).toBe(down + up + experts + router);
    const perRank = (i: number) => (i < 3 ? (up + 3 * 7168 * 18432) / 8 + down : (up + experts) / 8 + down + router);
    const total = params.reduce((s, p) => s + p, 0);
    const embedding = 129280 * 7168 * 2;
    const bytesPerParam = (loadedWeightBytes(r1, r1Fp8) - 2 * embedding) / total;
    // Stage 0: layers 0-30 (3 dense + 28 MoE) and the embedding; stage 1: 30 MoE layers and the LM head.
    const stageParams = (from: number, to: number) => Array.from({ length: to - from }, (_, k) => perRank(from + k)).reduce((s, p) => s + p, 0);
    const kvBCopy = 512 * 16 * 256 * 2; // per layer per rank
    const weights = [
      (stageParams(0, 31) * bytesPerParam + 31 * kvBCopy + embedding / 8) / GIB,
      (stageParams(31, 61) * bytesPerParam + 30 * kvBCopy + embedding / 8) / GIB,
    ];
    // Both stages hold the MoE workspace and their largest layer; only the last one samples.
    const workspace = 1_879_048_192;
    const layer = 1_007_681_536;
    const sampler = 2_500_329_472;
    const peaks = [workspace + layer, workspace + sampler];
    const nonTorch = 0.13 + 0.42 * 4; // 16 ranks
    const graphs = 2_246_049_792 / GIB;
    const tokens = [31, 30].map(
      (layers, i) => Math.floor(((79.2 * 0.9 - weights[i]! - peaks[i]! / GIB - nonTorch - graphs) * GIB) / (layers * 1152 * 16)) * 16,
    );
    expect(weights[0]).toBeCloseTo(38.57, 2);
    expect(weights[1]).toBeCloseTo(41.04, 2);
    expect(m.reserves.activationPeakGiB * GIB).toBe(peaks[1]);
    expect(tokens[1]!).toBeLessThan(tokens[0]!);
    expect(m.stage).toBe(1);
    expect(m.weightsGiB).toBeCloseTo(weights[1]!, 9);
    expect(m.kvBytesPerTokenPerGpu).toBe(30 * 1152);
    expect(m.kvCacheTokens).toBe(tokens[1]);
  });
});

describe("GQA: R1-Distill-Llama-70B BF16 (80 layers, 8 KV heads of 128)", () => {
  it("splits KV heads over TP ranks up to TP = 8 and replicates them beyond", () => {
    expect(kvBytesPerTokenPerLayer(llama70, 1, "auto")).toBe(2 * 8 * 128 * 2);
    expect(kvBytesPerTokenPerLayer(llama70, 4, "auto")).toBe(2 * 2 * 128 * 2);
    expect(kvBytesPerTokenPerLayer(llama70, 8, "auto")).toBe(2 * 1 * 128 * 2);
    expect(kvBytesPerTokenPerLayer(llama70, 16, "auto")).toBe(2 * 1 * 128 * 2);
  });

  // Worked by hand on 4 x L40S, TP 4 (T = 2048 tokens, S = 256 sequences below 70 GiB):
  // weights  141e9 B / 4 = 35.25e9 B = 32.829 GiB
  // budget   44.54 x 0.9 = 40.086 GiB
  // profile  largest layer, the MLP: 2 x 2048 x (3 x 8192 + 3 x 28,672 / 4) = 188,743,680 B
  //          sampler 2 x 2048 x 8192 + 256 x 128,256 x 18                 = 624,558,080 B (the peak)
  // non-torch 0.13 + 0.42 x log2(4) = 0.97 GiB
  // graphs   2 x 51 x 3 x 512 x 8192 x 2 B = 2,566,914,048 B = 2.3906 GiB
  // KV       40.086 - 32.829 - 0.5817 - 0.97 - 2.3906 = 3.3147 GiB; per token 80 x 1024 B = 81,920 B
  // tokens   floor(3.3147 GiB / (81,920 x 16)) x 16
  const m = memoryBreakdown({
    model: llama70,
    checkpoint: llama70Bf16,
    gpu: GPUS.l40s,
    tensorParallelSize: 4,
    pipelineParallelSize: 1,
    maxModelLen: 32768,
    gpuMemoryUtilization: 0.9,
    kvCacheDtype: "auto",
  });
  it("computes weights, reserves and KV tokens", () => {
    expect(m.weightsGiB).toBeCloseTo(32.829, 3);
    expect(m.maxNumBatchedTokens).toBe(2048);
    expect(m.activationPeak.forwardGiB * GIB).toBe(188_743_680);
    expect(m.reserves.activationPeakGiB * GIB).toBe(624_558_080);
    expect(m.reserves.cudaGraphsGiB * GIB).toBe(2_566_914_048);
    expect(m.activationsGiB).toBeCloseTo((624_558_080 + 2_566_914_048) / GIB + 0.97, 9);
    expect(m.kvCacheGiB).toBeCloseTo(3.3147, 3);
    expect(m.kvBytesPerTokenPerGpu).toBe(81_920);
    expect(m.kvCacheTokens).toBe(Math.floor((m.kvCacheGiB * GIB) / (81_920 * 16)) * 16);
    expect(m.kvCacheTokens).toBe(43_440);
    expect(m.maxConcurrentSequences).toBe(1);
  });
  it("keeps one whole K/V head per rank past TP = KV heads", () => {
    const qwen15 = MODELS["r1-distill-qwen-1.5b"]; // 2 KV heads of 128, hidden 1536
    const [tp2, tp4] = [2, 4].map((tp) => layerParamsPerRank(qwen15, tp)[0]!);
    const full = layerParams(qwen15)[0]!;
    const kv = 2 * 1536 * 2 * 128;
    expect(tp2).toBeCloseTo(full / 2, 6);
    // At TP 4 each rank holds 1 of the 2 KV heads (not half of one).
    expect(tp4).toBeCloseTo((full - kv) / 4 + kv / 2, 6);
  });

  it("reports a negative KV share when weights do not fit", () => {
    const tooSmall = memoryBreakdown({
      model: llama70,
      checkpoint: llama70Bf16,
      gpu: GPUS.l40s,
      tensorParallelSize: 2,
      pipelineParallelSize: 1,
      maxModelLen: 32768,
      gpuMemoryUtilization: 0.9,
      kvCacheDtype: "auto",
    });
    expect(tooSmall.kvCacheGiB).toBeLessThan(0);
    expect(tooSmall.kvCacheTokens).toBe(0);
    expect(tooSmall.maxConcurrentSequences).toBe(0);
  });
});

describe("vLLM scheduler defaults and layer placement", () => {
  it("gives large batches only to >= 70 GiB GPUs other than A100", () => {
    expect(schedulerDefaults(GPUS.h100)).toEqual({ maxNumSeqs: 1024, maxNumBatchedTokens: 8192 });
    expect(schedulerDefaults(GPUS["rtx-pro-6000"])).toEqual({ maxNumSeqs: 1024, maxNumBatchedTokens: 8192 });
    expect(schedulerDefaults(GPUS["a100-80gb"])).toEqual({ maxNumSeqs: 256, maxNumBatchedTokens: 2048 });
    expect(schedulerDefaults(GPUS.l40s)).toEqual({ maxNumSeqs: 256, maxNumBatchedTokens: 2048 });
  });
  it("gives remainder layers to the stages before the last", () => {
    expect(pipelineStageLayers(61, 4)).toEqual([15, 15, 16, 15]);
    expect(pipelineStageLayers(80, 3)).toEqual([27, 27, 26]);
    expect(pipelineStageLayers(28, 1)).toEqual([28]);
  });
  it("loads every byte of a checkpoint without an MTP module", () => {
    const awq = r1.checkpoints.find((c) => c.repo === "cognitivecomputations/DeepSeek-R1-AWQ")!;
    expect(loadedWeightBytes(r1, awq)).toBe(340e9);
  });
});

describe("which attention backend holds the cache, and whether it can be FP8", () => {
  const qwen7 = MODELS["r1-distill-qwen-7b"];
  it("every catalog GPU has a backend for an FP8 cache, for GQA and MLA alike", () => {
    expect(attentionBackend(qwen7, GPUS.h100, "fp8").name).toBe("FlashAttention 3");
    expect(attentionBackend(qwen7, GPUS.l40s, "auto").name).toBe("FlashAttention 2");
    // FlashAttention 2 has no FP8 cache: vLLM takes FlashInfer.
    expect(attentionBackend(qwen7, GPUS.l40s, "fp8").name).toBe("FlashInfer");
    expect(attentionBackend(qwen7, GPUS.a10g, "fp8").name).toBe("FlashInfer");
    expect(attentionBackend(r1, GPUS.h200, "auto").name).toBe("FlashAttention MLA");
    expect(attentionBackend(r1, GPUS.h200, "fp8").name).toBe("FlashMLA");
    expect(attentionBackend(r1, GPUS.b200, "fp8").name).toBe("FlashInfer MLA");
    expect(attentionBackend(r1, GPUS["a100-80gb"], "fp8").name).toBe("Triton MLA");
    expect(attentionBackend(r1, GPUS["rtx-pro-6000"], "fp8").name).toBe("Triton MLA");
  });
  it("counts the cache in the blocks each backend asks for: FlashMLA 64 tokens, FlashInfer MLA 32, the rest 16", () => {
    expect(attentionBackend(r1, GPUS.h200, "fp8").blockTokens).toBe(64);
    expect(attentionBackend(r1, GPUS.b200, "auto").blockTokens).toBe(32);
    expect(attentionBackend(r1, GPUS.h200, "auto").blockTokens).toBe(16);
    expect(attentionBackend(qwen7, GPUS.h100, "fp8").blockTokens).toBe(16);
    const b200 = memoryBreakdown({ model: r1, checkpoint: r1Fp8, gpu: GPUS.b200, tensorParallelSize: 8, pipelineParallelSize: 1, maxModelLen: 32768, gpuMemoryUtilization: 0.9, kvCacheDtype: "auto" });
    expect(b200.kvBlockTokens).toBe(32);
    expect(b200.kvCacheTokens % 32).toBe(0);
    expect(b200.kvCacheTokens).toBe(Math.floor((b200.kvCacheGiB * GIB) / (70_272 * 32)) * 32);
  });
  it("an FP8 cache halves the bytes per token and leaves the rest of the budget alone", () => {
    const at = (kvCacheDtype: "auto" | "fp8") =>
      memoryBreakdown({ model: r1, checkpoint: r1Fp8, gpu: GPUS.h200, tensorParallelSize: 8, pipelineParallelSize: 1, maxModelLen: 32768, gpuMemoryUtilization: 0.9, kvCacheDtype });
    expect(at("fp8").kvBytesPerTokenPerGpu).toBe(at("auto").kvBytesPerTokenPerGpu / 2);
    // FlashMLA's 64-token blocks raise only the MLA pass's workspace floor (max_num_seqs blocks): here not at all.
    expect(at("fp8").kvCacheGiB).toBe(at("auto").kvCacheGiB);
    expect(at("fp8").attentionBackend).toBe("FlashMLA");
    expect(at("fp8").kvBlockTokens).toBe(64);
  });
});
