import { resolve } from "node:path";
import { readFileSync } from "node:fs";
import YAML from "yaml";
import {
  CALIBRATION_FACTOR_RANGE,
  InputError,
  benchTargetProblems,
  calibrationProblems,
  compareWithPlan,
  mergeCalibration,
  parseBenchResults,
  type BenchComparison,
  type BenchRun,
  type InputProblem,
} from "../sizing";
import { benchmarkReplicas } from "../components/k8s/benchmark-spec";
import { UsageError, helpText, countFlag, parseFlags, type FlagSpecs } from "./args";
import { CommandError, DEPLOYMENT_FLAGS, loadStackDeployment, workloadConcurrency, type StackDeployment } from "./bench";
import { int, table } from "./render";
import type { CommandOutput } from "./size";

export const CALIBRATE_FLAGS = {
  ...DEPLOYMENT_FLAGS,
  replicas: {
    type: "string",
    value: "n",
    help: "replicas that served the benchmark (default: what the deployment runs at the workload's concurrency)",
  },
  json: { type: "boolean", help: "print { deployment, measured, predicted, ratio, calibration, ... } as JSON" },
  help: { type: "boolean", short: "h", help: "show this help" },
} as const satisfies FlagSpecs;

export const CALIBRATE_USAGE = [
  "Usage: llm-fleet calibrate --deployment <name> [--stack <env> | --config <file>] <result.json>... [options]",
  "",
  "Compares vllm bench serve results of a deployment (llm-fleet bench, then the Job's last log line; several",
  "files, or one written with --append-result, are several runs) with what llm-fleet's performance model predicts",
  "for the same workload, and proposes the llm-fleet:calibration entry that makes the planner use the measurement.",
  "Exit codes: 0 an entry to paste, 1 bad input (a result file, the stack, a flag), 2 measured, but a factor is",
  `outside ${CALIBRATION_FACTOR_RANGE.min}-${CALIBRATION_FACTOR_RANGE.max} (the benchmark did not run the planned workload), 4 internal error.`,
].join("\n");

const lines = (subject: string, problems: readonly InputProblem[]) => problems.map((p) => `${subject}: ${p.path ? `${p.path}: ` : ""}${p.message}`);

/** Every run of every file, or the problems of each file, each line naming its file. */
function readRuns(files: readonly string[], target: StackDeployment): BenchRun[] {
  const problems: string[] = [];
  const runs: BenchRun[] = [];
  // The same file named twice is one measurement, not two runs.
  for (const file of [...new Map(files.map((f) => [resolve(f), f])).values()]) {
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      problems.push(
        code === "ENOENT"
          ? `result file ${file}: no such file; give the file the benchmark's last log line went to (kubectl -n <namespace> logs job/<deployment>-bench --tail=1 > ${file})`
          : code === "EISDIR"
            ? `result file ${file}: is a directory; give the result file itself`
            : `result file ${file}: cannot be read (${code ?? String(error)})`,
      );
      continue;
    }
    try {
      const fileRuns = parseBenchResults(text, file);
      const wrongModel = benchTargetProblems(fileRuns, target.deployment.spec.plan, target.deployment.name);
      if (wrongModel.length > 0) problems.push(...wrongModel.flatMap((w) => lines(`result file ${w.file}`, [w.problem])));
      else runs.push(...fileRuns);
    } catch (error) {
      if (error instanceof InputError) problems.push(...lines(error.subject, error.problems));
      else throw error;
    }
  }
  if (problems.length > 0) throw new CommandError(problems);
  return runs;
}

export function runCalibrate(argv: readonly string[]): CommandOutput {
  const fail = (messages: readonly string[]): CommandOutput => ({ code: 1, stdout: "", stderr: messages.map((l) => `llm-fleet calibrate: ${l}\n`).join("") });
  let values: Record<string, unknown>;
  let target: StackDeployment;
  let comparison: BenchComparison;
  try {
    const parsed = parseFlags(argv, CALIBRATE_FLAGS);
    values = parsed.values;
    if (values.help) return { code: 0, stdout: helpText(CALIBRATE_USAGE, CALIBRATE_FLAGS) + "\n", stderr: "" };
    const replicasFlag = countFlag(values, "replicas", "replicas", "give the replicas that served the benchmark");
    target = loadStackDeployment(values);
    if (parsed.positionals.length === 0) {
      throw new UsageError(
        `no result files: give the file(s) the benchmark wrote, e.g. llm-fleet calibrate ${target.stackFlag} --deployment ${target.deployment.name} ${target.deployment.name}-result.json`,
      );
    }
    const runs = readRuns(parsed.positionals, target);
    const d = target.deployment;
    const concurrency = workloadConcurrency(d);
    comparison = compareWithPlan({
      deployment: d.name,
      plan: d.spec.plan,
      replicas: replicasFlag ?? benchmarkReplicas(d.spec.scaling, concurrency),
      concurrency,
      runs,
    });
  } catch (error) {
    if (error instanceof UsageError) return fail([error.message]);
    if (error instanceof CommandError) return fail(error.lines);
    throw error;
  }
  const refused = calibrationProblems(comparison.calibration);
  const merged = mergeCalibration(target.config.calibration ?? [], comparison.calibration);
  const code = refused.length === 0 ? 0 : 2;
  if (values.json) {
    const doc = {
      deployment: comparison.deployment,
      measured: comparison.measured,
      predicted: comparison.predicted,
      ratio: comparison.ratio,
      calibration: comparison.calibration,
      /** The stack's whole `llm-fleet:calibration` with this entry in; null when a factor is refused. */
      stackCalibration: refused.length === 0 ? merged : null,
      refused: refused.map((p) => `${p.path}: ${p.message}`),
      replicas: comparison.replicas,
      runs: comparison.runs,
    };
    return { code, stdout: JSON.stringify(doc, null, 2) + "\n", stderr: "" };
  }
  return { code, stdout: renderCalibration(comparison, target, merged, refused), stderr: "" };
}

const ms = (n: number) => `${n < 100 ? n.toFixed(1) : int(n)} ms`;

export function renderCalibration(c: BenchComparison, target: StackDeployment, merged: readonly BenchComparison["calibration"][], refused: readonly InputProblem[]): string {
  const p = target.deployment.spec.plan;
  const requests = c.runs.reduce((s, r) => s + r.completed, 0);
  const failed = c.runs.reduce((s, r) => s + r.failed, 0);
  const concurrencies = [...new Set(c.runs.map((r) => r.concurrency))].join("/");
  const prompt = c.runs.reduce((s, r) => s + r.promptTokens * r.completed, 0) / requests;
  const output = c.runs.reduce((s, r) => s + r.outputTokens * r.completed, 0) / requests;
  const dp = p.dataParallelSize > 1 ? ` x DP ${p.dataParallelSize}` : "";
  const out = [
    `${c.deployment}: ${p.model} on ${p.instanceType} (${p.gpu}), TP ${p.tensorParallelSize} x PP ${p.pipelineParallelSize}${dp}, ` +
      `${c.replicas} replica${c.replicas === 1 ? "" : "s"} serving`,
    `  ${c.runs.length} run${c.runs.length === 1 ? "" : "s"}: ${int(requests)} requests completed${failed > 0 ? `, ${int(failed)} failed (not counted)` : ""}, ` +
      `${concurrencies} at a time, mean ${int(prompt)} prompt / ${int(output)} output tokens`,
    "",
    ...table(
      ["", "measured", "predicted", "measured / predicted"],
      [
        ["TPOT", ms(c.measured.tpotMs), ms(c.predicted.tpotMs), c.ratio.tpot.toFixed(3)],
        ["TTFT", ms(c.measured.ttftMs), ms(c.predicted.ttftMs), c.ratio.ttft.toFixed(3)],
        ["output tokens/s", int(c.measured.outputTokensPerSecond), int(c.predicted.outputTokensPerSecond), c.ratio.throughput.toFixed(3)],
      ],
      [1, 2, 3],
    ).map((l) => `  ${l}`),
    "",
    "Predicted: llm-fleet's performance model alone (no calibration), at each run's own concurrency and measured lengths.",
    // The first round starts every sequence at once; the model's TTFT is the steady state's.
    "TTFT is the runs' median: the first round's prompts all arrive at once, and their queueing, which the model leaves out, would dominate the mean.",
  ];
  if (refused.length > 0) {
    out.push("", "No calibration proposed:", ...refused.map((r) => `  ${r.path} ${r.message}`));
    return out.join("\n") + "\n";
  }
  const block = YAML.stringify({ "llm-fleet:calibration": merged }, { defaultStringType: "QUOTE_DOUBLE", defaultKeyType: "PLAIN" });
  out.push(
    "",
    `Paste under config: in ${target.file}, in place of any llm-fleet:calibration there; the planner then scales its`,
    `TPOT and TTFT for ${p.model} on ${p.gpu} by these factors and labels them [measured]:`,
    ...block.trimEnd().split("\n").map((l) => `  ${l}`),
  );
  return out.join("\n") + "\n";
}
