/**
 * The Prometheus metrics llm-fleet's autoscaling, alerts and dashboards read: one entry per
 * series, with who exports it. Every query llm-fleet writes names only metrics from this map,
 * and a test checks that (a renamed metric breaks the build, not a dashboard at 3 a.m.).
 */

export type MetricKind = "gauge" | "counter" | "histogram";
export type Exporter = "vllm" | "dcgm-exporter" | "kube-state-metrics" | "node-exporter" | "cluster-autoscaler";

export interface MetricSpec {
  exporter: Exporter;
  kind: MetricKind;
  unit: string;
  help: string;
}

/**
 * vLLM's V1 engine metrics as vLLM 0.33 serves them on /metrics, each labelled `model_name`
 * (the served model name) and `engine` (https://docs.vllm.ai/en/latest/usage/metrics.html,
 * vllm/v1/metrics/loggers.py). The KV gauge was renamed from `vllm:gpu_cache_usage_perc`, and
 * TPOT is `vllm:inter_token_latency_seconds` since `vllm:time_per_output_token_seconds` was
 * deprecated (vLLM 0.11) and removed.
 */
const VLLM = {
  "vllm:num_requests_running": { exporter: "vllm", kind: "gauge", unit: "requests", help: "requests in model execution batches" },
  "vllm:num_requests_waiting": { exporter: "vllm", kind: "gauge", unit: "requests", help: "requests waiting to be processed" },
  "vllm:kv_cache_usage_perc": { exporter: "vllm", kind: "gauge", unit: "ratio", help: "KV-cache usage, 1 = full" },
  "vllm:time_to_first_token_seconds": { exporter: "vllm", kind: "histogram", unit: "seconds", help: "time to first token" },
  "vllm:inter_token_latency_seconds": { exporter: "vllm", kind: "histogram", unit: "seconds", help: "time between output tokens (TPOT)" },
  "vllm:e2e_request_latency_seconds": { exporter: "vllm", kind: "histogram", unit: "seconds", help: "end-to-end request latency" },
  "vllm:generation_tokens_total": { exporter: "vllm", kind: "counter", unit: "tokens", help: "output tokens generated" },
  "vllm:prompt_tokens_total": { exporter: "vllm", kind: "counter", unit: "tokens", help: "prompt tokens processed" },
  "vllm:num_preemptions_total": { exporter: "vllm", kind: "counter", unit: "preemptions", help: "sequences preempted for KV-cache room" },
} as const satisfies Record<string, MetricSpec>;

/**
 * NVIDIA DCGM exporter's default counters (etc/default-counters.csv of
 * https://github.com/NVIDIA/dcgm-exporter), labelled `gpu`, `UUID`, `modelName`, `Hostname`,
 * and with the pod-resources mapping the `namespace`, `pod` and `container` that hold the GPU.
 */
const DCGM = {
  DCGM_FI_DEV_GPU_UTIL: { exporter: "dcgm-exporter", kind: "gauge", unit: "percent", help: "GPU utilisation" },
  DCGM_FI_DEV_FB_USED: { exporter: "dcgm-exporter", kind: "gauge", unit: "MiB", help: "frame buffer memory used" },
  DCGM_FI_DEV_FB_FREE: { exporter: "dcgm-exporter", kind: "gauge", unit: "MiB", help: "frame buffer memory free" },
  DCGM_FI_DEV_POWER_USAGE: { exporter: "dcgm-exporter", kind: "gauge", unit: "watts", help: "power draw" },
  DCGM_FI_DEV_GPU_TEMP: { exporter: "dcgm-exporter", kind: "gauge", unit: "celsius", help: "GPU temperature" },
  DCGM_FI_DEV_XID_ERRORS: { exporter: "dcgm-exporter", kind: "gauge", unit: "xid", help: "value of the last XID error" },
} as const satisfies Record<string, MetricSpec>;

/** kube-state-metrics (https://github.com/kubernetes/kube-state-metrics/tree/main/docs/metrics/workload). */
const KUBE_STATE = {
  kube_pod_status_ready: { exporter: "kube-state-metrics", kind: "gauge", unit: "boolean", help: "pod readiness, by condition" },
  kube_pod_status_unschedulable: { exporter: "kube-state-metrics", kind: "gauge", unit: "boolean", help: "pod cannot be scheduled" },
  kube_pod_status_phase: { exporter: "kube-state-metrics", kind: "gauge", unit: "boolean", help: "pod phase, by phase" },
  kube_pod_info: { exporter: "kube-state-metrics", kind: "gauge", unit: "info", help: "pod information" },
} as const satisfies Record<string, MetricSpec>;

export const METRICS = { ...VLLM, ...DCGM, ...KUBE_STATE } as const;
export type MetricName = keyof typeof METRICS;

/** A histogram's series as Prometheus stores them. */
export const bucket = (name: MetricName & `${string}_seconds`) => `${name}_bucket`;

/**
 * The metric names a PromQL expression reads: identifiers followed by a selector, a range or
 * an operator, less PromQL's own words and the label names inside braces. Histogram series
 * (`_bucket`, `_sum`, `_count`) map back to their histogram.
 */
export function metricsIn(expr: string): string[] {
  // Label matchers, strings and range or subquery durations (`[5m]`, `[10m:1m]`) name no metric.
  const withoutLabels = expr.replace(/\{[^}]*\}/g, "{}").replace(/"[^"]*"/g, '""').replace(/\[[^\]]*\]/g, "[]");
  const withoutGrouping = withoutLabels.replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, "");
  const found = new Set<string>();
  for (const match of withoutGrouping.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*/g)) {
    const word = match[0];
    const next = withoutGrouping.slice(match.index! + word.length).trimStart()[0];
    if (PROMQL_WORDS.has(word) || next === "(") continue;
    if (/^\d/.test(word)) continue;
    found.add(word.replace(/_(bucket|sum|count)$/, (suffix) => (METRICS_WITH_SUFFIX.has(word) ? "" : suffix)));
  }
  return [...found].sort();
}

const METRICS_WITH_SUFFIX = new Set(
  Object.entries(METRICS)
    .filter(([, spec]) => spec.kind === "histogram")
    .flatMap(([name]) => ["bucket", "sum", "count"].map((s) => `${name}_${s}`)),
);

const PROMQL_WORDS = new Set(["and", "or", "unless", "bool", "offset", "inf", "Inf", "NaN"]);
