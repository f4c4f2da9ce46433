/**
 * A deployment's benchmark against its plan: the result files `vllm bench serve --save-result`
 * writes, read and checked; the measured figures beside what the performance model predicts
 * for the same workload; and the calibration entry those give. Pure functions.
 */
import { z } from "zod";
import { InputError, type InputProblem } from "./errors";
import { planReplicaPerformance, type Plan } from "./planner";
import { CALIBRATION_FACTOR_RANGE, factorRangeMessage, type CalibrationEntry } from "./request";

/** vLLM's `date` (`%Y%m%d-%H%M%S`, vllm/benchmarks/serve.py), or an ISO 8601 date. */
const VLLM_DATE = /^(\d{4})(\d{2})(\d{2})-(\d{2})(\d{2})(\d{2})$/;
const ISO_DATE = /^\d{4}-\d{2}-\d{2}/;

const number = (what: string) => z.number({ error: (issue) => `${describe(issue.input)} is not a number of ${what}` });
const whole = (what: string) =>
  number(what)
    .int({ error: (issue) => `${describe(issue.input)} is not a whole number of ${what}` })
    .nonnegative({ error: (issue) => `${describe(issue.input)} is below 0 ${what}` });
const milliseconds = (what: string) => number(`milliseconds (${what})`).nonnegative({ error: (issue) => `${describe(issue.input)} is below 0 ms` });

/**
 * One record of a result file, the keys llm-fleet reads (vllm/benchmarks/serve.py writes them
 * with `json.dump`); every other key (medians, percentiles, ITL, goodput) passes through.
 */
export const BenchResultSchema = z
  .object({
    date: z
      .string({ error: (issue) => `${describe(issue.input)} is not a date` })
      .refine((v) => VLLM_DATE.test(v) || ISO_DATE.test(v), { error: (issue) => `${describe(issue.input)} is not a date as vLLM writes it (20261102-140500)` }),
    model_id: z.string({ error: (issue) => `${describe(issue.input)} is not a model name` }),
    num_prompts: whole("requests"),
    request_rate: z.union([number("requests per second"), z.literal("inf")], { error: (issue) => `${describe(issue.input)} is neither requests per second nor "inf"` }),
    max_concurrency: whole("sequences").nullable(),
    duration: number("seconds").positive({ error: (issue) => `${describe(issue.input)} is not above 0 seconds` }),
    completed: whole("requests"),
    failed: whole("requests"),
    total_input_tokens: whole("tokens"),
    total_output_tokens: whole("tokens"),
    output_throughput: number("output tokens per second"),
    mean_ttft_ms: milliseconds("mean TTFT"),
    median_ttft_ms: milliseconds("median TTFT"),
    mean_tpot_ms: milliseconds("mean TPOT"),
  })
  .passthrough();
export type BenchResult = z.output<typeof BenchResultSchema>;

/** One benchmark run: a record of a result file (`--append-result` writes one per line). */
export interface BenchRun {
  file: string;
  /** 1-based, in the file's order. */
  record: number;
  result: BenchResult;
}

function describe(value: unknown): string {
  return value === undefined ? "nothing" : JSON.stringify(value);
}

const FETCH_HINT = "the benchmark Job's last log line (kubectl -n <namespace> logs job/<deployment>-bench --tail=1 > result.json) once it has completed";

/** Parses NaN and Infinity, which Python's json.dump writes for undefined figures, as null: the schema then names the key. */
function parseJsonLenient(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    try {
      return JSON.parse(text.replace(/-?\bInfinity\b|\bNaN\b/g, "null"));
    } catch {
      throw error;
    }
  }
}

/**
 * The runs in a result file: one JSON object per line, a single (indented) object, or an array
 * of them. Throws InputError naming the file, the record and each missing or invalid key.
 */
export function parseBenchResults(text: string, file: string): BenchRun[] {
  const subject = `result file ${file}`;
  if (text.trim() === "") {
    throw new InputError(subject, [{ path: "", message: `is empty: it should hold the JSON that vllm bench serve --save-result writes, such as ${FETCH_HINT}` }]);
  }
  let records: { value: unknown; line: number | null }[];
  try {
    const whole = parseJsonLenient(text);
    records = (Array.isArray(whole) ? whole : [whole]).map((value) => ({ value, line: null }));
  } catch {
    records = [];
    const problems: InputProblem[] = [];
    text.split(/\r?\n/).forEach((line, i) => {
      if (line.trim() === "") return;
      try {
        records.push({ value: parseJsonLenient(line), line: i + 1 });
      } catch (error) {
        const reason = error instanceof Error ? error.message : String(error);
        const preview = line.length > 60 ? `${line.slice(0, 60)}...` : line;
        problems.push({
          path: `line ${i + 1}`,
          message: `is not JSON (${reason}): ${JSON.stringify(preview)}; give the file vllm bench serve --save-result wrote, or ${FETCH_HINT}`,
        });
      }
    });
    if (problems.length > 0) throw new InputError(subject, problems);
  }
  const runs: BenchRun[] = [];
  const problems: InputProblem[] = [];
  records.forEach(({ value, line }, i) => {
    const record = `record ${i + 1}${line === null || records.length === 1 ? "" : ` (line ${line})`}`;
    if (!value || typeof value !== "object" || Array.isArray(value)) {
      problems.push({ path: record, message: `is ${describe(value)}, not a JSON object of vllm bench serve results` });
      return;
    }
    const parsed = BenchResultSchema.safeParse(value);
    if (!parsed.success) {
      const missing = parsed.error.issues.filter((issue) => issue.path.length === 1 && !(String(issue.path[0]) in value)).map((issue) => String(issue.path[0]));
      if (missing.length > 0) {
        problems.push({ path: record, message: `is missing ${missing.join(", ")}: not a vllm bench serve result, whose --save-result file has them all` });
      }
      for (const issue of parsed.error.issues) {
        const key = String(issue.path[0] ?? "");
        if (!missing.includes(key)) problems.push({ path: `${record}.${key}`, message: issue.message });
      }
      return;
    }
    const r = parsed.data;
    if (r.completed === 0) {
      problems.push({
        path: `${record}.completed`,
        message:
          `is 0 (${r.failed} of ${r.num_prompts} requests failed): nothing was measured; the Job's log has the errors ` +
          "(the API key, the model name, a server that was not ready), fix them and run the benchmark again",
      });
      return;
    }
    runs.push({ file, record: i + 1, result: r });
  });
  if (problems.length > 0) throw new InputError(subject, problems);
  return runs;
}

/**
 * What `llm-fleet bench` records in a result (`vllm bench serve --metadata KEY=VALUE`, saved as
 * keys of the result): the hardware and layout the run measured, which a plan made later from a
 * changed stack (another calibration, another placement) may no longer have.
 */
export const BENCH_METADATA = { instanceType: "llm_fleet_instance_type", layout: "llm_fleet_layout", checkpoint: "llm_fleet_checkpoint" } as const;

/** A layout as `llm-fleet bench` records it: `tp1-pp1-dp1`. */
export function layoutTag(plan: Pick<Plan, "tensorParallelSize" | "pipelineParallelSize" | "dataParallelSize">): string {
  return `tp${plan.tensorParallelSize}-pp${plan.pipelineParallelSize}-dp${plan.dataParallelSize}`;
}

/**
 * Every run must be of the deployment as planned now: its model (the served name `--model` sends,
 * or the checkpoint repo) and, where the run recorded them, its instance type and layout.
 */
export function benchTargetProblems(
  runs: readonly BenchRun[],
  plan: Pick<Plan, "model" | "checkpoint" | "instanceType" | "tensorParallelSize" | "pipelineParallelSize" | "dataParallelSize">,
  deployment: string,
): { file: string; problem: InputProblem }[] {
  const out: { file: string; problem: InputProblem }[] = [];
  const layout = layoutTag(plan);
  for (const run of runs) {
    const r = run.result;
    const problem = (key: string, message: string) => out.push({ file: run.file, problem: { path: `record ${run.record}.${key}`, message } });
    if (r.model_id !== plan.model && r.model_id !== plan.checkpoint.repo) {
      problem(
        "model_id",
        `${JSON.stringify(r.model_id)} is another model: ${deployment} serves ${JSON.stringify(plan.model)} ` +
          `(checkpoint ${plan.checkpoint.repo}); give the result of ${deployment}'s own benchmark`,
      );
      continue;
    }
    const measuredOn = r[BENCH_METADATA.instanceType];
    const measuredLayout = r[BENCH_METADATA.layout];
    const measuredCheckpoint = r[BENCH_METADATA.checkpoint];
    if (measuredCheckpoint !== undefined && measuredCheckpoint !== plan.checkpoint.repo) {
      problem(
        BENCH_METADATA.checkpoint,
        `the run measured ${String(measuredCheckpoint)}, but the stack now plans ${deployment} with ${plan.checkpoint.repo}; ` +
          "calibrate with the stack file as it was deployed, or run llm-fleet bench again once the new plan is deployed",
      );
      continue;
    }
    if ((measuredOn !== undefined && measuredOn !== plan.instanceType) || (measuredLayout !== undefined && measuredLayout !== layout)) {
      problem(
        measuredOn !== undefined && measuredOn !== plan.instanceType ? BENCH_METADATA.instanceType : BENCH_METADATA.layout,
        `the run measured ${String(measuredOn ?? plan.instanceType)} ${String(measuredLayout ?? layout)}, but the stack now plans ${deployment} on ` +
          `${plan.instanceType} ${layout} (the stack changed since: a calibration or placement moved it); calibrate with the stack ` +
          "file as it was deployed, or run llm-fleet bench again once the new plan is deployed",
      );
    }
  }
  return out;
}

/** Latency and throughput, as measured or as predicted. */
export interface BenchFigures {
  tpotMs: number;
  ttftMs: number;
  /** The whole deployment. */
  outputTokensPerSecond: number;
}

/** One run beside its own prediction. */
export interface BenchRunComparison {
  file: string;
  record: number;
  date: string;
  /** Sequences in flight across the deployment, and on the busiest replica. */
  concurrency: number;
  sequencesPerReplica: number;
  /** Measured means per request. */
  promptTokens: number;
  outputTokens: number;
  completed: number;
  failed: number;
  durationSeconds: number;
  measured: BenchFigures;
  predicted: BenchFigures;
}

export interface BenchComparison {
  deployment: string;
  measured: BenchFigures;
  predicted: BenchFigures;
  /** Measured / predicted. */
  ratio: { tpot: number; ttft: number; throughput: number };
  /** The entry for `llm-fleet:calibration` the measurement gives: factors rounded to 3 decimals. */
  calibration: CalibrationEntry;
  /** Replicas the load was spread over. */
  replicas: number;
  runs: BenchRunComparison[];
}

export interface CompareInput {
  deployment: string;
  plan: Pick<
    Plan,
    "model" | "gpu" | "checkpoint" | "instanceType" | "nodesPerReplica" | "tensorParallelSize" | "pipelineParallelSize" | "dataParallelSize" | "memory" | "vllmArgs"
  >;
  /** Replicas that served the benchmark. */
  replicas: number;
  /** The workload's concurrency, for a run without --max-concurrency. */
  concurrency: number;
  runs: readonly BenchRun[];
}

const round3 = (x: number) => Math.round(x * 1000) / 1000;

/** A result's date as ISO 8601 (vLLM writes the pod's local time, UTC in its image, without a zone). */
export function benchDate(date: string): string {
  const m = VLLM_DATE.exec(date);
  return m ? `${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}` : date;
}

/**
 * The measurement against the model, run by run at each run's own workload (not the plan's
 * nominal one): its concurrency (`max_concurrency`, or the workload's when the run set none; at
 * most its requests) spread over the replicas, and its measured mean prompt and output lengths,
 * through the planner's own replica model without calibration (planReplicaPerformance).
 * A deployment's rate counts every sequence at the busiest replica's pace, as the plan does:
 * the replica's rate per sequence times the sequences in flight.
 * Runs combine as the measurements do: TPOT and TTFT weighted by completed requests, the rate
 * as all output tokens over the time the runs took (predicted: the time each would take).
 */
export function compareWithPlan(input: CompareInput): BenchComparison {
  const { plan, replicas } = input;
  if (input.runs.length === 0) throw new InputError(`benchmark of ${input.deployment}`, [{ path: "runs", message: "no runs: give at least one result file" }]);
  const runs = input.runs.map((run): BenchRunComparison => {
    const r = run.result;
    const concurrency = Math.min(r.max_concurrency ?? input.concurrency, Math.max(1, r.num_prompts));
    const sequencesPerReplica = Math.ceil(concurrency / replicas);
    const promptTokens = r.total_input_tokens / r.completed;
    const outputTokens = r.total_output_tokens / r.completed;
    const e = planReplicaPerformance(plan, { promptTokens, outputTokens, sequences: sequencesPerReplica });
    return {
      file: run.file,
      record: run.record,
      date: benchDate(r.date),
      concurrency,
      sequencesPerReplica,
      promptTokens,
      outputTokens,
      completed: r.completed,
      failed: r.failed,
      durationSeconds: r.duration,
      // TTFT's median: the first round's prompts all arrive at once, and their queueing, which the
      // model's steady-state TTFT leaves out, would dominate the mean (the fixture: mean 871 ms, median 453).
      measured: { tpotMs: r.mean_tpot_ms, ttftMs: r.median_ttft_ms, outputTokensPerSecond: r.total_output_tokens / r.duration },
      predicted: { tpotMs: e.tpotMs, ttftMs: e.ttftMs, outputTokensPerSecond: (e.outputTokensPerSecond / sequencesPerReplica) * concurrency },
    };
  });
  const completed = runs.reduce((s, r) => s + r.completed, 0);
  const weighted = (pick: (r: BenchRunComparison) => number) => runs.reduce((s, r) => s + r.completed * pick(r), 0) / completed;
  const totals = input.runs.map((run) => run.result.total_output_tokens);
  const outputTokens = totals.reduce((s, t) => s + t, 0);
  const measured: BenchFigures = {
    tpotMs: weighted((r) => r.measured.tpotMs),
    ttftMs: weighted((r) => r.measured.ttftMs),
    outputTokensPerSecond: outputTokens / runs.reduce((s, r) => s + r.durationSeconds, 0),
  };
  const predicted: BenchFigures = {
    tpotMs: weighted((r) => r.predicted.tpotMs),
    ttftMs: weighted((r) => r.predicted.ttftMs),
    outputTokensPerSecond: outputTokens / runs.reduce((s, r, i) => s + totals[i]! / r.predicted.outputTokensPerSecond, 0),
  };
  const ratio = {
    tpot: measured.tpotMs / predicted.tpotMs,
    ttft: measured.ttftMs / predicted.ttftMs,
    throughput: measured.outputTokensPerSecond / predicted.outputTokensPerSecond,
  };
  const measuredAt = runs.map((r) => r.date).reduce((a, b) => (b > a ? b : a));
  return {
    deployment: input.deployment,
    measured,
    predicted,
    ratio,
    calibration: { model: plan.model, gpu: plan.gpu, tpotFactor: round3(ratio.tpot), ttftFactor: round3(ratio.ttft), measuredAt, runs: runs.length },
    replicas,
    runs,
  };
}

/** Why a proposed entry would be refused by `llm-fleet:calibration`: a factor outside CALIBRATION_FACTOR_RANGE. */
export function calibrationProblems(entry: Pick<CalibrationEntry, "tpotFactor" | "ttftFactor">): InputProblem[] {
  const out: InputProblem[] = [];
  for (const key of ["tpotFactor", "ttftFactor"] as const) {
    const value = entry[key];
    if (!(value >= CALIBRATION_FACTOR_RANGE.min && value <= CALIBRATION_FACTOR_RANGE.max)) out.push({ path: key, message: factorRangeMessage(key, value) });
  }
  return out;
}

/**
 * The stack's calibration list with this entry in place of any earlier one for the same model
 * and GPU: the value to paste as `llm-fleet:calibration`.
 */
export function mergeCalibration(existing: readonly CalibrationEntry[], entry: CalibrationEntry): CalibrationEntry[] {
  return [...existing.filter((e) => e.model !== entry.model || e.gpu !== entry.gpu), entry];
}
