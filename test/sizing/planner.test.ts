import { describe, expect, it } from "vitest";
import { GPUS, PlanInputError, estimateLayout, layouts, planDeployment, type PlanResult } from "../../sizing";

const ALL_PRECISIONS = ["bf16", "fp8", "int8", "int4", "fp4"] as const;

function plan(result: PlanResult) {
  expect(result.plan, JSON.stringify(result.closestMiss)).not.toBeNull();
  return result.plan!;
}

describe("layouts", () => {
  it("enumerates TP x PP within a node, and PP or TP across whole nodes", () => {
    expect(layouts(4, 1)).toEqual([
      { tp: 1, pp: 1, dp: 1 },
      { tp: 1, pp: 2, dp: 1 },
      { tp: 1, pp: 4, dp: 1 },
      { tp: 2, pp: 1, dp: 1 },
      { tp: 2, pp: 2, dp: 1 },
      { tp: 4, pp: 1, dp: 1 },
    ]);
    expect(layouts(8, 2)).toEqual([
      { tp: 1, pp: 16, dp: 1 },
      { tp: 2, pp: 8, dp: 1 },
      { tp: 4, pp: 4, dp: 1 },
      { tp: 8, pp: 2, dp: 1 },
      { tp: 16, pp: 1, dp: 1 },
    ]);
    // Without NVLink inside the nodes, TP stays inside them.
    expect(layouts(8, 2, false, false).filter((l) => l.tp > 8)).toEqual([]);
    expect(layouts(1, 1)).toEqual([{ tp: 1, pp: 1, dp: 1 }]);
  });

  it("adds data-parallel attention layouts for MoE models, inside one node only", () => {
    expect(layouts(8, 1, true).filter((l) => l.dp > 1)).toEqual([
      { tp: 1, pp: 1, dp: 2 },
      { tp: 2, pp: 1, dp: 2 },
      { tp: 4, pp: 1, dp: 2 },
      { tp: 1, pp: 1, dp: 4 },
      { tp: 2, pp: 1, dp: 4 },
      { tp: 1, pp: 1, dp: 8 },
    ]);
    expect(layouts(8, 2, true)).toEqual(layouts(8, 2));
  });
});

describe("a distill on one small GPU", () => {
  it("puts R1-Distill-Qwen-1.5B on the cheapest L4 with the stated defaults", () => {
    const result = planDeployment({ model: "r1-distill-qwen-1.5b" });
    const p = plan(result);
    expect(result.request).toMatchObject({ maxModelLen: 32768, concurrency: 1, region: "us-east-1", capacityType: "on-demand" });
    expect(p).toMatchObject({
      instanceType: "g6.xlarge",
      gpu: "l4",
      nodes: 1,
      tensorParallelSize: 1,
      pipelineParallelSize: 1,
      replicas: 1,
      usdPerHour: 0.8048,
      checkpoint: { repo: "deepseek-ai/DeepSeek-R1-Distill-Qwen-1.5B", precision: "bf16" },
    });
    expect(p.usdPerMonth).toBeCloseTo(0.8048 * 730, 9);
  });

  it("puts R1-Distill-Qwen-7B on one A10G when asked for that GPU", () => {
    const p = plan(planDeployment({ model: "r1-distill-qwen-7b", gpus: ["a10g"] }));
    expect(p).toMatchObject({ instanceType: "g5.xlarge", tensorParallelSize: 1, usdPerHour: 1.006 });
    expect(p.kvCacheTokens).toBe(76_240);
    expect(p.maxConcurrentSequences).toBe(2);
  });

  it("adds replicas for concurrency and packs them onto shared nodes", () => {
    // 1,000 sequences at the default 1,024 / 4,096 mean lengths. A TP-2 replica on two L4s
    // keeps 1,237,824 tokens of KV: 402 sequences of 1,024 + 4,096 / 2 tokens, but vLLM's
    // max_num_seqs on a 24 GB GPU is 256. So 4 replicas of 250, 2 per 4-GPU node, 2 nodes.
    const p = plan(planDeployment({ model: "r1-distill-qwen-1.5b", instanceTypes: ["g6.12xlarge"], concurrency: 1000 }));
    expect(p).toMatchObject({ tensorParallelSize: 2, pipelineParallelSize: 1, kvCacheTokens: 1_237_824, replicas: 4, replicasPerNode: 2, nodes: 2 });
    expect(p.performance).toMatchObject({ maxConcurrencyWithinTargets: 256, sequencesPerReplica: 250 });
    expect(p.usdPerHour).toBeCloseTo(2 * 4.6016, 9);
  });

  it("spreads a replica over nodes when that holds more sequences for less", () => {
    // 8B at 40 sequences on L4: one L4 holds no 32k request beside the 16 GB of weights; PP 2
    // over two single-GPU g6.8xlarge (EFA) keeps 164,288 tokens, 53 mean-length sequences, for
    // $4.03/hour, under the $4.60 of one 4-GPU g6.12xlarge. TP across PCIe nodes is not planned.
    const p = plan(planDeployment({ model: "r1-distill-llama-8b", gpus: ["l4"], concurrency: 40 }));
    expect(p).toMatchObject({ instanceType: "g6.8xlarge", nodes: 2, nodesPerReplica: 2, tensorParallelSize: 1, pipelineParallelSize: 2, replicas: 1, kvCacheTokens: 164_288 });
    expect(p.performance.maxConcurrencyWithinTargets).toBe(53);
    expect(p.usdPerHour).toBeCloseTo(2 * 2.0144, 9);
  });

  it("honours minReplicas", () => {
    expect(plan(planDeployment({ model: "r1-distill-qwen-1.5b", minReplicas: 3 }))).toMatchObject({ replicas: 3, nodes: 3, instanceType: "g6.xlarge" });
  });
});

describe("DeepSeek-R1 on 8-GPU nodes", () => {
  const r1 = (extra: object) => planDeployment({ model: "deepseek-r1", ...extra });

  it("H200: one p5en.48xlarge runs the native FP8 checkpoint at TP 8", () => {
    const p = plan(r1({ gpus: ["h200"] }));
    expect(p).toMatchObject({
      instanceType: "p5en.48xlarge",
      nodes: 1,
      tensorParallelSize: 8,
      pipelineParallelSize: 1,
      usdPerHour: 63.296,
      kvCacheTokens: 592_688,
      maxConcurrentSequences: 18,
      checkpoint: { repo: "deepseek-ai/DeepSeek-R1", precision: "fp8" },
    });
  });

  it("H100: native FP8 does not fit one node and needs two with PP 2", () => {
    const result = r1({ gpus: ["h100"] });
    expect(plan(result)).toMatchObject({ instanceType: "p5.48xlarge", nodes: 2, nodesPerReplica: 2, tensorParallelSize: 8, pipelineParallelSize: 2, usdPerHour: 110.08 });
    const oneNode = result.rejected.find((r) => r.instanceType === "p5.48xlarge" && r.nodes === 1)!;
    expect(oneNode.rule).toBe("memory");
    expect(oneNode.reason).toBe("needs 79.6 GiB weights + 7.6 GiB activations per GPU; h100 leaves 71.3 GiB at utilization 0.90");
  });

  it("H100: 4-bit fits one node", () => {
    const p = plan(r1({ gpus: ["h100"], precisions: ALL_PRECISIONS, nodesPerReplica: 1 }));
    expect(p).toMatchObject({ instanceType: "p5.48xlarge", nodes: 1, tensorParallelSize: 8, usdPerHour: 55.04 });
    expect(p.checkpoint.precision).toBe("int4");
  });

  it("A100 80GB: the native checkpoint cannot run, and 4-bit fits one p4de", () => {
    const result = r1({ gpus: ["a100-80gb"] });
    expect(result.plan).toBeNull();
    expect(result.closestMiss?.rule).toBe("architecture");
    expect(result.closestMiss?.reason).toContain("a100-80gb is ampere");
    expect(result.relaxations.find((x) => x.field === "precisions")?.plan).toMatchObject({
      instanceType: "p4de.24xlarge",
      nodes: 1,
      precision: "int4",
    });
    const p = plan(r1({ gpus: ["a100-80gb"], precisions: ["int4"] }));
    expect(p).toMatchObject({ instanceType: "p4de.24xlarge", nodes: 1, tensorParallelSize: 8, usdPerHour: 27.44705 });
  });

  it("A100 40GB: even 4-bit needs two p4d nodes", () => {
    const oneNode = r1({ gpus: ["a100-40gb"], precisions: ["int4"], nodesPerReplica: 1 });
    expect(oneNode.plan).toBeNull();
    expect(oneNode.closestMiss?.reason).toBe(
      "needs 38.5 GiB weights + 4.5 GiB activations per GPU; a100-40gb leaves 35.6 GiB at utilization 0.90",
    );
    expect(oneNode.relaxations.find((x) => x.field === "nodesPerReplica")?.plan).toMatchObject({ instanceType: "p4d.24xlarge", nodes: 2 });
    expect(plan(r1({ gpus: ["a100-40gb"], precisions: ["int4"] }))).toMatchObject({ instanceType: "p4d.24xlarge", nodes: 2, pipelineParallelSize: 2 });
  });

  it("B200: native FP8 on one p6-b200; NVFP4 is a Blackwell-only option", () => {
    expect(plan(r1({ gpus: ["b200"] }))).toMatchObject({ instanceType: "p6-b200.48xlarge", nodes: 1, checkpoint: { precision: "fp8" } });
    expect(plan(r1({ gpus: ["b200"], precisions: ["fp4"] })).checkpoint.repo).toBe("nvidia/DeepSeek-R1-NVFP4");
    const hopper = r1({ gpus: ["h200"], precisions: ["fp4"] });
    expect(hopper.plan).toBeNull();
    expect(hopper.closestMiss?.rule).toBe("architecture");
  });

  it("L40S: three g6e.48xlarge with PP 3; L4 never fits; A10G cannot run FP8", () => {
    // Three nodes either way; TP 4 x PP 6 beats TP 8 x PP 3 on cost per token because a TP-8
    // all-reduce over PCIe 4 takes 161 us (perf-facts.md 4), 122 of them per step.
    expect(plan(r1({ gpus: ["l40s"] }))).toMatchObject({ instanceType: "g6e.48xlarge", nodes: 3, tensorParallelSize: 4, pipelineParallelSize: 6 });
    const l4 = r1({ gpus: ["l4"] });
    expect(l4.plan).toBeNull();
    expect(l4.closestMiss?.rule).toBe("memory");
    expect(r1({ gpus: ["a10g"] }).closestMiss?.rule).toBe("architecture");
  });

  it("RTX PRO 6000: one g7e.48xlarge misses a 32k request by its CUDA graphs, and eager mode fits it", () => {
    // At vLLM's small batch (2048 tokens, 256 sequences) 79.6 GiB of weights, 1.0 GiB of
    // activations, 1.4 GiB non-torch and 2.1 GiB of graphs leave 1.5 GiB of the 85.6: 22,912
    // tokens, under one 32,768-token request.
    const oneNode = r1({ gpus: ["rtx-pro-6000"], instanceTypes: ["g7e.48xlarge"], nodesPerReplica: 1 });
    expect(oneNode.plan).toBeNull();
    expect(oneNode.relaxations.find((x) => x.field === "enforceEager")).toMatchObject({ value: "true", plan: { instanceType: "g7e.48xlarge", nodes: 1 } });
    const p = plan(r1({ gpus: ["rtx-pro-6000"], instanceTypes: ["g7e.48xlarge"], nodesPerReplica: 1, enforceEager: true }));
    expect(p).toMatchObject({ tensorParallelSize: 8, maxConcurrentSequences: 1 });
    expect(p.memory.reserves.cudaGraphsGiB).toBe(0);
    expect(p.vllmArgs.slice(-5)).toEqual(["--max-num-batched-tokens", "2048", "--max-num-seqs", "256", "--enforce-eager"]);
    // Without the constraint, three 4-GPU g7e.24xlarge are cheaper than two g7e.48xlarge.
    expect(plan(r1({ gpus: ["rtx-pro-6000"] }))).toMatchObject({ instanceType: "g7e.24xlarge", nodes: 3, tensorParallelSize: 4, pipelineParallelSize: 3 });
  });

  it("B300 is sold only in us-west-2, and the region relaxation says so", () => {
    const result = r1({ gpus: ["b300"] });
    expect(result.plan).toBeNull();
    expect(result.relaxations.find((x) => x.field === "region")).toMatchObject({ value: "us-west-2", plan: { instanceType: "p6-b300.48xlarge" } });
    expect(plan(r1({ gpus: ["b300"], region: "us-west-2" }))).toMatchObject({ instanceType: "p6-b300.48xlarge", nodes: 1, usdPerHour: 142.416 });
  });

  it("region relaxations never suggest GovCloud or a Local Zone", () => {
    const result = r1({ gpus: ["h200"], region: "ap-southeast-2" });
    const region = result.relaxations.find((x) => x.field === "region")?.value;
    expect(region).toBeDefined();
    expect(region).toMatch(/^[a-z]{2}-[a-z]+-\d$/);
    expect(region).not.toMatch(/^us-gov-/);
  });
});

describe("INT8 W8A8 runs on Ampere, Ada and Hopper only", () => {
  it("plans the 70B INT8 distill on L4 and refuses it on Blackwell", () => {
    expect(plan(planDeployment({ model: "r1-distill-llama-70b", precisions: ["int8"] })).gpu).toBe("l4");
    const b200 = planDeployment({ model: "r1-distill-llama-70b", precisions: ["int8"], gpus: ["b200"] });
    expect(b200.plan).toBeNull();
    expect(b200.closestMiss?.reason).toContain("runs on ampere/ada/hopper; b200 is blackwell");
  });
});

describe("capacity types and prices", () => {
  it("Capacity Blocks need a price override, then plan on p5e", () => {
    const base = { model: "deepseek-r1", capacityType: "capacity-block", region: "us-east-2" } as const;
    const without = planDeployment(base);
    expect(without.plan).toBeNull();
    expect(without.closestMiss?.rule).toBe("price");
    const withPrice = planDeployment({ ...base, priceOverrides: [{ instanceType: "p5e.48xlarge", usdPerHour: 40 }] });
    expect(plan(withPrice)).toMatchObject({ instanceType: "p5e.48xlarge", usdPerHour: 40, price: { basis: "override" } });
  });

  it("Spot is priced at its on-demand ceiling", () => {
    expect(plan(planDeployment({ model: "r1-distill-qwen-1.5b", capacityType: "spot" })).price).toMatchObject({
      basis: "spot-ceiling",
      usdPerHourPerNode: 0.8048,
    });
  });

  it("a negotiated price changes the choice", () => {
    const p = plan(planDeployment({ model: "deepseek-r1", priceOverrides: [{ instanceType: "p5en.48xlarge", usdPerHour: 30 }] }));
    expect(p).toMatchObject({ instanceType: "p5en.48xlarge", usdPerHour: 30 });
  });
});

describe("ranking", () => {
  it("cost: the plan is the cheapest, alternatives follow in order", () => {
    const result = planDeployment({ model: "deepseek-r1" });
    const costs = [result.plan!, ...result.alternatives].map((p) => p.usdPerHour);
    expect(costs).toEqual([...costs].sort((a, b) => a - b));
    expect(result.alternatives).toHaveLength(5);
  });

  it("throughput: the plan has the lowest predicted cost per output token, and does not buy the largest cluster", () => {
    const result = planDeployment({ model: "deepseek-r1", objective: "throughput", concurrency: 64 });
    const perToken = [result.plan!, ...result.alternatives].map((p) => p.performance.usdPerMillionOutputTokens);
    expect(perToken).toEqual([...perToken].sort((a, b) => a - b));
    // One H200 node holds all 64 sequences; more nodes would add dollars faster than tokens. Two
    // data-parallel attention ranks of TP 4 read half the MLA cache per GPU that TP 8 reads.
    expect(result.plan).toMatchObject({ instanceType: "p5en.48xlarge", nodes: 1, replicas: 1, tensorParallelSize: 4, dataParallelSize: 2 });
    expect(result.plan!.vllmArgs.join(" ")).toContain("--tensor-parallel-size 4 --data-parallel-size 2");
    const cost = planDeployment({ model: "deepseek-r1", concurrency: 64 }).plan!;
    expect(result.plan!.performance.usdPerMillionOutputTokens).toBeLessThan(cost.performance.usdPerMillionOutputTokens);
  });

  it("is deterministic", () => {
    const a = planDeployment({ model: "deepseek-v3", precisions: ALL_PRECISIONS });
    const b = planDeployment({ model: "deepseek-v3", precisions: ALL_PRECISIONS });
    expect(JSON.stringify(a)).toBe(JSON.stringify(b));
  });

  it("counts what the request itself excluded", () => {
    const result = planDeployment({ model: "deepseek-r1", gpus: ["h100"] });
    // 4 non-native checkpoints x 38 instance types x 4 node counts.
    expect(result.excludedByRequest.precision).toBe(4 * 38 * 4);
    expect(result.excludedByRequest.gpu).toBe(36 * 4);
  });
});

describe("bad input", () => {
  it("reports every problem with its path", () => {
    let error: unknown;
    try {
      planDeployment({ model: "deepseek-r2", gpus: ["h10"], maxModelLen: -1, concurrency: 1.5, colour: "red" });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(PlanInputError);
    expect((error as PlanInputError).problems).toEqual([
      { path: "model", message: expect.stringContaining('unknown model "deepseek-r2"; did you mean "deepseek-r1"?') },
      { path: "maxModelLen", message: "-1 is below 1; give at least 1 token" },
      { path: "concurrency", message: "1.5 is not a whole number of sequences" },
      { path: "gpus.0", message: expect.stringContaining('unknown gpu "h10"; did you mean "h100"?') },
      { path: "", message: expect.stringContaining('unknown key "colour"') },
    ]);
  });

  it("refuses constraints that exclude each other, and precisions the model lacks", () => {
    expect(() => planDeployment({ model: "deepseek-r1", gpus: ["h100"], instanceTypes: ["p5.48xlarge", "p4d.24xlarge"] })).toThrow(
      "instanceTypes.1: p4d.24xlarge carries a100-40gb, which the GPU constraint (h100) leaves out; drop one of the two constraints",
    );
    expect(() => planDeployment({ model: "deepseek-v3", precisions: ["int8"] })).toThrow(
      "precisions: DeepSeek-V3 has no int8 checkpoint vLLM can load; it has fp8, bf16, int4",
    );
  });

  it("refuses a max_model_len beyond the model's context", () => {
    expect(() => planDeployment({ model: "r1-distill-qwen-7b", maxModelLen: 200000 })).toThrow(
      "maxModelLen: 200000 exceeds DeepSeek-R1-Distill-Qwen-7B's context of 131072 tokens; use at most 131072",
    );
  });

  it("accepts the hub repo id as the model", () => {
    expect(planDeployment({ model: "deepseek-ai/DeepSeek-R1-Distill-Qwen-1.5B" }).request.model).toBe("r1-distill-qwen-1.5b");
  });
});

describe("plan fields", () => {
  it("perGpuMemoryGiB adds up to the GPU's memory", () => {
    const p = plan(planDeployment({ model: "r1-distill-llama-70b" }));
    const m = p.perGpuMemoryGiB;
    expect(m.weights + m.kvCache + m.activations + m.free).toBeCloseTo(GPUS[p.gpu].memoryGiB, 9);
  });
});

describe("TP 16 over two 8-GPU nodes against TP 8 x PP 2 (published R1 runs on 16 x H100 use TP 16)", () => {
  const workload = { model: "deepseek-r1", gpu: "h100", concurrency: 32, promptTokens: 1024, outputTokens: 1024 };
  const tp16 = estimateLayout({ ...workload, tensorParallelSize: 16 });
  const pp2 = estimateLayout({ ...workload, tensorParallelSize: 8, pipelineParallelSize: 2 });

  it("both run on two p5.48xlarge and fit", () => {
    for (const e of [tp16, pp2]) expect(e.request).toMatchObject({ instanceType: "p5.48xlarge", nodes: 2 });
    expect(tp16.memory.fits && pp2.memory.fits).toBe(true);
  });
  it("TP 16 reads fewer weights per GPU per token but keeps all 61 layers of the MLA cache on every GPU: half PP 2's tokens", () => {
    expect(tp16.estimate!.breakdown.weightsReadMs).toBeLessThan(pp2.estimate!.breakdown.weightsReadMs);
    expect(tp16.memory.breakdown.kvBytesPerTokenPerGpu).toBe(61 * 1152);
    expect(pp2.memory.breakdown.kvBytesPerTokenPerGpu).toBe(30 * 1152);
    expect(tp16.memory.kvCacheTokens).toBeLessThan(pp2.memory.kvCacheTokens / 1.9);
  });
  it("its 122 all-reduces per step cross EFA, where PP 2 hops between the nodes once per micro-batch", () => {
    expect(tp16.estimate!.breakdown.collectivesMs).toBeGreaterThan(3 * pp2.estimate!.breakdown.collectivesMs);
    expect(tp16.estimate!.bottleneck).toBe("memory");
    expect(tp16.estimate!.extrapolatedBecause).toContain("tensor parallelism across 2 nodes (all-reduces over EFA) is not in the calibration set");
  });
  // vLLM's own advice for multi-node serving is TP inside a node and PP across nodes
  // (https://docs.vllm.ai/en/v0.8.4/serving/distributed_serving.html); the model agrees over EFA.
  it("the planner weighs both for two p5.48xlarge and keeps the one that serves more per dollar", () => {
    const result = planDeployment({ model: "deepseek-r1", gpus: ["h100"], concurrency: 32, promptTokens: 1024, outputTokens: 1024 });
    expect(result.plan).toMatchObject({ instanceType: "p5.48xlarge", nodes: 2, tensorParallelSize: 8, pipelineParallelSize: 2 });
    expect(result.plan!.performance.outputTokensPerSecond).toBeGreaterThan(tp16.estimate!.outputTokensPerSecond);
  });
});
