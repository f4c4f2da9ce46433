/**
 * The planner's input. This zod schema is the single source of the request types:
 * `PlanRequestInput` is what callers write, `PlanRequest` what the planner reads.
 */
import { z } from "zod";
import {
  CAPACITY_TYPES,
  GPU_IDS,
  INSTANCE_TYPES,
  MODEL_IDS,
  INSTANCES,
  MODELS,
  OBJECTIVES,
  PRECISIONS,
  findModelId,
  knownRegions,
  type ModelId,
  type ModelSpec,
} from "./catalog";
import { unknownIdMessage } from "./didyoumean";
import { InputError, type InputProblem } from "./errors";
import { DEFAULT_GPU_MEMORY_UTILIZATION, KV_CACHE_DTYPES } from "./memory";

/**
 * Context length planned for when the caller names none: DeepSeek's evaluation setting
 * for R1 and its distills ("maximum generation length of 32,768 tokens", R1 model card).
 */
export const DEFAULT_MAX_MODEL_LEN = 32768;
/** Sequences in flight across the deployment when the caller names none. */
export const DEFAULT_CONCURRENCY = 1;

/**
 * Mean request lengths planned for when the caller names none, by whether the model reasons:
 * 1K prompts are InferenceX's standard input; reasoning models write long chains of thought
 * before they answer (R1's evaluation allows 32K; 4K is a typical mean for chat and code use),
 * chat models answer in about as many tokens as they read (InferenceX 1K/1K).
 * These are choices, not measurements: give `promptTokens` and `outputTokens` for your traffic.
 */
export const DEFAULT_LENGTHS = {
  reasoning: { promptTokens: 1024, outputTokens: 4096 },
  chat: { promptTokens: 1024, outputTokens: 1024 },
} as const;

/**
 * The default mean lengths for a model; where they would not fit a short max_model_len, the
 * same proportions at half of it (a mean request well inside the longest one allowed).
 */
export function defaultLengths(model: ModelSpec, maxModelLen = Infinity): { promptTokens: number; outputTokens: number } {
  const lengths = model.reasoningParser ? DEFAULT_LENGTHS.reasoning : DEFAULT_LENGTHS.chat;
  const total = lengths.promptTokens + lengths.outputTokens;
  if (total <= maxModelLen) return lengths;
  const scale = maxModelLen / 2 / total;
  return { promptTokens: Math.max(1, Math.floor(lengths.promptTokens * scale)), outputTokens: Math.max(1, Math.floor(lengths.outputTokens * scale)) };
}
export const DEFAULT_REGION = "us-east-1";
/** Nodes one replica may span: PP across up to 4 nodes of 8 GPUs covers every catalog checkpoint. */
export const MAX_NODES_PER_REPLICA = 4;

const text = (kind: string) =>
  z.string({ error: (issue) => `${JSON.stringify(issue.input)} is not a ${kind} name; give one as text` });

/** Schema parts shared with the estimate request, so both report bad input alike. */
export const modelId = text("model").transform((value, ctx): ModelId => {
  const id = findModelId(value);
  if (id) return id;
  ctx.addIssue({ code: "custom", message: unknownIdMessage("model", value, MODEL_IDS) });
  return z.NEVER;
});

/** One of a closed set, with a did-you-mean for anything else. */
export function oneOf<T extends string>(kind: string, values: readonly T[]) {
  return z.string({ error: (issue) => `${JSON.stringify(issue.input)} is not a ${kind}; give one of ${values.join(", ")}` }).transform(
    (value, ctx): T => {
      if ((values as readonly string[]).includes(value)) return value as T;
      ctx.addIssue({ code: "custom", message: unknownIdMessage(kind, value, values) });
      return z.NEVER;
    },
  );
}

export const gpuId = oneOf("gpu", GPU_IDS);
export const instanceType = oneOf("instance type", INSTANCE_TYPES);

const region = text("region").transform((value, ctx): string => {
  if (knownRegions().includes(value)) return value;
  ctx.addIssue({ code: "custom", message: unknownIdMessage("region", value, knownRegions()) });
  return z.NEVER;
});

const notANumber = (what: string) => (issue: { input?: unknown }) =>
  `${JSON.stringify(issue.input)} is not a number; give a whole number of ${what}`;

const milliseconds = (what: string) =>
  z
    .number({ error: (issue) => `${JSON.stringify(issue.input)} is not a number; give ${what} in milliseconds, e.g. 50` })
    .positive({ error: (issue) => `${JSON.stringify(issue.input)} is not above 0; give ${what} in milliseconds, e.g. 50` });

export const count = (what: string) =>
  z
    .number({ error: notANumber(what) })
    .int({ error: (issue) => `${JSON.stringify(issue.input)} is not a whole number of ${what}` })
    .positive({ error: (issue) => `${JSON.stringify(issue.input)} is below 1; give at least 1 ${what.replace(/s$/, "")}` });

export const gpuMemoryUtilization = z
  .number({ error: (issue) => `${JSON.stringify(issue.input)} is not a number; give a fraction such as 0.9` })
  .gt(0, { error: (issue) => `${JSON.stringify(issue.input)} is not above 0; give a fraction such as 0.9` })
  .max(1, { error: (issue) => `${JSON.stringify(issue.input)} is above 1; give a fraction such as 0.9` });

/**
 * vLLM's `--max-num-batched-tokens`: the tokens one engine step (and the profiling pass that
 * sizes the activations) carries. vLLM lowers its default max_num_seqs to it when it is
 * smaller (`engine/arg_utils.py`), and the memory model does the same.
 */
export const maxNumBatchedTokens = count("tokens");

/** vLLM's `--enforce-eager`: no CUDA graphs, so no graph memory and a slower step. */
export const enforceEager = z.boolean({ error: (issue) => `${JSON.stringify(issue.input)} is not true or false` });

/**
 * The engine knobs users set on `vllm serve`, in planner, estimate and stack form alike; each
 * moves the memory model as vLLM moves (sizing/memory.ts).
 */
export const ENGINE_FIELDS = {
  /** vLLM's `--gpu-memory-utilization`: the share of device memory vLLM budgets. @default 0.9 */
  gpuMemoryUtilization: gpuMemoryUtilization.default(DEFAULT_GPU_MEMORY_UTILIZATION),
  /** vLLM's `--kv-cache-dtype`: `auto` keeps the model's 16-bit dtype, `fp8` halves the cache (FP8 GPUs only). @default "auto" */
  kvCacheDtype: oneOf("KV-cache dtype", KV_CACHE_DTYPES).default("auto"),
  /** vLLM's `--max-num-batched-tokens`. @default vLLM's default for the GPU: 8192 on GPUs of 70 GiB and more except A100, else 2048 */
  maxNumBatchedTokens: maxNumBatchedTokens.optional(),
  /** vLLM's `--enforce-eager`: no CUDA graphs, their memory goes to the KV cache, decode steps are slower. @default false */
  enforceEager: enforceEager.default(false),
};

export const PriceOverrideSchema = z
  .object({
    instanceType,
    region: region.optional(),
    capacityType: oneOf("capacity type", CAPACITY_TYPES).optional(),
    usdPerHour: z
      .number({ error: (issue) => `${JSON.stringify(issue.input)} is not a price; give USD per hour such as 55.04` })
      .positive({ error: (issue) => `${JSON.stringify(issue.input)} is not a positive price in USD per hour` }),
  })
  .strict();

/**
 * Measured / predicted factors a calibration may carry. A benchmark of the planned workload
 * lands within a few times the model (its own error on the calibration set is tens of
 * percent); a factor beyond 5 or below 1/5 says the benchmark ran something else (another
 * load, failed requests, a server still starting), not that the GPU is that far off.
 */
export const CALIBRATION_FACTOR_RANGE = { min: 0.2, max: 5 } as const;

export const calibrationFactor = (name: string) =>
  z
    .number({ error: (issue) => `${JSON.stringify(issue.input)} is not a number; give ${name} as measured / predicted, e.g. 1.1` })
    .min(CALIBRATION_FACTOR_RANGE.min, { error: (issue) => factorRangeMessage(name, issue.input) })
    .max(CALIBRATION_FACTOR_RANGE.max, { error: (issue) => factorRangeMessage(name, issue.input) });

export function factorRangeMessage(name: string, value: unknown): string {
  return (
    `${JSON.stringify(value)} is outside ${CALIBRATION_FACTOR_RANGE.min}-${CALIBRATION_FACTOR_RANGE.max}: ${name} is measured / predicted, ` +
    "and one this far from 1 means the benchmark did not run the planned workload; rerun llm-fleet bench and llm-fleet calibrate, or drop the entry"
  );
}

/**
 * A measurement of the performance model on one GPU for one model, as `llm-fleet calibrate`
 * proposes it: the planner multiplies its predicted TPOT and TTFT by the factors.
 */
export const CalibrationEntrySchema = z
  .object({
    model: modelId,
    gpu: gpuId,
    /** Measured / predicted time per output token. */
    tpotFactor: calibrationFactor("tpotFactor"),
    /** Measured / predicted time to first token. */
    ttftFactor: calibrationFactor("ttftFactor"),
    /** When the benchmark ran (ISO 8601). */
    measuredAt: z.string({ error: (issue) => `${JSON.stringify(issue.input)} is not a date; give ISO 8601 such as 2026-11-02T14:05:00` }),
    /** Benchmark runs the factors average over. */
    runs: count("runs"),
  })
  .strict();
export type CalibrationEntryInput = z.input<typeof CalibrationEntrySchema>;
export type CalibrationEntry = z.output<typeof CalibrationEntrySchema>;

const PlanRequestObject = z
  .object({
    /** Catalog model id or the hub repo id of the original release. */
    model: modelId,
    /** Longest request (prompt + output) in tokens; vLLM's `--max-model-len`. @default 32768 */
    maxModelLen: count("tokens").default(DEFAULT_MAX_MODEL_LEN),
    /** Sequences in flight across the deployment at once. @default 1 */
    concurrency: count("sequences").default(DEFAULT_CONCURRENCY),
    /** Mean prompt length in tokens. @default 1024 */
    promptTokens: count("tokens").optional(),
    /** Mean output length in tokens. @default 4096 for reasoning models, 1024 for chat models */
    outputTokens: count("tokens").optional(),
    /** Time per output token every replica must stay under; 50 ms is 20 tokens/s per user. @default none */
    maxTpotMs: milliseconds("a time per output token").optional(),
    /** Time to first token every replica must stay under. @default none */
    maxTtftMs: milliseconds("a time to first token").optional(),
    /** Output tokens per second the deployment must sustain; replicas follow. @default none */
    outputTokensPerSecond: z
      .number({ error: (issue) => `${JSON.stringify(issue.input)} is not a number; give output tokens per second, e.g. 2000` })
      .positive({ error: (issue) => `${JSON.stringify(issue.input)} is not above 0; give output tokens per second, e.g. 2000` })
      .optional(),
    /** Precisions allowed; the model's native precision when omitted. */
    precisions: z.array(oneOf("precision", PRECISIONS)).min(1, { error: `give at least one of ${PRECISIONS.join(", ")}` }).optional(),
    /** GPUs allowed; all when omitted. */
    gpus: z.array(gpuId).min(1, { error: `give at least one of ${GPU_IDS.join(", ")}` }).optional(),
    /** Instance types allowed; all when omitted. */
    instanceTypes: z.array(instanceType).min(1, { error: "give at least one instance type, e.g. p5.48xlarge" }).optional(),
    /** Nodes one replica spans; 1 to 4 are tried when omitted. */
    nodesPerReplica: count("nodes").max(MAX_NODES_PER_REPLICA, {
        error: (issue) => `${JSON.stringify(issue.input)} is above ${MAX_NODES_PER_REPLICA}; a replica spans 1 to ${MAX_NODES_PER_REPLICA} nodes`,
      }).optional(),
    /** Replicas to run at least, for availability. @default 1 */
    minReplicas: count("replicas").default(1),
    /** @default "us-east-1" */
    region: region.default(DEFAULT_REGION),
    /** @default "on-demand" */
    capacityType: oneOf("capacity type", CAPACITY_TYPES).default("on-demand"),
    /** `cost`: the lowest USD/hour that meets every target; `throughput`: the lowest USD per million output tokens that does. @default "cost" */
    objective: oneOf("objective", OBJECTIVES).default("cost"),
    ...ENGINE_FIELDS,
    /** Prices that replace the catalog's (negotiated rates, Capacity Blocks). @default [] */
    priceOverrides: z.array(PriceOverrideSchema).default([]),
    /** Measured factors per model and GPU (`llm-fleet calibrate`); entries of other models are ignored. @default none */
    calibration: z.array(CalibrationEntrySchema).optional(),
  })
  .strict();
const PlanRequestShape = PlanRequestObject.shape;

export const PlanRequestSchema = PlanRequestObject
  .superRefine((request, ctx) => {
    const model = MODELS[request.model];
    // Constraints that exclude each other leave nothing to plan: say so instead of "no plan".
    if (request.gpus && request.instanceTypes) {
      request.instanceTypes.forEach((type, i) => {
        const gpu = INSTANCES[type].gpu;
        if (!request.gpus!.includes(gpu)) {
          ctx.addIssue({
            code: "custom",
            path: ["instanceTypes", i],
            message: `${type} carries ${gpu}, which the GPU constraint (${request.gpus!.join(", ")}) leaves out; drop one of the two constraints`,
          });
        }
      });
    }
    if (request.precisions && !model.checkpoints.some((c) => request.precisions!.includes(c.precision))) {
      const available = [...new Set(model.checkpoints.map((c) => c.precision))];
      ctx.addIssue({
        code: "custom",
        path: ["precisions"],
        message: `${model.displayName} has no ${request.precisions.join("/")} checkpoint vLLM can load; it has ${available.join(", ")}`,
      });
    }
    if (request.maxModelLen > model.maxContextTokens) {
      ctx.addIssue({
        code: "custom",
        path: ["maxModelLen"],
        message: `${request.maxModelLen} exceeds ${model.displayName}'s context of ${model.maxContextTokens} tokens; use at most ${model.maxContextTokens}`,
      });
    }
    const calibrated = new Set<string>();
    request.calibration?.forEach((entry, i) => {
      const key = `${entry.model} on ${entry.gpu}`;
      if (calibrated.has(key)) {
        ctx.addIssue({ code: "custom", path: ["calibration", i], message: `${key} is calibrated twice; keep one entry per model and GPU (the latest measurement)` });
      }
      calibrated.add(key);
    });
    const lengths = { ...defaultLengths(model, request.maxModelLen), ...definedOnly({ promptTokens: request.promptTokens, outputTokens: request.outputTokens }) };
    if (lengths.promptTokens + lengths.outputTokens > request.maxModelLen) {
      const given = request.promptTokens !== undefined ? "promptTokens" : request.outputTokens !== undefined ? "outputTokens" : "maxModelLen";
      ctx.addIssue({
        code: "custom",
        path: [given],
        message:
          `a mean request of ${lengths.promptTokens} prompt + ${lengths.outputTokens} output tokens is longer than max_model_len ` +
          `${request.maxModelLen}; raise maxModelLen to at least ${lengths.promptTokens + lengths.outputTokens} or shorten the lengths`,
      });
    }
  })
  .transform((request) => ({ ...request, ...defaultLengths(MODELS[request.model], request.maxModelLen), ...definedOnly({ promptTokens: request.promptTokens, outputTokens: request.outputTokens }) }));

function definedOnly<T extends Record<string, number | undefined>>(values: T): { [K in keyof T]?: number } {
  return Object.fromEntries(Object.entries(values).filter(([, v]) => v !== undefined)) as { [K in keyof T]?: number };
}

export type PlanRequestInput = z.input<typeof PlanRequestSchema>;
export type PlanRequest = z.output<typeof PlanRequestSchema>;

/** Bad planner input: every problem at once, each with its property path. */
export class PlanInputError extends InputError {
  constructor(problems: readonly InputProblem[]) {
    super("plan request", problems);
    this.name = "PlanInputError";
    this.message = problems.map((p) => `${p.path || "request"}: ${p.message}`).join("\n");
  }
}

export function parsePlanRequest(input: unknown): PlanRequest {
  const result = PlanRequestSchema.safeParse(input);
  if (result.success) return result.data;
  throw new PlanInputError(
    result.error.issues.map((issue) => ({
      path: issue.path.map(String).join("."),
      message: issue.code === "unrecognized_keys" ? unknownKeysMessage(issue.path, issue.keys) : issue.message,
    })),
  );
}

function unknownKeysMessage(path: readonly PropertyKey[], keys: readonly string[]): string {
  const allowed = Object.keys(
    path[0] === "priceOverrides" ? PriceOverrideSchema.shape : path[0] === "calibration" ? CalibrationEntrySchema.shape : PlanRequestShape,
  );
  return keys.map((key) => unknownIdMessage("key", key, allowed)).join("; ");
}
