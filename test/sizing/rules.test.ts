import { describe, expect, it } from "vitest";
import {
  GPUS,
  INSTANCES,
  MODELS,
  architectureRule,
  kvCacheRule,
  memoryBreakdown,
  memoryRule,
  multiNodeRule,
  offeringProblem,
  pipelineParallelRule,
  priceQuote,
  scaleRule,
  tensorParallelRule,
} from "../../sizing";

const r1 = MODELS["deepseek-r1"];
const byRepo = (repo: string) => r1.checkpoints.find((c) => c.repo === repo)!;
const native = byRepo("deepseek-ai/DeepSeek-R1");
const nvfp4 = byRepo("nvidia/DeepSeek-R1-NVFP4");
const awq = byRepo("cognitivecomputations/DeepSeek-R1-AWQ");

describe("architecture: a checkpoint runs only where vLLM has kernels for it", () => {
  it("block FP8 needs Ada, Hopper or Blackwell", () => {
    expect(architectureRule(native, "h100", GPUS.h100)).toBeNull();
    expect(architectureRule(native, "l40s", GPUS.l40s)).toBeNull();
    expect(architectureRule(native, "a100-80gb", GPUS["a100-80gb"])).toBe(
      "deepseek-ai/DeepSeek-R1 (block FP8 W8A8 (128x128 scales)) runs on ada/hopper/blackwell; a100-80gb is ampere (compute capability 8.0)",
    );
  });
  it("NVFP4 needs Blackwell", () => {
    expect(architectureRule(nvfp4, "b200", GPUS.b200)).toBeNull();
    expect(architectureRule(nvfp4, "h200", GPUS.h200)).toContain("runs on blackwell; h200 is hopper");
  });
  it("4-bit AWQ runs from Ampere on", () => {
    expect(architectureRule(awq, "a100-40gb", GPUS["a100-40gb"])).toBeNull();
    expect(architectureRule(awq, "a10g", GPUS.a10g)).toBeNull();
  });
});

describe("tensor parallelism divides the heads and stays inside a node", () => {
  const qwen7 = MODELS["r1-distill-qwen-7b"]; // 28 heads, 4 KV heads
  const qwen15 = MODELS["r1-distill-qwen-1.5b"]; // 12 heads, 2 KV heads
  it("accepts TP sizes that divide the attention heads", () => {
    expect(tensorParallelRule(qwen7, 4, 8)).toBeNull();
    expect(tensorParallelRule(r1, 8, 8)).toBeNull();
    expect(tensorParallelRule(qwen15, 4, 4)).toBeNull(); // 2 KV heads, each replicated twice
  });
  it("rejects TP that does not divide the heads", () => {
    expect(tensorParallelRule(qwen7, 8, 8)).toBe("TP 8 does not divide DeepSeek-R1-Distill-Qwen-7B's 28 attention heads");
  });
  it("rejects TP wider than a node", () => {
    expect(tensorParallelRule(r1, 16, 8)).toBeNull(); // two whole nodes
    expect(tensorParallelRule(r1, 12, 8)).toBe("TP 12 spans 1.50 nodes of 8 GPUs; across nodes TP takes whole nodes (16, 24, ...)");
  });
  it("rejects KV heads that cannot be split or replicated evenly", () => {
    const odd = { ...MODELS["r1-distill-llama-8b"], kvHeads: 3, attentionHeads: 24 };
    expect(tensorParallelRule(odd, 2, 8)).toBe("TP 2 cannot split or replicate DeepSeek-R1-Distill-Llama-8B's 3 KV heads evenly");
    expect(tensorParallelRule(odd, 3, 8)).toBeNull();
  });
});

describe("pipeline parallelism spans nodes, never more stages than layers", () => {
  it("accepts up to one stage per layer", () => {
    expect(pipelineParallelRule(r1, 61)).toBeNull();
    expect(pipelineParallelRule(r1, 62)).toBe("PP 62 exceeds DeepSeek-R1's 61 layers");
  });
  it("needs EFA when a replica spans nodes", () => {
    expect(multiNodeRule("p5.48xlarge", INSTANCES["p5.48xlarge"], 2)).toBeNull();
    expect(multiNodeRule("g6.xlarge", INSTANCES["g6.xlarge"], 1)).toBeNull();
    expect(multiNodeRule("g6.xlarge", INSTANCES["g6.xlarge"], 2)).toBe(
      "a replica over 2 nodes needs EFA between them; g6.xlarge has none",
    );
  });
});

describe("offering: the instance must be sold in the region and capacity type", () => {
  it("on demand where the price sheet lists it", () => {
    expect(offeringProblem("p5.48xlarge", "us-east-1", "on-demand")).toBeNull();
    expect(offeringProblem("p4de.24xlarge", "eu-west-3", "on-demand")).toBe(
      "p4de.24xlarge is not offered in eu-west-3 (sold in 6 regions)",
    );
  });
  it("names the regions when there are few", () => {
    expect(offeringProblem("p6-b300.48xlarge", "us-east-1", "on-demand")).toBe(
      "p6-b300.48xlarge is not offered in us-east-1 (sold only in us-west-2)",
    );
  });
  it("not as a capacity type the family lacks", () => {
    expect(offeringProblem("p5e.48xlarge", "us-east-2", "on-demand")).toBe(
      "p5e.48xlarge is not sold as on-demand (offered: capacity-block)",
    );
    expect(offeringProblem("p4de.24xlarge", "us-east-1", "spot")).toBe("p4de.24xlarge is not sold as spot (offered: on-demand)");
  });
  it("Capacity Blocks only in their regions", () => {
    expect(offeringProblem("p5e.48xlarge", "us-east-2", "capacity-block")).toBeNull();
    expect(offeringProblem("p5e.48xlarge", "us-west-2", "capacity-block")).toBe(
      "p5e.48xlarge Capacity Blocks are not sold in us-west-2 (regions: us-east-2)",
    );
  });
});

describe("price: catalog, Spot ceiling, overrides", () => {
  it("uses the dated sheet on demand", () => {
    expect(priceQuote("p5.48xlarge", "us-east-1", "on-demand")).toEqual({
      usdPerHourPerNode: 55.04,
      basis: "on-demand",
      asOf: "2026-01-21",
      source: "https://instances.vantage.sh/ (AWS on-demand Linux prices, data of 2026-01-21)",
    });
  });
  it("prices Spot at the on-demand ceiling", () => {
    expect(priceQuote("g6.xlarge", "us-east-1", "spot")).toMatchObject({ usdPerHourPerNode: 0.8048, basis: "spot-ceiling" });
  });
  it("needs an override for Capacity Blocks", () => {
    expect(priceQuote("p5e.48xlarge", "us-east-2", "capacity-block")).toEqual({
      problem:
        "Capacity Block prices are set per block and are not in the catalog; pass a price override for p5e.48xlarge in us-east-2",
    });
    expect(
      priceQuote("p5e.48xlarge", "us-east-2", "capacity-block", [{ instanceType: "p5e.48xlarge", usdPerHour: 41.6 }]),
    ).toMatchObject({ usdPerHourPerNode: 41.6, basis: "override" });
  });
  it("lets the most specific override win", () => {
    const overrides = [
      { instanceType: "p5.48xlarge" as const, usdPerHour: 50 },
      { instanceType: "p5.48xlarge" as const, region: "us-east-1", usdPerHour: 45 },
      { instanceType: "p5.48xlarge" as const, region: "us-east-1", capacityType: "spot" as const, usdPerHour: 20 },
    ];
    expect(priceQuote("p5.48xlarge", "us-east-1", "spot", overrides)).toMatchObject({ usdPerHourPerNode: 20 });
    expect(priceQuote("p5.48xlarge", "us-east-1", "on-demand", overrides)).toMatchObject({ usdPerHourPerNode: 45 });
    expect(priceQuote("p5.48xlarge", "us-west-2", "on-demand", overrides)).toMatchObject({ usdPerHourPerNode: 50 });
  });
});

describe("scale: one deployment plans at most 64 nodes", () => {
  it("accepts 64 and refuses 65, saying what to change", () => {
    expect(scaleRule(64, 1000, 16)).toBeNull();
    expect(scaleRule(65, 1000, 16)).toBe(
      "needs 65 nodes for 1,000 sequences in flight at 16 per replica; " +
        "a deployment plans at most 64 nodes (lower the load, loosen a target or split the deployment)",
    );
    expect(scaleRule(65, 1000, 16, 50_000)).toBe(
      "needs 65 nodes for 1,000 sequences and 50,000 output tokens/s at 16 per replica; " +
        "a deployment plans at most 64 nodes (lower the load, loosen a target or split the deployment)",
    );
  });
});

describe("memory and the start condition", () => {
  const breakdown = (gpu: keyof typeof GPUS, tp: number, pp: number, maxModelLen: number) =>
    memoryBreakdown({
      model: r1,
      checkpoint: native,
      gpu: GPUS[gpu],
      tensorParallelSize: tp,
      pipelineParallelSize: pp,
      maxModelLen,
      gpuMemoryUtilization: 0.9,
      kvCacheDtype: "auto",
    });
  it("rejects weights that do not fit, with the numbers", () => {
    expect(memoryRule(breakdown("h100", 8, 1, 32768), "h100", 0.9)).toBe(
      "needs 79.6 GiB weights + 7.6 GiB activations per GPU; h100 leaves 71.3 GiB at utilization 0.90",
    );
    expect(memoryRule(breakdown("h200", 8, 1, 32768), "h200", 0.9)).toBeNull();
  });
  it("refuses a max_model_len longer than the KV cache, naming the longest that fits", () => {
    const m = breakdown("h200", 8, 1, 163840);
    expect(kvCacheRule(m, 163840)).toBeNull(); // 592,688 tokens
    expect(kvCacheRule(m, 592_689)).toBe(
      "KV cache of 38.8 GiB per GPU holds 592,688 tokens; one 592,689-token request does not fit (largest max_model_len that fits: 592,688)",
    );
  });
});
