import { describe, expect, it } from "vitest";
import { GPUS, MODELS, MODEL_IDS, VLLM_IMAGE, VLLM_SERVE_FLAGS, decodeTokensPerSecond, estimates, paramsReadPerStep, planDeployment, routedExpertParams, vllmServeArgs } from "../../sizing";

const r1 = MODELS["deepseek-r1"];

describe("vllm serve arguments for vLLM 0.33.0", () => {
  it("DeepSeek-R1 over two nodes: TP 8 x PP 2, expert parallel, the DeepSeek flags, no --quantization", () => {
    const p = planDeployment({ model: "deepseek-r1", gpus: ["h100"] }).plan!;
    expect(p.image).toBe("vllm/vllm-openai:v0.33.0");
    expect(p.vllmArgs).toEqual([
      "deepseek-ai/DeepSeek-R1",
      "--served-model-name",
      "deepseek-r1",
      "--tensor-parallel-size",
      "8",
      "--pipeline-parallel-size",
      "2",
      "--max-model-len",
      "32768",
      "--gpu-memory-utilization",
      "0.9",
      "--enable-expert-parallel",
      "--trust-remote-code",
      "--reasoning-parser",
      "deepseek_r1",
    ]);
  });

  it("a distill on one GPU: no PP, no expert parallel, no remote code", () => {
    const p = planDeployment({ model: "r1-distill-qwen-1.5b" }).plan!;
    expect(p.vllmArgs).toEqual([
      "deepseek-ai/DeepSeek-R1-Distill-Qwen-1.5B",
      "--served-model-name",
      "r1-distill-qwen-1.5b",
      "--tensor-parallel-size",
      "1",
      "--max-model-len",
      "32768",
      "--gpu-memory-utilization",
      "0.9",
      "--reasoning-parser",
      "deepseek_r1",
    ]);
  });

  it("DeepSeek-V3 has no reasoning parser; an FP8 KV cache is passed through", () => {
    const args = planDeployment({ model: "deepseek-v3", kvCacheDtype: "fp8" }).plan!.vllmArgs;
    expect(args).not.toContain("--reasoning-parser");
    expect(args[args.indexOf("--kv-cache-dtype") + 1]).toBe("fp8");
  });

  it("lowers --max-num-batched-tokens only when vLLM's large default does not fit", () => {
    // DeepSeek-R1 FP8 on 8 x RTX PRO 6000 (95.1 GiB, large-batch class): 79.4 GiB of weights
    // + 7.5 GiB of activations at 8192 batched tokens exceed the 85.6 GiB budget; at 2048 the
    // activations are 3.1 GiB and 3.2 GiB remain for the KV cache.
    const p = planDeployment({ model: "deepseek-r1", instanceTypes: ["g7e.48xlarge"], nodesPerReplica: 1 }).plan;
    expect(p?.vllmArgs.slice(-2)).toEqual(["--max-num-batched-tokens", "2048"]);
    expect(p?.memory.maxNumBatchedTokens).toBe(2048);
    expect(p?.perGpuMemoryGiB.activations).toBeCloseTo(3.1, 1);
    const roomy = planDeployment({ model: "deepseek-r1", gpus: ["h200"] }).plan!;
    expect(roomy.vllmArgs).not.toContain("--max-num-batched-tokens");
  });

  it("passes --quantization only for a checkpoint that needs it", () => {
    const base = {
      modelId: "r1-distill-qwen-7b" as const,
      model: MODELS["r1-distill-qwen-7b"],
      tensorParallelSize: 1,
      pipelineParallelSize: 1,
      maxModelLen: 8192,
      gpuMemoryUtilization: 0.9,
      kvCacheDtype: "auto" as const,
      maxNumBatchedTokens: null,
    };
    const bf16 = MODELS["r1-distill-qwen-7b"].checkpoints[0]!;
    expect(vllmServeArgs({ ...base, checkpoint: bf16 })).not.toContain("--quantization");
    const online = { ...bf16, precision: "fp8" as const, quantizationFlag: "fp8" };
    expect(vllmServeArgs({ ...base, checkpoint: online }).slice(-2)).toEqual(["--quantization", "fp8"]);
  });

  it("emits only flags of the pinned release, for every model's plan", () => {
    for (const model of MODEL_IDS) {
      const p = planDeployment({ model, precisions: ["bf16", "fp8", "int8", "int4", "fp4"], kvCacheDtype: "fp8" }).plan!;
      for (const arg of p.vllmArgs.filter((a) => a.startsWith("--"))) {
        expect(VLLM_SERVE_FLAGS as readonly string[]).toContain(arg);
      }
      expect(p.vllmArgs).not.toContain("--swap-space");
    }
    expect(VLLM_IMAGE).toBe("vllm/vllm-openai:v0.33.0");
  });
});

describe("throughput and price estimates", () => {
  it("a dense model reads all its weights and the KV cache each step", () => {
    // 1.5B bf16 on one L4: 3.55e9 B of weights + 28 layers x 1024 B x 16,384 tokens of KV = 4.0197e9 B
    // per step at 300 GB/s -> 74.63 tokens/s.
    const model = MODELS["r1-distill-qwen-1.5b"];
    const rate = decodeTokensPerSecond(
      { model, checkpoint: model.checkpoints[0]!, gpu: GPUS.l4, tensorParallelSize: 1, kvBytesPerTokenPerLayer: 1024, maxModelLen: 32768 },
      1,
    );
    expect(rate).toBeCloseTo(300e9 / (3.55e9 + 28 * 1024 * 16384), 6);
    expect(rate).toBeCloseTo(74.63, 2);
  });

  it("a MoE step reads the shared weights and the experts its batch picks", () => {
    // 58 MoE layers x 256 experts x 3 x 7168 x 2048 = 653.9B routed parameters.
    expect(routedExpertParams(r1)).toBe(58 * 256 * 3 * 7168 * 2048);
    const dense = 671e9 - routedExpertParams(r1);
    expect(paramsReadPerStep(r1, 1)).toBeCloseTo(dense + routedExpertParams(r1) * (8 / 256), 0);
    expect(paramsReadPerStep(r1, 1) / 1e9).toBeCloseTo(37.5, 1); // the ~37B active parameters
    expect(paramsReadPerStep(r1, 10_000)).toBeCloseTo(671e9, -3);
  });

  it("prices a million output tokens at the aggregate rate", () => {
    const model = MODELS["r1-distill-qwen-1.5b"];
    const input = { model, checkpoint: model.checkpoints[0]!, gpu: GPUS.l4, tensorParallelSize: 1, kvBytesPerTokenPerLayer: 1024, maxModelLen: 32768 };
    // 3 sequences over 2 replicas: 2 per replica at the requested load; 4 per replica at full batch.
    const e = estimates(input, { concurrency: 3, replicas: 2, maxSequencesPerReplica: 4, usdPerHour: 1.6 });
    expect(e.decodeTokensPerSecond).toBeCloseTo(decodeTokensPerSecond(input, 2) * 2, 9);
    expect(e.fullBatchDecodeTokensPerSecond).toBeCloseTo(decodeTokensPerSecond(input, 4) * 2, 9);
    expect(e.singleSequenceTokensPerSecond).toBeCloseTo(decodeTokensPerSecond(input, 1), 9);
    expect(e.usdPerMillionOutputTokens).toBeCloseTo((1.6 / (e.fullBatchDecodeTokensPerSecond * 3600)) * 1e6, 9);
    expect(e.basis).toMatch(/^estimate: memory-bandwidth roofline/);
  });
});
