import { describe, expect, it } from "vitest";
import { cli } from "../support/cli";

const bad = (...args: string[]) => {
  const r = cli("estimate", ...args);
  expect(r.code).toBe(1);
  expect(r.stdout).toBe("");
  expect(r.stderr).not.toMatch(/\n\s+at .+:\d+:\d+/);
  return r.stderr;
};

describe("llm-fleet estimate", () => {
  it("prints memory, latency and throughput of R1 on 8 x H200, labelled calibrated", () => {
    const { code, stdout, stderr } = cli("estimate", "deepseek-r1", "--gpu", "h200", "--tp", "8", "--concurrency", "32", "--prompt-tokens", "1024", "--output-tokens", "1024");
    expect(code).toBe(0);
    expect(stderr).toBe("");
    expect(stdout.split("\n")[0]).toBe("deepseek-ai/DeepSeek-R1 on 1 x p5en.48xlarge (NVIDIA H200 141GB), TP 8 x PP 1");
    expect(stdout).toContain("Workload: 32 sequences in flight, mean 1,024 prompt / 1,024 output tokens, max_model_len 32,768\n");
    expect(stdout).toContain(
      "  weights 79.6 GiB | KV cache 38.8 GiB | activations 7.6 GiB | free 14.0 GiB (vLLM claims 126.0 GiB at 0.9)\n" +
        "  activations = profile peak 4.1 GiB (8,192 batched tokens, 1,024 sequences) + non-torch 1.4 GiB + CUDA graphs 2.1 GiB\n",
    );
    expect(stdout).toContain("Performance [calibrated on measurements]:\n  TPOT 25.7 ms (38.9 tokens/s per user), TTFT");
    expect(stdout).toMatch(/\n {2}1,241 output tokens\/s for the replica, 155 per GPU; bottleneck: memory\n/);
    expect(stdout).toMatch(/\n {2}per token: weights [\d.]+ ms \+ KV [\d.]+ ms \+ compute [\d.]+ ms \+ collectives [\d.]+ ms \+ fixed [\d.]+ ms \+ prefill [\d.]+ ms \+ pipeline 0\.00 ms\n/);
  });

  it("takes vLLM's engine knobs: TP 16 over two H100 nodes, eager, a larger step, an FP8 cache", () => {
    const { code, stdout } = cli(
      "estimate", "deepseek-r1", "--gpu", "h100", "--tp", "16", "--max-model-len", "2048",
      "--max-num-batched-tokens", "57344", "--enforce-eager", "--kv-cache-dtype", "fp8", "--gpu-memory-utilization", "0.92",
    );
    expect(code).toBe(0);
    expect(stdout.split("\n")[0]).toBe("deepseek-ai/DeepSeek-R1 on 2 x p5.48xlarge (NVIDIA H100 80GB SXM), TP 16 x PP 1");
    expect(stdout).toMatch(/\(vLLM claims 72\.9 GiB at 0\.92\)\n/);
    expect(stdout).toMatch(/\n {2}activations = profile peak [\d.]+ GiB \(57,344 batched tokens, 1,024 sequences\) \+ non-torch 1\.8 GiB \+ no CUDA graphs \(--enforce-eager\)\n/);
    expect(stdout).toContain("  KV cache in FP8 (FlashMLA), 35,136 bytes per token per GPU\n");
    expect(stdout).toMatch(/ \+ eager launches [\d.]+ ms\n/);
    expect(stdout).toContain("tensor parallelism across 2 nodes (all-reduces over EFA) is not in the calibration set");
    expect(stdout).toContain("eager mode (--enforce-eager) is not in the calibration set");
  });

  it("--json prints { request, estimate, memory }", () => {
    const { code, stdout } = cli("estimate", "deepseek-r1", "--gpu", "h200", "--tp", "1", "--dp", "8", "--concurrency", "64", "--json");
    expect(code).toBe(0);
    const doc = JSON.parse(stdout);
    expect(Object.keys(doc)).toEqual(["request", "estimate", "memory"]);
    expect(doc.request).toMatchObject({ model: "deepseek-r1", gpu: "h200", instanceType: "p5en.48xlarge", tensorParallelSize: 1, dataParallelSize: 8, concurrency: 64, promptTokens: 1024, outputTokens: 4096 });
    expect(Object.keys(doc.estimate)).toEqual(
      expect.arrayContaining(["tpotMs", "ttftMs", "outputTokensPerSecond", "outputTokensPerSecondPerGpu", "tokensPerSecondPerUser", "bottleneck", "confidence", "breakdown"]),
    );
    expect(doc.estimate.confidence).toBe("extrapolated");
    expect(doc.estimate.outputTokensPerSecondPerGpu).toBeCloseTo(doc.estimate.outputTokensPerSecond / 8, 9);
    expect(doc.memory).toMatchObject({ fits: true, problem: null, perGpuMemoryGiB: { weights: expect.any(Number), kvCache: expect.any(Number), activations: expect.any(Number), free: expect.any(Number) } });
    // Eight data-parallel ranks, each with its own cache.
    expect(doc.memory.maxConcurrentSequences % 8).toBe(0);
  });

  it("exits 2 with the reason when the layout does not fit", () => {
    const { code, stdout } = cli("estimate", "deepseek-r1", "--gpu", "h100", "--tp", "8");
    expect(code).toBe(2);
    expect(stdout).toContain("Does not fit: needs 79.6 GiB weights + 7.6 GiB activations per GPU; h100 leaves 71.3 GiB at utilization 0.90\n");
    const json = JSON.parse(cli("estimate", "deepseek-r1", "--gpu", "a100-80gb", "--tp", "8", "--json").stdout);
    expect(json.estimate).toBeNull();
    expect(json.memory.problem).toMatch(/runs on ada\/hopper\/blackwell; a100-80gb is ampere/);
  });

  it("refuses bad input with exit 1 and a message that names the flag", () => {
    expect(bad("deepseek-r1", "--gpu", "h200", "--tp", "3")).toBe(
      "llm-fleet estimate: --tp: 3 neither divides the 8 GPUs of p5en.48xlarge nor spans whole nodes of them: give one of 1, 2, 4, 8 inside a node, or 16, 24, 32 across nodes\n",
    );
    expect(bad("deepseek-r1", "--gpu", "h200", "--tp", "8", "--output-tokens", "-2")).toBe("llm-fleet estimate: --output-tokens: -2 is below 1; give at least 1 token\n");
    expect(bad("r1-distill-llama-8b", "--gpu", "h200", "--tp", "1", "--dp", "2")).toBe(
      "llm-fleet estimate: --dp: DeepSeek-R1-Distill-Llama-8B is dense; data-parallel attention with expert parallelism needs a MoE model (DeepSeek-R1/V3): leave it at 1\n",
    );
    expect(bad("deepseek-r1", "--tp", "8")).toBe("llm-fleet estimate: --gpu is required: one of a10g, l4, l40s, a100-40gb, a100-80gb, h100, h200, b200, b300, rtx-pro-6000\n");
    expect(bad("deepseek-r1", "--gpu", "h20", "--tp", "8")).toContain('--gpu: unknown gpu "h20"; did you mean "h200"?');
    expect(bad("deepseek-r1", "--gpu", "h200", "--instance", "p5.48xlarge", "--tp", "8")).toBe(
      "llm-fleet estimate: --instance: p5.48xlarge carries h100, not h200; name an instance type with h200 GPUs or leave it out\n",
    );
  });

  it("--help lists the flags and exits 0", () => {
    const { code, stdout } = cli("estimate", "--help");
    expect(code).toBe(0);
    expect(stdout).toMatch(/^Usage: llm-fleet estimate <model> --gpu <id> --tp <n> \[options\]/);
    for (const flag of ["--gpu", "--instance", "--tp", "--pp", "--dp", "--precision", "--concurrency", "--prompt-tokens", "--output-tokens", "--max-model-len", "--gpu-memory-utilization", "--json"]) {
      expect(stdout).toContain(flag);
    }
  });
});
