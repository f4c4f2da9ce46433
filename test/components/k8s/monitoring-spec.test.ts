import { PrometheusRule } from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule";
import { ConfigMap } from "kubernetes-models/v1/ConfigMap";
import { describe, expect, it } from "vitest";
import { METRICS, metricsIn } from "../../../components/k8s/metrics";
import {
  alertRules,
  alertRulesManifest,
  dashboardConfigMapManifest,
  dashboardJson,
  dashboardUid,
  type MonitoredDeployment,
  type Panel,
} from "../../../components/k8s/monitoring-spec";

const assistant: MonitoredDeployment = {
  name: "assistant",
  namespace: "assistant-vllm",
  modelName: "r1-distill-qwen-7b",
  labels: { "app.kubernetes.io/name": "vllm", "app.kubernetes.io/instance": "assistant", "llm-fleet.dev/model": "r1-distill-qwen-7b" },
  predicted: { tpotMs: 21.4, ttftMs: 180, outputTokensPerSecond: 1_450, confidence: "calibrated" },
  targets: { maxTpotMs: 40, maxTtftMs: 1000 },
  usdPerHourPerReplica: 1.861,
  sequencesPerReplica: 24,
  startupBudgetSeconds: 1_140,
  nodeLaunchSeconds: 240,
};
const untargeted: MonitoredDeployment = { ...assistant, targets: { maxTpotMs: null, maxTtftMs: null } };

const rule = (d: MonitoredDeployment, alert: string) => {
  const found = alertRules(d).find((r) => r.alert === alert);
  if (!found) throw new Error(`no rule ${alert}`);
  return found;
};
const panels = (d: MonitoredDeployment) => dashboardJson(d).panels as Panel[];
const panel = (d: MonitoredDeployment, title: string) => {
  const found = panels(d).find((p) => p.title === title);
  if (!found) throw new Error(`no panel ${title}`);
  return found;
};
const series = (p: Panel, legend: string) => p.targets.filter((t) => t.legendFormat === legend).map((t) => t.expr);
const allExpressions = (d: MonitoredDeployment) => [...alertRules(d).map((r) => r.expr), ...panels(d).flatMap((p) => p.targets.map((t) => t.expr))];
/** Metric names an expression reads that METRICS does not list. */
const unknownMetrics = (expr: string) => metricsIn(expr).filter((name) => !Object.keys(METRICS).includes(name));

describe("alert rules", () => {
  it("form a PrometheusRule the operator's schema accepts, in the deployment's namespace", () => {
    const manifest = alertRulesManifest(assistant);
    expect(() => new PrometheusRule(manifest as any).validate()).not.toThrow();
    expect(manifest.metadata).toEqual({ name: "assistant-alerts", namespace: "assistant-vllm", labels: assistant.labels });
    expect(manifest.spec.groups.map((g) => g.rules.map((r) => r.alert))).toEqual([
      ["VllmTtftAboveTarget", "VllmTpotAboveTarget", "VllmQueueGrowing", "VllmKvCacheNearlyFull", "GpuXidError", "VllmReplicaNotReady", "VllmScaleUpBlocked"],
    ]);
  });

  it("fail the schema on a malformed duration, so the validation above can fail", () => {
    const manifest = alertRulesManifest(assistant);
    manifest.spec.groups[0]!.rules[0]!.for = "10 minutes";
    expect(() => new PrometheusRule(manifest as any).validate()).toThrow();
  });

  it("hold p95 TTFT to 1 s and p95 TPOT to 0.04 s for 10 minutes, on the deployment's own series", () => {
    const ttft = rule(assistant, "VllmTtftAboveTarget");
    expect(ttft.expr).toBe(
      'histogram_quantile(0.95, sum by (le) (rate(vllm:time_to_first_token_seconds_bucket{namespace="assistant-vllm",model_name="r1-distill-qwen-7b"}[5m]))) > 1',
    );
    expect(ttft.for).toBe("10m");
    const tpot = rule(assistant, "VllmTpotAboveTarget");
    expect(tpot.expr).toBe(
      'histogram_quantile(0.95, sum by (le) (rate(vllm:inter_token_latency_seconds_bucket{namespace="assistant-vllm",model_name="r1-distill-qwen-7b"}[5m]))) > 0.04',
    );
    expect(tpot.for).toBe("10m");
  });

  it("repeat the target and the plan's prediction in the annotations", () => {
    const ttft = rule(assistant, "VllmTtftAboveTarget").annotations;
    expect(ttft.summary).toContain("1000 ms target");
    expect(ttft.description).toContain("above 1000 ms");
    expect(ttft.description).toContain("predicts 180 ms at the planned load (calibrated)");
    const tpot = rule(assistant, "VllmTpotAboveTarget").annotations;
    expect(tpot.summary).toContain("40 ms target");
    expect(tpot.description).toContain("predicts 21.4 ms at the planned load (calibrated), with 24 sequences per replica");
    for (const r of alertRules(assistant)) {
      expect(r.annotations.runbook.length, r.alert).toBeGreaterThan(80);
      expect(r.labels.deployment).toBe("assistant");
    }
  });

  it("write thresholds in seconds without float noise", () => {
    const d = { ...assistant, targets: { maxTpotMs: 33.3, maxTtftMs: 2500 } };
    expect(rule(d, "VllmTpotAboveTarget").expr.endsWith("> 0.0333")).toBe(true);
    expect(rule(d, "VllmTtftAboveTarget").expr.endsWith("> 2.5")).toBe(true);
  });

  it("have no latency rule where the workload has no target", () => {
    expect(alertRules(untargeted).map((r) => r.alert)).toEqual(["VllmQueueGrowing", "VllmKvCacheNearlyFull", "GpuXidError", "VllmReplicaNotReady", "VllmScaleUpBlocked"]);
    const onlyTtft = { ...assistant, targets: { maxTpotMs: null, maxTtftMs: 1000 } };
    expect(alertRules(onlyTtft).map((r) => r.alert).slice(0, 2)).toEqual(["VllmTtftAboveTarget", "VllmQueueGrowing"]);
    expect(() => new PrometheusRule(alertRulesManifest(untargeted) as any).validate()).not.toThrow();
  });

  it("alert on a queue that stays non-empty and rises over 10 minutes", () => {
    const queue = rule(assistant, "VllmQueueGrowing");
    const waiting = 'vllm:num_requests_waiting{namespace="assistant-vllm",model_name="r1-distill-qwen-7b"}';
    expect(queue.expr).toBe(`sum(min_over_time(${waiting}[10m])) > 0 and sum(deriv(${waiting}[10m])) > 0`);
    expect(queue.for).toBe("5m");
    expect(queue.labels.severity).toBe("warning");
  });

  it("alert on a replica's KV cache above 0.9 for 10 minutes", () => {
    const kv = rule(assistant, "VllmKvCacheNearlyFull");
    expect(kv.expr).toBe('max by (pod) (vllm:kv_cache_usage_perc{namespace="assistant-vllm",model_name="r1-distill-qwen-7b"}) > 0.9');
    expect(kv.for).toBe("10m");
    expect(kv.annotations.summary).toContain("above 90 %");
  });

  it("page at once on any XID of a GPU the deployment's pods hold", () => {
    const xid = rule(assistant, "GpuXidError");
    expect(xid.expr).toBe('DCGM_FI_DEV_XID_ERRORS{namespace="assistant-vllm",pod=~"assistant-.+"} > 0');
    expect(xid.for).toBe("0m");
    expect(xid.labels.severity).toBe("critical");
    expect(xid.annotations.description).toContain("GPU, NVLink or driver fault");
    expect(xid.annotations.runbook).toContain("drain");
  });

  it("give a replica its startup budget before it is not ready, counting only live pods", () => {
    const notReady = rule(assistant, "VllmReplicaNotReady");
    expect(notReady.for).toBe("1140s");
    expect(notReady.expr).toBe(
      '(kube_pod_status_ready{namespace="assistant-vllm",pod=~"assistant-.+",condition="false"} == 1) and on (namespace, pod) ' +
        '(kube_pod_status_phase{namespace="assistant-vllm",pod=~"assistant-.+",phase=~"Pending|Running"} == 1)',
    );
    expect(rule({ ...assistant, startupBudgetSeconds: 11_750 }, "VllmReplicaNotReady").for).toBe("11750s");
  });

  it("call scale-up blocked after a node launch and 300 s of margin, pointing at quota, Spot and maxNodes", () => {
    const blocked = rule(assistant, "VllmScaleUpBlocked");
    expect(blocked.expr).toBe('kube_pod_status_unschedulable{namespace="assistant-vllm",pod=~"assistant-.+"} == 1');
    expect(blocked.for).toBe("540s");
    expect(blocked.annotations.runbook).toMatch(/quota/);
    expect(blocked.annotations.runbook).toMatch(/Spot/);
    expect(blocked.annotations.runbook).toMatch(/maxNodes/);
  });
});

describe("metric names", () => {
  it("every alert and dashboard query reads only metrics of the catalog", () => {
    for (const d of [assistant, untargeted]) {
      const expressions = allExpressions(d);
      expect(expressions.length).toBeGreaterThan(20);
      for (const expr of expressions) {
        if (/^vector\([\d.]+\)$/.test(expr)) {
          expect(metricsIn(expr)).toEqual([]);
          continue;
        }
        expect(metricsIn(expr).length, expr).toBeGreaterThan(0);
        expect(unknownMetrics(expr), expr).toEqual([]);
      }
    }
  });

  it("catches a metric the catalog does not list, such as the renamed KV gauge", () => {
    const kv = rule(assistant, "VllmKvCacheNearlyFull").expr.replace("vllm:kv_cache_usage_perc", "vllm:gpu_cache_usage_perc");
    expect(unknownMetrics(kv)).toEqual(["vllm:gpu_cache_usage_perc"]);
    const tpot = rule(assistant, "VllmTpotAboveTarget").expr.replace("inter_token_latency", "time_per_output_token");
    expect(unknownMetrics(tpot)).toEqual(["vllm:time_per_output_token_seconds_bucket"]);
  });
});

describe("dashboard", () => {
  it("ships in a ConfigMap the Grafana sidecar loads, whose JSON is the dashboard", () => {
    const manifest = dashboardConfigMapManifest(assistant);
    expect(() => new ConfigMap(manifest as any).validate()).not.toThrow();
    expect(manifest.metadata.namespace).toBe("assistant-vllm");
    expect(manifest.metadata.labels).toEqual({ ...assistant.labels, grafana_dashboard: "1" });
    expect(Object.keys(manifest.data)).toEqual(["assistant.json"]);
    expect(JSON.parse(manifest.data["assistant.json"]!)).toEqual(dashboardJson(assistant));
  });

  it("is a schema 39 model on kube-prometheus-stack's Prometheus datasource", () => {
    const dashboard = dashboardJson(assistant);
    expect(dashboard.title).toBe("llm-fleet · assistant");
    expect(dashboard.schemaVersion).toBe(39);
    for (const p of panels(assistant)) expect(p.datasource).toEqual({ type: "prometheus", uid: "prometheus" });
    expect(panels(assistant).map((p) => p.title)).toEqual([
      "Cost per million output tokens",
      "Replicas serving",
      "Time to first token",
      "Time per output token",
      "Tokens per second",
      "Requests running and waiting",
      "KV-cache usage",
      "GPU utilisation",
      "GPU memory used",
      "GPU power",
    ]);
  });

  it("gives every panel a unique id and a place on the 24-column grid that no other panel takes", () => {
    const all = panels(assistant);
    expect(new Set(all.map((p) => p.id)).size).toBe(all.length);
    const cells = new Set<string>();
    for (const { gridPos: g } of all) {
      expect(g.x + g.w).toBeLessThanOrEqual(24);
      for (let x = g.x; x < g.x + g.w; x++) {
        for (let y = g.y; y < g.y + g.h; y++) {
          expect(cells.has(`${x},${y}`)).toBe(false);
          cells.add(`${x},${y}`);
        }
      }
    }
    expect(all.find((p) => p.title === "Time to first token")!.gridPos).toEqual({ h: 8, w: 12, x: 0, y: 4 });
    expect(all.find((p) => p.title === "GPU power")!.gridPos).toEqual({ h: 8, w: 12, x: 12, y: 28 });
    for (const p of all) expect(new Set(p.targets.map((t) => t.refId)).size).toBe(p.targets.length);
  });

  it("draws the plan's predicted latency and the targets as constant series, in seconds", () => {
    const ttft = panel(assistant, "Time to first token");
    expect(ttft.fieldConfig.defaults.unit).toBe("s");
    expect(ttft.targets.map((t) => t.legendFormat)).toEqual(["p50", "p95", "p99", "predicted (calibrated)", "target"]);
    expect(series(ttft, "predicted (calibrated)")).toEqual(["vector(0.18)"]);
    expect(series(ttft, "target")).toEqual(["vector(1)"]);
    expect(series(ttft, "p99")).toEqual([
      'histogram_quantile(0.99, sum by (le) (rate(vllm:time_to_first_token_seconds_bucket{namespace="assistant-vllm",model_name="r1-distill-qwen-7b"}[5m])))',
    ]);
    const tpot = panel(assistant, "Time per output token");
    expect(series(tpot, "predicted (calibrated)")).toEqual(["vector(0.0214)"]);
    expect(series(tpot, "target")).toEqual(["vector(0.04)"]);
    expect(series(tpot, "p50")[0]).toContain("vllm:inter_token_latency_seconds_bucket");
  });

  it("draws no target where the workload has none, and names the prediction's basis", () => {
    const d = { ...untargeted, predicted: { ...assistant.predicted, confidence: "extrapolated" as const } };
    for (const title of ["Time to first token", "Time per output token"]) {
      expect(panel(d, title).targets.map((t) => t.legendFormat)).toEqual(["p50", "p95", "p99", "predicted (extrapolated)"]);
    }
  });

  it("sets the output rate against the plan's, and the KV cache against 0.9", () => {
    const tokens = panel(assistant, "Tokens per second");
    expect(series(tokens, "output")).toEqual(['sum(rate(vllm:generation_tokens_total{namespace="assistant-vllm",model_name="r1-distill-qwen-7b"}[5m]))']);
    expect(series(tokens, "predicted output (calibrated)")).toEqual(["vector(1450)"]);
    const kv = panel(assistant, "KV-cache usage");
    expect(kv.fieldConfig.defaults).toEqual({ unit: "percentunit", min: 0, max: 1 });
    expect(kv.targets.map((t) => t.legendFormat)).toEqual(["max", "avg", "target"]);
    expect(series(kv, "target")).toEqual(["vector(0.9)"]);
    const requests = panel(assistant, "Requests running and waiting");
    expect(series(requests, "within targets (24 per replica)")).toEqual([
      '24 * count(count by (pod) (vllm:num_requests_running{namespace="assistant-vllm",model_name="r1-distill-qwen-7b"}))',
    ]);
  });

  it("reads the GPUs of the deployment's pods from DCGM, by node and GPU", () => {
    for (const [title, metric, unit] of [
      ["GPU utilisation", "DCGM_FI_DEV_GPU_UTIL", "percent"],
      ["GPU memory used", "DCGM_FI_DEV_FB_USED", "mbytes"],
      ["GPU power", "DCGM_FI_DEV_POWER_USAGE", "watt"],
    ] as const) {
      const p = panel(assistant, title);
      expect(p.targets).toEqual([{ refId: "A", expr: `${metric}{namespace="assistant-vllm",pod=~"assistant-.+"}`, legendFormat: "{{Hostname}} GPU {{gpu}}" }]);
      expect(p.fieldConfig.defaults.unit).toBe(unit);
    }
  });

  it("prices a million output tokens from the replicas vLLM reports and the per-replica price", () => {
    const cost = panel(assistant, "Cost per million output tokens");
    expect(cost.type).toBe("stat");
    expect(cost.fieldConfig.defaults.unit).toBe("currencyUSD");
    const [expr] = cost.targets.map((t) => t.expr);
    expect(expr).toBe(
      'count(count by (pod) (vllm:num_requests_running{namespace="assistant-vllm",model_name="r1-distill-qwen-7b"})) * 1.861 / ' +
        '(clamp_min(sum(rate(vllm:generation_tokens_total{namespace="assistant-vllm",model_name="r1-distill-qwen-7b"}[5m])), 0.001) * 3600 / 1000000)',
    );
    expect(panel({ ...assistant, usdPerHourPerReplica: 98.32 }, "Cost per million output tokens").targets[0]!.expr).toContain("* 98.32 /");
  });

  it("keeps a stable uid of at most 40 characters that tells long names apart", () => {
    expect(dashboardJson(assistant).uid).toBe("llm-fleet-assistant");
    expect(dashboardJson({ ...assistant }).uid).toBe(dashboardJson(assistant).uid);
    const long = "a".repeat(21) + "-deepseek-r1-prod";
    const other = "a".repeat(21) + "-deepseek-r1-test";
    expect(dashboardUid(long)).toHaveLength(40);
    expect(dashboardUid(long)).toBe(dashboardUid(long));
    expect(dashboardUid(long).startsWith(`llm-fleet-${"a".repeat(21)}-`)).toBe(true);
    expect(dashboardUid(other)).not.toBe(dashboardUid(long));
    expect(dashboardUid("a".repeat(30))).toBe(`llm-fleet-${"a".repeat(30)}`);
    expect(dashboardUid("a".repeat(31))).toHaveLength(40);
  });
});
