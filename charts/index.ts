/**
 * Third-party Helm charts llm-fleet installs: repository, chart, pinned version and our
 * values, each checked by its zod schema before a release is created. Versions are the
 * newest releases seen in mid 2026 (shared/reference/pulumi-notes.md, "Charts").
 */
import { z } from "zod";

export const CHART_IDS = ["nvidia-device-plugin", "lws", "aws-efa-k8s-device-plugin"] as const;
export type ChartId = (typeof CHART_IDS)[number];

/** How the GPU nodes are marked, so device-plugin DaemonSets reach them and only them. */
export interface GpuNodeMarks {
  taint: { key: string; effect: "NoSchedule" };
  /** A label every GPU node carries. */
  labelKey: string;
}

function toleratingGpuTaint(marks: GpuNodeMarks) {
  return [{ key: marks.taint.key, operator: "Exists", effect: marks.taint.effect }];
}

/** Runs a DaemonSet on the tainted GPU nodes, and only there. */
function onGpuNodes(marks: GpuNodeMarks) {
  return {
    tolerations: toleratingGpuTaint(marks),
    affinity: {
      nodeAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: {
          nodeSelectorTerms: [{ matchExpressions: [{ key: marks.labelKey, operator: "Exists" }] }],
        },
      },
    },
  };
}

const TolerationSchema = z
  .object({ key: z.string().min(1), operator: z.enum(["Exists", "Equal"]), value: z.string().optional(), effect: z.enum(["NoSchedule", "NoExecute", "PreferNoSchedule"]) })
  .strict();
const AffinitySchema = z.object({ nodeAffinity: z.record(z.string(), z.unknown()) }).strict();
/** The nvidia-device-plugin chart's `tolerations` and `affinity` values. */
const DaemonSetValuesSchema = z.object({ tolerations: z.array(TolerationSchema).min(1), affinity: AffinitySchema }).strict();

export interface ChartSpec {
  /** Helm repository URL, or an OCI registry path. */
  repository: string;
  chart: string;
  version: string;
  namespace: string;
  /** Why llm-fleet needs it. */
  purpose: string;
  values: (marks: GpuNodeMarks) => Record<string, unknown>;
  valuesSchema: z.ZodType;
}

export const CHARTS: { readonly [id in ChartId]: ChartSpec } = {
  "nvidia-device-plugin": {
    repository: "https://nvidia.github.io/k8s-device-plugin",
    chart: "nvidia-device-plugin",
    version: "0.20.0",
    namespace: "kube-system",
    purpose: "advertises nvidia.com/gpu on AL2023 NVIDIA nodes (Bottlerocket ships its own)",
    // The chart's default affinity wants node-feature-discovery labels that EKS nodes lack.
    values: onGpuNodes,
    valuesSchema: DaemonSetValuesSchema,
  },
  lws: {
    // OCI chart: `helm upgrade` does not update its CRDs, so bump the version with care.
    repository: "oci://registry.k8s.io/lws/charts",
    chart: "lws",
    version: "0.10.0",
    namespace: "lws-system",
    purpose: "the LeaderWorkerSet controller that runs multi-node vLLM replicas",
    values: () => ({}),
    valuesSchema: z.object({}).strict(),
  },
  "aws-efa-k8s-device-plugin": {
    repository: "https://aws.github.io/eks-charts",
    chart: "aws-efa-k8s-device-plugin",
    version: "v0.5.30",
    namespace: "kube-system",
    purpose: "advertises vpc.amazonaws.com/efa on nodes with EFA interfaces",
    // The chart places its pods by its own list of EFA instance types (supportedInstanceLabels)
    // and reads no affinity value: it only needs to tolerate the GPU taint.
    values: (marks) => ({ tolerations: toleratingGpuTaint(marks) }),
    valuesSchema: z.object({ tolerations: z.array(TolerationSchema).min(1) }).strict(),
  },
};

const SEMVER = /^v?\d+\.\d+\.\d+$/;

/** Problems with a chart entry: a version that is not pinned, values that fail the schema. */
export function chartProblems(id: ChartId, chart: ChartSpec, values: Record<string, unknown>): { path: string; message: string }[] {
  const problems: { path: string; message: string }[] = [];
  if (!SEMVER.test(chart.version)) {
    problems.push({ path: `charts.${id}.version`, message: `"${chart.version}" is not a pinned version such as 0.20.0; pin an exact release` });
  }
  const parsed = chart.valuesSchema.safeParse(values);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      problems.push({ path: [`charts.${id}.values`, ...issue.path.map(String)].join("."), message: issue.message });
    }
  }
  return problems;
}
