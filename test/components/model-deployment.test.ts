import { beforeAll, describe, expect, it } from "vitest";
import { GpuCluster } from "../../components/aws/gpu-cluster";
import { combinedAddons, deploymentSpec } from "../../components/deployment-spec";
import { ModelDeployment } from "../../components/model-deployment";
import { InputError } from "../../sizing";
import { one, ofType, recorded, registeredUrns, settle, valueOf } from "../support/pulumi";

const NO_ADDONS = {
  nvidiaDevicePlugin: false,
  leaderWorkerSet: false,
  efaDevicePlugin: false,
  replicaAutoscaler: false,
  requestHolder: false,
  nodeAutoscaler: false,
  monitoring: false,
};

describe("deploymentSpec", () => {
  const spec = (input: Parameters<typeof deploymentSpec>[0]) => {
    const result = deploymentSpec(input);
    if ("problems" in result) throw new Error(JSON.stringify(result.problems));
    return result.spec;
  };

  it("turns a plan into matching node group arguments, node shape and add-on needs", () => {
    const s = spec({ name: "r1-gpu", model: "deepseek-r1", placement: { gpus: ["h100"] }, region: "us-east-1" });
    expect(s.nodeGroupArgs).toEqual({
      instanceType: "p5.48xlarge",
      capacityType: "on-demand",
      scaling: { minSize: 2, desiredSize: 2, maxSize: 2 },
      nodesPerReplica: 2,
      checkpointSizeGB: 688.6,
      model: "deepseek-r1",
      amiFamily: "al2023",
      capacityReservationId: undefined,
      capacityBlockWindow: undefined,
      availabilityZone: undefined,
      autoscaled: false,
      plannedNodes: 2,
    });
    // TP 8 x PP 2 over two 8-GPU nodes: the node group gives exactly that, with EFA on.
    expect(s.plan.tensorParallelSize * s.plan.pipelineParallelSize).toBe(s.node.gpus * s.plan.nodesPerReplica);
    expect(s.nodeGroup.efa).toBe(true);
    expect(s.node).toMatchObject({ gpus: 8, efaInterfaces: 32, localNvmeForWeights: true });
    expect(s.addons).toEqual({ ...NO_ADDONS, nvidiaDevicePlugin: true, leaderWorkerSet: true, efaDevicePlugin: true });
    // minNodes and maxNodes default to the plan's nodes: nothing to scale between.
    expect(s.scaling).toEqual({ mode: "fixed", replicas: 1, reason: "minNodes and maxNodes hold the same 1 replica(s); raise maxNodes to scale on load" });
  });

  it("lets a dev group scale to zero", () => {
    const s = spec({ name: "dev-gpu", model: "r1-distill-qwen-7b", placement: { capacityType: "spot", minNodes: 0, maxNodes: 2 }, region: "us-east-1" });
    // Created at its minimum: the autoscaler adds a node when the first request needs a replica.
    expect(s.nodeGroupArgs.scaling).toEqual({ minSize: 0, desiredSize: 0, maxSize: 2 });
    expect(s.nodeGroupArgs.autoscaled).toBe(true);
    expect(s.nodeGroup.capacityType).toBe("SPOT");
    expect(s.scaling).toMatchObject({ mode: "autoscaled", minReplicas: 0, maxReplicas: 2, scaleToZero: true, triggers: { prometheus: false, requests: true } });
    expect(s.addons).toMatchObject({ replicaAutoscaler: true, requestHolder: true, nodeAutoscaler: true, monitoring: false });
    // Spot first: an on-demand group of the same type behind it, empty, with the same selector label.
    expect(s.fallback).toMatchObject({
      name: "dev-gpu-on-demand",
      nodeGroupArgs: { capacityType: "on-demand", scaling: { minSize: 0, desiredSize: 0, maxSize: 2 }, plannedNodes: 0, fallbackFor: "dev-gpu", autoscaled: true },
      nodeGroup: { capacityType: "ON_DEMAND", nodeSelector: { "llm-fleet.dev/node-group": "dev-gpu" } },
    });
    expect(s.fallback!.nodeGroup.labels["llm-fleet.dev/node-group"]).toBe("dev-gpu");
    expect(spec({ name: "dev-gpu", model: "r1-distill-qwen-7b", placement: { capacityType: "spot", minNodes: 0, maxNodes: 2, onDemandFallback: false }, region: "us-east-1" }).fallback).toBeNull();
    // With autoscaling off, the group runs the plan's node from the start.
    const fixed = spec({ name: "dev-gpu", model: "r1-distill-qwen-7b", placement: { capacityType: "spot", minNodes: 0, maxNodes: 2 }, region: "us-east-1", operations: { autoscaling: false } });
    expect(fixed.nodeGroupArgs.scaling).toEqual({ minSize: 0, desiredSize: 1, maxSize: 2 });
    expect(fixed.scaling).toEqual({ mode: "fixed", replicas: 1, reason: "autoscaling is off for the stack" });
    expect(fixed.fallback).toBeNull();
  });

  it("combines the add-on needs of several deployments into one install", () => {
    const a = spec({ name: "a-gpu", model: "r1-distill-qwen-7b", region: "us-east-1", placement: { amiFamily: "bottlerocket" } });
    const b = spec({ name: "b-gpu", model: "deepseek-r1", placement: { gpus: ["h100"] }, region: "us-east-1" });
    expect(combinedAddons([a])).toEqual(NO_ADDONS);
    expect(combinedAddons([a, b])).toEqual({ ...NO_ADDONS, nvidiaDevicePlugin: true, leaderWorkerSet: true, efaDevicePlugin: true });
    const c = spec({ name: "c-gpu", model: "r1-distill-qwen-7b", region: "us-east-1", placement: { minNodes: 1, maxNodes: 3 }, operations: { monitoring: true } });
    expect(combinedAddons([a, c])).toEqual({ ...NO_ADDONS, nvidiaDevicePlugin: true, replicaAutoscaler: true, nodeAutoscaler: true, monitoring: true });
  });

  it("gives the planner's explanation when nothing fits", () => {
    const result = deploymentSpec({ name: "x-gpu", model: "deepseek-r1", placement: { gpus: ["a100-80gb"] }, region: "us-east-1" });
    expect("problems" in result && result.problems).toEqual([
      {
        path: "model",
        message: expect.stringContaining("nothing fits DeepSeek-R1 at max_model_len 32768 for 1 sequence(s) in us-east-1 (on-demand). closest: 1 x p4de.24xlarge"),
      },
    ]);
  });

  it("names bad fields where the deployment spells them", () => {
    const result = deploymentSpec({ name: "x-gpu", model: "deepseek-r1", workload: { maxModelLen: -5 }, placement: { gpus: ["h10"] }, region: "us-east-1" });
    expect("problems" in result && result.problems.map((p) => p.path)).toEqual(["workload.maxModelLen", "placement.gpus.0"]);
  });
});

describe("ModelDeployment", () => {
  const cluster = new GpuCluster("fleet", { publicAccessCidrs: ["34.200.10.7/32"] });
  const r1 = new ModelDeployment("r1", {
    cluster,
    model: "deepseek-r1",
    placement: { gpus: ["h100"] },
    serving: { apiKey: "sk-example", requireApiKey: true },
  });
  beforeAll(settle);

  it("creates the node group, the add-ons and the server the plan calls for", () => {
    expect(one("aws:eks/nodeGroup:NodeGroup", "r1-gpu-node-group").inputs).toMatchObject({
      instanceTypes: ["p5.48xlarge"],
      scalingConfig: { minSize: 2, desiredSize: 2, maxSize: 2 },
      labels: { "llm-fleet.dev/node-group": "r1-gpu", "llm-fleet.dev/model": "deepseek-r1", "llm-fleet.dev/gpu": "h100" },
    });
    expect(ofType("kubernetes:helm.sh/v3:Release", "r1-addons-").map((r) => r.inputs.name).sort()).toEqual(["aws-efa-k8s-device-plugin", "lws", "nvidia-device-plugin"]);
    const lws = one("kubernetes:leaderworkerset.x-k8s.io/v1:LeaderWorkerSet", "r1-vllm-leader-worker-set").inputs;
    const leader = lws.spec.leaderWorkerTemplate.leaderTemplate.spec;
    expect(lws.spec.leaderWorkerTemplate.size).toBe(2);
    // The pods carry the node group's selector and tolerations, and claim what the nodes have.
    expect(leader.nodeSelector).toEqual({ "llm-fleet.dev/node-group": "r1-gpu" });
    expect(leader.tolerations).toEqual([{ key: "nvidia.com/gpu", operator: "Equal", value: "true", effect: "NoSchedule" }]);
    expect(leader.containers[0].resources.limits).toEqual({ "nvidia.com/gpu": "8", "vpc.amazonaws.com/efa": "32" });
  });

  it("outputs the plan, the endpoint and the cost", async () => {
    expect(r1.plan).toMatchObject({ instanceType: "p5.48xlarge", nodes: 2, tensorParallelSize: 8, pipelineParallelSize: 2 });
    expect(await valueOf(r1.endpoint)).toBe("http://r1-vllm-api.r1-vllm.svc.cluster.local:8000/v1");
    expect(r1.cost?.desired).toEqual({ usdPerHour: 110.08, usdPerMonth: 110.08 * 730 });
  });

  it("parents everything under the deployment", () => {
    const children = registeredUrns().filter((u) => u.includes("llm-fleet:index:ModelDeployment$"));
    expect(children.some((u) => u.endsWith("::r1-gpu"))).toBe(true);
    expect(children.some((u) => u.endsWith("::r1-vllm"))).toBe(true);
    expect(children.some((u) => u.endsWith("::r1-addons"))).toBe(true);
  });

  it("registers nothing when nothing fits, or the server's arguments are bad", async () => {
    await settle();
    const before = recorded.length;
    expect(() => new ModelDeployment("nofit", { cluster, model: "deepseek-r1", placement: { gpus: ["a100-80gb"] } })).toThrow(InputError);
    expect(() => new ModelDeployment("nokey", { cluster, model: "r1-distill-qwen-7b", serving: { requireApiKey: true } })).toThrow(
      "serving.apiKey: this endpoint requires an API key",
    );
    // Autoscaled GPU nodes need the cluster autoscaler's role, which this cluster was made without.
    expect(() => new ModelDeployment("idle", { cluster, model: "r1-distill-qwen-7b", placement: { minNodes: 0, maxNodes: 2 } })).toThrow(
      "cluster: this deployment autoscales its GPU nodes, but the cluster has no role for the cluster autoscaler: create the GpuCluster with nodeAutoscaler: true, or set autoscaling: false",
    );
    await settle();
    expect(recorded.length).toBe(before);
  });
});

describe("ModelDeployment that scales to zero, with monitoring, on an existing cluster", () => {
  const cluster = new GpuCluster("shared", { mode: "existing", clusterName: "shared-gpu", nodeAutoscaler: true });
  const d = new ModelDeployment("chat", {
    cluster,
    model: "r1-distill-qwen-7b",
    workload: { concurrency: 8, maxTpotMs: 40, maxTtftMs: 1000 },
    placement: { minNodes: 0, maxNodes: 3 },
    serving: { storageClassName: "gp3" },
    monitoring: true,
  });
  beforeAll(settle);

  it("installs KEDA, its HTTP add-on, the cluster autoscaler of the cluster's minor version and the monitoring stack", () => {
    expect(ofType("kubernetes:helm.sh/v3:Release", "chat-addons-").map((r) => r.inputs.name).sort()).toEqual([
      "cluster-autoscaler",
      "dcgm-exporter",
      "keda",
      "keda-add-ons-http",
      "kube-prometheus-stack",
      "nvidia-device-plugin",
    ]);
    // The existing cluster runs Kubernetes 1.34 (its getCluster answer): the autoscaler follows.
    expect(one("kubernetes:helm.sh/v3:Release", "chat-addons-cluster-autoscaler").inputs.values).toMatchObject({
      autoDiscovery: { clusterName: "shared-gpu" },
      image: { tag: "v1.34.5" },
    });
  });

  it("starts at zero pods and nodes, scales on the queue and on held requests, and watches the plan's figures", async () => {
    expect(one("aws:eks/nodeGroup:NodeGroup", "chat-gpu-node-group").inputs.scalingConfig).toEqual({ minSize: 0, desiredSize: 0, maxSize: 3 });
    expect(one("kubernetes:apps/v1:Deployment", "chat-vllm-deployment").inputs.spec.replicas).toBe(0);
    const triggers = one("kubernetes:keda.sh/v1alpha1:ScaledObject", "chat-vllm-scaled-object").inputs.spec.triggers.map((t: { type: string }) => t.type);
    expect(triggers).toEqual(["prometheus", "prometheus", "external-push"]);
    expect(await valueOf(d.endpoint)).toBe("http://chat-vllm-entry.chat-vllm.svc.cluster.local:8080/v1");
    const rules = one("kubernetes:monitoring.coreos.com/v1:PrometheusRule", "chat-monitoring-alerts").inputs;
    const tpot = rules.spec.groups[0].rules.find((r: { alert: string }) => r.alert === "VllmTpotAboveTarget");
    expect(tpot.expr).toContain("> 0.04");
    const dashboard = one("kubernetes:core/v1:ConfigMap", "chat-monitoring-dashboard").inputs;
    expect(dashboard.metadata).toMatchObject({ namespace: "chat-vllm", labels: { grafana_dashboard: "1" } });
    expect(JSON.parse(dashboard.data["chat-vllm.json"]).title).toBe("llm-fleet · chat-vllm");
  });
});
