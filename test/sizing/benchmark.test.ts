import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { predictedFor } from "../support/predict";
import { parseStackConfig } from "../../stacks/config";
import { planStack } from "../../stacks/plan";
import {
  InputError,
  benchDate,
  benchTargetProblems,
  calibrationProblems,
  compareWithPlan,
  layoutTag,
  mergeCalibration,
  parseBenchResults,
  planDeployment,
  planReplicaPerformance,
  type CalibrationEntryInput,
  type Plan,
  type PlanRequestInput,
} from "../../sizing";

const FIXTURES = join(__dirname, "../fixtures/bench");
const fixture = (name: string) => readFileSync(join(FIXTURES, name), "utf8");
const record = (name: string) => JSON.parse(fixture(name).split("\n")[0]!) as Record<string, unknown>;

/** The problems an InputError carries, or a failure when the call does not throw one. */
function problemsOf(call: () => unknown): { subject: string; problems: readonly { path: string; message: string }[] } {
  try {
    call();
  } catch (error) {
    if (error instanceof InputError) return { subject: error.subject, problems: error.problems };
    throw error;
  }
  throw new Error("expected an InputError");
}

/** The dev stack's assistant: preset assistant-7b on Spot. */
const ASSISTANT: PlanRequestInput = {
  model: "r1-distill-qwen-7b",
  maxModelLen: 8192,
  concurrency: 16,
  promptTokens: 1024,
  outputTokens: 1024,
  maxTpotMs: 40,
  maxTtftMs: 1000,
  capacityType: "spot",
};
/** The same on one A10G and without targets: the layout stays whatever the figures. */
const ONE_A10G: PlanRequestInput = { ...ASSISTANT, maxTpotMs: undefined, maxTtftMs: undefined, instanceTypes: ["g5.xlarge"] };
const entry = (extra: Partial<CalibrationEntryInput> = {}): CalibrationEntryInput => ({
  model: "r1-distill-qwen-7b",
  gpu: "a10g",
  tpotFactor: 1,
  ttftFactor: 1,
  measuredAt: "2026-11-02T14:05:12",
  runs: 1,
  ...extra,
});
const planned = (request: PlanRequestInput): Plan => {
  const result = planDeployment(request);
  expect(result.plan, JSON.stringify(result.closestMiss)).not.toBeNull();
  return result.plan!;
};

describe("parseBenchResults", () => {
  it("reads the one-line record vllm bench serve writes, keeping the keys it does not use", () => {
    const runs = parseBenchResults(fixture("assistant-result.json"), "assistant-result.json");
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatchObject({ file: "assistant-result.json", record: 1 });
    expect(runs[0]!.result).toMatchObject({ model_id: "r1-distill-qwen-7b", completed: 64, max_concurrency: 16, mean_tpot_ms: 44.62, mean_ttft_ms: 871.3, request_rate: "inf", p99_itl_ms: 91.3 });
  });

  it("reads --append-result's records, one per line, as runs", () => {
    const runs = parseBenchResults(fixture("assistant-appended.json"), "a.json");
    expect(runs.map((r) => [r.record, r.result.max_concurrency, r.result.completed])).toEqual([
      [1, 16, 64],
      [2, 8, 32],
    ]);
    // A pretty-printed record or a list of them reads the same.
    expect(parseBenchResults(JSON.stringify(record("assistant-result.json"), null, 2), "p.json")).toHaveLength(1);
    expect(parseBenchResults(JSON.stringify([record("assistant-result.json"), record("assistant-result.json")]), "l.json")).toHaveLength(2);
  });

  it("refuses an empty file, naming it and where the result comes from", () => {
    const { subject, problems } = problemsOf(() => parseBenchResults(fixture("empty.json"), "empty.json"));
    expect(subject).toBe("result file empty.json");
    expect(problems).toHaveLength(1);
    expect(problems[0]!.message).toMatch(/^is empty: it should hold the JSON that vllm bench serve --save-result writes/);
    expect(problems[0]!.message).toContain("kubectl -n <namespace> logs job/<deployment>-bench --tail=1");
  });

  it("refuses text that is not JSON, naming the line and showing it", () => {
    const { problems } = problemsOf(() => parseBenchResults(fixture("not-json.json"), "not-json.json"));
    expect(problems.map((p) => p.path)).toEqual(["line 1"]);
    expect(problems[0]!.message).toMatch(/^is not JSON \(.+\): "Error from server \(BadRequest\): container \\"vllm-bench\\" in po\.\.\."/);
  });

  it("names each missing key of each record", () => {
    const { problems } = problemsOf(() => parseBenchResults(fixture("missing-tpot.json"), "m.json"));
    expect(problems).toEqual([{ path: "record 1", message: "is missing mean_tpot_ms: not a vllm bench serve result, whose --save-result file has them all" }]);
    const bare = JSON.stringify({ model_id: "x" });
    const all = problemsOf(() => parseBenchResults(`${fixture("assistant-result.json").trim()}\n${bare}`, "two.json")).problems;
    expect(all).toHaveLength(1);
    expect(all[0]!.path).toBe("record 2 (line 2)");
    expect(all[0]!.message).toMatch(/^is missing date, num_prompts, request_rate, max_concurrency, duration, completed, failed, total_input_tokens, total_output_tokens, output_throughput, mean_ttft_ms, median_ttft_ms, mean_tpot_ms:/);
  });

  it("names an invalid value with its key", () => {
    const bad = { ...record("assistant-result.json"), duration: -3, mean_ttft_ms: "fast" };
    expect(problemsOf(() => parseBenchResults(JSON.stringify(bad), "b.json")).problems).toEqual([
      { path: "record 1.duration", message: "-3 is not above 0 seconds" },
      { path: "record 1.mean_ttft_ms", message: '"fast" is not a number of milliseconds (mean TTFT)' },
    ]);
    // Python's json.dump writes NaN for an undefined figure: named as the key's problem, not as bad JSON.
    const nan = JSON.stringify(record("assistant-result.json")).replace('"mean_tpot_ms": 44.62', '"mean_tpot_ms": NaN').replace('"mean_tpot_ms":44.62', '"mean_tpot_ms":NaN');
    expect(problemsOf(() => parseBenchResults(nan, "n.json")).problems).toEqual([{ path: "record 1.mean_tpot_ms", message: "null is not a number of milliseconds (mean TPOT)" }]);
  });

  it("refuses a run in which every request failed", () => {
    expect(problemsOf(() => parseBenchResults(fixture("all-failed.json"), "f.json")).problems).toEqual([
      {
        path: "record 1.completed",
        message:
          "is 0 (64 of 64 requests failed): nothing was measured; the Job's log has the errors (the API key, the model name, a server that was not ready), fix them and run the benchmark again",
      },
    ]);
  });

  it("accepts the served model name or the checkpoint repo, and names both for another model", () => {
    const plan = planned(ASSISTANT);
    const ok = parseBenchResults(fixture("assistant-result.json"), "ok.json");
    expect(benchTargetProblems(ok, plan, "assistant")).toEqual([]);
    const byRepo = parseBenchResults(JSON.stringify({ ...record("assistant-result.json"), model_id: "deepseek-ai/DeepSeek-R1-Distill-Qwen-7B" }), "repo.json");
    expect(benchTargetProblems(byRepo, plan, "assistant")).toEqual([]);
    expect(benchTargetProblems(parseBenchResults(fixture("other-model.json"), "other.json"), plan, "assistant")).toEqual([
      {
        file: "other.json",
        problem: {
          path: "record 1.model_id",
          message:
            '"r1-distill-llama-8b" is another model: assistant serves "r1-distill-qwen-7b" (checkpoint deepseek-ai/DeepSeek-R1-Distill-Qwen-7B); give the result of assistant\'s own benchmark',
        },
      },
    ]);
  });

  it("refuses a run of another instance type or layout than the stack now plans, when the run recorded them", () => {
    const plan = planned(ASSISTANT);
    const moved = planned({ ...ASSISTANT, calibration: [entry({ tpotFactor: 1.5 })] });
    expect(moved.instanceType).not.toBe("g5.xlarge");
    const runs = parseBenchResults(fixture("assistant-result.json"), "r.json");
    expect(benchTargetProblems(runs, plan, "assistant")).toEqual([]);
    const problems = benchTargetProblems(runs, moved, "assistant");
    expect(problems).toEqual([
      {
        file: "r.json",
        problem: {
          path: "record 1.llm_fleet_instance_type",
          message:
            `the run measured g5.xlarge tp1-pp1-dp1, but the stack now plans assistant on ${moved.instanceType} ${layoutTag(moved)} ` +
            "(the stack changed since: a calibration or placement moved it); calibrate with the stack file as it was deployed, " +
            "or run llm-fleet bench again once the new plan is deployed",
        },
      },
    ]);
    const otherLayout = { ...plan, tensorParallelSize: 2 };
    expect(benchTargetProblems(runs, otherLayout, "assistant").map((p) => p.problem.path)).toEqual(["record 1.llm_fleet_layout"]);
    // A benchmark run by hand records neither: only the model is checked.
    const bare = parseBenchResults(fixture("other-model.json").replace("r1-distill-llama-8b", "r1-distill-qwen-7b"), "hand.json");
    expect(benchTargetProblems(bare, moved, "assistant")).toEqual([]);
  });

  it("reads vLLM's date as ISO 8601", () => {
    expect(benchDate("20261102-140512")).toBe("2026-11-02T14:05:12");
    expect(benchDate("2026-11-02T14:05:12Z")).toBe("2026-11-02T14:05:12Z");
  });
});

describe("compareWithPlan", () => {
  const plan = planned(ASSISTANT);
  /** The performance model at a workload, asked directly with the plan's layout and memory. */
  const predict = (promptTokens: number, outputTokens: number, sequences: number) => predictedFor(plan, promptTokens, outputTokens, sequences);

  it("the plan under test: one A10G replica of the 7B distill", () => {
    expect(plan).toMatchObject({ instanceType: "g5.xlarge", gpu: "a10g", replicas: 1, tensorParallelSize: 1 });
  });

  it("holds one run against the model at the run's own concurrency and measured lengths", () => {
    const runs = parseBenchResults(fixture("assistant-result.json"), "r.json");
    const c = compareWithPlan({ deployment: "assistant", plan, replicas: 1, concurrency: 16, runs });
    // 65,472 prompt tokens and 65,536 output tokens over 64 requests; 16 sequences on the one replica.
    const e = predict(65_472 / 64, 1024, 16);
    // TTFT by its median (452.9 ms; the mean, 871.3, carries the first round's burst).
    expect(c.measured).toEqual({ tpotMs: 44.62, ttftMs: 452.9, outputTokensPerSecond: 65_536 / 191.42 });
    expect(c.predicted.tpotMs).toBeCloseTo(e.tpotMs, 9);
    expect(c.predicted.ttftMs).toBeCloseTo(e.ttftMs, 9);
    expect(c.predicted.outputTokensPerSecond).toBeCloseTo(e.outputTokensPerSecond, 9);
    expect(c.ratio.tpot).toBeCloseTo(44.62 / e.tpotMs, 9);
    expect(c.ratio.ttft).toBeCloseTo(452.9 / e.ttftMs, 9);
    expect(c.ratio.throughput).toBeCloseTo(65_536 / 191.42 / e.outputTokensPerSecond, 9);
    expect(c.calibration).toEqual({
      model: "r1-distill-qwen-7b",
      gpu: "a10g",
      tpotFactor: Math.round((44.62 / e.tpotMs) * 1000) / 1000,
      ttftFactor: Math.round((452.9 / e.ttftMs) * 1000) / 1000,
      measuredAt: "2026-11-02T14:05:12",
      runs: 1,
    });
    // Not the plan's nominal 1,024-token prompts: the measured 1,023.
    expect(c.runs[0]!.promptTokens).toBe(1023);
  });

  it("spreads the concurrency over the replicas, every sequence at the busiest replica's pace", () => {
    const runs = parseBenchResults(fixture("assistant-result.json"), "r.json");
    const c = compareWithPlan({ deployment: "assistant", plan, replicas: 3, concurrency: 16, runs });
    // ceil(16 / 3) = 6 on the busiest replica; 16 sequences in all.
    const e = predict(1023, 1024, 6);
    expect(c.runs[0]!.sequencesPerReplica).toBe(6);
    expect(c.predicted.tpotMs).toBeCloseTo(e.tpotMs, 9);
    expect(c.predicted.outputTokensPerSecond).toBeCloseTo((e.outputTokensPerSecond / 6) * 16, 9);
  });

  it("combines runs as the measurements do: latencies weighted by completed requests, the rate over the time taken", () => {
    const runs = parseBenchResults(fixture("assistant-appended.json"), "a.json");
    const c = compareWithPlan({ deployment: "assistant", plan, replicas: 1, concurrency: 16, runs });
    const e1 = predict(65_472 / 64, 1024, 16);
    const e2 = predict(32_736 / 32, 1024, 8);
    expect(c.measured.tpotMs).toBeCloseTo((64 * 44.62 + 32 * 40.71) / 96, 9);
    expect(c.measured.ttftMs).toBeCloseTo((64 * 452.9 + 32 * 401.2) / 96, 9);
    expect(c.measured.outputTokensPerSecond).toBeCloseTo((65_536 + 32_768) / (191.42 + 168.9), 9);
    expect(c.predicted.tpotMs).toBeCloseTo((64 * e1.tpotMs + 32 * e2.tpotMs) / 96, 9);
    expect(c.predicted.outputTokensPerSecond).toBeCloseTo((65_536 + 32_768) / (65_536 / e1.outputTokensPerSecond + 32_768 / e2.outputTokensPerSecond), 9);
    expect(c.calibration).toMatchObject({ runs: 2, measuredAt: "2026-11-02T14:40:31" });
  });

  it("a run without --max-concurrency is held at the workload's concurrency, at most its requests", () => {
    const noLimit = { ...record("assistant-result.json"), max_concurrency: null };
    const runs = parseBenchResults(JSON.stringify(noLimit), "n.json");
    expect(compareWithPlan({ deployment: "assistant", plan, replicas: 1, concurrency: 8, runs }).runs[0]!.concurrency).toBe(8);
    expect(compareWithPlan({ deployment: "assistant", plan, replicas: 1, concurrency: 500, runs }).runs[0]!.concurrency).toBe(64);
  });

  it("compares with the model alone, so a second calibration replaces the first instead of compounding it", () => {
    const calibrated = planned({ ...ONE_A10G, calibration: [entry({ tpotFactor: 2, ttftFactor: 3 })] });
    expect(calibrated.performance.confidence).toBe("measured");
    expect(planReplicaPerformance(calibrated, { promptTokens: 1024, outputTokens: 1024, sequences: 16 }).tpotMs).toBeCloseTo(predict(1024, 1024, 16).tpotMs, 9);
  });

  it("refuses a proposed factor outside 0.2-5 and merges an accepted one in place of the earlier entry", () => {
    expect(calibrationProblems({ tpotFactor: 1.2, ttftFactor: 0.2 })).toEqual([]);
    expect(calibrationProblems({ tpotFactor: 6.25, ttftFactor: 1 }).map((p) => p.path)).toEqual(["tpotFactor"]);
    expect(calibrationProblems({ tpotFactor: 1, ttftFactor: 0.1 })[0]!.message).toMatch(/^0\.1 is outside 0\.2-5: ttftFactor is measured \/ predicted/);
    const old = [
      { model: "r1-distill-qwen-7b" as const, gpu: "a10g" as const, tpotFactor: 1.4, ttftFactor: 1, measuredAt: "2026-10-01", runs: 1 },
      { model: "r1-distill-qwen-7b" as const, gpu: "l4" as const, tpotFactor: 1.1, ttftFactor: 1, measuredAt: "2026-10-01", runs: 1 },
    ];
    const next = { model: "r1-distill-qwen-7b" as const, gpu: "a10g" as const, tpotFactor: 1.15, ttftFactor: 2.379, measuredAt: "2026-11-02T14:05:12", runs: 1 };
    expect(mergeCalibration(old, next)).toEqual([old[1], next]);
  });
});

describe("the planner with a calibration", () => {
  it("a factor of 1 changes no figure and no choice, only the basis", () => {
    for (const request of [ASSISTANT, { model: "deepseek-r1", concurrency: 32, gpus: ["h200"] }, { model: "r1-distill-llama-70b", concurrency: 8 }] as PlanRequestInput[]) {
      const base = planned(request);
      const same = planned({ ...request, calibration: [entry({ model: String(request.model), gpu: base.gpu })] });
      const { performance: p, ...rest } = same;
      const { performance: q, ...baseRest } = base;
      expect(rest).toEqual(baseRest);
      for (const key of ["tpotMs", "ttftMs", "outputTokensPerSecond", "outputTokensPerSecondPerGpu", "tokensPerSecondPerUser", "usdPerMillionOutputTokens", "maxConcurrencyWithinTargets", "sequencesPerReplica"] as const) {
        expect(p[key]).toBe(q[key]);
      }
      expect(p.breakdown).toEqual(q.breakdown);
      expect(p).toMatchObject({ confidence: "measured", ttftConfidence: "measured", extrapolatedBecause: [] });
    }
  });

  it("tpotFactor 2 doubles TPOT and lowers the rates of the plan on that GPU only; both factors at 2 halve them", () => {
    const request = ONE_A10G;
    const base = planned(request);
    const slow = planned({ ...request, calibration: [entry({ tpotFactor: 2 })] });
    expect(slow.instanceType).toBe(base.instanceType);
    expect(slow.performance.tpotMs).toBeCloseTo(2 * base.performance.tpotMs, 9);
    // The rate is B / (TPOT + TTFT share): with TTFT unscaled it falls by less than half.
    expect(slow.performance.outputTokensPerSecond).toBeLessThan(base.performance.outputTokensPerSecond / 2 + 1);
    expect(slow.performance.outputTokensPerSecond).toBeGreaterThan(base.performance.outputTokensPerSecond / 2);
    expect(slow.performance.tokensPerSecondPerUser).toBeCloseTo(base.performance.tokensPerSecondPerUser / 2, 9);
    expect(slow.performance.ttftMs).toBe(base.performance.ttftMs);
    const both = planned({ ...request, calibration: [entry({ tpotFactor: 2, ttftFactor: 2 })] });
    expect(both.performance.outputTokensPerSecond).toBeCloseTo(base.performance.outputTokensPerSecond / 2, 9);
    expect(both.performance.usdPerMillionOutputTokens).toBeCloseTo(2 * base.performance.usdPerMillionOutputTokens, 9);
    // A slower first token alone lowers the rate too, as the model's rate formula has it.
    const slowStart = planned({ ...request, calibration: [entry({ ttftFactor: 3 })] });
    expect(slowStart.performance.tpotMs).toBeCloseTo(base.performance.tpotMs, 9);
    expect(slowStart.performance.outputTokensPerSecond).toBeLessThan(base.performance.outputTokensPerSecond);
    expect(slow.performance.breakdown.weightsReadMs).toBeCloseTo(2 * base.performance.breakdown.weightsReadMs, 9);
    // Another GPU's entry leaves the A10G plan alone; another model's entry too.
    const other = planned({ ...request, calibration: [entry({ gpu: "l4", tpotFactor: 2 }), entry({ model: "r1-distill-llama-8b", tpotFactor: 2 })] });
    expect(other.performance).toEqual(base.performance);
  });

  it("ttftFactor scales TTFT alone", () => {
    const request = ONE_A10G;
    const base = planned(request);
    const c = planned({ ...request, calibration: [entry({ ttftFactor: 1.5 })] });
    expect(c.performance.ttftMs).toBeCloseTo(1.5 * base.performance.ttftMs, 9);
    expect(c.performance.tpotMs).toBe(base.performance.tpotMs);
  });

  it("says where the figures come from", () => {
    const c = planned({ ...ONE_A10G, calibration: [entry({ tpotFactor: 1.15, ttftFactor: 2.379, runs: 2 })] });
    expect(c.performance.measuredBecause).toBe("measured on a10g (llm-fleet:calibration, 2 benchmark runs of 2026-11-02T14:05:12): the model's TPOT x 1.15, TTFT x 2.379");
    expect(planned(ASSISTANT).performance).not.toHaveProperty("measuredBecause");
  });

  it("a GPU measured slower than its TPOT target loses to another one", () => {
    const base = planDeployment(ASSISTANT);
    expect(base.plan).toMatchObject({ gpu: "a10g", instanceType: "g5.xlarge" });
    const calibrated = planDeployment({ ...ASSISTANT, calibration: [entry({ tpotFactor: 1.5 })] });
    expect(calibrated.plan).not.toBeNull();
    expect(calibrated.plan!.gpu).not.toBe("a10g");
    expect(calibrated.plan!.performance.confidence).not.toBe("measured");
    expect(calibrated.rejected.filter((r) => r.instanceType.startsWith("g5.") && r.nodes === 1).map((r) => r.rule)).toContain("latency");
  });

  it("when only the measured GPU is allowed, the target fails and the relaxation is the nearest TPOT it reaches", () => {
    const only = { ...ASSISTANT, instanceTypes: ["g5.xlarge"] };
    expect(planDeployment(only).plan).not.toBeNull();
    const result = planDeployment({ ...only, calibration: [entry({ tpotFactor: 1.5 })] });
    expect(result.plan).toBeNull();
    expect(result.closestMiss).toMatchObject({ instanceType: "g5.xlarge", rule: "latency" });
    // One sequence, measured: the TPOT a relaxed target must allow.
    const single = planDeployment({ ...ONE_A10G, concurrency: 1, calibration: [entry({ tpotFactor: 1.5 })] }).plan!;
    const relaxed = result.relaxations.find((r) => r.field === "maxTpotMs");
    expect(relaxed?.value).toBe(String(Math.ceil(single.performance.tpotMs)));
  });

  it("refuses bad entries with the key, the value and the range", () => {
    expect(() => planDeployment({ ...ASSISTANT, calibration: [entry({ tpotFactor: 7 })] })).toThrow(
      /calibration\.0\.tpotFactor: 7 is outside 0\.2-5: tpotFactor is measured \/ predicted, and one this far from 1 means the benchmark did not run the planned workload/,
    );
    expect(() => planDeployment({ ...ASSISTANT, calibration: [entry({ gpu: "a10" })] })).toThrow(/calibration\.0\.gpu: unknown gpu "a10"; did you mean/);
    expect(() => planDeployment({ ...ASSISTANT, calibration: [entry(), entry({ tpotFactor: 1.2 })] })).toThrow(/calibration\.1: r1-distill-qwen-7b on a10g is calibrated twice/);
  });
});

describe("llm-fleet:calibration in a stack", () => {
  const flat = (config: Record<string, unknown>) => Object.fromEntries(Object.entries(config).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)]));
  const stack = (calibration?: unknown) =>
    flat({
      "aws:region": "us-east-1",
      "llm-fleet:environment": "dev",
      "llm-fleet:cluster": { mode: "new" },
      "llm-fleet:deployments": [{ name: "assistant", preset: "assistant-7b", placement: { maxNodes: 2 } }],
      ...(calibration === undefined ? {} : { "llm-fleet:calibration": calibration }),
    });
  const plan = (config: Record<string, string>) => {
    const parsed = parseStackConfig(config);
    if ("problems" in parsed) throw new Error(JSON.stringify(parsed.problems));
    const result = planStack(parsed.config, "us-east-1", {}, { preview: true });
    if ("problems" in result) throw new Error(JSON.stringify(result.problems));
    return result.plan.deployments[0]!.spec.plan;
  };

  it("plans the deployment with the measured figures", () => {
    const base = plan(stack());
    expect(base.gpu).toBe("a10g");
    expect(base.performance.confidence).toBe("extrapolated");
    const measured = plan(stack([entry({ tpotFactor: 1.02, ttftFactor: 0.9 })]));
    expect(measured.gpu).toBe("a10g");
    expect(measured.performance).toMatchObject({ confidence: "measured", ttftConfidence: "measured" });
    expect(measured.performance.tpotMs).toBeCloseTo(1.02 * base.performance.tpotMs, 9);
    expect(measured.performance.ttftMs).toBeCloseTo(0.9 * base.performance.ttftMs, 9);
  });

  it("refuses a bad entry with its key path, the value and what is allowed", () => {
    const problems = (calibration: unknown) => {
      const parsed = parseStackConfig(stack(calibration));
      return "problems" in parsed ? parsed.problems : [];
    };
    expect(problems([entry({ tpotFactor: 7 })])).toEqual([
      {
        path: "llm-fleet:calibration.0.tpotFactor",
        message:
          "7 is outside 0.2-5: tpotFactor is measured / predicted, and one this far from 1 means the benchmark did not run the planned workload; rerun llm-fleet bench and llm-fleet calibrate, or drop the entry",
      },
    ]);
    expect(problems([entry({ ttftFactor: -1 })]).map((p) => p.path)).toEqual(["llm-fleet:calibration.0.ttftFactor"]);
    expect(problems([entry({ gpu: "h20" })])).toEqual([{ path: "llm-fleet:calibration.0.gpu", message: expect.stringMatching(/^unknown gpu "h20"; did you mean "h200"\?/) }]);
    expect(problems([entry({ model: "deepseek-r2" })])[0]!.message).toMatch(/^unknown model "deepseek-r2"/);
    expect(problems([{ ...entry(), tpotfactor: 1 }])[0]!.message).toMatch(/unknown key "tpotfactor"; did you mean "tpotFactor"\?/);
    expect(problems([entry({ measuredAt: "yesterday" })])[0]!.message).toBe('"yesterday" is not an ISO 8601 date such as 2026-11-02T14:05:00; keep the one llm-fleet calibrate wrote');
    expect(problems([entry(), entry()])).toEqual([{ path: "llm-fleet:calibration.1", message: "r1-distill-qwen-7b on a10g is calibrated twice; keep one entry per model and GPU (the latest)" }]);
  });
});
