import {
  DEFAULT_LENGTHS,
  DEFAULT_MAX_MODEL_LEN,
  EstimateInputError,
  GPUS,
  GPU_IDS,
  MODEL_IDS,
  PRECISIONS,
  estimateLayout,
  type EstimateRequestInput,
  type LayoutEstimate,
} from "../sizing";
import { UsageError, helpText, numberFlag, parseFlags, type FlagSpecs } from "./args";
import { ENGINE_FLAGS, ENGINE_FLAG_OF, engineRequest } from "./engine-flags";
import { activationsLine, kvCacheLine, gib, int, memoryBar } from "./render";
import type { CommandOutput } from "./size";

export const ESTIMATE_FLAGS = {
  gpu: { type: "string", value: "id", help: `the GPU: ${GPU_IDS.join(", ")} (required)` },
  instance: { type: "string", value: "type", help: "the EC2 instance type (default: the smallest of the GPU with enough GPUs)" },
  tp: { type: "string", value: "n", help: "tensor-parallel size (required)" },
  pp: { type: "string", value: "n", help: "pipeline-parallel size (default 1)" },
  dp: { type: "string", value: "n", help: "data-parallel attention ranks with expert parallelism, MoE models only (default 1)" },
  precision: { type: "string", value: PRECISIONS.join("|"), help: "checkpoint precision (default: the model's native one)" },
  concurrency: { type: "string", value: "sequences", help: "sequences in flight on this one replica (default 1)" },
  "prompt-tokens": { type: "string", value: "tokens", help: `mean prompt length (default ${DEFAULT_LENGTHS.reasoning.promptTokens})` },
  "output-tokens": {
    type: "string",
    value: "tokens",
    help: `mean output length (default ${DEFAULT_LENGTHS.reasoning.outputTokens} for reasoning models, ${DEFAULT_LENGTHS.chat.outputTokens} for chat models)`,
  },
  "max-model-len": { type: "string", value: "tokens", help: `vLLM's --max-model-len (default ${DEFAULT_MAX_MODEL_LEN})` },
  ...ENGINE_FLAGS,
  json: { type: "boolean", help: "print { request, estimate, memory } as JSON" },
  help: { type: "boolean", short: "h", help: "show this help" },
} as const satisfies FlagSpecs;

type EstimateFlag = keyof typeof ESTIMATE_FLAGS;

const FLAG_OF: { readonly [field in keyof EstimateRequestInput]-?: EstimateFlag | "<model>" } = {
  model: "<model>",
  gpu: "gpu",
  instanceType: "instance",
  tensorParallelSize: "tp",
  pipelineParallelSize: "pp",
  dataParallelSize: "dp",
  precision: "precision",
  concurrency: "concurrency",
  promptTokens: "prompt-tokens",
  outputTokens: "output-tokens",
  maxModelLen: "max-model-len",
  ...ENGINE_FLAG_OF,
};

export const ESTIMATE_USAGE = [
  "Usage: llm-fleet estimate <model> --gpu <id> --tp <n> [options]",
  "",
  "Memory, latency and throughput of one replica in the layout you name, from llm-fleet's calibrated models.",
  `<model>: ${MODEL_IDS.join(", ")}, or the hub repo id.`,
  "Exit codes: 0 the layout fits in memory, 2 it does not (with the reason), 1 bad input, 4 internal error.",
].join("\n");

export function estimateRequest(argv: readonly string[]): { request: EstimateRequestInput; json: boolean; help: boolean } {
  const { values, positionals } = parseFlags(argv, ESTIMATE_FLAGS);
  if (values.help) return { request: { model: "", gpu: "", tensorParallelSize: 1 }, json: false, help: true };
  if (positionals.length === 0) throw new UsageError(`missing <model>. Valid: ${MODEL_IDS.join(", ")}`);
  if (positionals.length > 1) throw new UsageError(`one <model> at a time; got ${positionals.map((p) => `"${p}"`).join(", ")}`);
  const str = (flag: EstimateFlag) => values[flag] as string | undefined;
  const num = (flag: EstimateFlag, kind: "integer" | "decimal" = "integer") => {
    const raw = str(flag);
    return raw === undefined ? undefined : (numberFlag(raw, kind) as number);
  };
  if (str("gpu") === undefined) throw new UsageError(`--gpu is required: one of ${GPU_IDS.join(", ")}`);
  if (str("tp") === undefined) throw new UsageError("--tp is required: the tensor-parallel size, e.g. --tp 8");
  const request: EstimateRequestInput = {
    model: positionals[0]!,
    gpu: str("gpu")!,
    instanceType: str("instance"),
    tensorParallelSize: num("tp")!,
    pipelineParallelSize: num("pp"),
    dataParallelSize: num("dp"),
    precision: str("precision"),
    concurrency: num("concurrency"),
    promptTokens: num("prompt-tokens"),
    outputTokens: num("output-tokens"),
    maxModelLen: num("max-model-len"),
    ...engineRequest(values),
  };
  for (const key of Object.keys(request) as (keyof EstimateRequestInput)[]) {
    if (request[key] === undefined) delete request[key];
  }
  return { request, json: Boolean(values.json), help: false };
}

function describeEstimateError(error: EstimateInputError): string {
  return error.problems
    .map((p) => {
      const field = p.path.split(".")[0] as keyof EstimateRequestInput;
      const flag = FLAG_OF[field];
      return `${flag === undefined ? p.path || "request" : flag === "<model>" ? "<model>" : `--${flag}`}: ${p.message}`;
    })
    .join("\n");
}

export function runEstimate(argv: readonly string[]): CommandOutput {
  const fail = (message: string): CommandOutput => ({
    code: 1,
    stdout: "",
    stderr: message.split("\n").map((l) => `llm-fleet estimate: ${l}\n`).join(""),
  });
  let parsed: ReturnType<typeof estimateRequest>;
  let result: LayoutEstimate;
  try {
    parsed = estimateRequest(argv);
    if (parsed.help) return { code: 0, stdout: helpText(ESTIMATE_USAGE, ESTIMATE_FLAGS) + "\n", stderr: "" };
    result = estimateLayout(parsed.request);
  } catch (error) {
    if (error instanceof UsageError) return fail(error.message);
    if (error instanceof EstimateInputError) return fail(describeEstimateError(error));
    throw error;
  }
  const code = result.memory.fits ? 0 : 2;
  if (parsed.json) return { code, stdout: JSON.stringify(estimateJson(result), null, 2) + "\n", stderr: "" };
  return { code, stdout: renderEstimate(result), stderr: "" };
}

/** The `--json` document: `{ request, estimate, memory }`. */
export function estimateJson(result: LayoutEstimate) {
  const e = result.estimate;
  return {
    request: result.request,
    estimate: e && {
      tpotMs: e.tpotMs,
      ttftMs: e.ttftMs,
      outputTokensPerSecond: e.outputTokensPerSecond,
      outputTokensPerSecondPerGpu: e.outputTokensPerSecondPerGpu,
      tokensPerSecondPerUser: e.tokensPerSecondPerUser,
      runningSequences: e.runningSequences,
      queuedSequences: e.queuedSequences,
      bottleneck: e.bottleneck,
      confidence: e.confidence,
      extrapolatedBecause: e.extrapolatedBecause,
      ttftConfidence: e.ttftConfidence,
      ttftExtrapolatedBecause: e.ttftExtrapolatedBecause,
      breakdown: e.breakdown,
    },
    memory: {
      fits: result.memory.fits,
      problem: result.memory.problem,
      perGpuMemoryGiB: result.memory.perGpuMemoryGiB,
      kvCacheTokens: result.memory.kvCacheTokens,
      maxConcurrentSequences: result.memory.maxConcurrentSequences,
    },
  };
}

const ms = (n: number) => `${n < 10 ? n.toFixed(2) : n.toFixed(1)} ms`;

export function renderEstimate(result: LayoutEstimate): string {
  const r = result.request;
  const gpu = GPUS[r.gpu];
  const dp = r.dataParallelSize > 1 ? ` x DP ${r.dataParallelSize}` : "";
  const out = [
    `${r.checkpoint} on ${r.nodes} x ${r.instanceType} (${gpu.name}), TP ${r.tensorParallelSize} x PP ${r.pipelineParallelSize}${dp}`,
    `Workload: ${r.concurrency} sequence${r.concurrency === 1 ? "" : "s"} in flight, mean ${int(r.promptTokens)} prompt / ${int(r.outputTokens)} output tokens, max_model_len ${int(r.maxModelLen)}`,
    "",
  ];
  const m = result.memory;
  out.push(`Memory per GPU (W weights, K KV cache, A activations, . free):`);
  out.push(`  ${memoryBar(m.perGpuMemoryGiB)}`);
  out.push(
    `  weights ${gib(m.perGpuMemoryGiB.weights)} | KV cache ${gib(m.perGpuMemoryGiB.kvCache)} | activations ${gib(m.perGpuMemoryGiB.activations)} | free ${gib(m.perGpuMemoryGiB.free)}` +
      ` (vLLM claims ${gib(m.breakdown.budgetGiB)} at ${r.gpuMemoryUtilization})`,
  );
  out.push(activationsLine(m.breakdown));
  out.push(kvCacheLine(m.breakdown));
  out.push(`  KV cache ${int(m.kvCacheTokens)} tokens: ${m.maxConcurrentSequences} concurrent ${int(r.maxModelLen)}-token sequences`);
  out.push("");
  const e = result.estimate;
  if (!e) {
    out.push(`Does not fit: ${m.problem}`);
    return out.join("\n") + "\n";
  }
  const label = e.confidence === "calibrated" ? "calibrated on measurements" : "extrapolated";
  out.push(`Performance [${label}]:`);
  const ttftLabel = e.ttftConfidence === e.confidence ? "" : ` [${e.ttftConfidence === "calibrated" ? "calibrated on measurements" : "extrapolated"}]`;
  out.push(`  TPOT ${ms(e.tpotMs)} (${e.tokensPerSecondPerUser.toFixed(1)} tokens/s per user), TTFT ${ms(e.ttftMs)}${ttftLabel}`);
  out.push(`  ${int(e.outputTokensPerSecond)} output tokens/s for the replica, ${int(e.outputTokensPerSecondPerGpu)} per GPU; bottleneck: ${e.bottleneck}`);
  if (e.queuedSequences > 0) out.push(`  ${e.runningSequences} sequences run at once; ${e.queuedSequences} wait for KV-cache room (in the TTFT)`);
  const b = e.breakdown;
  out.push(
    `  per token: weights ${ms(b.weightsReadMs)} + KV ${ms(b.kvReadMs)} + compute ${ms(b.computeMs)} + collectives ${ms(b.collectivesMs)} + ` +
      `fixed ${ms(b.overheadMs)} + prefill ${ms(b.prefillMs)} + pipeline ${ms(b.pipelineMs)}` +
      (b.hostLaunchMs > 0 ? ` + eager launches ${ms(b.hostLaunchMs)}` : ""),
  );
  if (e.extrapolatedBecause.length > 0) out.push(`  extrapolated: ${e.extrapolatedBecause.join("; ")}`);
  const ttftOnly = e.ttftExtrapolatedBecause.filter((w) => !e.extrapolatedBecause.includes(w));
  if (ttftOnly.length > 0) out.push(`  TTFT extrapolated: ${ttftOnly.join("; ")}`);
  return out.join("\n") + "\n";
}
