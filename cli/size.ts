import {
  CAPACITY_TYPES,
  DEFAULT_CONCURRENCY,
  DEFAULT_GPU_MEMORY_UTILIZATION,
  DEFAULT_LENGTHS,
  DEFAULT_MAX_MODEL_LEN,
  DEFAULT_REGION,
  GPU_IDS,
  GPUS,
  MAX_NODES_PER_REPLICA,
  MODEL_IDS,
  MODELS,
  OBJECTIVES,
  PRECISIONS,
  PlanInputError,
  RULES,
  candidateCurves,
  RULE_TITLES,
  planDeployment,
  type PlanRequestInput,
  type PlanResult,
  type Plan,
  type Rejection,
  type Relaxation,
} from "../sizing";
import { UsageError, helpText, numberFlag, parseFlags, type FlagSpecs } from "./args";
import { ENGINE_FLAGS, ENGINE_FLAG_OF, engineRequest } from "./engine-flags";
import { renderFrontier } from "./chart";
import { activationsLine, kvCacheLine, gib, int, memoryBar, table, usd } from "./render";

const list = (values: readonly string[]) => values.join("|");

export const SIZE_FLAGS = {
  gpu: { type: "string", list: true, value: "id[,id...]", help: `GPUs to consider: ${GPU_IDS.join(", ")} (default: all)` },
  instance: { type: "string", list: true, value: "type[,type...]", help: "EC2 instance types to consider, e.g. p5.48xlarge (default: all)" },
  nodes: { type: "string", value: "n", help: `nodes one replica spans, 1-${MAX_NODES_PER_REPLICA} (default: try each)` },
  precision: { type: "string", list: true, value: `${list(PRECISIONS)}[,...]`, help: "precisions allowed (default: the model's native one)" },
  "max-model-len": { type: "string", value: "tokens", help: `longest request, prompt + output (default ${DEFAULT_MAX_MODEL_LEN})` },
  concurrency: { type: "string", value: "sequences", help: `sequences in flight across the deployment (default ${DEFAULT_CONCURRENCY})` },
  "prompt-tokens": {
    type: "string",
    value: "tokens",
    help: `mean prompt length (default ${DEFAULT_LENGTHS.reasoning.promptTokens})`,
  },
  "output-tokens": {
    type: "string",
    value: "tokens",
    help: `mean output length (default ${DEFAULT_LENGTHS.reasoning.outputTokens} for reasoning models, ${DEFAULT_LENGTHS.chat.outputTokens} for chat models)`,
  },
  "max-tpot-ms": { type: "string", value: "ms", help: "time per output token each user may see at most; 50 ms is 20 tokens/s (default: none)" },
  "max-ttft-ms": { type: "string", value: "ms", help: "time to first token at most (default: none)" },
  throughput: { type: "string", value: "tokens/s", help: "output tokens per second the deployment must sustain (default: none)" },
  replicas: { type: "string", value: "n", help: "replicas to run at least (default 1)" },
  region: { type: "string", value: "aws-region", help: `AWS region (default ${DEFAULT_REGION})` },
  capacity: { type: "string", value: list(CAPACITY_TYPES), help: "how the nodes are bought (default on-demand)" },
  objective: {
    type: "string",
    value: list(OBJECTIVES),
    help: "the lowest USD/hour that meets every target, or the lowest USD per million output tokens (default cost)",
  },
  ...ENGINE_FLAGS,
  price: {
    type: "string",
    repeatable: true,
    value: "type[@region]=usd",
    help: "override one node's USD/hour, for every capacity type (repeatable)",
  },
  chart: { type: "boolean", help: "draw the candidates' frontier: output tokens/s per GPU against tokens/s per user" },
  json: { type: "boolean", help: "print { request, plan, alternatives, rejected, ... } as JSON" },
  help: { type: "boolean", short: "h", help: "show this help" },
} as const satisfies FlagSpecs;

type SizeFlag = keyof typeof SIZE_FLAGS;

/**
 * Request field -> the flag that sets it, so schema errors name what the user typed. A
 * calibration comes from a stack file (`llm-fleet:calibration`), not from a flag.
 */
const FLAG_OF: { readonly [field in Exclude<keyof PlanRequestInput, "calibration">]-?: SizeFlag | "<model>" } = {
  model: "<model>",
  gpus: "gpu",
  instanceTypes: "instance",
  nodesPerReplica: "nodes",
  precisions: "precision",
  maxModelLen: "max-model-len",
  concurrency: "concurrency",
  promptTokens: "prompt-tokens",
  outputTokens: "output-tokens",
  maxTpotMs: "max-tpot-ms",
  maxTtftMs: "max-ttft-ms",
  outputTokensPerSecond: "throughput",
  minReplicas: "replicas",
  region: "region",
  capacityType: "capacity",
  objective: "objective",
  ...ENGINE_FLAG_OF,
  priceOverrides: "price",
};

export const SIZE_USAGE = [
  "Usage: llm-fleet size <model> [options]",
  "",
  "Finds the cheapest deployment of <model> that vLLM can start and that meets the latency and throughput targets,",
  "and why every other candidate was dropped. Latency and throughput are predicted by a model calibrated on",
  "published measurements; each figure says whether it is calibrated or extrapolated.",
  `<model>: ${MODEL_IDS.join(", ")}, or the hub repo id (deepseek-ai/DeepSeek-R1).`,
  "Exit codes: 0 a plan, 2 nothing fits (with what to relax), 1 bad input, 4 internal error.",
].join("\n");

export interface CommandOutput {
  code: number;
  stdout: string;
  stderr: string;
}

function priceOverride(raw: string): NonNullable<PlanRequestInput["priceOverrides"]>[number] {
  const match = /^([^@=\s]+)(?:@([^=\s]+))?=(.+)$/.exec(raw);
  if (!match) throw new UsageError(`--price: "${raw}" is not <instance-type>[@region]=<usd-per-hour>, e.g. p5e.48xlarge@us-east-2=40.5`);
  const [, instanceType, region, usdText] = match;
  // The instance type and region are checked by the request schema, with a did-you-mean.
  return { instanceType: instanceType!, region, usdPerHour: numberFlag(usdText!, "decimal") as number };
}

/** Turns argv into a planner request; UsageError for anything malformed. */
export function sizeRequest(argv: readonly string[]): { request: PlanRequestInput; json: boolean; chart: boolean; help: boolean } {
  const { values, positionals } = parseFlags(argv, SIZE_FLAGS);
  const str = (flag: SizeFlag) => values[flag] as string | undefined;
  const strs = (flag: SizeFlag) => values[flag] as string[] | undefined;
  if (values.help) return { request: { model: "" }, json: false, chart: false, help: true };
  if (positionals.length === 0) throw new UsageError(`missing <model>. Valid: ${Object.keys(MODELS).join(", ")}`);
  if (positionals.length > 1) throw new UsageError(`one <model> at a time; got ${positionals.map((p) => `"${p}"`).join(", ")}`);
  // Non-numeric text goes to the schema as is, which rejects it naming the flag.
  const num = (flag: SizeFlag, kind: "integer" | "decimal" = "integer") => {
    const raw = str(flag);
    return raw === undefined ? undefined : (numberFlag(raw, kind) as number);
  };
  const request: PlanRequestInput = {
    model: positionals[0]!,
    gpus: strs("gpu"),
    instanceTypes: strs("instance"),
    nodesPerReplica: num("nodes"),
    precisions: strs("precision") as PlanRequestInput["precisions"],
    maxModelLen: num("max-model-len"),
    concurrency: num("concurrency"),
    promptTokens: num("prompt-tokens"),
    outputTokens: num("output-tokens"),
    maxTpotMs: num("max-tpot-ms", "decimal"),
    maxTtftMs: num("max-ttft-ms", "decimal"),
    outputTokensPerSecond: num("throughput", "decimal"),
    minReplicas: num("replicas"),
    region: str("region"),
    capacityType: str("capacity") as PlanRequestInput["capacityType"],
    objective: str("objective") as PlanRequestInput["objective"],
    ...engineRequest(values),
    priceOverrides: (strs("price") ?? []).map(priceOverride),
  };
  // Unset flags stay out of the request so the schema's defaults apply.
  for (const key of Object.keys(request) as (keyof PlanRequestInput)[]) {
    if (request[key] === undefined) delete request[key];
  }
  return { request, json: Boolean(values.json), chart: Boolean(values.chart), help: false };
}

/** Names the flag instead of the request field: `--gpu: unknown gpu "h10"...`. */
export function describeInputError(error: PlanInputError): string {
  return error.problems
    .map((p) => {
      const [field, index, sub] = p.path.split(".");
      const flag = field && field in FLAG_OF ? FLAG_OF[field as keyof typeof FLAG_OF] : undefined;
      const name = flag === undefined ? p.path || "request" : flag === "<model>" ? "<model>" : `--${flag}`;
      const detail = field === "priceOverrides" && index !== undefined ? ` (#${Number(index) + 1}${sub ? ` ${sub}` : ""})` : "";
      return `${name}${detail}: ${p.message}`;
    })
    .join("\n");
}

export function runSize(argv: readonly string[]): CommandOutput {
  let parsed: ReturnType<typeof sizeRequest>;
  try {
    parsed = sizeRequest(argv);
    if (parsed.help) return { code: 0, stdout: helpText(SIZE_USAGE, SIZE_FLAGS) + "\n", stderr: "" };
  } catch (error) {
    if (error instanceof UsageError) return { code: 1, stdout: "", stderr: `llm-fleet size: ${error.message}\n` };
    throw error;
  }
  let result: PlanResult;
  try {
    result = planDeployment(parsed.request);
  } catch (error) {
    if (error instanceof PlanInputError) {
      return { code: 1, stdout: "", stderr: `llm-fleet size: ${describeInputError(error).split("\n").join("\nllm-fleet size: ")}\n` };
    }
    throw error;
  }
  const code = result.plan ? 0 : 2;
  if (parsed.json) return { code, stdout: JSON.stringify(sizeJson(result), null, 2) + "\n", stderr: "" };
  const chart = parsed.chart ? renderFrontier(candidateCurves(result)) + "\n" : "";
  return { code, stdout: renderSize(result, Object.keys(parsed.request)) + chart, stderr: "" };
}

/** The `--json` document: `{ request, plan, alternatives, rejected }` plus the explanation when nothing fits. */
export function sizeJson(result: PlanResult) {
  return {
    request: result.request,
    catalogVersion: result.catalogVersion,
    pricesAsOf: result.pricesAsOf,
    plan: result.plan,
    alternatives: result.alternatives,
    rejected: result.rejected,
    excludedByRequest: result.excludedByRequest,
    closestMiss: result.closestMiss,
    relaxations: result.relaxations,
  };
}

/** A relaxation as the command line to change: `--precision fp8,int4` or `without --gpu`. */
const relaxationFlag = (x: Relaxation) =>
  x.value === "any" ? `without --${FLAG_OF[x.field]}` : x.value === "true" ? `--${FLAG_OF[x.field]}` : `--${FLAG_OF[x.field]} ${x.value}`;

function requestLine(result: PlanResult, input: readonly string[]): string {
  const r = result.request;
  const model = MODELS[r.model];
  const given = (flag: string) => (input.includes(flag) ? "" : " (default)");
  const precisions = r.precisions ? r.precisions.join(",") : `${model.nativePrecision} (native, default)`;
  const targets = [
    r.maxTpotMs === undefined ? null : `TPOT <= ${r.maxTpotMs} ms`,
    r.maxTtftMs === undefined ? null : `TTFT <= ${r.maxTtftMs} ms`,
    r.outputTokensPerSecond === undefined ? null : `>= ${int(r.outputTokensPerSecond)} output tok/s`,
  ].filter((t) => t !== null);
  return [
    `max_model_len ${int(r.maxModelLen)}${given("maxModelLen")}`,
    `concurrency ${int(r.concurrency)} sequence${r.concurrency > 1 ? "s" : ""}${given("concurrency")}`,
    `mean ${int(r.promptTokens)} prompt${given("promptTokens")} / ${int(r.outputTokens)} output tokens${given("outputTokens")}`,
    targets.length > 0 ? `targets ${targets.join(", ")}` : "no latency target",
    `precision ${precisions}`,
    `${r.region} ${r.capacityType}`,
    `objective ${r.objective}`,
    ...engineParts(r),
  ].join(" · ");
}

/** The engine knobs the request sets away from vLLM's defaults, as the flags they become. */
function engineParts(r: PlanResult["request"]): string[] {
  const parts: string[] = [];
  if (r.gpuMemoryUtilization !== DEFAULT_GPU_MEMORY_UTILIZATION) parts.push(`--gpu-memory-utilization ${r.gpuMemoryUtilization}`);
  if (r.kvCacheDtype !== "auto") parts.push(`--kv-cache-dtype ${r.kvCacheDtype}`);
  if (r.maxNumBatchedTokens !== undefined) parts.push(`--max-num-batched-tokens ${r.maxNumBatchedTokens}`);
  if (r.enforceEager) parts.push("--enforce-eager");
  return parts;
}

/** A layout as TP x PP, with the data-parallel attention ranks when there are any. */
export function layoutText(p: { tensorParallelSize: number | null; pipelineParallelSize: number | null; dataParallelSize: number | null }): string {
  const dp = p.dataParallelSize && p.dataParallelSize > 1 ? ` x DP ${p.dataParallelSize}` : "";
  return `TP ${p.tensorParallelSize} x PP ${p.pipelineParallelSize}${dp}`;
}

const ms = (n: number) => (n < 100 ? n.toFixed(1) : Math.round(n).toLocaleString("en-US"));

/** The plan's predicted latency and throughput, each with its basis. */
function performanceLines(plan: Plan, targeted: boolean): string[] {
  const f = plan.performance;
  const labelOf = (c: string) => (c === "calibrated" ? "calibrated on measurements" : "extrapolated");
  const label = labelOf(f.confidence);
  const ttft = f.ttftConfidence === f.confidence ? "" : ` [${labelOf(f.ttftConfidence)}]`;
  const lines = [
    `  latency      TPOT ${ms(f.tpotMs)} ms (${f.tokensPerSecondPerUser.toFixed(1)} tokens/s per user) [${label}], TTFT ${ms(f.ttftMs)} ms${ttft} at ${f.sequencesPerReplica} sequence${f.sequencesPerReplica === 1 ? "" : "s"} per replica`,
    `  throughput   ${int(f.outputTokensPerSecond)} output tokens/s (${int(f.outputTokensPerSecondPerGpu)} per GPU), ${usd(f.usdPerMillionOutputTokens)} per million output tokens [${label}]`,
    `  headroom     up to ${f.maxConcurrencyWithinTargets} sequences per replica within ${targeted ? "the targets and " : ""}the KV cache; bottleneck: ${f.bottleneck}`,
  ];
  if (f.extrapolatedBecause.length > 0) lines.push(`               (extrapolated: ${f.extrapolatedBecause.join("; ")})`);
  return lines;
}

function describeNodes(plan: Plan): string {
  return `${plan.nodes} x ${plan.instanceType} (${plan.gpusPerNode} x ${plan.gpu} each)`;
}

/** Up to three of a group, closest to fitting first, one per instance type. */
function examples(group: readonly Rejection[]): Rejection[] {
  const seen = new Set<string>();
  return [...group]
    .sort((a, b) => (a.shortfallGiB ?? a.excess ?? Infinity) - (b.shortfallGiB ?? b.excess ?? Infinity))
    .filter((r) => !seen.has(r.instanceType) && seen.add(r.instanceType))
    .slice(0, 3);
}

function rejectionLine(r: Rejection): string {
  const layout = r.tensorParallelSize ? ` ${layoutText(r)}` : "";
  return `${r.instanceType} x${r.nodes}${layout}, ${r.checkpoint}: ${r.reason}`;
}

export function renderSize(result: PlanResult, inputKeys: readonly string[] = []): string {
  const out: string[] = [];
  const r = result.request;
  const model = MODELS[r.model];
  out.push(`${model.displayName} · catalog ${result.catalogVersion} · prices of ${result.pricesAsOf}`);
  out.push(`Request: ${requestLine(result, inputKeys)}`);
  out.push("");
  const plan = result.plan;
  if (plan) {
    const m = plan.memory;
    out.push(`Plan: ${describeNodes(plan)}, ${usd(plan.usdPerHour)}/hour, ${usd(plan.usdPerMonth, 0)}/month`);
    out.push(`  checkpoint   ${plan.checkpoint.repo} (${plan.checkpoint.precision}; ${plan.checkpoint.format}; ${plan.checkpoint.sizeOnDiskGB} GB)`);
    out.push(
      `  parallelism  ${layoutText(plan)}, ${plan.replicas} replica${plan.replicas > 1 ? "s" : ""}` +
        (plan.nodesPerReplica > 1 ? `, each over ${plan.nodesPerReplica} nodes` : plan.replicasPerNode > 1 ? `, up to ${plan.replicasPerNode} per node` : ""),
    );
    out.push(
      `  KV cache     ${int(plan.kvCacheTokens)} tokens per replica: ${plan.maxConcurrentSequences} concurrent ${int(plan.maxModelLen)}-token sequence${plan.maxConcurrentSequences === 1 ? "" : "s"}`,
    );
    out.push(`  price        ${usd(plan.price.usdPerHourPerNode, 4)}/hour per node (${plan.price.basis}, ${plan.price.asOf})`);
    out.push(...performanceLines(plan, r.maxTpotMs !== undefined || r.maxTtftMs !== undefined));
    out.push("");
    const gpu = GPUS[plan.gpu];
    const stage = plan.pipelineParallelSize > 1 ? `, pipeline stage ${m.stage + 1} of ${plan.pipelineParallelSize}` : "";
    out.push(`Memory per GPU (${plan.gpu}, ${gib(gpu.memoryGiB)}${stage}; W weights, K KV cache, A activations, . free):`);
    out.push(`  ${memoryBar(plan.perGpuMemoryGiB)}`);
    out.push(
      `  weights ${gib(m.weightsGiB)} | KV cache ${gib(m.kvCacheGiB)} | activations ${gib(m.activationsGiB)} | free ${gib(m.freeGiB)}` +
        ` (vLLM claims ${gib(m.budgetGiB)} at ${r.gpuMemoryUtilization})`,
    );
    out.push(activationsLine(m));
    out.push(kvCacheLine(m));
    out.push("");
    out.push(`vLLM (${plan.image}):`);
    out.push(`  vllm serve ${plan.vllmArgs.join(" ")}`);
    out.push("");
    if (result.alternatives.length > 0) {
      out.push("Next best (latency and throughput at the same workload):");
      const rows = result.alternatives.map((a) => [
        a.instanceType,
        String(a.nodes),
        [a.tensorParallelSize, a.pipelineParallelSize, ...(a.dataParallelSize > 1 ? [a.dataParallelSize] : [])].join("x"),
        a.checkpoint.repo,
        String(a.replicas),
        usd(a.usdPerHour),
        usd(a.usdPerMonth, 0),
        ms(a.performance.tpotMs),
        a.performance.tokensPerSecondPerUser.toFixed(1),
        usd(a.performance.usdPerMillionOutputTokens),
        a.performance.confidence,
      ]);
      out.push(
        ...table(
          ["instance", "nodes", "layout", "checkpoint", "replicas", "$/hour", "$/month", "TPOT ms", "tok/s/user", "$/Mtok", "basis"],
          rows,
          [1, 4, 5, 6, 7, 8, 9],
        ).map((l) => `  ${l}`),
      );
      out.push("  (layout: TPxPP, or TPxPPxDP with data-parallel attention)");
      out.push("");
    }
  } else {
    out.push("No deployment fits.");
    if (result.closestMiss) out.push(`Closest miss: ${rejectionLine(result.closestMiss)}`);
    if (result.relaxations.length > 0) {
      out.push("What to relax (each on its own gives a plan):");
      for (const x of result.relaxations) {
        out.push(
          `  ${relaxationFlag(x)}: ${x.plan.nodes} x ${x.plan.instanceType}, ${x.plan.checkpoint} (${x.plan.precision}), ${usd(x.plan.usdPerHour)}/hour`,
        );
      }
    } else {
      out.push("No single change to the request gives a plan.");
    }
    out.push("");
  }
  out.push(`Dropped: ${result.rejected.length} candidates (checkpoint x instance type x nodes, best TP/PP layout of each)`);
  for (const rule of RULES) {
    const group = result.rejected.filter((x) => x.rule === rule);
    if (group.length === 0) continue;
    out.push(`  ${rule} (${group.length}): ${RULE_TITLES[rule]}`);
    const shown = examples(group);
    for (const e of shown) out.push(`    ${rejectionLine(e)}`);
    if (group.length > shown.length) out.push(`    ... and ${group.length - shown.length} more (--json lists them all)`);
  }
  const excluded = result.excludedByRequest;
  const hints: [number, string][] = [
    [excluded.precision, "of other precisions (allow them with --precision)"],
    [excluded.gpu, "on other GPUs (--gpu)"],
    [excluded.instanceType, "on other instance types (--instance)"],
    [excluded.nodes, "with other node counts (--nodes)"],
  ];
  for (const [count, why] of hints) {
    if (count > 0) out.push(`  not tried: ${count} ${why}`);
  }
  return out.join("\n") + "\n";
}
