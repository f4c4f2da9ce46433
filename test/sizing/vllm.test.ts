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
      "--reasoning-parser",
      "deepseek_r1",
    ]);
  });

  it("DeepSeek-V3 has no reasoning parser; an FP8 KV cache is passed through", () => {
    const args = planDeployment({ model: "deepseek-v3", kvCacheDtype: "fp8" }).plan!.vllmArgs;
    expect(args).not.toContain("--reasoning-parser");
    expect(args[args.indexOf("--kv-cache-dtype") + 1]).toBe("fp8");
  });

  it("lowers --max-num-batched-tokens and --max-num-seqs only when vLLM's large defaults do not fit", () => {
    // DeepSeek-R1 GPTQ 4-bit on 4 x RTX PRO 6000 (95.1 GiB, large-batch class): at 8192 tokens
    // and 1024 sequences 76.5 GiB of weights, a 4.1 GiB activation peak, 0.97 GiB non-torch and
    // 2.1 GiB of graphs leave 2.0 GiB, 30,448 tokens, under one 32k request; at vLLM's small
    // defaults (2048 tokens, 256 sequences) the peak is 1.6 GiB and 68,832 tokens fit.
    const p = planDeployment({ model: "deepseek-r1", instanceTypes: ["g7e.24xlarge"], nodesPerReplica: 1, precisions: ["int4"] }).plan!;
    expect(p.vllmArgs.slice(-4)).toEqual(["--max-num-batched-tokens", "2048", "--max-num-seqs", "256"]);
    expect(p.memory).toMatchObject({ maxNumBatchedTokens: 2048, maxNumSeqs: 256 });
    expect(p.memory.reserves.activationPeakGiB).toBeCloseTo(1.567, 3);
    expect(p.kvCacheTokens).toBe(68_832);
    const roomy = planDeployment({ model: "deepseek-r1", gpus: ["h200"] }).plan!;
    expect(roomy.vllmArgs).not.toContain("--max-num-batched-tokens");
    expect(roomy.vllmArgs).not.toContain("--max-num-seqs");
  });

  it("emits each engine knob the request sets to other than vLLM's default, and only then", () => {
    const knobs = planDeployment({
      model: "r1-distill-qwen-7b",
      gpus: ["h100"],
      gpuMemoryUtilization: 0.85,
      kvCacheDtype: "fp8",
      maxNumBatchedTokens: 512,
      enforceEager: true,
    }).plan!;
    // 512 tokens per step is below the H100's 1024-sequence default: vLLM lowers it to 512 itself.
    expect(knobs.vllmArgs.slice(knobs.vllmArgs.indexOf("--gpu-memory-utilization"), knobs.vllmArgs.indexOf("--gpu-memory-utilization") + 2)).toEqual(["--gpu-memory-utilization", "0.85"]);
    expect(knobs.vllmArgs.slice(knobs.vllmArgs.indexOf("--kv-cache-dtype"), knobs.vllmArgs.indexOf("--kv-cache-dtype") + 2)).toEqual(["--kv-cache-dtype", "fp8"]);
    expect(knobs.vllmArgs.slice(knobs.vllmArgs.indexOf("--max-num-batched-tokens"))).toEqual(["--max-num-batched-tokens", "512", "--enforce-eager"]);
    expect(knobs.memory).toMatchObject({ maxNumBatchedTokens: 512, maxNumSeqs: 512, enforceEager: true, kvCacheDtype: "fp8" });
    const defaults = planDeployment({ model: "r1-distill-qwen-7b", gpus: ["h100"], gpuMemoryUtilization: 0.9, enforceEager: false }).plan!;
    for (const flag of ["--gpu-memory-utilization", "--kv-cache-dtype", "--max-num-batched-tokens", "--max-num-seqs", "--enforce-eager"]) {
      expect(defaults.vllmArgs).not.toContain(flag);
    }
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
      maxNumSeqs: null,
      enforceEager: false,
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
      maxNumSeqs: null,
      enforceEager: false,
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
