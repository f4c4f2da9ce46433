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
} from "./catalog";
import { unknownIdMessage } from "./didyoumean";
import { InputError, type InputProblem } from "./errors";
import { DEFAULT_GPU_MEMORY_UTILIZATION, KV_CACHE_DTYPES } from "./memory";

/**
 * Context length planned for when the caller names none: DeepSeek's evaluation setting
 * for R1 and its distills ("maximum generation length of 32,768 tokens", R1 model card).
 */
export const DEFAULT_MAX_MODEL_LEN = 32768;
/** Full-length sequences the deployment must hold at once when the caller names none. */
export const DEFAULT_CONCURRENCY = 1;
export const DEFAULT_REGION = "us-east-1";
/** Nodes one replica may span: PP across up to 4 nodes of 8 GPUs covers every catalog checkpoint. */
export const MAX_NODES_PER_REPLICA = 4;

const text = (kind: string) =>
  z.string({ error: (issue) => `${JSON.stringify(issue.input)} is not a ${kind} name; give one as text` });

const modelId = text("model").transform((value, ctx): ModelId => {
  const id = findModelId(value);
  if (id) return id;
  ctx.addIssue({ code: "custom", message: unknownIdMessage("model", value, MODEL_IDS) });
  return z.NEVER;
});

/** One of a closed set, with a did-you-mean for anything else. */
function oneOf<T extends string>(kind: string, values: readonly T[]) {
  return z.string({ error: (issue) => `${JSON.stringify(issue.input)} is not a ${kind}; give one of ${values.join(", ")}` }).transform(
    (value, ctx): T => {
      if ((values as readonly string[]).includes(value)) return value as T;
      ctx.addIssue({ code: "custom", message: unknownIdMessage(kind, value, values) });
      return z.NEVER;
    },
  );
}

const gpuId = oneOf("gpu", GPU_IDS);
const instanceType = oneOf("instance type", INSTANCE_TYPES);

const region = text("region").transform((value, ctx): string => {
  if (knownRegions().includes(value)) return value;
  ctx.addIssue({ code: "custom", message: unknownIdMessage("region", value, knownRegions()) });
  return z.NEVER;
});

const notANumber = (what: string) => (issue: { input?: unknown }) =>
  `${JSON.stringify(issue.input)} is not a number; give a whole number of ${what}`;

const count = (what: string) =>
  z
    .number({ error: notANumber(what) })
    .int({ error: (issue) => `${JSON.stringify(issue.input)} is not a whole number of ${what}` })
    .positive({ error: (issue) => `${JSON.stringify(issue.input)} is below 1; give at least 1 ${what.replace(/s$/, "")}` });

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

export const PlanRequestSchema = z
  .object({
    /** Catalog model id or the hub repo id of the original release. */
    model: modelId,
    /** Longest request (prompt + output) in tokens; vLLM's `--max-model-len`. @default 32768 */
    maxModelLen: count("tokens").default(DEFAULT_MAX_MODEL_LEN),
    /** Full-length sequences the deployment must hold at once. @default 1 */
    concurrency: count("sequences").default(DEFAULT_CONCURRENCY),
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
    /** `cost`: cheapest per hour first; `throughput`: most output tokens per dollar at full batch first. @default "cost" */
    objective: oneOf("objective", OBJECTIVES).default("cost"),
    /** vLLM's `--gpu-memory-utilization`. @default 0.9 */
    gpuMemoryUtilization: z
      .number({ error: (issue) => `${JSON.stringify(issue.input)} is not a number; give a fraction such as 0.9` })
      .gt(0, { error: (issue) => `${JSON.stringify(issue.input)} is not above 0; give a fraction such as 0.9` })
      .max(1, { error: (issue) => `${JSON.stringify(issue.input)} is above 1; give a fraction such as 0.9` })
      .default(DEFAULT_GPU_MEMORY_UTILIZATION),
    /** vLLM's `--kv-cache-dtype`: `auto` keeps the model's 16-bit dtype, `fp8` halves the cache. @default "auto" */
    kvCacheDtype: oneOf("KV-cache dtype", KV_CACHE_DTYPES).default("auto"),
    /** Prices that replace the catalog's (negotiated rates, Capacity Blocks). @default [] */
    priceOverrides: z.array(PriceOverrideSchema).default([]),
  })
  .strict()
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
  });

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
  const allowed = Object.keys(path[0] === "priceOverrides" ? PriceOverrideSchema.shape : PlanRequestSchema.shape);
  return keys.map((key) => unknownIdMessage("key", key, allowed)).join("; ");
}
