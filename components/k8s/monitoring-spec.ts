/**
 * What to watch on a deployment and when to call someone: Prometheus alert rules and a Grafana
 * dashboard that set vLLM's, the GPUs' and Kubernetes' series against what the plan predicted.
 * Pure functions with no Pulumi import; every query names only metrics of METRICS.
 */
import { createHash } from "node:crypto";
import { GRAFANA_DASHBOARD_LABEL } from "../../charts";
import { KV_CACHE_USAGE_TARGET, vllmSeries } from "./autoscaling-spec";
import { bucket, type MetricName } from "./metrics";

export interface MonitoredDeployment {
  /** Deployment name, e.g. "assistant". */
  name: string;
  /** Namespace of its vLLM pods. */
  namespace: string;
  /** vLLM's served model name: the `model_name` label. */
  modelName: string;
  labels: Record<string, string>;
  /** What the plan predicts at the planned load, and its basis. */
  predicted: { tpotMs: number; ttftMs: number; outputTokensPerSecond: number; confidence: "calibrated" | "extrapolated" | "measured" };
  /** The workload's latency targets; null when none. */
  targets: { maxTpotMs: number | null; maxTtftMs: number | null };
  /** USD per hour of the nodes one replica occupies. */
  usdPerHourPerReplica: number;
  /** Sequences one replica holds within the targets (the autoscaler's per-replica target). */
  sequencesPerReplica: number;
  /**
   * Seconds a pod may take to become ready (its startup budget): a replica not ready longer
   * than this is an alert. Include an S3 copy in the init container, which the pod's own
   * startup probe does not count.
   */
  startupBudgetSeconds: number;
  /** Seconds a new node takes to join: pods unschedulable longer than this (plus margin) mean scale-up is blocked. */
  nodeLaunchSeconds: number;
}

/**
 * Window of the rates and quantiles: twenty of vLLM's 15 s scrapes (the ServiceMonitor's
 * interval), well over Prometheus's rule of at least four per range
 * (https://www.robustperception.io/what-range-should-i-use-with-rate/), and enough requests
 * for a p95 that one slow request does not move.
 */
export const RATE_WINDOW = "5m";
/** How long a latency or KV-cache breach lasts before it is an alert: longer than a burst the autoscaler absorbs. */
export const SUSTAINED_FOR = "10m";
/**
 * Added to the node launch before a pending pod counts as blocked: the launch is planned at
 * the middle of AWS's 3-5 minutes, so its upper end adds 60 s; the cluster autoscaler reacts
 * within its 10 s scan interval
 * (https://github.com/kubernetes/autoscaler/blob/master/cluster-autoscaler/FAQ.md#what-are-the-parameters-to-ca);
 * and the pod fits only once the node's device plugin has registered its GPUs (and EFA),
 * which starts with the node. 300 s in all keeps the alert well ahead of the autoscaler's own
 * max-node-provision-time (25 minutes, charts/index.ts), after which it gives up on the node group.
 */
export const SCALE_UP_MARGIN_SECONDS = 300;
/** Latency quantiles drawn on the dashboard; the alerts hold p95 to the target. */
export const DASHBOARD_QUANTILES = [0.5, 0.95, 0.99] as const;
export const ALERT_QUANTILE = 0.95;
/**
 * kube-prometheus-stack provisions its Prometheus datasource with this uid
 * (charts/kube-prometheus-stack/templates/grafana/configmaps-datasources.yaml,
 * `grafana.sidecar.datasources.uid`).
 */
export const PROMETHEUS_DATASOURCE = { type: "prometheus", uid: "prometheus" } as const;
/** Grafana keeps a dashboard uid to 40 characters (https://grafana.com/docs/grafana/latest/dashboards/build-dashboards/view-dashboard-json-model/). */
export const DASHBOARD_UID_MAX_CHARS = 40;
/** The dashboard model's schema; Grafana migrates a dashboard up from it, never down. */
export const DASHBOARD_SCHEMA_VERSION = 39;

export type Severity = "warning" | "critical";

export interface AlertRule {
  alert: string;
  expr: string;
  for: string;
  labels: { severity: Severity; deployment: string };
  annotations: { summary: string; description: string; runbook: string };
}

/** Milliseconds as the seconds vLLM's histograms count in, without float noise (33.3 ms is 0.0333, not 0.033299…). */
function secondsOf(ms: number): number {
  return Number((ms / 1000).toPrecision(12));
}

/** A vLLM histogram's `_bucket` series, with vllmSeries's labels. */
function vllmBucket(name: MetricName & `vllm:${string}_seconds`, d: MonitoredDeployment): string {
  return `${bucket(name)}${vllmSeries(name, d).slice(name.length)}`;
}

function quantile(q: number, name: MetricName & `vllm:${string}_seconds`, d: MonitoredDeployment): string {
  return `histogram_quantile(${q}, sum by (le) (rate(${vllmBucket(name, d)}[${RATE_WINDOW}])))`;
}

/**
 * The pods of the deployment: the namespace may be shared, and Deployment and LeaderWorkerSet
 * pods are all named `<name>-…`. DCGM's `pod` is the pod holding the GPU (scraped with honorLabels).
 */
function podSeries(name: MetricName, d: MonitoredDeployment, extra = ""): string {
  return `${name}{namespace="${d.namespace}",pod=~"${d.name}-.+"${extra}}`;
}

/** Replicas serving: each vLLM API server exports its own series, so one pod per replica. */
function replicasServing(d: MonitoredDeployment): string {
  return `count(count by (pod) (${vllmSeries("vllm:num_requests_running", d)}))`;
}

/** The alert rules of a deployment, in a stable order; a latency rule only where the workload has that target. */
export function alertRules(d: MonitoredDeployment): AlertRule[] {
  const labels = (severity: Severity) => ({ severity, deployment: d.name });
  const where = `${d.modelName} in ${d.namespace}`;
  const rules: AlertRule[] = [];
  const { maxTtftMs, maxTpotMs } = d.targets;
  if (maxTtftMs !== null) {
    rules.push({
      alert: "VllmTtftAboveTarget",
      expr: `${quantile(ALERT_QUANTILE, "vllm:time_to_first_token_seconds", d)} > ${secondsOf(maxTtftMs)}`,
      for: SUSTAINED_FOR,
      labels: labels("warning"),
      annotations: {
        summary: `TTFT p95 of ${d.name} is {{ $value | humanizeDuration }}, above its ${maxTtftMs} ms target`,
        description:
          `p95 time to first token of ${where} has stayed above ${maxTtftMs} ms for ${SUSTAINED_FOR}; ` +
          `the plan predicts ${d.predicted.ttftMs} ms at the planned load (${d.predicted.confidence}).`,
        runbook:
          "TTFT is the wait in vLLM's queue plus the prefill. A waiting queue on the dashboard means too few replicas: see VllmQueueGrowing " +
          "and VllmScaleUpBlocked, and raise maxNodes if the autoscaler is at its maximum. Without a queue, prompts are longer than the plan " +
          "assumed (compare prompt tokens/s with the output rate): plan again with the observed prompt length.",
      },
    });
  }
  if (maxTpotMs !== null) {
    rules.push({
      alert: "VllmTpotAboveTarget",
      expr: `${quantile(ALERT_QUANTILE, "vllm:inter_token_latency_seconds", d)} > ${secondsOf(maxTpotMs)}`,
      for: SUSTAINED_FOR,
      labels: labels("warning"),
      annotations: {
        summary: `TPOT p95 of ${d.name} is {{ $value | humanizeDuration }}, above its ${maxTpotMs} ms target`,
        description:
          `p95 time per output token of ${where} has stayed above ${maxTpotMs} ms for ${SUSTAINED_FOR}; ` +
          `the plan predicts ${d.predicted.tpotMs} ms at the planned load (${d.predicted.confidence}), with ${d.sequencesPerReplica} sequences per replica.`,
        runbook:
          `TPOT grows with the sequences a replica runs. Compare running requests per replica with the plan's ${d.sequencesPerReplica}: ` +
          "more means replicas are missing (VllmQueueGrowing, VllmScaleUpBlocked, maxNodes); as many or fewer means this traffic's contexts " +
          "are longer than planned, so each step reads more KV cache: lower the per-replica target or plan again with the observed lengths.",
      },
    });
  }
  const waiting = vllmSeries("vllm:num_requests_waiting", d);
  rules.push(
    {
      alert: "VllmQueueGrowing",
      // A queue never empty over 10 minutes and rising across them; held 5 minutes more so a
      // burst at the window's end does not alert on its own. Per series, then summed, rather
      // than a subquery over the sum: metricsIn reads `[10m:1m]` as a metric name.
      expr: `sum(min_over_time(${waiting}[10m])) > 0 and sum(deriv(${waiting}[10m])) > 0`,
      for: "5m",
      labels: labels("warning"),
      annotations: {
        summary: `At least {{ $value }} requests of ${d.name} have waited throughout 10 minutes, and the queue is rising`,
        description:
          `vLLM queues a request when its replicas' batches are full; the plan gives each replica ${d.sequencesPerReplica} sequences ` +
          `within the targets, and the autoscaler adds a replica at that many running and waiting. A queue of ${where} that grows for ` +
          "10 minutes means replicas are not arriving, or a fixed-size deployment is past its planned load.",
        runbook:
          "Check VllmScaleUpBlocked and VllmReplicaNotReady; if the replicas are at maxReplicas, raise the node group's maxNodes. " +
          "On a fixed-size deployment, plan again for the observed load.",
      },
    },
    {
      alert: "VllmKvCacheNearlyFull",
      expr: `max by (pod) (${vllmSeries("vllm:kv_cache_usage_perc", d)}) > ${KV_CACHE_USAGE_TARGET}`,
      for: SUSTAINED_FOR,
      labels: labels("warning"),
      annotations: {
        summary: `KV cache of {{ $labels.pod }} (${d.name}) is {{ $value | humanizePercentage }} full, above ${KV_CACHE_USAGE_TARGET * 100} %`,
        description:
          `Above ${KV_CACHE_USAGE_TARGET * 100} % vLLM preempts sequences and recomputes them later, at a cost in throughput and latency ` +
          `(https://docs.vllm.ai/en/latest/configuration/optimization.html#preemption). The plan holds ${d.sequencesPerReplica} sequences ` +
          `per replica in the cache; this has lasted ${SUSTAINED_FOR}.`,
        runbook:
          "Add replicas (raise maxNodes if the autoscaler is at its maximum). If running requests per replica are at or below the plan's, " +
          "contexts are longer than planned: lower the per-replica target or plan again with the observed lengths.",
      },
    },
    {
      alert: "GpuXidError",
      expr: `${podSeries("DCGM_FI_DEV_XID_ERRORS", d)} > 0`,
      for: "0m",
      labels: labels("critical"),
      annotations: {
        summary: `XID {{ $value }} on GPU {{ $labels.gpu }} of node {{ $labels.Hostname }}, serving ${d.name} (pod {{ $labels.pod }})`,
        description:
          "The NVIDIA driver reported an XID error: a GPU, NVLink or driver fault (https://docs.nvidia.com/deploy/xid-errors/). " +
          "The GPU may hang the replica or give wrong results; DCGM_FI_DEV_XID_ERRORS holds the last XID, 0 when none.",
        runbook:
          "Cordon and drain the node (kubectl drain <node> --ignore-daemonsets --delete-emptydir-data) so the node group replaces it, " +
          "and terminate the instance if it stays. XIDs 13, 31 and 43 can also come from the application: if they follow the pods to " +
          "new nodes, read vLLM's log.",
      },
    },
    {
      alert: "VllmReplicaNotReady",
      // Running or Pending only: an evicted or finished pod keeps Ready=false until it is
      // deleted, and is no replica.
      expr:
        `(${podSeries("kube_pod_status_ready", d, ',condition="false"')} == 1) and on (namespace, pod) ` +
        `(${podSeries("kube_pod_status_phase", d, ',phase=~"Pending|Running"')} == 1)`,
      for: `${d.startupBudgetSeconds}s`,
      labels: labels("warning"),
      annotations: {
        summary: `Pod {{ $labels.pod }} of ${d.name} has not been ready for ${d.startupBudgetSeconds} s, its startup budget`,
        description:
          `A pod of ${d.name} in ${d.namespace} gets ${d.startupBudgetSeconds} s to load the weights and start the engine; ` +
          "past that it will not become ready by waiting, and its replica serves nothing.",
        runbook:
          `kubectl -n ${d.namespace} describe pod {{ $labels.pod }} and kubectl logs (with -c download-weights for an S3 copy): ` +
          "an image pull that stalls, a copy without read access, CUDA out of memory at load (GPU memory or max model length too high), " +
          "or NCCL errors between the nodes of a multi-node replica (EFA, security group).",
      },
    },
    {
      alert: "VllmScaleUpBlocked",
      expr: `${podSeries("kube_pod_status_unschedulable", d)} == 1`,
      for: `${d.nodeLaunchSeconds + SCALE_UP_MARGIN_SECONDS}s`,
      labels: labels("critical"),
      annotations: {
        summary: `Pod {{ $labels.pod }} of ${d.name} has been unschedulable for ${d.nodeLaunchSeconds + SCALE_UP_MARGIN_SECONDS} s: no node came for it`,
        description:
          `A new node joins in about ${d.nodeLaunchSeconds} s; ${SCALE_UP_MARGIN_SECONDS} s more cover the slow end of a launch, the ` +
          "cluster autoscaler's reaction and the device plugin registering the GPUs. Longer means the node group cannot grow.",
        runbook:
          "Read the cluster autoscaler's log and the node group's Auto Scaling activity. An EC2 vCPU quota (Service Quotas: " +
          "Running On-Demand P instances / G and VT instances, or the Spot requests of those): ask for more. No Spot capacity " +
          "(InsufficientInstanceCapacity): add zones or instance types, or use On-Demand. The node group at maxNodes: raise it.",
      },
    },
  );
  return rules;
}

/** The deployment's alerts as a Prometheus Operator PrometheusRule. */
export function alertRulesManifest(d: MonitoredDeployment) {
  return {
    apiVersion: "monitoring.coreos.com/v1",
    kind: "PrometheusRule",
    metadata: { name: `${d.name}-alerts`, namespace: d.namespace, labels: d.labels },
    spec: { groups: [{ name: `llm-fleet.${d.name}`, rules: alertRules(d) }] },
  };
}

/** A stable Grafana uid: the name where it fits, else a prefix of it and a hash that keeps long names apart. */
export function dashboardUid(name: string): string {
  const uid = `llm-fleet-${name}`;
  if (uid.length <= DASHBOARD_UID_MAX_CHARS) return uid;
  const hash = createHash("sha256").update(name).digest("hex").slice(0, 8);
  return `${uid.slice(0, DASHBOARD_UID_MAX_CHARS - hash.length - 1)}-${hash}`;
}

export interface PanelTarget {
  refId: string;
  expr: string;
  legendFormat: string;
}

export interface Panel {
  id: number;
  type: "timeseries" | "stat";
  title: string;
  description: string;
  datasource: typeof PROMETHEUS_DATASOURCE;
  gridPos: { h: number; w: number; x: number; y: number };
  targets: PanelTarget[];
  fieldConfig: { defaults: Record<string, unknown>; overrides: unknown[] };
  options: Record<string, unknown>;
}

type PanelDraft = Pick<Panel, "type" | "title" | "description"> & {
  w: number;
  h: number;
  unit: string;
  series: { expr: string; legend: string }[];
  min?: number;
  max?: number;
};

const GRID_COLUMNS = 24;
const CONSTANT_LEGEND = /^(predicted|target)/;

/** A horizontal line at a planned value. */
function constant(value: number, legend: string) {
  return { expr: `vector(${value})`, legend };
}

function latencyDraft(title: string, name: MetricName & `vllm:${string}_seconds`, predictedMs: number, targetMs: number | null, d: MonitoredDeployment): PanelDraft {
  return {
    type: "timeseries",
    title,
    description: `p50, p95 and p99 over ${RATE_WINDOW}, against the plan's prediction at the planned load and the workload's target.`,
    w: 12,
    h: 8,
    unit: "s",
    min: 0,
    series: [
      ...DASHBOARD_QUANTILES.map((q) => ({ expr: quantile(q, name, d), legend: `p${q * 100}` })),
      constant(secondsOf(predictedMs), `predicted (${d.predicted.confidence})`),
      ...(targetMs === null ? [] : [constant(secondsOf(targetMs), "target")]),
    ],
  };
}

function panelDrafts(d: MonitoredDeployment): PanelDraft[] {
  const rate = (name: MetricName & `vllm:${string}`) => `sum(rate(${vllmSeries(name, d)}[${RATE_WINDOW}]))`;
  const byGpu = "{{Hostname}} GPU {{gpu}}";
  return [
    {
      type: "stat",
      title: "Cost per million output tokens",
      description:
        `Replicas serving at ${d.usdPerHourPerReplica} USD/hour each, over the output tokens of the last ${RATE_WINDOW} as a rate per hour. ` +
        "Idle replicas make it very large: the output rate is clamped above zero, not left to divide by it.",
      w: 12,
      h: 4,
      unit: "currencyUSD",
      series: [
        {
          expr:
            `${replicasServing(d)} * ${d.usdPerHourPerReplica} / ` +
            `(clamp_min(${rate("vllm:generation_tokens_total")}, 0.001) * 3600 / 1000000)`,
          legend: "USD per million output tokens",
        },
      ],
    },
    {
      type: "stat",
      title: "Replicas serving",
      description: "vLLM API servers that Prometheus scrapes: one per replica.",
      w: 12,
      h: 4,
      unit: "short",
      series: [{ expr: replicasServing(d), legend: "replicas" }],
    },
    latencyDraft("Time to first token", "vllm:time_to_first_token_seconds", d.predicted.ttftMs, d.targets.maxTtftMs, d),
    latencyDraft("Time per output token", "vllm:inter_token_latency_seconds", d.predicted.tpotMs, d.targets.maxTpotMs, d),
    {
      type: "timeseries",
      title: "Tokens per second",
      description: `Output and prompt tokens of all replicas over ${RATE_WINDOW}, against the plan's output rate at the planned load.`,
      w: 12,
      h: 8,
      unit: "suffix:tokens/s",
      min: 0,
      series: [
        { expr: rate("vllm:generation_tokens_total"), legend: "output" },
        { expr: rate("vllm:prompt_tokens_total"), legend: "prompt" },
        constant(d.predicted.outputTokensPerSecond, `predicted output (${d.predicted.confidence})`),
      ],
    },
    {
      type: "timeseries",
      title: "Requests running and waiting",
      description: `Requests in the replicas' batches and in their queues; the plan holds ${d.sequencesPerReplica} per replica within the targets.`,
      w: 12,
      h: 8,
      unit: "short",
      min: 0,
      series: [
        { expr: `sum(${vllmSeries("vllm:num_requests_running", d)})`, legend: "running" },
        { expr: `sum(${vllmSeries("vllm:num_requests_waiting", d)})`, legend: "waiting" },
        { expr: `${d.sequencesPerReplica} * ${replicasServing(d)}`, legend: `within targets (${d.sequencesPerReplica} per replica)` },
      ],
    },
    {
      type: "timeseries",
      title: "KV-cache usage",
      description: `Fullest and mean replica; above ${KV_CACHE_USAGE_TARGET * 100} % vLLM preempts sequences, and the autoscaler adds a replica.`,
      w: 12,
      h: 8,
      unit: "percentunit",
      min: 0,
      max: 1,
      series: [
        { expr: `max(${vllmSeries("vllm:kv_cache_usage_perc", d)})`, legend: "max" },
        { expr: `avg(${vllmSeries("vllm:kv_cache_usage_perc", d)})`, legend: "avg" },
        constant(KV_CACHE_USAGE_TARGET, "target"),
      ],
    },
    {
      type: "timeseries",
      title: "GPU utilisation",
      description: "Per GPU of the deployment's pods (DCGM exporter).",
      w: 12,
      h: 8,
      unit: "percent",
      min: 0,
      max: 100,
      series: [{ expr: podSeries("DCGM_FI_DEV_GPU_UTIL", d), legend: byGpu }],
    },
    {
      type: "timeseries",
      title: "GPU memory used",
      description: "Per GPU; vLLM takes its share of the memory for the KV cache at start, so this stays flat while it runs.",
      w: 12,
      h: 8,
      unit: "mbytes",
      min: 0,
      series: [{ expr: podSeries("DCGM_FI_DEV_FB_USED", d), legend: byGpu }],
    },
    {
      type: "timeseries",
      title: "GPU power",
      description: "Per GPU (DCGM exporter).",
      w: 12,
      h: 8,
      unit: "watt",
      min: 0,
      series: [{ expr: podSeries("DCGM_FI_DEV_POWER_USAGE", d), legend: byGpu }],
    },
  ];
}

/** Panels left to right, a new row when the next does not fit in Grafana's 24 columns. */
function layOut(drafts: PanelDraft[]): Panel[] {
  let x = 0;
  let y = 0;
  let rowHeight = 0;
  return drafts.map((draft, index) => {
    if (x + draft.w > GRID_COLUMNS) {
      x = 0;
      y += rowHeight;
      rowHeight = 0;
    }
    const gridPos = { h: draft.h, w: draft.w, x, y };
    x += draft.w;
    rowHeight = Math.max(rowHeight, draft.h);
    const constants = draft.series.some((s) => CONSTANT_LEGEND.test(s.legend));
    return {
      id: index + 1,
      type: draft.type,
      title: draft.title,
      description: draft.description,
      datasource: PROMETHEUS_DATASOURCE,
      gridPos,
      targets: draft.series.map((s, i) => ({ refId: String.fromCharCode(65 + i), expr: s.expr, legendFormat: s.legend })),
      fieldConfig: {
        defaults: {
          unit: draft.unit,
          ...(draft.min === undefined ? {} : { min: draft.min }),
          ...(draft.max === undefined ? {} : { max: draft.max }),
        },
        // Planned values as dashed lines, apart from the measured ones.
        overrides: constants
          ? [
              {
                matcher: { id: "byRegexp", options: CONSTANT_LEGEND.source + ".*" },
                properties: [{ id: "custom.lineStyle", value: { fill: "dash", dash: [10, 10] } }],
              },
            ]
          : [],
      },
      options:
        draft.type === "stat"
          ? { reduceOptions: { calcs: ["lastNotNull"], fields: "", values: false }, colorMode: "none", graphMode: "area", textMode: "value" }
          : { legend: { displayMode: "list", placement: "bottom", showLegend: true }, tooltip: { mode: "multi", sort: "none" } },
    };
  });
}

/** The deployment's Grafana dashboard model. */
export function dashboardJson(d: MonitoredDeployment) {
  return {
    uid: dashboardUid(d.name),
    title: `llm-fleet · ${d.name}`,
    description: `${d.modelName} in ${d.namespace}: measured against the plan's predictions and the workload's targets.`,
    tags: ["llm-fleet", "vllm"],
    schemaVersion: DASHBOARD_SCHEMA_VERSION,
    version: 1,
    editable: true,
    timezone: "browser",
    time: { from: "now-6h", to: "now" },
    refresh: "30s",
    templating: { list: [] },
    annotations: { list: [] },
    panels: layOut(panelDrafts(d)),
  };
}

/**
 * The dashboard as a ConfigMap that kube-prometheus-stack's Grafana sidecar loads: its label
 * with value "1", looked for in every namespace (charts/index.ts sets both).
 */
export function dashboardConfigMapManifest(d: MonitoredDeployment) {
  return {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name: `${d.name}-dashboard`, namespace: d.namespace, labels: { ...d.labels, [GRAFANA_DASHBOARD_LABEL]: "1" } },
    data: { [`${d.name}.json`]: JSON.stringify(dashboardJson(d), null, 2) },
  };
}
