/**
 * Third-party Helm charts llm-fleet installs: repository, chart, pinned version and our
 * values, each checked by its zod schema before a release is created. Versions are the
 * newest releases seen in mid 2026 (shared/reference/pulumi-notes.md, "Charts").
 */
import { z } from "zod";

export const CHART_IDS = [
  "nvidia-device-plugin",
  "lws",
  "aws-efa-k8s-device-plugin",
  "keda",
  "keda-add-ons-http",
  "cluster-autoscaler",
  "kube-prometheus-stack",
  "dcgm-exporter",
] as const;
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

/** What our values depend on besides the GPU nodes. */
export interface ChartContext {
  gpuNodes: GpuNodeMarks;
  /** The EKS cluster the autoscaler discovers node groups of. */
  clusterName: string;
  region: string;
  /** The tag llm-fleet puts on the Auto Scaling groups the autoscaler may resize. */
  autoscaledTag: string;
  /** A regular expression for the Auto Scaling groups the autoscaler tries last (on-demand fallbacks of Spot groups). */
  fallbackGroupPattern: string;
  /** A StorageClass for Prometheus's volume; null keeps its data on an emptyDir (lost with the pod). */
  storageClassName: string | null;
}

export interface ChartSpec {
  /** Helm repository URL, or an OCI registry path. */
  repository: string;
  chart: string;
  version: string;
  namespace: string;
  /** Why llm-fleet needs it. */
  purpose: string;
  /** Where its pods run and what they cost, after "runs": "on the system nodes (priced with the cluster)". */
  runsOn: string;
  /** Charts whose CRDs or controllers it needs installed first. */
  after: readonly ChartId[];
  values: (context: ChartContext) => Record<string, unknown>;
  valuesSchema: z.ZodType;
}

export const CHARTS: { readonly [id in ChartId]: ChartSpec } = {
  "nvidia-device-plugin": {
    repository: "https://nvidia.github.io/k8s-device-plugin",
    chart: "nvidia-device-plugin",
    version: "0.20.0",
    namespace: "kube-system",
    purpose: "advertises nvidia.com/gpu on AL2023 NVIDIA nodes (Bottlerocket ships its own)",
    runsOn: "as a DaemonSet on the GPU nodes (no cost of its own)",
    after: [],
    // The chart's default affinity wants node-feature-discovery labels that EKS nodes lack.
    values: (context) => onGpuNodes(context.gpuNodes),
    valuesSchema: DaemonSetValuesSchema,
  },
  lws: {
    // OCI chart: `helm upgrade` does not update its CRDs, so bump the version with care.
    repository: "oci://registry.k8s.io/lws/charts",
    chart: "lws",
    version: "0.10.0",
    namespace: "lws-system",
    purpose: "the LeaderWorkerSet controller that runs multi-node vLLM replicas",
    runsOn: "on the system nodes (priced with the cluster)",
    after: [],
    values: () => ({}),
    valuesSchema: z.object({}).strict(),
  },
  "aws-efa-k8s-device-plugin": {
    repository: "https://aws.github.io/eks-charts",
    chart: "aws-efa-k8s-device-plugin",
    version: "v0.5.30",
    namespace: "kube-system",
    purpose: "advertises vpc.amazonaws.com/efa on nodes with EFA interfaces",
    runsOn: "as a DaemonSet on the EFA nodes (no cost of its own)",
    after: [],
    // The chart places its pods by its own list of EFA instance types (supportedInstanceLabels)
    // and reads no affinity value: it only needs to tolerate the GPU taint.
    values: (context) => ({ tolerations: toleratingGpuTaint(context.gpuNodes) }),
    valuesSchema: z.object({ tolerations: z.array(TolerationSchema).min(1) }).strict(),
  },
  keda: {
    // kedacore/charts keda/Chart.yaml, tag v2.20.2 (2026-07-31).
    repository: "https://kedacore.github.io/charts",
    chart: "keda",
    version: "2.20.2",
    namespace: "keda",
    purpose: "scales vLLM replicas on vLLM's queue and KV-cache usage (ScaledObjects), to zero where allowed",
    runsOn: "on the system nodes (operator, metrics API server, admission webhooks; priced with the cluster)",
    after: [],
    // The chart's defaults: its metrics API server is on, and it stays off the tainted GPU nodes.
    values: () => ({}),
    valuesSchema: z.object({}).strict(),
  },
  "keda-add-ons-http": {
    // kedacore/charts http-add-on, release v0.15.0 (2026-06-15). Timeouts are set per route on
    // each HTTPScaledObject, from the deployment's predicted cold start.
    repository: "https://kedacore.github.io/charts",
    chart: "keda-add-ons-http",
    version: "0.15.0",
    namespace: "keda",
    purpose: "holds requests to a deployment at zero replicas until one is ready (the interceptor), and reports them to KEDA",
    runsOn: "on the system nodes (interceptor, external scaler, operator; priced with the cluster)",
    after: ["keda"],
    values: () => ({ interceptor: { replicas: { min: INTERCEPTOR_REPLICAS } } }),
    valuesSchema: z.object({ interceptor: z.object({ replicas: z.object({ min: z.number().int().min(1) }).strict() }).strict() }).strict(),
  },
  "cluster-autoscaler": {
    // kubernetes/autoscaler cluster-autoscaler-chart-9.59.0 (2026-07-21), appVersion 1.35.0.
    repository: "https://kubernetes.github.io/autoscaler",
    chart: "cluster-autoscaler",
    version: "9.59.0",
    namespace: "kube-system",
    purpose: "adds GPU nodes for pending replicas and removes idle ones, down to each group's minimum (0 in dev)",
    runsOn: "on the system nodes (priced with the cluster)",
    after: [],
    values: (context) => ({
      cloudProvider: "aws",
      awsRegion: context.region,
      // Both tags: groups of this cluster (EKS tags them) that llm-fleet marked as autoscaled, so
      // the system group and Capacity Blocks are left alone.
      autoDiscovery: { clusterName: context.clusterName, tags: [context.autoscaledTag, `k8s.io/cluster-autoscaler/${context.clusterName}`] },
      rbac: { serviceAccount: { create: true, name: "cluster-autoscaler" } },
      extraArgs: {
        // A GPU node with a large image and weights takes longer than the 15-minute default to serve.
        "max-node-provision-time": "25m",
        "scale-down-unneeded-time": "10m",
        "scale-down-delay-after-add": "10m",
        // vLLM pods keep their weights cache on emptyDir or hostPath; such a node may still be removed once idle.
        "skip-nodes-with-local-storage": "false",
        // Spot groups before their on-demand fallbacks; among equals, the least idle capacity.
        expander: "priority,least-waste",
      },
      expanderPriorities: { [FALLBACK_PRIORITY]: [context.fallbackGroupPattern], [PRIMARY_PRIORITY]: [".*"] },
    }),
    valuesSchema: z
      .object({
        cloudProvider: z.literal("aws"),
        awsRegion: z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d$/),
        autoDiscovery: z.object({ clusterName: z.string().min(1), tags: z.array(z.string().min(1)).length(2) }).strict(),
        rbac: z.object({ serviceAccount: z.object({ create: z.literal(true), name: z.string().min(1) }).strict() }).strict(),
        extraArgs: z.record(z.string(), z.string()),
        expanderPriorities: z.record(z.string().regex(/^\d+$/), z.array(z.string().min(1)).min(1)),
      })
      .strict(),
  },
  "kube-prometheus-stack": {
    // prometheus-community/helm-charts kube-prometheus-stack-88.5.3 (2026-08-21).
    repository: "https://prometheus-community.github.io/helm-charts",
    chart: "kube-prometheus-stack",
    version: "88.5.3",
    namespace: "monitoring",
    purpose: "Prometheus (scrapes vLLM and the GPUs; feeds KEDA), Grafana with llm-fleet's dashboards, Alertmanager with its alert rules",
    runsOn: "on the system nodes, node-exporter on every node; Prometheus keeps its data on a gp3 volume where the cluster has the class (priced below)",
    after: [],
    values: (context) => ({
      // Fixed names: KEDA's triggers and the README address kube-prometheus-stack-prometheus.monitoring.
      fullnameOverride: "kube-prometheus-stack",
      prometheus: {
        prometheusSpec: {
          // Select every ServiceMonitor and PrometheusRule, not only the release's own.
          serviceMonitorSelectorNilUsesHelmValues: false,
          podMonitorSelectorNilUsesHelmValues: false,
          ruleSelectorNilUsesHelmValues: false,
          retention: `${PROMETHEUS_RETENTION_DAYS}d`,
          ...(context.storageClassName
            ? {
                storageSpec: {
                  volumeClaimTemplate: {
                    spec: { storageClassName: context.storageClassName, accessModes: ["ReadWriteOnce"], resources: { requests: { storage: `${PROMETHEUS_VOLUME_GIB}Gi` } } },
                  },
                },
              }
            : {}),
        },
      },
      grafana: {
        // Empty: the Grafana chart generates a random admin password into its Secret, instead of a default one.
        adminPassword: "",
        sidecar: { dashboards: { enabled: true, label: GRAFANA_DASHBOARD_LABEL, labelValue: "1", searchNamespace: "ALL" } },
      },
      // EKS runs these on its own control plane (and kube-proxy's metrics on localhost): nothing to
      // scrape, and their stock alerts would fire for ever.
      kubeControllerManager: { enabled: false },
      kubeScheduler: { enabled: false },
      kubeEtcd: { enabled: false },
      kubeProxy: { enabled: false },
      // node-exporter's default tolerations (every NoSchedule taint) already reach the GPU nodes.
    }),
    valuesSchema: z
      .object({
        fullnameOverride: z.literal("kube-prometheus-stack"),
        prometheus: z.object({ prometheusSpec: z.record(z.string(), z.unknown()) }).strict(),
        grafana: z
          .object({
            adminPassword: z.literal(""),
            sidecar: z.object({ dashboards: z.object({ enabled: z.literal(true), label: z.string(), labelValue: z.string(), searchNamespace: z.string() }).strict() }).strict(),
          })
          .strict(),
        kubeControllerManager: z.object({ enabled: z.literal(false) }).strict(),
        kubeScheduler: z.object({ enabled: z.literal(false) }).strict(),
        kubeEtcd: z.object({ enabled: z.literal(false) }).strict(),
        kubeProxy: z.object({ enabled: z.literal(false) }).strict(),
      })
      .strict(),
  },
  "dcgm-exporter": {
    // NVIDIA/dcgm-exporter tag 4.5.3-4.8.2 (2026-05-06), chart 4.8.2.
    repository: "https://nvidia.github.io/dcgm-exporter/helm-charts",
    chart: "dcgm-exporter",
    version: "4.8.2",
    namespace: "monitoring",
    purpose: "GPU utilisation, memory, power and XID errors per GPU, labelled with the pod that holds it",
    runsOn: "as a DaemonSet on the GPU nodes (no cost of its own)",
    after: ["kube-prometheus-stack"],
    values: (context) => ({
      ...onGpuNodes(context.gpuNodes),
      // honorLabels keeps the namespace and pod of the workload holding the GPU, not the exporter's own.
      serviceMonitor: { enabled: true, honorLabels: true, interval: "15s" },
    }),
    valuesSchema: DaemonSetValuesSchema.extend({
      serviceMonitor: z.object({ enabled: z.literal(true), honorLabels: z.literal(true), interval: z.string() }).strict(),
    }).strict(),
  },
};

/** The priority expander picks the highest number among the groups that can take a pending pod. */
export const PRIMARY_PRIORITY = 50;
export const FALLBACK_PRIORITY = 10;
/** Two interceptors: a scale-to-zero deployment's requests all pass through one of them. */
export const INTERCEPTOR_REPLICAS = 2;
/** Prometheus keeps two weeks: enough to compare a week with the one before. */
export const PROMETHEUS_RETENTION_DAYS = 15;
/** 15 days of a few deployments' vLLM, DCGM and node series fit well within this. */
export const PROMETHEUS_VOLUME_GIB = 50;
/** The label kube-prometheus-stack's Grafana sidecar loads dashboards from (its default). */
export const GRAFANA_DASHBOARD_LABEL = "grafana_dashboard";

/**
 * The cluster autoscaler release that matches a Kubernetes minor version: the autoscaler
 * supports only its own minor (cluster-autoscaler/README.md, "Releases"); newest patches seen.
 */
export const CLUSTER_AUTOSCALER_IMAGE_TAGS: Readonly<Record<string, string>> = {
  "1.33": "v1.33.6",
  "1.34": "v1.34.5",
  "1.35": "v1.35.2",
  "1.36": "v1.36.1",
};

/** The image of the pinned chart (its appVersion), for a cluster version without a pin of its own. */
export const CLUSTER_AUTOSCALER_CHART_IMAGE_TAG = "v1.35.0";

/** The pinned tag for a Kubernetes version's minor, or undefined when none is pinned. */
function pinnedAutoscalerTag(kubernetesVersion: string): string | undefined {
  const minor = /^(\d+\.\d+)/.exec(kubernetesVersion)?.[1] ?? kubernetesVersion;
  return CLUSTER_AUTOSCALER_IMAGE_TAGS[minor];
}

function unpinnedMessage(kubernetesVersion: string): string {
  return (
    `no cluster autoscaler release is pinned for Kubernetes ${kubernetesVersion}; pinned: ${Object.keys(CLUSTER_AUTOSCALER_IMAGE_TAGS).join(", ")} ` +
    "(charts/index.ts CLUSTER_AUTOSCALER_IMAGE_TAGS), or turn autoscaling off"
  );
}

/** The tag for a version known before anything is created (a new cluster's): an unpinned minor is an error. */
export function clusterAutoscalerImageTag(kubernetesVersion: string): string {
  const tag = pinnedAutoscalerTag(kubernetesVersion);
  if (!tag) throw new Error(unpinnedMessage(kubernetesVersion));
  return tag;
}

/**
 * The tag for a version read from a running cluster, where failing would leave a half-done
 * update: the chart's own image, with a warning, when the minor has no pin.
 */
export function clusterAutoscalerImageTagOrDefault(kubernetesVersion: string): { tag: string; warning: string | null } {
  const tag = pinnedAutoscalerTag(kubernetesVersion);
  return tag
    ? { tag, warning: null }
    : { tag: CLUSTER_AUTOSCALER_CHART_IMAGE_TAG, warning: `${unpinnedMessage(kubernetesVersion)}; using the chart's ${CLUSTER_AUTOSCALER_CHART_IMAGE_TAG}` };
}

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
