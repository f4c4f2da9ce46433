import { describe, expect, it } from "vitest";
import { GPU_IDS, PRECISIONS } from "../../sizing";
import { spawnSync } from "node:child_process";
import { BIN, cli } from "../support/cli";

const noStackTrace = (text: string) => expect(text).not.toMatch(/\n\s+at .+:\d+:\d+/);

describe("llm-fleet size, human output", () => {
  const { code, stdout, stderr } = cli("size", "deepseek-r1");

  it("exits 0 with the plan, its cost and the defaults it assumed", () => {
    expect(code).toBe(0);
    expect(stderr).toBe("");
    const lines = stdout.split("\n");
    expect(lines[0]).toBe("DeepSeek-R1 · catalog 2026.12.2 · prices of 2026-01-21");
    expect(lines[1]).toBe(
      "Request: max_model_len 32,768 (default) · concurrency 1 sequence (default) · mean 1,024 prompt (default) / 4,096 output tokens (default) · " +
        "no latency target · precision fp8 (native, default) · us-east-1 on-demand · objective cost",
    );
    // One 8-GPU g7e.48xlarge misses a 32k request by its CUDA graphs (test/sizing/planner.test.ts).
    expect(stdout).toContain("Plan: 3 x g7e.24xlarge (4 x rtx-pro-6000 each), $49.72/hour, $36,293/month");
    expect(stdout).toContain("  parallelism  TP 4 x PP 3, 1 replica, each over 3 nodes");
    expect(stdout).toContain("  KV cache     968,256 tokens per replica: 29 concurrent 32,768-token sequences\n");
  });

  it("draws the per-GPU memory bar with its four parts", () => {
    const bar = stdout.split("\n").find((l) => l.startsWith("  [W"))!;
    expect(bar).toMatch(/^ {2}\[W+K+A+\.+\]$/);
    expect(bar.length).toBe(2 + 62);
    expect(stdout).toContain(
      "  weights 56.8 GiB | KV cache 21.8 GiB | activations 7.0 GiB | free 9.5 GiB (vLLM claims 85.6 GiB at 0.9)\n" +
        "  activations = profile peak 3.3 GiB (8,192 batched tokens, 1,024 sequences) + non-torch 1.6 GiB + CUDA graphs 2.1 GiB\n",
    );
  });

  it("prints the vllm serve command, the alternatives and the dropped candidates by reason", () => {
    expect(stdout).toContain(
      "  vllm serve deepseek-ai/DeepSeek-R1 --served-model-name deepseek-r1 --tensor-parallel-size 4 --pipeline-parallel-size 3" +
        " --max-model-len 32768 --enable-expert-parallel --trust-remote-code --reasoning-parser deepseek_r1\n",
    );
    expect(stdout).toMatch(
      /Next best \(latency and throughput at the same workload\):\n {2}instance +nodes +layout +checkpoint +replicas +\$\/hour +\$\/month +TPOT ms +tok\/s\/user +\$\/Mtok +basis\n {2}p5en\.48xlarge +1 +8x1 /,
    );
    expect(stdout).toMatch(/\n {2}p5en\.48xlarge +1 +8x1 +deepseek-ai\/DeepSeek-R1 +1 +\$63\.30 +\$46,206 +8\.1 +122\.8 +\$143\.57 +calibrated\n/);
    expect(stdout).toMatch(/ {2}memory \(\d+\): weights and activations exceed the GPU memory budget/);
    expect(stdout).toContain("  architecture (40): checkpoint has no vLLM kernels for this GPU");
    expect(stdout).toContain("    ... and 37 more (--json lists them all)");
    expect(stdout).toContain("  not tried: 608 of other precisions (allow them with --precision)");
  });

  it("labels the predicted latency and throughput, and says why they are extrapolated", () => {
    expect(stdout).toContain("  latency      TPOT 16.2 ms (61.6 tokens/s per user) [extrapolated], TTFT 299 ms at 1 sequence per replica\n");
    expect(stdout).toContain("  throughput   61 output tokens/s (5 per GPU), $225.30 per million output tokens [extrapolated]\n");
    expect(stdout).toContain("  headroom     up to 315 sequences per replica within the KV cache; bottleneck: memory\n");
    expect(stdout).toContain("tensor parallelism over PCIe 5 is not in the calibration set");
  });
});

describe("llm-fleet size with a workload and latency targets", () => {
  const { code, stdout } = cli("size", "deepseek-r1", "--concurrency", "32", "--prompt-tokens", "1024", "--output-tokens", "1024", "--max-tpot-ms", "40", "--chart");

  it("meets the target on NVLink instead of the cheaper PCIe node", () => {
    expect(code).toBe(0);
    expect(stdout).toContain("mean 1,024 prompt / 1,024 output tokens · targets TPOT <= 40 ms ·");
    expect(stdout).toContain("Plan: 1 x p5en.48xlarge (8 x h200 each), $63.30/hour, $46,206/month");
    expect(stdout).toMatch(
      / {2}latency {6}TPOT 25\.7 ms \(38\.9 tokens\/s per user\) \[calibrated on measurements\], TTFT [\d.]+ ms \[extrapolated\] at 32 sequences per replica\n/,
    );
  });

  it("drops what misses a target even alone, closest first, and suggests the nearest target that plans", () => {
    const tight = cli("size", "deepseek-r1", "--max-tpot-ms", "10");
    expect(tight.stdout).toContain("  latency (7): misses a latency target even at one sequence per replica\n");
    expect(tight.stdout).toContain(
      "    g7e.48xlarge x2 TP 8 x PP 2, deepseek-ai/DeepSeek-R1: TPOT 12.6 ms at 1 sequence per replica, target 10 ms: " +
        "more replicas cannot help; try a faster GPU, a wider layout or a looser target\n",
    );
    const none = cli("size", "deepseek-r1", "--max-tpot-ms", "5");
    expect(none.code).toBe(2);
    expect(none.stdout).toContain("Closest miss: p6-b200.48xlarge x1 TP 8 x PP 1, deepseek-ai/DeepSeek-R1: TPOT 7.4 ms at 1 sequence per replica, target 5 ms");
    expect(none.stdout).toContain("  --max-tpot-ms 8: 1 x p6-b200.48xlarge, deepseek-ai/DeepSeek-R1 (fp8), $113.93/hour\n");
  });

  it("draws the frontier with the plan marked", () => {
    const chart = stdout.slice(stdout.indexOf("Frontier:"));
    expect(chart).toMatch(/^Frontier: output tokens\/s per GPU \(up\) against tokens\/s per user \(across\), log scales/);
    expect(chart).toContain("  @ 1 x p5en.48xlarge TP 8 x PP 1 fp8 (the plan); x: outside the targets");
    expect(chart.split("\n").filter((l) => / \|/.test(l))).toHaveLength(16);
    expect(chart).toMatch(/@/);
  });
});

describe("llm-fleet size --json", () => {
  const { code, stdout } = cli("size", "deepseek-ai/DeepSeek-R1-Distill-Llama-70B", "--max-model-len", "16384", "--json");
  const doc = JSON.parse(stdout);

  it("is one object { request, plan, alternatives, rejected }", () => {
    expect(code).toBe(0);
    expect(Object.keys(doc)).toEqual(expect.arrayContaining(["request", "plan", "alternatives", "rejected"]));
    expect(doc.request).toMatchObject({ model: "r1-distill-llama-70b", maxModelLen: 16384, concurrency: 1 });
  });

  it("has every plan field the stacks rely on", () => {
    const p = doc.plan;
    expect(p).toMatchObject({
      model: "r1-distill-llama-70b",
      checkpoint: { repo: expect.any(String), precision: "bf16" },
      instanceType: expect.any(String),
      gpusPerNode: expect.any(Number),
      nodes: expect.any(Number),
      tensorParallelSize: expect.any(Number),
      pipelineParallelSize: expect.any(Number),
      replicas: 1,
      maxModelLen: 16384,
      kvCacheTokens: expect.any(Number),
      maxConcurrentSequences: expect.any(Number),
      perGpuMemoryGiB: { weights: expect.any(Number), kvCache: expect.any(Number), activations: expect.any(Number), free: expect.any(Number) },
      usdPerHour: expect.any(Number),
      usdPerMonth: expect.any(Number),
      image: "vllm/vllm-openai:v0.33.0",
    });
    expect(GPU_IDS).toContain(p.gpu);
    expect(PRECISIONS).toContain(p.checkpoint.precision);
    expect(p.vllmArgs.every((a: unknown) => typeof a === "string")).toBe(true);
    expect(p.kvCacheTokens).toBeGreaterThanOrEqual(16384);
  });

  it("carries plan.performance at the requested workload, for the plan and every alternative", () => {
    for (const p of [doc.plan, ...doc.alternatives]) {
      expect(Object.keys(p.performance)).toEqual(
        expect.arrayContaining([
          "tpotMs",
          "ttftMs",
          "outputTokensPerSecond",
          "outputTokensPerSecondPerGpu",
          "tokensPerSecondPerUser",
          "usdPerMillionOutputTokens",
          "maxConcurrencyWithinTargets",
          "bottleneck",
          "confidence",
        ]),
      );
      const f = p.performance;
      expect(f.tokensPerSecondPerUser).toBeCloseTo(1000 / f.tpotMs, 9);
      // USD/hour over the deployment's output rate at the requested concurrency.
      expect(f.usdPerMillionOutputTokens).toBeCloseTo((p.usdPerHour * 1e6) / (3600 * f.outputTokensPerSecond), 9);
      expect(["memory", "compute", "interconnect", "overhead"]).toContain(f.bottleneck);
      expect(["calibrated", "extrapolated"]).toContain(f.confidence);
    }
    expect(doc.request).toMatchObject({ promptTokens: 1024, outputTokens: 4096 });
  });

  it("lists rejected candidates with instance, checkpoint, nodes and reason", () => {
    expect(doc.rejected.length).toBeGreaterThan(0);
    for (const r of doc.rejected) {
      expect(r).toMatchObject({ instanceType: expect.any(String), checkpoint: expect.any(String), nodes: expect.any(Number), reason: expect.any(String) });
    }
  });
});

describe("llm-fleet size when nothing fits", () => {
  it("exits 2 with the closest miss and what to relax", () => {
    const { code, stdout } = cli("size", "deepseek-r1", "--gpu", "a100-80gb");
    expect(code).toBe(2);
    expect(stdout).toContain("No deployment fits.");
    expect(stdout).toContain("Closest miss: p4de.24xlarge x1, deepseek-ai/DeepSeek-R1: deepseek-ai/DeepSeek-R1 (block FP8 W8A8 (128x128 scales)) runs on ada/hopper/blackwell; a100-80gb is ampere");
    expect(stdout).toContain("  --precision fp8,bf16,int4,fp4: 1 x p4de.24xlarge, ISTA-DASLab/DeepSeek-R1-GPTQ-4b-128g (int4), $27.45/hour");
    expect(stdout).toContain("  without --gpu: 3 x g7e.24xlarge, deepseek-ai/DeepSeek-R1 (fp8), $49.72/hour");
  });

  it("suggests --enforce-eager when the CUDA graphs are what does not fit, and says which knobs a request sets", () => {
    const { code, stdout } = cli("size", "deepseek-r1", "--instance", "g7e.48xlarge", "--nodes", "1");
    expect(code).toBe(2);
    expect(stdout).toContain("  --enforce-eager: 1 x g7e.48xlarge, deepseek-ai/DeepSeek-R1 (fp8), $33.14/hour\n");
    const eager = cli("size", "deepseek-r1", "--instance", "g7e.48xlarge", "--nodes", "1", "--enforce-eager");
    expect(eager.code).toBe(0);
    expect(eager.stdout).toContain(" · objective cost · --enforce-eager\n");
    // The planner still lowers the step and sequence cap to vLLM's small defaults to fit.
    expect(eager.stdout).toContain("--reasoning-parser deepseek_r1 --max-num-batched-tokens 2048 --max-num-seqs 256 --enforce-eager\n");
    // A step the user sets is kept: at 2048 tokens with the 1024-sequence default the sampler pass does not fit.
    const fixed = cli("size", "deepseek-r1", "--instance", "g7e.48xlarge", "--nodes", "1", "--enforce-eager", "--max-num-batched-tokens", "2048");
    expect(fixed.code).toBe(2);
    expect(fixed.stdout).toContain(" · objective cost · --max-num-batched-tokens 2048 · --enforce-eager\n");
  });

  it("prints plan null in JSON", () => {
    const { code, stdout } = cli("size", "deepseek-r1", "--gpu", "a100-40gb", "--precision", "int4", "--nodes", "1", "--json");
    expect(code).toBe(2);
    const doc = JSON.parse(stdout);
    expect(doc.plan).toBeNull();
    expect(doc.closestMiss.reason).toBe("needs 38.5 GiB weights + 4.5 GiB activations per GPU; a100-40gb leaves 35.6 GiB at utilization 0.90");
  });
});

describe("llm-fleet size, bad input", () => {
  const bad = (...args: string[]) => {
    const result = cli("size", ...args);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe("");
    noStackTrace(result.stderr);
    return result.stderr;
  };

  it("an unknown model lists the valid ids with a did-you-mean", () => {
    expect(bad("deepsek-r1")).toBe(
      'llm-fleet size: <model>: unknown model "deepsek-r1"; did you mean "deepseek-r1"? Valid: deepseek-r1, deepseek-r1-0528, deepseek-v3, deepseek-v3-0324, r1-distill-qwen-1.5b, r1-distill-qwen-7b, r1-distill-llama-8b, r1-distill-qwen-14b, r1-distill-qwen-32b, r1-distill-llama-70b\n',
    );
  });

  it("unknown GPU, instance and region each get a did-you-mean, all at once", () => {
    const stderr = bad("deepseek-r1", "--gpu", "h10", "--instance", "p5.48xl", "--region", "us-est-1");
    expect(stderr).toContain('--gpu: unknown gpu "h10"; did you mean "h100"?');
    expect(stderr).toContain('--instance: unknown instance type "p5.48xl"; did you mean "p5.48xlarge"?');
    expect(stderr).toContain('--region: unknown region "us-est-1"; did you mean "us-east-1"?');
  });

  it("non-numeric and negative numbers name the flag", () => {
    expect(bad("deepseek-r1", "--max-model-len", "lots")).toBe(
      'llm-fleet size: --max-model-len: "lots" is not a number; give a whole number of tokens\n',
    );
    expect(bad("deepseek-r1", "--concurrency", "-4")).toBe("llm-fleet size: --concurrency: -4 is below 1; give at least 1 sequence\n");
    expect(bad("deepseek-r1", "--price", "p5.48xlarge=cheap")).toContain('--price (#1 usdPerHour): "cheap" is not a price');
  });

  it("bad workload and target values name the flag", () => {
    expect(bad("deepseek-r1", "--max-tpot-ms", "0")).toBe(
      "llm-fleet size: --max-tpot-ms: 0 is not above 0; give a time per output token in milliseconds, e.g. 50\n",
    );
    expect(bad("deepseek-r1", "--prompt-tokens", "-1")).toBe("llm-fleet size: --prompt-tokens: -1 is below 1; give at least 1 token\n");
    expect(bad("deepseek-r1", "--throughput", "fast")).toBe(
      'llm-fleet size: --throughput: "fast" is not a number; give output tokens per second, e.g. 2000\n',
    );
    expect(bad("deepseek-r1", "--prompt-tokens", "30000", "--max-model-len", "32768")).toBe(
      "llm-fleet size: --prompt-tokens: a mean request of 30000 prompt + 4096 output tokens is longer than max_model_len 32768; " +
        "raise maxModelLen to at least 34096 or shorten the lengths\n",
    );
  });

  it("an unknown flag gets a did-you-mean; a missing model says what to give", () => {
    expect(bad("deepseek-r1", "--gpus", "h100")).toContain('unknown flag "--gpus"; did you mean "--gpu"?');
    expect(bad()).toContain("missing <model>. Valid: deepseek-r1");
    expect(bad("deepseek-r1", "--nodes")).toBe("llm-fleet size: --nodes needs a value\n");
  });

  it("a max_model_len beyond the model's context says the limit", () => {
    expect(bad("r1-distill-qwen-7b", "--max-model-len", "200000")).toBe(
      "llm-fleet size: --max-model-len: 200000 exceeds DeepSeek-R1-Distill-Qwen-7B's context of 131072 tokens; use at most 131072\n",
    );
  });
});

describe("llm-fleet size, flag forms", () => {
  const json = (...args: string[]) => {
    const result = cli("size", ...args, "--json");
    expect(result.code, result.stderr).toBe(0);
    return JSON.parse(result.stdout);
  };

  it("takes --flag=value and --flag value alike", () => {
    expect(json("r1-distill-qwen-7b", "--max-model-len=8192").request.maxModelLen).toBe(8192);
    expect(json("r1-distill-qwen-7b", "--max-model-len", "8192").request.maxModelLen).toBe(8192);
  });

  it("merges repeated and comma-separated list flags, and refuses a repeated scalar", () => {
    expect(json("deepseek-r1", "--gpu", "h100", "--gpu", "h200,b200").request.gpus).toEqual(["h100", "h200", "b200"]);
    const twice = cli("size", "deepseek-r1", "--nodes", "1", "--nodes", "2");
    expect(twice.code).toBe(1);
    expect(twice.stderr).toBe("llm-fleet size: --nodes is given 2 times; give it once\n");
  });

  it("applies a --price override, per region when one is named", () => {
    const doc = json("deepseek-r1", "--gpu", "h200", "--price", "p5en.48xlarge@us-east-1=40.5", "--price", "p5en.48xlarge@us-west-2=1");
    expect(doc.request.priceOverrides).toEqual([
      { instanceType: "p5en.48xlarge", region: "us-east-1", usdPerHour: 40.5 },
      { instanceType: "p5en.48xlarge", region: "us-west-2", usdPerHour: 1 },
    ]);
    expect(doc.plan).toMatchObject({ instanceType: "p5en.48xlarge", usdPerHour: 40.5, price: { basis: "override" } });
  });

  it("reads numbers only as plain digits", () => {
    const hex = cli("size", "r1-distill-qwen-7b", "--max-model-len", "0x100");
    expect(hex.code).toBe(1);
    expect(hex.stderr).toBe('llm-fleet size: --max-model-len: "0x100" is not a number; give a whole number of tokens\n');
    expect(cli("size", "r1-distill-qwen-7b", "--concurrency", "1e3").stderr).toContain('"1e3" is not a number');
  });

  it("ends quietly when the reader closes the pipe", () => {
    const result = spawnSync("sh", ["-c", `"${BIN}" size deepseek-r1 --json | head -c 1`], { encoding: "utf8" });
    expect(result.stdout).toBe("{");
    expect(result.stderr).toBe("");
  });

  it("an empty list names what to give", () => {
    expect(cli("size", "deepseek-r1", "--gpu", "").stderr).toBe(
      "llm-fleet size: --gpu: give at least one of a10g, l4, l40s, a100-40gb, a100-80gb, h100, h200, b200, b300, rtx-pro-6000\n",
    );
  });

  it("contradictory constraints are bad input, not an empty plan", () => {
    const result = cli("size", "deepseek-r1", "--gpu", "h100", "--instance", "p4d.24xlarge");
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      "llm-fleet size: --instance: p4d.24xlarge carries a100-40gb, which the GPU constraint (h100) leaves out; drop one of the two constraints\n",
    );
  });

  it("caps a deployment at 64 nodes", () => {
    const result = cli("size", "r1-distill-qwen-1.5b", "--concurrency", "100000000");
    expect(result.code).toBe(2);
    expect(result.stdout).toContain("a deployment plans at most 64 nodes (lower the load, loosen a target or split the deployment)");
  });
});

describe("llm-fleet help", () => {
  it("-h is --help", () => {
    expect(cli("size", "-h").stdout).toBe(cli("size", "--help").stdout);
  });

  it("size --help lists every flag and exits 0", () => {
    const { code, stdout } = cli("size", "--help");
    expect(code).toBe(0);
    for (const flag of ["--gpu", "--instance", "--nodes", "--precision", "--max-model-len", "--concurrency", "--region", "--capacity", "--objective", "--json"]) {
      expect(stdout).toContain(flag);
    }
  });
  it("an unknown command exits 1 with the usage", () => {
    const { code, stderr } = cli("deploy");
    expect(code).toBe(1);
    expect(stderr).toContain('unknown command "deploy"');
  });
});
