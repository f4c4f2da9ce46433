/**
 * npm run bench: the planner for every catalog model, with no constraints and with a latency
 * target (target: median under 10 ms per plan); the wall time of `./bin/llm-fleet size
 * deepseek-r1` and `./bin/llm-fleet estimate deepseek-r1 --gpu h200 --tp 8` as fresh
 * processes (target: under 1 s); the Pulumi program for stacks of 1/10/50 deployments; the
 * performance model's error on the calibration set. Prints Markdown tables for the README and
 * exits 1 when a target is missed.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readFileSync } from "node:fs";
import { MODEL_IDS, calibrationReport, parseCalibrationCsv, planDeployment, type PlanRequestInput } from "../sizing";

const PLAN_RUNS = 40;
const CLI_RUNS = 10;

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

function timePlans(request: PlanRequestInput): { medianMs: number; maxMs: number } {
  for (let i = 0; i < 3; i++) planDeployment(request); // JIT warm-up
  const times: number[] = [];
  for (let i = 0; i < PLAN_RUNS; i++) {
    const start = performance.now();
    planDeployment(request);
    times.push(performance.now() - start);
  }
  return { medianMs: median(times), maxMs: Math.max(...times) };
}

function timeCli(args: string[]): { firstMs: number; medianMs: number } {
  const bin = join(__dirname, "..", "bin", "llm-fleet");
  // tsx keeps compiled files under $TMPDIR; a private, empty one makes the first run a cold
  // compile without touching the cache other processes share.
  const env = { ...process.env, TMPDIR: mkdtempSync(join(tmpdir(), "llm-fleet-bench-")) };
  const run = () => {
    const start = performance.now();
    const result = spawnSync(bin, args, { encoding: "utf8", env });
    if (result.status !== 0) throw new Error(`llm-fleet ${args.join(" ")} exited ${result.status}: ${result.stderr}`);
    return performance.now() - start;
  };
  const firstMs = run();
  const rest = Array.from({ length: CLI_RUNS }, run);
  rmSync(env.TMPDIR, { recursive: true, force: true });
  return { firstMs, medianMs: median(rest) };
}

/** Program evaluation for a stack of `count` deployments, in a fresh process: its time and peak memory. */
function timeStack(count: number): { count: number; ms: number; wallMs: number; resources: number; maxRssMB: number } {
  const tsx = join(__dirname, "..", "node_modules", ".bin", "tsx");
  const start = performance.now();
  const result = spawnSync(tsx, [join(__dirname, "stack-child.ts"), String(count)], { encoding: "utf8" });
  const wallMs = performance.now() - start;
  if (result.status !== 0) throw new Error(`stack of ${count} failed: ${result.stderr}`);
  return { ...JSON.parse(result.stdout), wallMs };
}

function timePlanCommand(): { firstMs: number; medianMs: number } {
  const bin = join(__dirname, "..", "bin", "llm-fleet");
  const env = { ...process.env, TMPDIR: mkdtempSync(join(tmpdir(), "llm-fleet-bench-")) };
  const run = () => {
    const start = performance.now();
    const result = spawnSync(bin, ["plan"], { encoding: "utf8", env });
    if (result.status !== 0) throw new Error(`llm-fleet plan exited ${result.status}: ${result.stderr}`);
    return performance.now() - start;
  };
  const firstMs = run();
  const rest = Array.from({ length: 5 }, run);
  rmSync(env.TMPDIR, { recursive: true, force: true });
  return { firstMs, medianMs: median(rest) };
}

/** Workloads with targets: 32 users at 20 tokens/s each (50 ms per token); a sustained 2,000 output tokens/s. */
const TARGETED = { concurrency: 32, maxTpotMs: 50 };
const THROUGHPUT = { outputTokensPerSecond: 2000 };
const SIZE_ARGS = ["size", "deepseek-r1"];
const ESTIMATE_ARGS = ["estimate", "deepseek-r1", "--gpu", "h200", "--tp", "8"];

const rows = MODEL_IDS.map((model) => ({
  model,
  plain: timePlans({ model }),
  targeted: timePlans({ model, ...TARGETED }),
  throughput: timePlans({ model, ...THROUGHPUT }),
}));
const sizeTimes = timeCli(SIZE_ARGS);
const estimateTimes = timeCli(ESTIMATE_ARGS);
const stacks = [1, 10, 50].map(timeStack);
const planTimes = timePlanCommand();
const calibration = calibrationReport(parseCalibrationCsv(readFileSync(join(__dirname, "..", "sizing", "catalog", "data", "perf-calibration.csv"), "utf8")));

const plannerMedianMs = median(rows.flatMap((r) => [r.plain.medianMs, r.targeted.medianMs, r.throughput.medianMs]));
const checks: [string, boolean][] = [
  [`planner median ${plannerMedianMs.toFixed(2)} ms under 10 ms`, plannerMedianMs < 10],
  [`cold size ${sizeTimes.firstMs.toFixed(0)} ms under 1 s`, sizeTimes.firstMs < 1000],
  [`cold estimate ${estimateTimes.firstMs.toFixed(0)} ms under 1 s`, estimateTimes.firstMs < 1000],
  [`calibration TPOT MAPE ${calibration.all.tpotMapePercent.toFixed(1)} % at most 15 %`, calibration.all.tpotMapePercent <= 15],
  [`calibration ${calibration.all.tpotWithin30}/${calibration.all.rows} rows within 30 % (85 % needed)`, calibration.all.tpotWithin30 / calibration.all.rows >= 0.85],
];

console.log(`Planner, ${PLAN_RUNS} runs per model after warm-up (Node ${process.version}):\n`);
console.log("| model | no constraints: median ms | max ms | 32 users, TPOT <= 50 ms: median ms | max ms | 2,000 output tok/s: median ms | max ms |");
console.log("|---|---:|---:|---:|---:|---:|---:|");
const cells = (t: { medianMs: number; maxMs: number }) => `${t.medianMs.toFixed(2)} | ${t.maxMs.toFixed(2)}`;
for (const r of rows) console.log(`| ${r.model} | ${cells(r.plain)} | ${cells(r.targeted)} | ${cells(r.throughput)} |`);
console.log(`| **all (median of medians)** | **${plannerMedianMs.toFixed(2)}** | | | | | |`);
console.log("");
console.log("Fresh processes, wall time:\n");
console.log("| command | first run, empty compile cache, ms | median of the next " + CLI_RUNS + ", ms |");
console.log("|---|---:|---:|");
console.log(`| \`llm-fleet ${SIZE_ARGS.join(" ")}\` | ${sizeTimes.firstMs.toFixed(0)} | ${sizeTimes.medianMs.toFixed(0)} |`);
console.log(`| \`llm-fleet ${ESTIMATE_ARGS.join(" ")}\` | ${estimateTimes.firstMs.toFixed(0)} | ${estimateTimes.medianMs.toFixed(0)} |`);
console.log("");
console.log("Performance model against perf-calibration.csv (96 measured rows):\n");
console.log("| group | rows | TPOT MAPE % | TPOT bias % | within 30 % | TTFT median abs. error % |");
console.log("|---|---:|---:|---:|---:|---:|");
for (const g of [...calibration.groups, calibration.all]) {
  console.log(`| ${g.group} | ${g.rows} | ${g.tpotMapePercent.toFixed(1)} | ${g.tpotBiasPercent.toFixed(1)} | ${g.tpotWithin30} | ${g.ttftMedianAbsPercent.toFixed(0)} |`);
}
console.log("");
console.log("The Pulumi program under mocks, stacks of distill deployments, each in a fresh process:\n");
console.log("| deployments | resources | program ms | process wall ms | peak RSS MB |");
console.log("|---:|---:|---:|---:|---:|");
for (const s of stacks) {
  console.log(`| ${s.count} | ${s.resources} | ${s.ms.toFixed(0)} | ${s.wallMs.toFixed(0)} | ${s.maxRssMB.toFixed(0)} |`);
}
console.log("");
console.log("`./bin/llm-fleet plan` (the dev stack), wall time of a fresh process:\n");
console.log("| run | ms |");
console.log("|---|---:|");
console.log(`| first, empty compile cache | ${planTimes.firstMs.toFixed(0)} |`);
console.log(`| median of the next 5 | ${planTimes.medianMs.toFixed(0)} |`);
console.log("");
console.log("Targets:");
for (const [what, ok] of checks) console.log(`- ${ok ? "met" : "MISSED"}: ${what}`);
if (checks.some(([, ok]) => !ok)) process.exitCode = 1;
