import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { calibrationReport, parseCalibrationCsv, prefixCacheHitRateOf } from "../../sizing";

const CSV = join(__dirname, "..", "..", "sizing", "catalog", "data", "perf-calibration.csv");
const rows = parseCalibrationCsv(readFileSync(CSV, "utf8"));
const report = calibrationReport(rows);

describe("the performance model against perf-calibration.csv", () => {
  it("reads all 96 measured rows", () => {
    expect(rows).toHaveLength(96);
    expect(rows[0]).toMatchObject({ model: "deepseek-r1", precision: "fp8", gpu: "h200", tp: 8, concurrency: 4, tpotMs: 10.29, framework: "sglang 0.5.9" });
    expect(rows.filter((r) => prefixCacheHitRateOf(r) > 0)).toHaveLength(21);
  });

  it("TPOT: mean absolute error at most 15 %, at least 85 % of rows within +/-30 %", () => {
    const table = report.groups.map(
      (g) =>
        `${g.group.padEnd(36)} rows ${String(g.rows).padStart(2)}  TPOT MAPE ${g.tpotMapePercent.toFixed(1).padStart(5)} %  ` +
        `bias ${g.tpotBiasPercent.toFixed(1).padStart(6)} %  within 30 % ${g.tpotWithin30}/${g.rows}  TTFT median |error| ${g.ttftMedianAbsPercent.toFixed(0)} %`,
    );
    const a = report.all;
    console.log(
      [...table, `all: TPOT MAPE ${a.tpotMapePercent.toFixed(1)} %, ${a.tpotWithin30}/${a.rows} within 30 %, TTFT median |error| ${a.ttftMedianAbsPercent.toFixed(0)} %`].join("\n"),
    );
    expect(a.rows).toBe(96);
    expect(a.tpotMapePercent).toBeLessThanOrEqual(15);
    expect(a.tpotWithin30 / a.rows).toBeGreaterThanOrEqual(0.85);
    // No group may hide behind the others.
    for (const g of report.groups) expect(g.tpotMapePercent, g.group).toBeLessThan(30);
  });

  it("predicts each row at its own layout on the measured GPU, none off by half or more", () => {
    for (const r of report.results) {
      expect(r.instanceType).toBe("p5en.48xlarge");
      expect(Math.abs(r.tpotError), `${r.row.model} TP ${r.row.tp} ${r.row.promptTokens}/${r.row.outputTokens} at ${r.row.concurrency}`).toBeLessThan(0.5);
      expect(Number.isFinite(r.predictedTtftMs)).toBe(true);
    }
  });

  it("says what the 8B source's prefix-cache assumption is worth", () => {
    // Without it the model computes every 8B prompt, which the measurements leave no time for.
    const uncached = calibrationReport(rows.map((r) => ({ ...r, framework: `${r.framework} (as if uncached)` })));
    console.log(`without the prefix-cache assumption: TPOT MAPE ${uncached.all.tpotMapePercent.toFixed(1)} %, ${uncached.all.tpotWithin30}/96 within 30 %`);
    expect(uncached.all.tpotMapePercent).toBeGreaterThan(report.all.tpotMapePercent);
    // The other sources do not depend on it.
    const others = (rs: typeof report.results) => rs.filter((r) => !r.row.measuredModel.startsWith("Llama-3.1-8B")).map((r) => r.predictedTpotMs);
    expect(others(uncached.results)).toEqual(others(report.results));
  });
});
