/**
 * npm run bench: the planner for every catalog model with no constraints (target: median
 * under 10 ms per plan), and the wall time of `./bin/llm-fleet size deepseek-r1` as a
 * fresh process (target: under 1 s). Prints a Markdown table for the README.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MODEL_IDS, planDeployment } from "../sizing";

const PLAN_RUNS = 40;
const CLI_RUNS = 10;

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

function timePlans(model: string): { medianMs: number; maxMs: number } {
  for (let i = 0; i < 3; i++) planDeployment({ model }); // JIT warm-up
  const times: number[] = [];
  for (let i = 0; i < PLAN_RUNS; i++) {
    const start = performance.now();
    planDeployment({ model });
    times.push(performance.now() - start);
  }
  return { medianMs: median(times), maxMs: Math.max(...times) };
}

function timeCli(): { firstMs: number; medianMs: number } {
  const bin = join(__dirname, "..", "bin", "llm-fleet");
  // tsx keeps compiled files under $TMPDIR; a private, empty one makes the first run a cold
  // compile without touching the cache other processes share.
  const env = { ...process.env, TMPDIR: mkdtempSync(join(tmpdir(), "llm-fleet-bench-")) };
  const run = () => {
    const start = performance.now();
    const result = spawnSync(bin, ["size", "deepseek-r1"], { encoding: "utf8", env });
    if (result.status !== 0) throw new Error(`llm-fleet size deepseek-r1 exited ${result.status}: ${result.stderr}`);
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

const rows = MODEL_IDS.map((model) => ({ model, ...timePlans(model) }));
const cliTimes = timeCli();
const stacks = [1, 10, 50].map(timeStack);
const planTimes = timePlanCommand();

console.log(`Planner, no constraints, ${PLAN_RUNS} runs per model after warm-up (Node ${process.version}):\n`);
console.log("| model | median ms | max ms |");
console.log("|---|---:|---:|");
for (const r of rows) console.log(`| ${r.model} | ${r.medianMs.toFixed(2)} | ${r.maxMs.toFixed(2)} |`);
console.log(`| **all models (median of medians)** | **${median(rows.map((r) => r.medianMs)).toFixed(2)}** | |`);
console.log("");
console.log(`\`./bin/llm-fleet size deepseek-r1\`, wall time of a fresh process:\n`);
console.log("| run | ms |");
console.log("|---|---:|");
console.log(`| first, empty compile cache | ${cliTimes.firstMs.toFixed(0)} |`);
console.log(`| median of the next ${CLI_RUNS} | ${cliTimes.medianMs.toFixed(0)} |`);
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
