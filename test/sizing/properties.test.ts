import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  CAPACITY_TYPES,
  GPUS,
  GPU_IDS,
  INSTANCES,
  INSTANCE_TYPES,
  MAX_NODES_PER_DEPLOYMENT,
  MODELS,
  MODEL_IDS,
  PRECISIONS,
  ENGINES,
  activationPeak,
  fitMemory,
  layouts,
  memoryBreakdown,
  parsePlanRequest,
  planDeployment,
  type Engine,
  type GpuSpec,
} from "../../sizing";

const GIB = 2 ** 30;

/** Requests the schema accepts: precisions that include at least one of the model's checkpoints. */
const request = fc
  .record({
    model: fc.constantFrom(...MODEL_IDS),
    maxModelLen: fc.integer({ min: 512, max: 131072 }),
    concurrency: fc.integer({ min: 1, max: 64 }),
    precisions: fc.subarray([...PRECISIONS], { minLength: 1 }),
    gpus: fc.option(fc.subarray([...GPU_IDS], { minLength: 1 }), { nil: undefined }),
    capacityType: fc.constantFrom(...CAPACITY_TYPES.filter((c) => c !== "capacity-block")),
    objective: fc.constantFrom("cost" as const, "throughput" as const),
  })
  .filter((r) => MODELS[r.model].checkpoints.some((c) => r.precisions.includes(c.precision)));

function candidateValue(c: { model: (typeof MODEL_IDS)[number]; checkpointIndex: number; gpu: (typeof GPU_IDS)[number]; layout: { tp: number; pp: number }; maxModelLen: number }) {
  const model = MODELS[c.model];
  return {
    modelId: c.model,
    model,
    checkpoint: model.checkpoints[c.checkpointIndex % model.checkpoints.length]!,
    gpuId: c.gpu,
    gpu: GPUS[c.gpu],
    layout: { tp: c.layout.tp, pp: Math.min(c.layout.pp, model.layers), dp: 1 },
    maxModelLen: c.maxModelLen,
  };
}

const candidate = fc
  .record({
    model: fc.constantFrom(...MODEL_IDS),
    checkpointIndex: fc.nat(),
    gpu: fc.constantFrom(...GPU_IDS),
    layout: fc.constantFrom(...layouts(8, 1), ...layouts(8, 2), ...layouts(8, 4)),
    maxModelLen: fc.integer({ min: 512, max: 131072 }),
  })
  .map(candidateValue);

describe("planner properties", () => {
  it("a plan always satisfies vLLM's start condition and fits memory", () => {
    let plans = 0;
    fc.assert(
      fc.property(request, (r) => {
        const result = planDeployment(r);
        for (const p of result.plan ? [result.plan, ...result.alternatives] : []) {
          plans++;
          const m = p.memory;
          expect(m.weightsGiB + m.activationsGiB).toBeLessThan(m.budgetGiB);
          expect(m.budgetGiB).toBeCloseTo(GPUS[p.gpu].memoryGiB * 0.9, 9);
          expect(m.kvCacheTokensPerRank * m.kvBytesPerTokenPerGpu).toBeLessThanOrEqual(m.kvCacheGiB * GIB);
          expect(p.kvCacheTokens).toBe(m.kvCacheTokensPerRank * p.dataParallelSize);
          expect(m.kvCacheTokensPerRank).toBeGreaterThanOrEqual(r.maxModelLen);
          expect(p.replicas * p.performance.maxConcurrencyWithinTargets).toBeGreaterThanOrEqual(r.concurrency);
          expect(p.performance.sequencesPerReplica).toBeLessThanOrEqual(p.performance.maxConcurrencyWithinTargets);
          expect(p.nodes).toBeLessThanOrEqual(MAX_NODES_PER_DEPLOYMENT);
          const gpus = p.tensorParallelSize * p.pipelineParallelSize * p.dataParallelSize;
          if (p.nodesPerReplica > 1) expect(gpus).toBe(p.gpusPerNode * p.nodesPerReplica);
          else expect(gpus * p.replicasPerNode).toBeLessThanOrEqual(p.gpusPerNode);
          if (p.dataParallelSize > 1) expect(MODELS[r.model].moe).not.toBeNull();
          expect(r.precisions).toContain(p.checkpoint.precision);
          if (r.gpus) expect(r.gpus).toContain(p.gpu);
        }
      }),
      { numRuns: 60 },
    );
    expect(plans).toBeGreaterThan(100);
  });

  it("under the cost objective no instance type has a cheaper feasible deployment than the plan", () => {
    fc.assert(
      fc.property(request, (r) => {
        const chosen = planDeployment({ ...r, objective: "cost" }).plan;
        // An independent oracle: the best plan restricted to each instance type in turn.
        const perType = INSTANCE_TYPES.map((t) => {
          if (r.gpus && !r.gpus.includes(INSTANCES[t].gpu)) return null;
          return planDeployment({ ...r, objective: "cost", instanceTypes: [t] }).plan;
        }).filter((p) => p !== null);
        if (!chosen) {
          expect(perType).toEqual([]);
          return;
        }
        for (const p of perType) expect(chosen.usdPerHour).toBeLessThanOrEqual(p.usdPerHour);
      }),
      { numRuns: 15 },
    );
  });

  it("a result is a plan, or no plan with the closest miss among the rejected", () => {
    fc.assert(
      fc.property(request, (r) => {
        const result = planDeployment(r);
        if (result.plan) {
          expect(result.closestMiss).toBeNull();
        } else {
          expect(result.rejected.length).toBeGreaterThan(0);
          expect(result.rejected).toContain(result.closestMiss);
          expect(result.alternatives).toEqual([]);
        }
      }),
      { numRuns: 60 },
    );
  });
});

describe("memory model properties", () => {
  it("more GPU memory never turns a fitting candidate into a non-fitting one, across vLLM's 70 GiB batch step too", () => {
    let fitting = 0;
    fc.assert(
      fc.property(candidate, fc.double({ min: 0.05, max: 100, noNaN: true }), (c, extraGiB) => {
        const req = parsePlanRequest({ model: c.modelId, maxModelLen: Math.min(c.maxModelLen, c.model.maxContextTokens) });
        const base = fitMemory(req, c.checkpoint, c.gpu, c.gpuId, c.layout);
        const bigger: GpuSpec = { ...c.gpu, memoryGiB: c.gpu.memoryGiB + extraGiB };
        const more = fitMemory(req, c.checkpoint, bigger, c.gpuId, c.layout);
        if ("memory" in base) {
          fitting++;
          expect("memory" in more).toBe(true);
        }
      }),
      { numRuns: 400 },
    );
    expect(fitting).toBeGreaterThan(100);
  });

  it("crosses the 70 GiB step: the large default batch is dropped rather than the candidate", () => {
    const model = MODELS["deepseek-r1"];
    const awq = model.checkpoints.find((c) => c.repo === "cognitivecomputations/DeepSeek-R1-AWQ")!;
    // At utilization 0.7 a 70.0 GiB GPU leaves 49 - 40.24 (weights) - 7.56 (activations at 8192
    // tokens and 1024 sequences) = 1.2 GiB of KV, under the 2.14 GiB one 32,768-token request
    // needs; at 2048 tokens and 256 sequences 4.2 GiB. A 69.9 GiB GPU is in the small-batch class
    // and fits at its default.
    const req = parsePlanRequest({ model: "deepseek-r1", gpuMemoryUtilization: 0.7 });
    const gpu = (memoryGiB: number): GpuSpec => ({ ...GPUS.h100, memoryGiB });
    const below = fitMemory(req, awq, gpu(69.9), "h100", { tp: 8, pp: 1, dp: 1 });
    const above = fitMemory(req, awq, gpu(70.0), "h100", { tp: 8, pp: 1, dp: 1 });
    expect("memory" in below && [below.maxNumBatchedTokens, below.memory.maxNumBatchedTokens]).toEqual([null, 2048]);
    expect("memory" in above && [above.maxNumBatchedTokens, above.memory.maxNumBatchedTokens]).toEqual([2048, 2048]);
  });

  it("at fixed engine settings a longer max_model_len never increases the concurrent-sequence count", () => {
    fc.assert(
      fc.property(candidate, fc.integer({ min: 1, max: 65536 }), fc.constantFrom(2048, 8192), (c, longerBy, batch) => {
        const input = {
          model: c.model,
          checkpoint: c.checkpoint,
          gpu: c.gpu,
          tensorParallelSize: c.layout.tp,
          pipelineParallelSize: c.layout.pp,
          gpuMemoryUtilization: 0.9,
          kvCacheDtype: "auto" as const,
          maxNumBatchedTokens: batch,
        };
        const short = memoryBreakdown({ ...input, maxModelLen: c.maxModelLen });
        const long = memoryBreakdown({ ...input, maxModelLen: c.maxModelLen + longerBy });
        expect(long.maxConcurrentSequences).toBeLessThanOrEqual(short.maxConcurrentSequences);
      }),
      { numRuns: 300 },
    );
  });
});

describe("profiling-pass properties (issue 13)", () => {
  const shape = fc.record({
    model: fc.constantFrom(...MODEL_IDS),
    tp: fc.constantFrom(1, 2, 4, 8, 16),
    dp: fc.constantFrom(1, 2, 4, 8),
    tokens: fc.integer({ min: 16, max: 131072 }),
    moreTokens: fc.integer({ min: 0, max: 131072 }),
    seqs: fc.option(fc.integer({ min: 1, max: 2048 }), { nil: undefined }),
    maxModelLen: fc.integer({ min: 512, max: 163840 }),
    lastStage: fc.boolean(),
    engine: fc.constantFrom(...ENGINES),
  });
  const peak = (s: { model: (typeof MODEL_IDS)[number]; tp: number; dp: number; seqs: number | undefined; maxModelLen: number; lastStage: boolean; engine: Engine }, tokens: number, tp = s.tp) =>
    activationPeak({
      model: MODELS[s.model],
      tensorParallelSize: tp,
      dataParallelSize: MODELS[s.model].moe ? s.dp : 1,
      maxNumBatchedTokens: tokens,
      // vLLM lowers max_num_seqs to max_num_batched_tokens.
      maxNumSeqs: Math.min(s.seqs ?? 1024, tokens),
      maxModelLen: s.maxModelLen,
      lastStage: s.lastStage,
      engine: s.engine,
    }).peakBytes;

  it("more batched tokens never lower the activation peak", () => {
    fc.assert(
      fc.property(shape, (s) => {
        expect(peak(s, s.tokens + s.moreTokens)).toBeGreaterThanOrEqual(peak(s, s.tokens));
      }),
      { numRuns: 500 },
    );
  });

  it("more TP never raises the per-GPU activation peak", () => {
    fc.assert(
      fc.property(shape, (s) => {
        expect(peak(s, s.tokens, s.tp * 2)).toBeLessThanOrEqual(peak(s, s.tokens, s.tp));
      }),
      { numRuns: 500 },
    );
  });

  const layout = fc.record({
    c: candidate,
    utilization: fc.double({ min: 0.5, max: 0.98, noNaN: true }),
    batch: fc.option(fc.integer({ min: 256, max: 32768 }), { nil: undefined }),
  });
  const memoryOf = (l: { c: ReturnType<typeof candidateValue>; utilization: number; batch: number | undefined }, extra: Partial<Parameters<typeof memoryBreakdown>[0]>) =>
    memoryBreakdown({
      model: l.c.model,
      checkpoint: l.c.checkpoint,
      gpu: l.c.gpu,
      tensorParallelSize: l.c.layout.tp,
      pipelineParallelSize: l.c.layout.pp,
      maxModelLen: l.c.maxModelLen,
      gpuMemoryUtilization: l.utilization,
      kvCacheDtype: "auto",
      ...(l.batch === undefined ? {} : { maxNumBatchedTokens: l.batch }),
      ...extra,
    });

  it("--kv-cache-dtype fp8 doubles the KV tokens in the same memory, within block rounding", () => {
    let fitting = 0;
    fc.assert(
      fc.property(layout, (l) => {
        const bf16 = memoryOf(l, {});
        const fp8 = memoryOf(l, { kvCacheDtype: "fp8" });
        expect(2 * fp8.kvBytesPerTokenPerGpu).toBe(bf16.kvBytesPerTokenPerGpu);
        // FlashMLA's larger blocks can only raise the MLA pass's workspace floor: at most its
        // 64K-token stand-in, 2 B x 65,536 x heads/TP x 256; GQA caches change nothing else.
        const a = l.c.model.attention;
        const workspace = a.kind === "mla" ? (2 * 65536 * (l.c.model.attentionHeads / l.c.layout.tp) * (a.qkNopeHeadDim + a.vHeadDim)) / GIB : 0;
        expect(fp8.kvCacheGiB).toBeLessThanOrEqual(bf16.kvCacheGiB + 1e-9);
        expect(fp8.kvCacheGiB).toBeGreaterThanOrEqual(bf16.kvCacheGiB - workspace - 1e-9);
        if (bf16.kvCacheGiB <= 0 || fp8.kvCacheGiB <= 0) return;
        fitting++;
        // In the same GiB, twice the tokens; each count is rounded down to its backend's blocks.
        const sameMemory = (2 * bf16.kvCacheTokensPerRank * fp8.kvCacheGiB) / bf16.kvCacheGiB;
        const rounding = fp8.kvBlockTokens + 2 * bf16.kvBlockTokens;
        expect(Math.abs(fp8.kvCacheTokensPerRank - sameMemory)).toBeLessThanOrEqual(rounding);
      }),
      { numRuns: 400 },
    );
    expect(fitting).toBeGreaterThan(50);
  });

  it("--enforce-eager never lowers the KV capacity", () => {
    fc.assert(
      fc.property(layout, (l) => {
        const graphs = memoryOf(l, {});
        const eager = memoryOf(l, { enforceEager: true });
        expect(eager.kvCacheGiB).toBeGreaterThanOrEqual(graphs.kvCacheGiB);
        expect(eager.kvCacheTokens).toBeGreaterThanOrEqual(graphs.kvCacheTokens);
        expect(eager.reserves.cudaGraphsGiB).toBe(0);
      }),
      { numRuns: 400 },
    );
  });
});

describe("planner properties with latency and throughput targets", () => {
  const targeted = fc.record({
    model: fc.constantFrom(...MODEL_IDS),
    concurrency: fc.integer({ min: 1, max: 128 }),
    promptTokens: fc.integer({ min: 64, max: 8192 }),
    outputTokens: fc.integer({ min: 64, max: 8192 }),
    maxTpotMs: fc.option(fc.integer({ min: 5, max: 120 }), { nil: undefined }),
    maxTtftMs: fc.option(fc.integer({ min: 100, max: 10_000 }), { nil: undefined }),
    outputTokensPerSecond: fc.option(fc.integer({ min: 10, max: 5000 }), { nil: undefined }),
    objective: fc.constantFrom("cost" as const, "throughput" as const),
  });

  it("a plan always meets every target it was given", () => {
    let plans = 0;
    fc.assert(
      fc.property(targeted, (r) => {
        const result = planDeployment(r);
        for (const p of result.plan ? [result.plan, ...result.alternatives] : []) {
          plans++;
          const f = p.performance;
          if (r.maxTpotMs !== undefined) expect(f.tpotMs).toBeLessThanOrEqual(r.maxTpotMs);
          if (r.maxTtftMs !== undefined) expect(f.ttftMs).toBeLessThanOrEqual(r.maxTtftMs);
          if (r.outputTokensPerSecond !== undefined) expect(f.outputTokensPerSecond).toBeGreaterThanOrEqual(r.outputTokensPerSecond * (1 - 1e-9));
          expect(p.replicas * f.maxConcurrencyWithinTargets).toBeGreaterThanOrEqual(r.concurrency);
        }
        // Nothing fits only with a reason; a latency miss names its figures.
        if (!result.plan && result.closestMiss?.rule === "latency") expect(result.closestMiss.reason).toMatch(/(TPOT|TTFT) [\d.]+ ms at 1 sequence per replica, target \d+ ms/);
      }),
      { numRuns: 80 },
    );
    expect(plans).toBeGreaterThan(50);
  });

  it("raising a target never makes the plan dearer", () => {
    let compared = 0;
    fc.assert(
      fc.property(targeted, fc.constantFrom("maxTpotMs" as const, "maxTtftMs" as const), fc.integer({ min: 1, max: 2000 }), (r, target, loosenBy) => {
        const base = target === "maxTpotMs" ? (r.maxTpotMs ?? 30) : (r.maxTtftMs ?? 500);
        const tight = planDeployment({ ...r, [target]: base }).plan;
        const loose = planDeployment({ ...r, [target]: base + (target === "maxTpotMs" ? loosenBy % 100 : loosenBy) }).plan;
        if (!tight) return;
        compared++;
        expect(loose).not.toBeNull();
        if (r.objective === "cost") expect(loose!.usdPerHour).toBeLessThanOrEqual(tight.usdPerHour + 1e-9);
        else expect(loose!.performance.usdPerMillionOutputTokens).toBeLessThanOrEqual(tight.performance.usdPerMillionOutputTokens * (1 + 1e-9));
      }),
      { numRuns: 60 },
    );
    expect(compared).toBeGreaterThan(20);
  });
});
