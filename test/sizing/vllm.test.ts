import { describe, expect, it } from "vitest";
import { MODELS, MODEL_IDS, VLLM_IMAGE, VLLM_SERVE_FLAGS, planDeployment, vllmServeArgs } from "../../sizing";

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

  it("data-parallel attention: --data-parallel-size with expert parallelism, TP per rank", () => {
    const args = vllmServeArgs({
      modelId: "deepseek-r1",
      model: r1,
      checkpoint: r1.checkpoints[0]!,
      tensorParallelSize: 1,
      pipelineParallelSize: 1,
      dataParallelSize: 8,
      maxModelLen: 32768,
      gpuMemoryUtilization: 0.9,
      kvCacheDtype: "auto",
      maxNumBatchedTokens: null,
    });
    expect(args.slice(0, 7)).toEqual(["deepseek-ai/DeepSeek-R1", "--served-model-name", "deepseek-r1", "--tensor-parallel-size", "1", "--data-parallel-size", "8"]);
    expect(args).toContain("--enable-expert-parallel");
    expect(args).not.toContain("--pipeline-parallel-size");
  });

  it("passes --quantization only for a checkpoint that needs it", () => {
    const base = {
      modelId: "r1-distill-qwen-7b" as const,
      model: MODELS["r1-distill-qwen-7b"],
      tensorParallelSize: 1,
      pipelineParallelSize: 1,
      dataParallelSize: 1,
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
