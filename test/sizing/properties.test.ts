import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  CAPACITY_TYPES,
  GPUS,
  GPU_IDS,
  MODELS,
  MODEL_IDS,
  PRECISIONS,
  layouts,
  memoryBreakdown,
  planDeployment,
  type GpuSpec,
} from "../../sizing";

const RUNS = 60;

const request = fc.record({
  model: fc.constantFrom(...MODEL_IDS),
  maxModelLen: fc.integer({ min: 512, max: 131072 }),
  concurrency: fc.integer({ min: 1, max: 64 }),
  precisions: fc.subarray([...PRECISIONS], { minLength: 1 }),
  gpus: fc.option(fc.subarray([...GPU_IDS], { minLength: 1 }), { nil: undefined }),
  capacityType: fc.constantFrom(...CAPACITY_TYPES.filter((c) => c !== "capacity-block")),
  objective: fc.constantFrom("cost" as const, "throughput" as const),
});

/** A memory candidate: a model, one of its checkpoints, a GPU and a layout of up to 8 x 4 GPUs. */
const candidate = fc
  .record({
    model: fc.constantFrom(...MODEL_IDS),
    checkpointIndex: fc.nat(),
    gpu: fc.constantFrom(...GPU_IDS),
    layout: fc.constantFrom(...layouts(8, 1), ...layouts(8, 2), ...layouts(8, 4)),
    maxModelLen: fc.integer({ min: 512, max: 131072 }),
  })
  .map((c) => {
    const model = MODELS[c.model];
    return {
      model,
      checkpoint: model.checkpoints[c.checkpointIndex % model.checkpoints.length]!,
      gpu: GPUS[c.gpu],
      tensorParallelSize: c.layout.tp,
      pipelineParallelSize: Math.min(c.layout.pp, model.layers),
      maxModelLen: c.maxModelLen,
      gpuMemoryUtilization: 0.9,
      kvCacheDtype: "auto" as const,
    };
  });

const fits = (m: ReturnType<typeof memoryBreakdown>, maxModelLen: number) => m.kvCacheGiB > 0 && m.kvCacheTokens >= maxModelLen;

describe("planner properties", () => {
  it("a plan always satisfies vLLM's start condition and fits memory", () => {
    fc.assert(
      fc.property(request, (r) => {
        const result = planDeployment(r);
        for (const p of result.plan ? [result.plan, ...result.alternatives] : []) {
          expect(p.kvCacheTokens).toBeGreaterThanOrEqual(r.maxModelLen);
          expect(p.perGpuMemoryGiB.kvCache).toBeGreaterThan(0);
          const m = p.perGpuMemoryGiB;
          expect(m.weights + m.activations + m.kvCache).toBeLessThanOrEqual(GPUS[p.gpu].memoryGiB * 0.9 + 1e-9);
          expect(p.replicas * p.maxConcurrentSequences).toBeGreaterThanOrEqual(r.concurrency);
          expect(p.tensorParallelSize * p.pipelineParallelSize).toBeLessThanOrEqual(p.gpusPerNode * p.nodesPerReplica);
          expect(r.precisions).toContain(p.checkpoint.precision);
          if (r.gpus) expect(r.gpus).toContain(p.gpu);
        }
      }),
      { numRuns: RUNS },
    );
  });

  it("under the cost objective the plan is never dearer than a feasible alternative", () => {
    fc.assert(
      fc.property(request, (r) => {
        const result = planDeployment({ ...r, objective: "cost" });
        for (const alternative of result.alternatives) {
          expect(result.plan!.usdPerHour).toBeLessThanOrEqual(alternative.usdPerHour);
        }
      }),
      { numRuns: RUNS },
    );
  });

  it("a result is a plan or an explanation, never both and never neither", () => {
    fc.assert(
      fc.property(request, (r) => {
        const result = planDeployment(r);
        if (result.plan) expect(result.closestMiss).toBeNull();
        else expect(result.closestMiss ?? result.excludedByRequest).toBeTruthy();
      }),
      { numRuns: RUNS },
    );
  });
});

describe("memory model properties", () => {
  it("more GPU memory never turns a fitting candidate into a non-fitting one", () => {
    fc.assert(
      fc.property(candidate, fc.double({ min: 0.5, max: 100, noNaN: true }), (c, extraGiB) => {
        // vLLM's batch defaults depend on the GPU class; hold them fixed so only memory changes.
        const batch = { maxNumBatchedTokens: 2048 };
        const base = memoryBreakdown({ ...c, ...batch });
        const bigger: GpuSpec = { ...c.gpu, memoryGiB: c.gpu.memoryGiB + extraGiB };
        const more = memoryBreakdown({ ...c, ...batch, gpu: bigger });
        if (fits(base, c.maxModelLen)) expect(fits(more, c.maxModelLen)).toBe(true);
        expect(more.kvCacheTokens).toBeGreaterThanOrEqual(base.kvCacheTokens);
      }),
      { numRuns: 300 },
    );
  });

  it("a longer max_model_len never increases the concurrent-sequence count", () => {
    fc.assert(
      fc.property(candidate, fc.integer({ min: 1, max: 65536 }), (c, longerBy) => {
        const short = memoryBreakdown(c);
        const long = memoryBreakdown({ ...c, maxModelLen: c.maxModelLen + longerBy });
        expect(long.maxConcurrentSequences).toBeLessThanOrEqual(short.maxConcurrentSequences);
      }),
      { numRuns: 300 },
    );
  });

  it("the four parts always add up to the device memory", () => {
    fc.assert(
      fc.property(candidate, (c) => {
        const m = memoryBreakdown(c);
        expect(m.weightsGiB + m.kvCacheGiB + m.activationsGiB + m.freeGiB).toBeCloseTo(c.gpu.memoryGiB, 6);
      }),
      { numRuns: 300 },
    );
  });
});
