import { describe, expect, it } from "vitest";
import { CHARTS, CHART_IDS, chartProblems, clusterAutoscalerImageTag, type ChartContext } from "../../../charts";
import { autoscalerTags, GPU_NODE_MARKS, nodeGroupSpec } from "../../../components/aws/node-group-spec";
import {
  entryServiceManifest,
  httpScaledObjectManifest,
  replicaScaling,
  replicasOn,
  scaledObjectManifest,
  scalingQueries,
  type ReplicaScaling,
  type ReplicaScalingInput,
  type ScalingObjects,
} from "../../../components/k8s/autoscaling-spec";
import { METRICS, metricsIn } from "../../../components/k8s/metrics";
import { coldStart, ENGINE_INIT_EXPECTED_SECONDS, IMAGE_PULL_SECONDS, NODE_LAUNCH_SECONDS } from "../../../components/k8s/vllm-spec";
import { planDeployment } from "../../../sizing";
import { validate } from "../../support/models";

const distill = planDeployment({ model: "r1-distill-qwen-7b", concurrency: 16, maxTpotMs: 40 }).plan!;
const r1TwoNodes = planDeployment({ model: "deepseek-r1", gpus: ["h100"] }).plan!;
const cold = coldStart(distill.checkpoint.sizeOnDiskGB, "local-nvme", "hub");

const input = (extra: Partial<ReplicaScalingInput> = {}): ReplicaScalingInput => ({
  plan: distill,
  nodes: { min: 0, max: 2 },
  enabled: true,
  reservation: false,
  loadBalancer: false,
  prometheus: false,
  coldStart: cold,
  ...extra,
});
const scaling = (extra: Partial<ReplicaScalingInput> = {}) => {
  const result = replicaScaling(input(extra));
  if ("problems" in result) throw new Error(JSON.stringify(result.problems));
  return result.scaling;
};
const autoscaled = (s: ReplicaScaling) => {
  if (s.mode !== "autoscaled") throw new Error(`fixed: ${s.reason}`);
  return s;
};

const objects: ScalingObjects = {
  namespace: "assistant-vllm",
  modelName: "r1-distill-qwen-7b",
  target: { apiVersion: "apps/v1", kind: "Deployment", name: "assistant-vllm" },
  apiService: "assistant-vllm-api",
  apiPort: 8000,
  entryService: "assistant-vllm-entry",
  labels: { "app.kubernetes.io/name": "vllm" },
};

describe("cold start", () => {
  it("adds node launch, image pull, the download into an empty cache, the read and engine start", () => {
    // 15.2 GB of BF16 weights: 152 s from the Hub at 100 MB/s, 8 s from NVMe at 2 GB/s.
    expect(distill.checkpoint.sizeOnDiskGB).toBeCloseTo(15.2, 1);
    expect(cold).toEqual({
      nodeLaunchSeconds: NODE_LAUNCH_SECONDS,
      imagePullSeconds: IMAGE_PULL_SECONDS,
      downloadSeconds: Math.ceil((distill.checkpoint.sizeOnDiskGB * 1000) / 100),
      loadSeconds: Math.ceil((distill.checkpoint.sizeOnDiskGB * 1000) / 2000),
      engineInitSeconds: ENGINE_INIT_EXPECTED_SECONDS,
      totalSeconds: 240 + 143 + 152 + 8 + 120,
    });
    // The full R1 from the Hub: 688.6 GB at 100 MB/s is almost two hours, from S3 about 15 minutes.
    expect(coldStart(688.6, "local-nvme", "hub").downloadSeconds).toBe(6886);
    expect(coldStart(688.6, "local-nvme", "s3").downloadSeconds).toBe(Math.ceil(688_600 / 800));
    // A replica that lands on a running node skips the node and the image.
    expect(coldStart(15.2, "local-nvme", "hub", false)).toMatchObject({ nodeLaunchSeconds: 0, imagePullSeconds: 0 });
  });
});

describe("replica scaling", () => {
  it("scales between the replicas minNodes and maxNodes hold, with the plan's sequences per replica as target", () => {
    const s = autoscaled(scaling());
    expect(s).toMatchObject({ minReplicas: 0, maxReplicas: 2, initialReplicas: 0, initialNodes: 0, scaleToZero: true, triggers: { prometheus: false, requests: true } });
    expect(s.sequencesPerReplica).toBe(distill.performance.maxConcurrencyWithinTargets);
    expect(s.holdSeconds).toBe(Math.ceil(cold.totalSeconds * 1.5));
    // A non-streamed completion of max_model_len tokens at the plan's TPOT, with the same margin.
    expect(s.responseHeaderSeconds).toBe(Math.ceil(((distill.maxModelLen * distill.performance.tpotMs) / 1000) * 1.5));
    const monitored = autoscaled(scaling({ nodes: { min: 1, max: 3 }, prometheus: true }));
    expect(monitored).toMatchObject({ minReplicas: 1, maxReplicas: 3, initialNodes: 1, scaleToZero: false, holdSeconds: null, triggers: { prometheus: true, requests: false } });
  });
  it("counts replicas by nodes per replica and replicas per node", () => {
    expect(replicasOn({ nodesPerReplica: 2, replicasPerNode: 1 }, 5)).toBe(2);
    expect(replicasOn({ nodesPerReplica: 1, replicasPerNode: 4 }, 3)).toBe(12);
    const s = autoscaled(scaling({ plan: r1TwoNodes, nodes: { min: 2, max: 6 }, prometheus: true }));
    expect([s.minReplicas, s.maxReplicas]).toEqual([1, 3]);
  });
  it("stays fixed when off, on a reservation, or when the bounds hold one count", () => {
    expect(scaling({ enabled: false })).toEqual({ mode: "fixed", replicas: distill.replicas, reason: "autoscaling is off for the stack" });
    expect(scaling({ reservation: true })).toMatchObject({ mode: "fixed", reason: expect.stringContaining("paid for whether used or not") });
    expect(scaling({ nodes: { min: 1, max: 1 } })).toMatchObject({ mode: "fixed", reason: "minNodes and maxNodes hold the same 1 replica(s); raise maxNodes to scale on load" });
  });
  it("refuses zero behind a load balancer, load scaling without Prometheus, and bounds that hold no replica", () => {
    expect(replicaScaling(input({ loadBalancer: true }))).toEqual({
      problems: [
        {
          path: "placement.minNodes",
          message:
            "0 nodes scales to zero, but a load balancer sends requests straight to vLLM, which cannot hold them while a replica starts; keep minNodes at 1 or more, or turn the load balancer off",
        },
      ],
    });
    expect(replicaScaling(input({ nodes: { min: 1, max: 2 } }))).toEqual({
      problems: [
        {
          path: "placement.maxNodes",
          message:
            "scaling between 1 and 2 replicas reads vLLM's queue from Prometheus, which this stack does not run; turn monitoring on (llm-fleet:monitoring: true), or set maxNodes to minNodes for a fixed size",
        },
      ],
    });
    expect(replicaScaling(input({ plan: r1TwoNodes, nodes: { min: 0, max: 1 } }))).toEqual({
      problems: [{ path: "placement.maxNodes", message: "1 node(s) hold no replica of 2 node(s); set maxNodes to 2 or more" }],
    });
    // A maximum below what the planned load needs would never serve it.
    const busy = planDeployment({ model: "r1-distill-qwen-7b", concurrency: 200, maxTpotMs: 40 }).plan!;
    expect(busy.nodes).toBeGreaterThan(1);
    expect(replicaScaling(input({ plan: busy, nodes: { min: 0, max: 1 } }))).toEqual({
      problems: [
        {
          path: "placement.maxNodes",
          message: `1 node(s) hold 1 replica(s), but the workload needs ${busy.replicas} on ${busy.nodes} node(s); raise maxNodes to ${busy.nodes}, or lower the concurrency or throughput`,
        },
      ],
    });
  });
});

describe("KEDA objects", () => {
  it("a ScaledObject on vLLM's queue and KV cache, and on held requests at zero, valid against KEDA's schema", () => {
    const s = autoscaled(scaling({ prometheus: true }));
    const manifest = scaledObjectManifest(s, objects);
    expect(() => validate(manifest)).not.toThrow();
    expect(manifest.spec).toMatchObject({ minReplicaCount: 0, maxReplicaCount: 2, pollingInterval: 15, cooldownPeriod: 900 });
    expect(manifest.spec.triggers.map((t) => t.name)).toEqual(["sequences", "kv-cache", "requests"]);
    expect(manifest.spec.triggers[0]).toMatchObject({ metricType: "AverageValue", metadata: { threshold: String(s.sequencesPerReplica) } });
    // 0.81: with the HPA's 10 % tolerance a replica is added from 0.89, before preemption at 0.9.
    expect(manifest.spec.triggers[1]).toMatchObject({ metricType: "Value", metadata: { threshold: "0.81" } });
    expect(manifest.spec.advanced.horizontalPodAutoscalerConfig.behavior.scaleDown).toEqual({
      stabilizationWindowSeconds: 600,
      policies: [{ type: "Pods", value: 1, periodSeconds: 600 }],
    });
    // A broken trigger is caught by the same validation.
    expect(() => validate({ ...manifest, spec: { ...manifest.spec, triggers: [{ name: "x" }] } } as { kind: string })).toThrow();
  });
  it("reads only metrics vLLM exports, for this deployment's namespace and served model", () => {
    const q = scalingQueries(objects);
    expect(q.sequences).toBe(
      'sum(vllm:num_requests_running{namespace="assistant-vllm",model_name="r1-distill-qwen-7b"}) + sum(vllm:num_requests_waiting{namespace="assistant-vllm",model_name="r1-distill-qwen-7b"})',
    );
    expect(metricsIn(q.sequences)).toEqual(["vllm:num_requests_running", "vllm:num_requests_waiting"]);
    expect(metricsIn(q.kvCacheUsage)).toEqual(["vllm:kv_cache_usage_perc"]);
    for (const name of [...metricsIn(q.sequences), ...metricsIn(q.kvCacheUsage)]) expect(Object.keys(METRICS)).toContain(name);
  });
  it("an HTTPScaledObject and an entry Service for the interceptor at zero, the count left to the ScaledObject", () => {
    const s = autoscaled(scaling());
    const held = httpScaledObjectManifest(s, objects);
    expect(() => validate(held)).not.toThrow();
    expect(held.metadata.annotations).toEqual({ "httpscaledobject.keda.sh/skip-scaledobject-creation": "true" });
    expect(held.spec).toEqual({
      hosts: ["assistant-vllm-entry", "assistant-vllm-entry.assistant-vllm", "assistant-vllm-entry.assistant-vllm.svc", "assistant-vllm-entry.assistant-vllm.svc.cluster.local"],
      scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: "assistant-vllm", service: "assistant-vllm-api", port: 8000 },
      replicas: { min: 0, max: 2 },
      scalingMetric: { concurrency: { targetValue: s.sequencesPerReplica } },
      scaledownPeriod: 900,
      timeouts: { conditionWait: `${s.holdSeconds}s`, responseHeader: `${s.responseHeaderSeconds}s` },
    });
    const entry = entryServiceManifest(objects);
    expect(() => validate(entry)).not.toThrow();
    expect(entry.spec).toMatchObject({ type: "ExternalName", externalName: "keda-add-ons-http-interceptor-proxy.keda.svc.cluster.local", ports: [{ port: 8080 }] });
  });
});

describe("cluster autoscaler", () => {
  it("discovers a group by llm-fleet's tag and scales it from zero from the node-template tags", () => {
    const group = nodeGroupSpec({
      name: "r1-gpu",
      instanceType: "p5.48xlarge",
      region: "us-east-1",
      capacityType: "on-demand",
      scaling: { minSize: 0, desiredSize: 0, maxSize: 2 },
      nodesPerReplica: 2,
      amiFamily: "al2023",
      checkpointSizeGB: 688.6,
      model: "deepseek-r1",
      ssm: false,
      priceOverrides: [],
    });
    if ("problems" in group) throw new Error(JSON.stringify(group.problems));
    const tags = autoscalerTags(group.spec);
    expect(tags[0]).toEqual({ key: "llm-fleet.dev/autoscaled", value: "true" });
    expect(tags).toContainEqual({ key: "k8s.io/cluster-autoscaler/node-template/taint/nvidia.com/gpu", value: "true:NoSchedule" });
    expect(tags).toContainEqual({ key: "k8s.io/cluster-autoscaler/node-template/label/llm-fleet.dev/gpu", value: "h100" });
    // A pod that asks for the node's 32 EFA interfaces fits a template that has them.
    expect(tags).toContainEqual({ key: "k8s.io/cluster-autoscaler/node-template/resources/vpc.amazonaws.com/efa", value: "32" });
  });
  it("runs the release that matches the cluster's Kubernetes minor version, and says which are pinned", () => {
    expect(clusterAutoscalerImageTag("1.35")).toBe("v1.35.2");
    expect(clusterAutoscalerImageTag("1.34.5-eks-1234")).toBe("v1.34.5");
    expect(() => clusterAutoscalerImageTag("1.29")).toThrow("no cluster autoscaler release is pinned for Kubernetes 1.29; pinned: 1.33, 1.34, 1.35, 1.36");
  });
});

describe("charts", () => {
  const context: ChartContext = { gpuNodes: GPU_NODE_MARKS, clusterName: "llm-fleet-dev", region: "us-east-1", autoscaledTag: "llm-fleet.dev/autoscaled", fallbackGroupPattern: ".*-on-demand-node-group-.*", storageClassName: "llm-fleet-gp3" };
  it("every chart is pinned, its values pass its schema, and a chart comes after those it needs", () => {
    for (const id of CHART_IDS) {
      expect(chartProblems(id, CHARTS[id], CHARTS[id].values(context))).toEqual([]);
      for (const before of CHARTS[id].after) expect(CHART_IDS.indexOf(before)).toBeLessThan(CHART_IDS.indexOf(id));
    }
    expect(CHARTS["dcgm-exporter"].after).toEqual(["kube-prometheus-stack"]);
    expect(CHARTS["keda-add-ons-http"].after).toEqual(["keda"]);
  });
  it("points the autoscaler at this cluster's tagged groups and keeps the DCGM exporter on the GPU nodes", () => {
    expect(CHARTS["cluster-autoscaler"].values(context)).toMatchObject({
      awsRegion: "us-east-1",
      autoDiscovery: { clusterName: "llm-fleet-dev", tags: ["llm-fleet.dev/autoscaled", "k8s.io/cluster-autoscaler/llm-fleet-dev"] },
      extraArgs: { "skip-nodes-with-local-storage": "false" },
    });
    expect(CHARTS["dcgm-exporter"].values(context)).toMatchObject({
      tolerations: [{ key: "nvidia.com/gpu", operator: "Exists", effect: "NoSchedule" }],
      serviceMonitor: { enabled: true, honorLabels: true },
    });
    const prometheus = CHARTS["kube-prometheus-stack"].values(context) as any;
    expect(prometheus.prometheus.prometheusSpec).toMatchObject({ serviceMonitorSelectorNilUsesHelmValues: false, ruleSelectorNilUsesHelmValues: false });
    expect(prometheus.prometheus.prometheusSpec.storageSpec.volumeClaimTemplate.spec).toMatchObject({ storageClassName: "llm-fleet-gp3", resources: { requests: { storage: "50Gi" } } });
    // Without a storage class (an existing cluster), Prometheus keeps its data on an emptyDir.
    expect((CHARTS["kube-prometheus-stack"].values({ ...context, storageClassName: null }) as any).prometheus.prometheusSpec.storageSpec).toBeUndefined();
    expect(chartProblems("cluster-autoscaler", CHARTS["cluster-autoscaler"], { ...CHARTS["cluster-autoscaler"].values(context), awsRegion: "virginia" })).toEqual([
      { path: "charts.cluster-autoscaler.values.awsRegion", message: expect.stringContaining("Invalid string") },
    ]);
  });
});
