/**
 * The stack configuration: one zod schema, the single source of its types. Keys live under
 * the `llm-fleet` namespace of a Pulumi stack file; a key that is not here is an error that
 * names it and suggests the closest one.
 */
import { z } from "zod";
import { NAT_GATEWAY_MODES } from "../components/aws/cluster-spec";
import { AMI_FAMILIES } from "../components/aws/node-group-spec";
import {
  CAPACITY_TYPES,
  GPU_IDS,
  KV_CACHE_DTYPES,
  MODEL_IDS,
  OBJECTIVES,
  PRECISIONS,
  PriceOverrideSchema,
  calibrationFactor,
  enforceEager,
  gpuMemoryUtilization,
  maxNumBatchedTokens,
  unknownIdMessage,
  type InputProblem,
} from "../sizing";
import { PRESET_IDS } from "./presets";

export const NAMESPACE = "llm-fleet";
/** Names the program gives its own components. */
const RESERVED_NAMES = ["cluster", "addons"];
export const ENVIRONMENTS = ["dev", "staging", "prod"] as const;
export type Environment = (typeof ENVIRONMENTS)[number];

const name = z.string().regex(/^[a-z]([-a-z0-9]{0,20}[a-z0-9])?$/, {
  error: (issue) => `${JSON.stringify(issue.input)} is not a deployment name: a lower-case letter, then up to 21 letters, digits or "-"`,
});
const count = (what: string) =>
  z
    .number({ error: (issue) => `${JSON.stringify(issue.input)} is not a number of ${what}` })
    .int({ error: (issue) => `${JSON.stringify(issue.input)} is not a whole number of ${what}` })
    .nonnegative({ error: (issue) => `${JSON.stringify(issue.input)} is below 0 ${what}` });
const oneOf = <T extends string>(kind: string, values: readonly T[]) =>
  z.string().refine((v): v is T => (values as readonly string[]).includes(v), {
    error: (issue) => unknownIdMessage(kind, String(issue.input), values),
  });

const milliseconds = (what: string) =>
  z
    .number({ error: (issue) => `${JSON.stringify(issue.input)} is not ${what} in milliseconds` })
    .positive({ error: (issue) => `${JSON.stringify(issue.input)} is not above 0 ms; give ${what} such as 50` });

export const WorkloadSchema = z
  .object({
    maxModelLen: count("tokens").optional(),
    /** Sequences in flight across the deployment. */
    concurrency: count("sequences").optional(),
    /** Mean prompt and output lengths in tokens. */
    promptTokens: count("tokens").optional(),
    outputTokens: count("tokens").optional(),
    /** Latency targets every replica must meet. */
    maxTpotMs: milliseconds("a time per output token").optional(),
    maxTtftMs: milliseconds("a time to first token").optional(),
    /** Output tokens per second the deployment must sustain. */
    outputTokensPerSecond: z
      .number({ error: (issue) => `${JSON.stringify(issue.input)} is not a number of output tokens per second` })
      .positive({ error: (issue) => `${JSON.stringify(issue.input)} is not above 0; give output tokens per second such as 2000` })
      .optional(),
    precisions: z.array(oneOf("precision", PRECISIONS)).min(1).optional(),
    objective: oneOf("objective", OBJECTIVES).optional(),
    /** vLLM's engine knobs; each one that differs from vLLM's default becomes its flag on `vllm serve`. */
    gpuMemoryUtilization: gpuMemoryUtilization.optional(),
    kvCacheDtype: oneOf("KV-cache dtype", KV_CACHE_DTYPES).optional(),
    maxNumBatchedTokens: maxNumBatchedTokens.optional(),
    enforceEager: enforceEager.optional(),
  })
  .strict();

export const PlacementSchema = z
  .object({
    capacityType: oneOf("capacity type", CAPACITY_TYPES).optional(),
    gpus: z.array(z.string()).min(1).optional(),
    instanceTypes: z.array(z.string()).min(1).optional(),
    nodesPerReplica: count("nodes").optional(),
    minReplicas: count("replicas").optional(),
    minNodes: count("nodes").optional(),
    maxNodes: count("nodes").optional(),
    capacityReservationId: z.string().optional(),
    /** A Capacity Block's start and end (ISO 8601, its reservation's StartDate and EndDate). */
    capacityBlockWindow: z.object({ startsAt: z.string(), endsAt: z.string() }).strict().optional(),
    availabilityZone: z.string().optional(),
    amiFamily: oneOf("AMI family", AMI_FAMILIES).optional(),
    /** An on-demand group behind an autoscaled Spot group, used when Spot cannot launch. Default: on. */
    onDemandFallback: z.boolean({ error: (issue) => `${JSON.stringify(issue.input)} is not true or false` }).optional(),
  })
  .strict();

export const ServingSchema = z
  .object({
    /** A Hugging Face repo id or s3://bucket/prefix. */
    weights: z.string().optional(),
    /** IAM role the server's service account uses to read an S3 source. */
    s3RoleArn: z.string().optional(),
    storageClassName: z.string().optional(),
    loadBalancer: z.object({ enabled: z.boolean().optional(), internal: z.boolean().optional() }).strict().optional(),
    serviceMonitor: z.boolean().optional(),
    image: z.string().optional(),
  })
  .strict();

export const DeploymentConfigSchema = z
  .object({
    name,
    preset: oneOf("preset", PRESET_IDS).optional(),
    model: z.string().optional(),
    workload: WorkloadSchema.optional(),
    placement: PlacementSchema.optional(),
    serving: ServingSchema.optional(),
    /** A `vllm bench serve` Job against the deployment at its plan's workload (llm-fleet bench writes the same Job). */
    benchmark: z.boolean({ error: (issue) => `${JSON.stringify(issue.input)} is not true or false` }).optional(),
  })
  .strict()
  .refine((d) => (d.preset === undefined) !== (d.model === undefined), {
    error: `give either a preset (${PRESET_IDS.join(", ")}) or a model, not both and not neither`,
  });

export const ClusterConfigSchema = z.discriminatedUnion("mode", [
  z
    .object({
      mode: z.literal("new"),
      clusterName: z.string().optional(),
      kubernetesVersion: z.string().optional(),
      availabilityZoneCount: count("zones").optional(),
      natGateways: z.enum(NAT_GATEWAY_MODES).optional(),
      endpointPublicAccess: z.boolean().optional(),
      publicAccessCidrs: z.array(z.string()).optional(),
      deployerPrincipalArn: z.string().optional(),
      adminPrincipalArns: z.array(z.string()).optional(),
    })
    .strict(),
  z
    .object({
      mode: z.literal("existing"),
      clusterName: z.string().min(1),
      /** Private subnets for the GPU node groups; required when the cluster's own subnets are public. */
      subnetIds: z
        .array(z.string().regex(/^subnet-[0-9a-f]+$/, { error: (issue) => `${JSON.stringify(issue.input)} is not a subnet id (subnet- and hex digits, e.g. subnet-0abc12345def67890)` }))
        .min(1)
        .optional(),
      /** A kubeconfig file for the Kubernetes provider instead of one built for `aws eks get-token`. */
      kubeconfigPath: z.string().min(1).optional(),
      /** false when the NVIDIA GPU Operator (or another device plugin) already runs on the cluster. */
      nvidiaDevicePlugin: z.boolean().optional(),
    })
    .strict(),
]);

/** One measured model on one GPU, as `llm-fleet calibrate` proposes it. */
export const CalibrationSchema = z
  .object({
    model: oneOf("model", MODEL_IDS),
    gpu: oneOf("gpu", GPU_IDS),
    tpotFactor: calibrationFactor("tpotFactor"),
    ttftFactor: calibrationFactor("ttftFactor"),
    measuredAt: z.string().regex(/^\d{4}-\d{2}-\d{2}/, {
      error: (issue) => `${JSON.stringify(issue.input)} is not an ISO 8601 date such as 2026-11-02T14:05:00; keep the one llm-fleet calibrate wrote`,
    }),
    runs: count("runs").min(1, { error: (issue) => `${JSON.stringify(issue.input)} is below 1 run; keep the count llm-fleet calibrate wrote` }),
  })
  .strict();

/** Every key of the `llm-fleet` namespace. */
export const StackConfigSchema = z
  .object({
    environment: oneOf("environment", ENVIRONMENTS),
    deployments: z
      .array(DeploymentConfigSchema)
      .min(1, { error: "list at least one deployment, e.g. [{ name: assistant, preset: assistant-7b }]" })
      .superRefine((list, ctx) => {
        const seen = new Set<string>();
        list.forEach((d, i) => {
          if (RESERVED_NAMES.includes(d.name)) {
            ctx.addIssue({ code: "custom", path: [i, "name"], message: `"${d.name}" names a part of the stack itself; choose another name` });
          }
          if (seen.has(d.name)) ctx.addIssue({ code: "custom", path: [i, "name"], message: `"${d.name}" is used twice; deployment names must be unique` });
          seen.add(d.name);
        });
      }),
    cluster: ClusterConfigSchema.default({ mode: "new" }),
    budgetUsdPerMonth: z
      .number({ error: (issue) => `${JSON.stringify(issue.input)} is not a budget in USD per month` })
      .positive({ error: (issue) => `${JSON.stringify(issue.input)} is not a positive budget in USD per month` })
      .optional(),
    /**
     * KEDA scales each deployment's replicas and the cluster autoscaler its GPU nodes, between the
     * placement's minNodes and maxNodes (to zero at minNodes: 0). Default: on.
     */
    autoscaling: z.boolean({ error: (issue) => `${JSON.stringify(issue.input)} is not true or false` }).optional(),
    /**
     * kube-prometheus-stack (Prometheus, Grafana, Alertmanager), the DCGM exporter, and per
     * deployment a ServiceMonitor, alert rules and a dashboard. Default: on in staging and prod, off in dev.
     */
    monitoring: z.boolean({ error: (issue) => `${JSON.stringify(issue.input)} is not true or false` }).optional(),
    /** Negotiated or Capacity Block prices, as the planner takes them. */
    prices: z.array(PriceOverrideSchema).default([]),
    /** Measured factors of the performance model per model and GPU, from `llm-fleet calibrate`. */
    calibration: z
      .array(CalibrationSchema)
      .superRefine((list, ctx) => {
        const seen = new Set<string>();
        list.forEach((c, i) => {
          const key = `${c.model} on ${c.gpu}`;
          if (seen.has(key)) ctx.addIssue({ code: "custom", path: [i], message: `${key} is calibrated twice; keep one entry per model and GPU (the latest)` });
          seen.add(key);
        });
      })
      .optional(),
    /** Secrets: set with `pulumi config set --secret`. */
    hfToken: z.string().optional(),
    apiKey: z.string().optional(),
  })
  .strict();

export type StackConfigInput = z.input<typeof StackConfigSchema>;
export type StackConfig = z.output<typeof StackConfigSchema>;
export type DeploymentConfig = z.output<typeof DeploymentConfigSchema>;

/** Keys whose values Pulumi passes as JSON text; the others (environment, secrets) stay strings. */
const STRUCTURED_KEYS = ["deployments", "cluster", "prices", "budgetUsdPerMonth", "autoscaling", "monitoring", "calibration"];

/** Keys that must be secrets in the stack file. */
export const SECRET_KEYS = ["hfToken", "apiKey"] as const;

/**
 * Reads the namespace's keys from Pulumi's flat config map (`llm-fleet:deployments` holds
 * JSON), checks them against the schema, and returns every problem with its key path.
 */
export function parseStackConfig(
  all: Record<string, string>,
  secretKeys: readonly string[] = [],
): { config: StackConfig } | { problems: InputProblem[] } {
  const problems: InputProblem[] = [];
  const raw: Record<string, unknown> = {};
  const allowed = Object.keys(StackConfigSchema.shape);
  for (const [key, value] of Object.entries(all)) {
    const [ns, field] = key.split(":");
    if (ns !== NAMESPACE || field === undefined) continue;
    if (!allowed.includes(field)) {
      problems.push({ path: key, message: unknownIdMessage("key", field, allowed) });
      continue;
    }
    if ((SECRET_KEYS as readonly string[]).includes(field) && !secretKeys.includes(key)) {
      problems.push({ path: key, message: `must be a secret: \`pulumi config set --secret ${key} <value>\`` });
    }
    raw[field] = STRUCTURED_KEYS.includes(field) ? parseValue(value) : value;
  }
  const parsed = StackConfigSchema.safeParse(raw);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const path = [NAMESPACE + ":" + String(issue.path[0] ?? ""), ...issue.path.slice(1).map(String)].join(".");
      const message =
        issue.code === "unrecognized_keys"
          ? issue.keys.map((k) => unknownIdMessage("key", k, keysAt(issue.path))).join("; ")
          : issue.code === "invalid_type" && valueAt(raw, issue.path) === undefined
            ? "is required"
            : issue.message;
      problems.push({ path: issue.path.length === 0 ? NAMESPACE : path, message });
    }
  }
  if (problems.length > 0 || !parsed.success) return { problems };
  return { config: parsed.data };
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  return path.reduce<unknown>((node, key) => (node && typeof node === "object" ? (node as Record<PropertyKey, unknown>)[key] : undefined), root);
}

/** Pulumi keeps structured values as JSON text; plain strings stay strings. */
function parseValue(value: string): unknown {
  try {
    return JSON.parse(value);
  } catch {
    return value;
  }
}

/** The keys a schema object allows at a config path, for did-you-mean on typos. */
function keysAt(path: readonly PropertyKey[]): string[] {
  const field = path.filter((p) => typeof p === "string");
  const shapes: Record<string, z.ZodObject> = {
    workload: WorkloadSchema,
    placement: PlacementSchema,
    serving: ServingSchema,
    prices: PriceOverrideSchema,
    calibration: CalibrationSchema,
  };
  const last = field[field.length - 1];
  if (last && shapes[last]) return Object.keys(shapes[last].shape);
  if (field[0] === "deployments") return Object.keys(DeploymentConfigSchema.shape);
  if (field[0] === "cluster") return [...new Set(ClusterConfigSchema.options.flatMap((o) => Object.keys(o.shape)))];
  return Object.keys(StackConfigSchema.shape);
}
