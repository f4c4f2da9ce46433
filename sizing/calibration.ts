/**
 * The performance model against measured latencies (catalog/data/perf-calibration.csv, a copy
 * of shared/reference/perf-calibration.csv): per row the predicted TPOT and TTFT beside the
 * measured ones, and the error per group. Used by the calibration test and `npm run bench`.
 */
import { GPUS, INSTANCES, INSTANCE_TYPES, MODELS, findModelId, type GpuId, type InstanceType, type Precision } from "./catalog";
import { memoryBreakdown, schedulerDefaults } from "./memory";
import { estimatePerformance } from "./performance";

export interface CalibrationRow {
  model: string;
  precision: Precision;
  gpu: GpuId;
  tp: number;
  pp: number;
  promptTokens: number;
  outputTokens: number;
  concurrency: number;
  tpotMs: number;
  ttftMs: number;
  framework: string;
  measuredModel: string;
}

/** Parses the CSV (comment lines start with #; the measured model's name may be quoted). */
export function parseCalibrationCsv(text: string): CalibrationRow[] {
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== "" && !l.startsWith("#"));
  const [header, ...rows] = lines;
  const columns = splitCsvLine(header!);
  return rows.map((line) => {
    const cells = splitCsvLine(line);
    const get = (name: string) => {
      const i = columns.indexOf(name);
      if (i < 0) throw new Error(`perf-calibration.csv has no column ${name}`);
      return cells[i]!;
    };
    return {
      model: get("model"),
      precision: get("precision") as Precision,
      gpu: get("gpu") as GpuId,
      tp: Number(get("tp")),
      pp: Number(get("pp")),
      promptTokens: Number(get("promptTokens")),
      outputTokens: Number(get("outputTokens")),
      concurrency: Number(get("concurrency")),
      tpotMs: Number(get("tpotMs")),
      ttftMs: Number(get("ttftMs")),
      framework: get("framework"),
      measuredModel: get("measuredModel"),
    };
  });
}

function splitCsvLine(line: string): string[] {
  const out: string[] = [];
  let cell = "";
  let quoted = false;
  for (const ch of line) {
    if (ch === '"') quoted = !quoted;
    else if (ch === "," && !quoted) {
      out.push(cell);
      cell = "";
    } else cell += ch;
  }
  out.push(cell);
  return out;
}

/**
 * What is known of how a source measured, beyond the row's own columns.
 *
 * The vLLM 0.12 sweep of Llama-3.1-8B reports TTFTs (72-463 ms) and TPOTs that leave no room
 * for computing its prompts: 2,000-token prompts at 64 concurrent sequences and 9.7 ms per token
 * are 117K prompt tokens/s, 1.9 PFLOP/s on an H200 whose dense FP8 peak is 1.98 PFLOP/s, while
 * the same GPU is also decoding. Its prompts were served from vLLM's prefix cache, so they are
 * modelled as cached. No other source's rows need an assumption.
 */
export function prefixCacheHitRateOf(row: Pick<CalibrationRow, "framework" | "measuredModel">): number {
  return row.framework === "vllm 0.12.0" && row.measuredModel.startsWith("Llama-3.1-8B") ? 1 : 0;
}

export interface CalibrationResult {
  row: CalibrationRow;
  instanceType: InstanceType;
  predictedTpotMs: number;
  predictedTtftMs: number;
  /** (predicted - measured) / measured */
  tpotError: number;
  ttftError: number;
}

/** The model at one measured row: same model, checkpoint precision, GPU, TP, PP, lengths and batch. */
export function predictRow(row: CalibrationRow): CalibrationResult {
  const modelId = findModelId(row.model);
  if (!modelId) throw new Error(`perf-calibration.csv names an unknown model ${row.model}`);
  const model = MODELS[modelId];
  const checkpoint = model.checkpoints.find((c) => c.precision === row.precision);
  if (!checkpoint) throw new Error(`${row.model} has no ${row.precision} checkpoint`);
  const gpu = GPUS[row.gpu];
  // The measured systems are 8-GPU SXM nodes; on demand where both a p5e and a p5en exist.
  const instanceType = INSTANCE_TYPES.find((t) => INSTANCES[t].gpu === row.gpu && INSTANCES[t].gpuCount === 8 && INSTANCES[t].capacityTypes.includes("on-demand"))!;
  const memory = memoryBreakdown({
    model,
    checkpoint,
    gpu,
    tensorParallelSize: row.tp,
    pipelineParallelSize: row.pp,
    maxModelLen: row.promptTokens + row.outputTokens,
    gpuMemoryUtilization: 0.9,
    kvCacheDtype: "auto",
  });
  const e = estimatePerformance({
    model,
    checkpoint,
    instanceType,
    tensorParallelSize: row.tp,
    pipelineParallelSize: row.pp,
    concurrency: row.concurrency,
    promptTokens: row.promptTokens,
    outputTokens: row.outputTokens,
    kvCacheDtype: "auto",
    maxNumBatchedTokens: schedulerDefaults(gpu).maxNumBatchedTokens,
    kvCacheTokens: memory.kvCacheTokens,
    maxNumSeqs: memory.maxNumSeqs,
    prefixCacheHitRate: prefixCacheHitRateOf(row),
  });
  return {
    row,
    instanceType,
    predictedTpotMs: e.tpotMs,
    predictedTtftMs: e.ttftMs,
    tpotError: (e.tpotMs - row.tpotMs) / row.tpotMs,
    ttftError: (e.ttftMs - row.ttftMs) / row.ttftMs,
  };
}

export interface ErrorSummary {
  group: string;
  rows: number;
  /** Mean absolute percentage error of TPOT, in percent. */
  tpotMapePercent: number;
  /** Rows whose TPOT is within +/-30 %. */
  tpotWithin30: number;
  /** Mean signed error of TPOT, in percent: positive when the model is slow. */
  tpotBiasPercent: number;
  ttftMapePercent: number;
  /** Median absolute TTFT error, in percent: TTFT has queueing outliers. */
  ttftMedianAbsPercent: number;
}

function summarise(group: string, results: readonly CalibrationResult[]): ErrorSummary {
  const mean = (xs: number[]) => (xs.reduce((s, x) => s + x, 0) / xs.length) * 100;
  const abs = results.map((r) => Math.abs(r.ttftError)).sort((a, b) => a - b);
  return {
    group,
    rows: results.length,
    tpotMapePercent: mean(results.map((r) => Math.abs(r.tpotError))),
    tpotWithin30: results.filter((r) => Math.abs(r.tpotError) <= 0.3).length,
    tpotBiasPercent: mean(results.map((r) => r.tpotError)),
    ttftMapePercent: mean(results.map((r) => Math.abs(r.ttftError))),
    ttftMedianAbsPercent: (abs[Math.floor(abs.length / 2)] ?? 0) * 100,
  };
}

/** Every row predicted, with the error per model and TP size and over all rows. */
export function calibrationReport(rows: readonly CalibrationRow[]): { results: CalibrationResult[]; groups: ErrorSummary[]; all: ErrorSummary } {
  const results = rows.map(predictRow);
  const byGroup = new Map<string, CalibrationResult[]>();
  for (const r of results) {
    const key = `${r.row.model} ${r.row.precision} ${r.row.gpu} TP ${r.row.tp}`;
    byGroup.set(key, [...(byGroup.get(key) ?? []), r]);
  }
  return { results, groups: [...byGroup].map(([group, rs]) => summarise(group, rs)), all: summarise("all rows", results) };
}
