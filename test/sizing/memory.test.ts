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

  // Worked by hand:
  // loaded   688.6e9 B x 671/685 (MTP skipped) = 674,526,423,357.66 B
  // replicated on every rank: per layer the fused q_a/kv_a projection 7168 x (1536 + 512 + 64),
  //          per MoE layer the router 7168 x 256:
  //          61 x 15,138,816 + 58 x 1,835,008 = 1,029,898,240 parameters
  // weights  loaded / 8 + replicated x 7/8 x bytes per layer parameter = 79.367 GiB
  // budget   139.95 GiB x 0.9 = 125.955 GiB
  // reserve  8192 tokens x 7168 hidden x 108.8 B = 5.95 GiB activations + 0.6 non-torch + 1.0 graphs = 7.55 GiB
  // KV       125.955 - 79.367 - 7.55 = 39.038 GiB
  // per token 61 layers x (512 + 64) x 2 B = 70,272 B, the same on every TP rank
  // tokens   floor(39.038 GiB / (70,272 B x 16)) x 16 = 596,496
  it("splits the weights over the 8 ranks, MTP module excluded, replicated projections whole", () => {
    const loaded = 674_526_423_357.66;
    expect(loadedWeightBytes(r1, r1Fp8)).toBeCloseTo(loaded, 1);
    const embeddings = 2 * 129280 * 7168 * 2;
    const bytesPerLayerParam = (loaded - embeddings) / layerParams(r1).reduce((s, p) => s + p, 0);
    const replicated = 61 * 7168 * (1536 + 512 + 64) + 58 * 7168 * 256;
    expect(replicated).toBe(1_029_898_240);
    expect(m.weightsGiB).toBeCloseTo((loaded / 8 + replicated * (7 / 8) * bytesPerLayerParam) / GIB, 9);
    expect(m.weightsGiB).toBeCloseTo(79.367, 3);
  });
  it("claims 90 % of the device", () => {
    expect(m.budgetGiB).toBeCloseTo(125.955, 6);
    expect(m.freeGiB).toBeCloseTo(13.995, 6);
  });
  it("reserves activations for 8192 batched tokens plus non-torch and CUDA-graph memory", () => {
    expect(m.maxNumBatchedTokens).toBe(8192);
    expect(m.reserves.activationPeakGiB).toBeCloseTo(5.95, 6);
    expect(m.activationsGiB).toBeCloseTo(7.55, 6);
  });
  it("replicates the MLA latent cache on every rank", () => {
    expect(kvBytesPerTokenPerLayer(r1, 8, "auto")).toBe(1152);
    expect(kvBytesPerTokenPerLayer(r1, 1, "auto")).toBe(1152);
    expect(kvBytesPerTokenPerLayer(r1, 8, "fp8")).toBe(576);
    expect(m.kvBytesPerTokenPerGpu).toBe(70_272);
  });
  it("turns what is left into whole 16-token blocks", () => {
    expect(m.kvCacheGiB).toBeCloseTo(125.955 - m.weightsGiB - 7.55, 9);
    expect(m.kvCacheTokens).toBe(Math.floor((m.kvCacheGiB * GIB) / (70_272 * 16)) * 16);
    expect(m.kvCacheTokens).toBe(596_496);
    expect(m.maxConcurrentSequences).toBe(18); // floor(596,496 / 32,768)
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
    const weights = [
      (stageParams(0, 31) * bytesPerParam + embedding / 8) / GIB,
      (stageParams(31, 61) * bytesPerParam + embedding / 8) / GIB,
    ];
    const reserve = (8192 * 7168 * ((0.85 * GIB) / (2048 * 4096))) / GIB + 1.6;
    const tokens = [31, 30].map(
      (layers, i) => Math.floor(((79.2 * 0.9 - weights[i]! - reserve) * GIB) / (layers * 1152 * 16)) * 16,
    );
    expect(weights[0]).toBeCloseTo(38.45, 2);
    expect(weights[1]).toBeCloseTo(40.92, 2);
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

  // Worked by hand on 4 x L40S, TP 4:
  // weights  141e9 B / 4 = 35.25e9 B = 32.829 GiB
  // budget   44.54 x 0.9 = 40.086 GiB
  // reserve  2048 x 8192 x 108.8 B = 1.7 GiB + 1.6 = 3.3 GiB
  // KV       40.086 - 32.829 - 3.3 = 3.957 GiB; per token 80 x 1024 B = 81,920 B
  // tokens   floor(3.957 GiB / (81,920 x 16)) x 16 = 51,856
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
    expect(m.activationsGiB).toBeCloseTo(3.3, 6);
    expect(m.kvCacheGiB).toBeCloseTo(3.957, 3);
    expect(m.kvBytesPerTokenPerGpu).toBe(81_920);
    expect(m.kvCacheTokens).toBe(51_856);
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
