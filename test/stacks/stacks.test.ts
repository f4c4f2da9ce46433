import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { describe, expect, it } from "vitest";
import { readStackFile, runOffline, type RecordedResource } from "../../cli/offline";
import { costPreview } from "../../policy/policies";
import { policyResources } from "../../policy/run";
import { parseStackConfig } from "../../stacks/config";
import { planStack } from "../../stacks/plan";
import { PRESETS, PRESET_IDS } from "../../stacks/presets";
import { runProgram, stackPlanFromConfig, StackConfigError } from "../../stacks/program";
import { benchmarkJobManifest, stackServer } from "../../components/k8s/benchmark-spec";
import { validate } from "../support/models";
import { GPUS } from "../../sizing";

const STACKS = join(__dirname, "../../stacks");
const flat = (config: Record<string, unknown>) =>
  Object.fromEntries(Object.entries(config).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)]));
/** A deployer's address, as `pulumi up` needs it for a new cluster (not a documentation range). */
const DEPLOYER = ["34.200.10.7/32"];
const base = { "aws:region": "us-east-1", "llm-fleet:environment": "dev", "llm-fleet:cluster": { mode: "new", publicAccessCidrs: DEPLOYER } };

async function run(stack: string, config: Record<string, string>, secretKeys: string[] = []) {
  return runOffline(stack, config, secretKeys, () => ({ plan: stackPlanFromConfig(), outputs: runProgram() }));
}
const types = (resources: RecordedResource[], prefix: string) => resources.filter((r) => r.name.startsWith(prefix)).map((r) => r.type);

describe("the shipped stacks under mocks", () => {
  it("dev: the 7B distill on Spot, at zero pods and zero GPU nodes when idle, within a $5,000 budget", async () => {
    const { config, secretKeys } = readStackFile(join(STACKS, "Pulumi.dev.yaml"));
    const { outputs, resources } = await run("dev", config, secretKeys);
    const ng = resources.find((r) => r.name === "assistant-gpu-node-group")!;
    expect(ng.inputs).toMatchObject({ capacityType: "SPOT", instanceTypes: ["g5.xlarge"], scalingConfig: { minSize: 0, desiredSize: 0, maxSize: 2 } });
    expect(ng.parent).toBe("assistant-gpu");
    expect(resources.find((r) => r.name === "assistant-gpu")!.parent).toBe("assistant");
    const deployment = resources.find((r) => r.name === "assistant-vllm-deployment")!.inputs as any;
    expect(deployment.spec.replicas).toBe(0);
    expect(outputs.plan.budget).toMatchObject({ usdPerMonth: 5000, passed: true });
    // Idle: the control plane, NAT and system nodes (2 x 50 GiB gp3), the NAT's public IPv4, the KMS key; no GPU node.
    expect(outputs.plan.cost.desiredUsdPerMonth).toBeCloseTo((0.1 + 0.045 + 0.2016 + 0.005) * 730 + 100 * 0.08 + 1, 6);
    // Busy: one g5.xlarge (Spot, priced at its on-demand ceiling) and its 100 GiB root volume on top.
    expect(outputs.plan.cost.activeUsdPerHour - outputs.plan.cost.desiredUsdPerHour).toBeCloseTo(1.006 + (100 * 0.08) / 730, 9);
    // The budget holds at that load, and the policy pack sees the same figure through the group's tag.
    expect(outputs.plan.budget.message).toBe("dev: $1,008/month busy at the planned load is within the $5,000 budget ($266/month idle at desired size, $1,828 at maximum size)");
    const pack = costPreview(policyResources(resources), { region: "us-east-1", environment: "dev" });
    expect(pack.activeUsdPerHour).toBeCloseTo(outputs.plan.cost.activeUsdPerHour, 9);
    expect(pack.desiredUsdPerHour).toBeCloseTo(outputs.plan.cost.desiredUsdPerHour, 9);
    // Monitoring is off in dev.
    expect(resources.filter((r) => r.type === "kubernetes:helm.sh/v3:Release").map((r) => r.inputs.name).sort()).toEqual([
      "cluster-autoscaler",
      "keda",
      "keda-add-ons-http",
      "nvidia-device-plugin",
    ]);
    expect(resources.filter((r) => r.type.startsWith("kubernetes:monitoring.coreos.com"))).toEqual([]);
    // The shipped file leaves the deployer's address to the operator: a preview goes on, `up` stops.
    expect(resources.find((r) => r.name === "cluster-cluster")!.inputs.vpcConfig).toMatchObject({ endpointPublicAccess: true });
  });

  it("dev scales to zero: KEDA between 0 and 2 replicas on requests held by the interceptor, the nodes after them", async () => {
    const { config, secretKeys } = readStackFile(join(STACKS, "Pulumi.dev.yaml"));
    const { outputs, resources } = await run("dev", config, secretKeys);
    const d = outputs.plan.deployments[0]!;
    const target = d.spec.plan.performance.maxConcurrencyWithinTargets;
    const scaled = resources.find((r) => r.name === "assistant-vllm-scaled-object")!.inputs as any;
    expect(scaled.spec).toMatchObject({
      scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: "assistant-vllm" },
      minReplicaCount: 0,
      maxReplicaCount: 2,
      cooldownPeriod: 900,
    });
    expect(scaled.spec.triggers).toEqual([
      { type: "external-push", name: "requests", metadata: { scalerAddress: "keda-add-ons-http-external-scaler.keda:9090", httpScaledObject: "assistant-vllm" } },
    ]);
    const held = resources.find((r) => r.name === "assistant-vllm-http-scaled-object")!.inputs as any;
    expect(held.metadata.annotations).toEqual({ "httpscaledobject.keda.sh/skip-scaledobject-creation": "true" });
    expect(held.spec).toMatchObject({
      hosts: expect.arrayContaining(["assistant-vllm-entry", "assistant-vllm-entry.assistant-vllm.svc.cluster.local"]),
      scaleTargetRef: { name: "assistant-vllm", service: "assistant-vllm-api", port: 8000 },
      replicas: { min: 0, max: 2 },
      scalingMetric: { concurrency: { targetValue: target } },
    });
    const scaling = d.spec.scaling;
    if (scaling.mode !== "autoscaled") throw new Error("dev is autoscaled");
    expect(held.spec.timeouts.conditionWait).toBe(`${scaling.holdSeconds}s`);
    expect(scaling.holdSeconds).toBe(Math.ceil(scaling.coldStart.totalSeconds * 1.5));
    // Clients call the interceptor by a name of the deployment's own, which it routes by host.
    const entry = resources.find((r) => r.name === "assistant-vllm-entry")!.inputs as any;
    expect(entry.spec).toMatchObject({ type: "ExternalName", externalName: "keda-add-ons-http-interceptor-proxy.keda.svc.cluster.local" });
    const endpoint = await new Promise((resolve) => (outputs.outputs.deployments.assistant!.endpoint as any).apply(resolve));
    expect(endpoint).toBe("http://assistant-vllm-entry.assistant-vllm.svc.cluster.local:8080/v1");
    // The GPU group is discovered by the autoscaler and can be scaled up from zero.
    const tags = resources.filter((r) => r.type === "aws:autoscaling/tag:Tag").map((r) => (r.inputs as any).tag);
    expect(tags).toContainEqual({ key: "llm-fleet.dev/autoscaled", value: "true", propagateAtLaunch: false });
    expect(tags).toContainEqual({ key: "k8s.io/cluster-autoscaler/node-template/taint/nvidia.com/gpu", value: "true:NoSchedule", propagateAtLaunch: false });
    expect((resources.find((r) => r.name === "assistant-gpu-node-group")!.inputs as any).labels).toMatchObject({ "llm-fleet.dev/gpu": "a10g" });
    // Spot first, on demand when Spot cannot launch: a second group with the same selector label, tagged as the fallback.
    const backup = resources.find((r) => r.name === "assistant-gpu-on-demand-node-group")!.inputs as any;
    expect(backup).toMatchObject({ capacityType: "ON_DEMAND", scalingConfig: { minSize: 0, desiredSize: 0, maxSize: 2 }, labels: { "llm-fleet.dev/node-group": "assistant-gpu" } });
    expect(backup.tags).toMatchObject({ "llm-fleet.dev/fallback-for": "assistant-gpu", "llm-fleet.dev/planned-nodes": "0" });
    const autoscaler = resources.find((r) => r.name === "addons-cluster-autoscaler")!.inputs as any;
    expect(autoscaler.values.extraArgs.expander).toBe("priority,least-waste");
    expect(autoscaler.values.expanderPriorities).toEqual({ 10: [".*-on-demand-node-group-.*"], 50: [".*"] });
    expect(autoscaler.values).toMatchObject({
      awsRegion: "us-east-1",
      autoDiscovery: { clusterName: "llm-fleet-dev", tags: ["llm-fleet.dev/autoscaled", "k8s.io/cluster-autoscaler/llm-fleet-dev"] },
      image: { tag: "v1.35.2" },
    });
    expect(resources.find((r) => r.name === "addons-cluster-autoscaler")!.dependsOn).toContain("cluster-cluster-autoscaler");
    const policy = JSON.parse((resources.find((r) => r.name === "cluster-cluster-autoscaler" && r.type === "aws:iam/rolePolicy:RolePolicy")!.inputs as any).policy);
    expect(policy.Statement[1]).toMatchObject({
      Action: ["autoscaling:SetDesiredCapacity", "autoscaling:TerminateInstanceInAutoScalingGroup"],
      Condition: { StringEquals: { "aws:ResourceTag/k8s.io/cluster-autoscaler/llm-fleet-dev": "owned", "aws:ResourceTag/llm-fleet.dev/autoscaled": "true" } },
    });
    expect(resources.find((r) => r.type === "aws:eks/podIdentityAssociation:PodIdentityAssociation" && r.name === "cluster-cluster-autoscaler")!.inputs).toMatchObject({
      namespace: "kube-system",
      serviceAccount: "cluster-autoscaler",
    });
  });

  it("a negotiated Spot price below on demand: the fallback's maximum is the difference, in the plan and the pack alike", async () => {
    const prices = [{ instanceType: "g5.xlarge", capacityType: "spot", usdPerHour: 0.4 }];
    const config = flat({ ...base, "llm-fleet:prices": prices, "llm-fleet:deployments": [{ name: "assistant", preset: "assistant-7b", placement: { maxNodes: 2 } }] });
    const { outputs, resources } = await run("dev", config);
    const item = outputs.plan.cost.items.find((i) => i.resource === "assistant-gpu-on-demand")!;
    expect(item.maxUsdPerHour).toBeCloseTo((1.006 - 0.4) * 2, 9);
    const pack = costPreview(policyResources(resources), { region: "us-east-1", environment: "dev", priceOverrides: prices as any });
    expect(pack.items.find((i) => i.resource === "assistant-gpu-on-demand-node-group")!.maxUsdPerHour).toBeCloseTo((1.006 - 0.4) * 2, 9);
    expect(pack.maxUsdPerHour).toBeCloseTo(outputs.plan.cost.maxUsdPerHour, 9);
    expect(pack.activeUsdPerHour).toBeCloseTo(outputs.plan.cost.activeUsdPerHour, 9);
  });

  it("staging and prod: monitoring on, replicas between 1 and 2 on vLLM's queue and KV cache, read from Prometheus", async () => {
    for (const env of ["staging", "prod"] as const) {
      const { config, secretKeys } = readStackFile(join(STACKS, `Pulumi.${env}.yaml`));
      const { outputs, resources } = await run(env, { ...config, "llm-fleet:apiKey": "sk-test" }, [...secretKeys, "llm-fleet:apiKey"]);
      const d = outputs.plan.deployments[0]!;
      const server = `${d.name}-vllm`;
      const names = resources.filter((r) => r.type === "kubernetes:helm.sh/v3:Release").map((r) => r.inputs.name);
      expect(names).toEqual(expect.arrayContaining(["kube-prometheus-stack", "dcgm-exporter", "keda", "cluster-autoscaler"]));
      expect(names).not.toContain("keda-add-ons-http");
      const dcgm = resources.find((r) => r.name === "addons-dcgm-exporter")!;
      expect(dcgm.dependsOn).toContain("addons-kube-prometheus-stack");
      expect(types(resources, d.name)).toEqual(
        expect.arrayContaining([
          "kubernetes:monitoring.coreos.com/v1:ServiceMonitor",
          "kubernetes:monitoring.coreos.com/v1:PrometheusRule",
          "kubernetes:core/v1:ConfigMap",
          "kubernetes:keda.sh/v1alpha1:ScaledObject",
        ]),
      );
      const scaled = resources.find((r) => r.name === `${server}-scaled-object`)!.inputs as any;
      expect(scaled.spec).toMatchObject({ minReplicaCount: 1, maxReplicaCount: 2 });
      const [sequences, kv] = scaled.spec.triggers;
      expect(sequences).toMatchObject({ type: "prometheus", metricType: "AverageValue", metadata: { threshold: String(d.spec.plan.performance.maxConcurrencyWithinTargets) } });
      expect(sequences.metadata.query).toBe(
        `sum(vllm:num_requests_running{namespace="${server}",model_name="${d.spec.plan.model}"}) + sum(vllm:num_requests_waiting{namespace="${server}",model_name="${d.spec.plan.model}"})`,
      );
      expect(kv).toMatchObject({ type: "prometheus", metricType: "Value", metadata: { threshold: "0.81" } });
      expect(resources.find((r) => r.name === `${server}-deployment`)!.inputs).toMatchObject({ spec: { replicas: 1 } });
      const group = resources.find((r) => r.name === `${d.name}-gpu-node-group`)!.inputs as any;
      expect(group.scalingConfig).toEqual({ minSize: 1, desiredSize: 1, maxSize: 2 });
      // The Prometheus volume is priced by the stack and by the policy pack alike.
      expect(outputs.plan.cost.items.find((i) => i.resource === "addons")!.what).toBe("Prometheus: 50 GiB gp3 volume");
      const pack = costPreview(policyResources(resources), { region: "us-east-1", environment: env });
      expect(pack.desiredUsdPerHour).toBeCloseTo(outputs.plan.cost.desiredUsdPerHour, 9);
      expect(pack.maxUsdPerHour).toBeCloseTo(outputs.plan.cost.maxUsdPerHour, 9);
      expect(pack.activeUsdPerHour).toBeCloseTo(outputs.plan.cost.activeUsdPerHour, 9);
    }
  });

  it("a first up installs the add-ons after the system nodes they run on, with time for a node group to join", async () => {
    const { config, secretKeys } = readStackFile(join(STACKS, "Pulumi.dev.yaml"));
    const { resources } = await run("dev", config, secretKeys);
    const releases = resources.filter((r) => r.type === "kubernetes:helm.sh/v3:Release");
    expect(releases.length).toBeGreaterThan(0);
    for (const release of releases) {
      expect(release.dependsOn).toContain("cluster-system-node-group");
      expect(release.inputs.timeout).toBe(900);
    }
    // The server waits for the releases (the LWS CRD among them, where there is one).
    const server = resources.find((r) => r.name === "assistant-vllm-deployment")!;
    expect(server.dependsOn).toEqual(expect.arrayContaining(releases.map((r) => r.name)));
  });

  it("a volume cache gets the EBS CSI driver, its Pod Identity role and the gp3 class; another class name is refused", async () => {
    const withVolume = (storageClassName: string) =>
      flat({ ...base, "llm-fleet:deployments": [{ name: "d", preset: "edge-1.5b", serving: { storageClassName } }] });
    const { resources } = await run("dev", withVolume("llm-fleet-gp3"));
    expect(resources.find((r) => r.name === "cluster-ebs-csi-driver")!.inputs).toMatchObject({
      addonName: "aws-ebs-csi-driver",
      podIdentityAssociations: [{ serviceAccount: "ebs-csi-controller-sa" }],
    });
    const role = resources.find((r) => r.name === "cluster-ebs-csi-role")!;
    expect(JSON.parse(role.inputs.assumeRolePolicy as string).Statement[0]).toEqual({
      Effect: "Allow",
      Principal: { Service: "pods.eks.amazonaws.com" },
      Action: ["sts:AssumeRole", "sts:TagSession"],
    });
    expect(resources.find((r) => r.name === "cluster-ebs-csi-AmazonEBSCSIDriverPolicy")!.inputs.policyArn).toBe("arn:aws:iam::aws:policy/service-role/AmazonEBSCSIDriverPolicy");
    expect(resources.find((r) => r.name === "cluster-gp3")!.inputs).toMatchObject({
      metadata: { name: "llm-fleet-gp3" },
      provisioner: "ebs.csi.aws.com",
      parameters: { type: "gp3", encrypted: "true" },
      volumeBindingMode: "WaitForFirstConsumer",
    });
    expect(resources.find((r) => r.name === "cluster-gp3")!.dependsOn).toContain("cluster-ebs-csi-driver");
    const parsed = parseStackConfig(withVolume("gp2"));
    if ("problems" in parsed) throw new Error(JSON.stringify(parsed.problems));
    const planned = planStack(parsed.config, "us-east-1");
    expect("problems" in planned && planned.problems).toEqual([
      {
        path: "llm-fleet:deployments.0.serving.storageClassName",
        message: 'a new cluster has one StorageClass, llm-fleet-gp3 (gp3 through the EBS CSI driver it installs); "gp2" does not exist there: use llm-fleet-gp3 or leave it out',
      },
    ]);
  });

  it("no EBS CSI driver where every cache sits on local NVMe, and a ServiceMonitor is refused on a new cluster without monitoring", async () => {
    const { config, secretKeys } = readStackFile(join(STACKS, "Pulumi.dev.yaml"));
    const { resources } = await run("dev", config, secretKeys);
    expect(resources.find((r) => r.name === "cluster-ebs-csi-driver")).toBeUndefined();
    const parsed = parseStackConfig(flat({ ...base, "llm-fleet:deployments": [{ name: "m", preset: "edge-1.5b", serving: { serviceMonitor: true } }] }));
    if ("problems" in parsed) throw new Error(JSON.stringify(parsed.problems));
    const planned = planStack(parsed.config, "us-east-1");
    expect("problems" in planned && planned.problems).toEqual([
      {
        path: "llm-fleet:deployments.0.serving.serviceMonitor",
        message:
          "monitoring is off, so the new cluster has no Prometheus Operator and a ServiceMonitor has no CRD to apply to; set llm-fleet:monitoring: true (kube-prometheus-stack is installed), or serviceMonitor: false",
      },
    ]);
    const monitored = parseStackConfig(flat({ ...base, "llm-fleet:monitoring": true, "llm-fleet:deployments": [{ name: "m", preset: "edge-1.5b", serving: { serviceMonitor: true } }] }));
    expect("config" in monitored && "plan" in planStack(monitored.config, "us-east-1")).toBe(true);
  });

  it("benchmark: true creates the same vllm bench serve Job llm-fleet bench writes, after the server", async () => {
    const config = flat({ ...base, "llm-fleet:deployments": [{ name: "assistant", preset: "assistant-7b", placement: { maxNodes: 2 }, benchmark: true }] });
    const { outputs, resources } = await run("dev", config);
    const job = resources.find((r) => r.type === "kubernetes:batch/v1:Job")!;
    expect(job.name).toBe("assistant-bench-job");
    expect(job.dependsOn).toContain("assistant-vllm-deployment");
    const d = outputs.plan.deployments[0]!;
    const expected = benchmarkJobManifest({
      deployment: "assistant",
      plan: d.spec.plan,
      server: stackServer("assistant", d.spec.plan),
      concurrency: 16,
      scaling: d.spec.scaling,
      hasApiKey: false,
      hasHfToken: false,
    });
    // The same Job, kept until the stack removes it (no TTL, so a refresh never runs it again).
    const { ttlSecondsAfterFinished, ...kept } = expected.spec;
    expect(ttlSecondsAfterFinished).toBe(86_400);
    expect((job.inputs as any).spec).toEqual(JSON.parse(JSON.stringify(kept)));
    expect(JSON.stringify((job.inputs as any).spec)).toContain("http://assistant-vllm-entry.assistant-vllm.svc.cluster.local:8080");
    expect(() => validate({ ...(job.inputs as any), apiVersion: "batch/v1", kind: "Job" })).not.toThrow();
  });

  it("a calibration moves the deployed node group with the plan, not only the preview", async () => {
    // The A10G measured 15 % slower than predicted: 38.8 ms x 1.15 misses the preset's 40 ms.
    const calibration = [{ model: "r1-distill-qwen-7b", gpu: "a10g", tpotFactor: 1.15, ttftFactor: 1.237, measuredAt: "2026-11-02T14:05:12", runs: 1 }];
    const config = flat({ ...base, "llm-fleet:calibration": calibration, "llm-fleet:deployments": [{ name: "assistant", preset: "assistant-7b", placement: { maxNodes: 2 } }] });
    const { outputs, resources } = await run("dev", config);
    const plan = outputs.plan.deployments[0]!.spec.plan;
    expect(plan.instanceType).not.toBe("g5.xlarge");
    expect((resources.find((r) => r.name === "assistant-gpu-node-group")!.inputs as any).instanceTypes).toEqual([plan.instanceType]);
  });

  it("an existing cluster gets monitoring only when asked, since it may run its own Prometheus stack", () => {
    const existing = (extra: Record<string, unknown> = {}) => {
      const parsed = parseStackConfig(
        flat({ ...base, ...extra, "llm-fleet:environment": "staging", "llm-fleet:cluster": { mode: "existing", clusterName: "shared-gpu" }, "llm-fleet:deployments": [{ name: "m", preset: "edge-1.5b" }] }),
      );
      if ("problems" in parsed) throw new Error(JSON.stringify(parsed.problems));
      const planned = planStack(parsed.config, "us-east-1");
      if ("problems" in planned) throw new Error(JSON.stringify(planned.problems));
      return planned.plan.operations;
    };
    expect(existing()).toEqual({ autoscaling: true, monitoring: false });
    expect(existing({ "llm-fleet:monitoring": true })).toEqual({ autoscaling: true, monitoring: true });
    expect(existing({ "llm-fleet:autoscaling": false })).toEqual({ autoscaling: false, monitoring: false });
  });

  it("a Capacity Block that starts later: an empty group, scheduled up, a workload that does not wait for pods, priced at the block", async () => {
    const config = flat({
      ...base,
      "llm-fleet:environment": "staging",
      "llm-fleet:prices": [{ instanceType: "p5.48xlarge", usdPerHour: 31.464 }],
      "llm-fleet:deployments": [
        {
          name: "cb",
          model: "deepseek-r1",
          workload: { precisions: ["int4"] },
          placement: {
            instanceTypes: ["p5.48xlarge"],
            capacityType: "capacity-block",
            capacityReservationId: "cr-0123456789abcdef0",
            availabilityZone: "us-east-1a",
            capacityBlockWindow: { startsAt: "2099-12-08T11:30:00Z", endsAt: "2099-12-15T11:30:00Z" },
          },
        },
      ],
    });
    const { outputs, resources } = await run("staging", config);
    expect(resources.find((r) => r.name === "cb-gpu-node-group")!.inputs.scalingConfig).toEqual({ minSize: 0, desiredSize: 0, maxSize: 1 });
    expect(resources.filter((r) => r.type === "aws:autoscaling/schedule:Schedule").map((r) => r.name).sort()).toEqual(["cb-gpu-block-end", "cb-gpu-block-start"]);
    const workload = resources.find((r) => r.name === "cb-vllm-deployment")!;
    expect((workload.inputs.metadata as { annotations?: Record<string, string> }).annotations).toEqual({ "pulumi.com/skipAwait": "true" });
    expect(workload.dependsOn).toContain("cb-gpu-node-group");
    // The stack's own cost and the pack's both count the block's node, not the empty group.
    const parsed = parseStackConfig(config);
    if ("problems" in parsed) throw new Error(JSON.stringify(parsed.problems));
    expect(outputs.plan.cost.desiredUsdPerHour).toBeGreaterThan(31.464);
    const pack = costPreview(policyResources(resources), { region: "us-east-1", environment: "staging", priceOverrides: [{ instanceType: "p5.48xlarge", usdPerHour: 31.464 }] });
    expect(pack.items.find((i) => i.resource === "cb-gpu-node-group" && i.what.includes("p5.48xlarge"))!.desiredUsdPerHour).toBeCloseTo(31.464, 9);
    expect(pack.desiredUsdPerHour).toBeCloseTo(outputs.plan.cost.desiredUsdPerHour, 9);
  });

  it("staging: the 70B distill for an offline job, sized to its 500 output tokens/s on one 8-GPU node", async () => {
    const { config, secretKeys } = readStackFile(join(STACKS, "Pulumi.staging.yaml"));
    const { outputs, resources } = await run("staging", config, secretKeys);
    const plan = outputs.plan.deployments[0]!.spec.plan;
    expect(plan).toMatchObject({ model: "r1-distill-llama-70b", instanceType: "p4d.24xlarge", nodesPerReplica: 1, promptTokens: 8192, outputTokens: 2048 });
    expect(plan.performance.outputTokensPerSecond).toBeGreaterThanOrEqual(500);
    expect(resources.filter((r) => r.type === "kubernetes:helm.sh/v3:Release").map((r) => r.inputs.name).sort()).toEqual([
      "cluster-autoscaler",
      "dcgm-exporter",
      "keda",
      "kube-prometheus-stack",
      "nvidia-device-plugin",
    ]);
    expect(types(resources, "analysis-vllm")).toContain("kubernetes:apps/v1:Deployment");
    expect(outputs.plan.budget.passed).toBe(true);
  });

  it("prod: R1 on 8 x H200 on demand, internal load balancer, API key required", async () => {
    const { config, secretKeys } = readStackFile(join(STACKS, "Pulumi.prod.yaml"));
    expect(() => planWith(config, secretKeys)).toThrow("llm-fleet:apiKey: prod requires an API key on every endpoint");
    // A preview goes on without it, so the whole stack shows and the policy pack fails it.
    const parsed = parseStackConfig(config, secretKeys);
    const preview = "config" in parsed && planStack(parsed.config, "us-east-1", {}, { preview: true });
    expect(preview && "plan" in preview && preview.plan.missingForUp.map((p) => p.path)).toEqual(["llm-fleet:cluster.publicAccessCidrs", "llm-fleet:apiKey"]);
    expect(preview && "plan" in preview && preview.plan.missingForUp[1]).toEqual({
      path: "llm-fleet:apiKey",
      message: "prod requires an API key on every endpoint: `pulumi config set --secret llm-fleet:apiKey <key>`",
    });
    const withKey = { ...config, "llm-fleet:apiKey": "sk-test" };
    const { outputs, resources } = await run("prod", withKey, ["llm-fleet:apiKey"]);
    expect(outputs.plan.deployments[0]!.spec.plan).toMatchObject({ instanceType: "p5en.48xlarge", capacityType: "on-demand" });
    const lb = resources.find((r) => r.name === "reasoning-vllm-load-balancer")!;
    expect((lb.inputs.metadata as { annotations: Record<string, string> }).annotations["service.beta.kubernetes.io/aws-load-balancer-internal"]).toBe("true");
    const deployment = resources.find((r) => r.name === "reasoning-vllm-deployment")!.inputs as any;
    expect(deployment.spec.template.spec.containers[0].env).toContainEqual({ name: "VLLM_API_KEY", valueFrom: { secretKeyRef: { name: "reasoning-vllm-api-key", key: "value" } } });
    expect(resources.filter((r) => r.type === "aws:ec2/natGateway:NatGateway")).toHaveLength(3);
  });
});

function planWith(config: Record<string, string>, secretKeys: string[]) {
  const parsed = parseStackConfig(config, secretKeys);
  if ("problems" in parsed) throw new Error(JSON.stringify(parsed.problems));
  const planned = planStack(parsed.config, "us-east-1", { apiKey: parsed.config.apiKey });
  if ("problems" in planned) throw new StackConfigError(planned.problems, planned.noFit);
  return planned.plan;
}

describe("every preset plans, in each environment", () => {
  it.each(PRESET_IDS)("%s", (preset) => {
    for (const environment of ["dev", "staging", "prod"]) {
      const config = flat({ ...base, "llm-fleet:environment": environment, "llm-fleet:deployments": [{ name: "x", preset }], "llm-fleet:apiKey": "k" });
      const plan = planWith(config, ["llm-fleet:apiKey"]);
      const p = plan.deployments[0]!.spec.plan;
      expect(p.model).toBe(PRESETS[preset].model);
      expect(p.kvCacheTokens).toBeGreaterThanOrEqual(p.maxModelLen);
      expect(p.capacityType).toBe(environment === "dev" ? "spot" : "on-demand");
    }
  });
  it.each(PRESET_IDS)("%s: the program registers its node group and server, and outputs its endpoint and cost", async (preset) => {
    const config = flat({ ...base, "llm-fleet:environment": "staging", "llm-fleet:budgetUsdPerMonth": 1e9, "llm-fleet:deployments": [{ name: "x", preset }] });
    const { outputs, resources } = await run("staging", config);
    const plan = outputs.plan.deployments[0]!.spec.plan;
    const nodeGroup = resources.find((r) => r.name === "x-gpu-node-group")!.inputs as { instanceTypes: string[]; scalingConfig: { desiredSize: number } };
    expect(nodeGroup.instanceTypes).toEqual([plan.instanceType]);
    expect(nodeGroup.scalingConfig.desiredSize).toBe(plan.nodes);
    const workload = plan.nodesPerReplica > 1 ? "kubernetes:leaderworkerset.x-k8s.io/v1:LeaderWorkerSet" : "kubernetes:apps/v1:Deployment";
    expect(types(resources, "x-vllm")).toContain(workload);
    const out = outputs.outputs.deployments.x!;
    expect(out.usdPerMonth).toBeCloseTo(plan.usdPerMonth, 6);
    expect(out.plan).toContain(plan.instanceType);
    expect(outputs.outputs.totalUsdPerMonth).toBeCloseTo(outputs.plan.cost.desiredUsdPerMonth, 6);
  });

  it.each(PRESET_IDS)("%s: its plan meets the preset's own latency and throughput targets", (preset) => {
    const w = PRESETS[preset].workload;
    const plan = planWith(flat({ ...base, "llm-fleet:environment": "staging", "llm-fleet:deployments": [{ name: "x", preset }] }), []);
    const f = plan.deployments[0]!.spec.plan.performance;
    if (w.maxTpotMs !== undefined) expect(f.tpotMs).toBeLessThanOrEqual(w.maxTpotMs);
    if (w.maxTtftMs !== undefined) expect(f.ttftMs).toBeLessThanOrEqual(w.maxTtftMs);
    if (w.outputTokensPerSecond !== undefined) expect(f.outputTokensPerSecond).toBeGreaterThanOrEqual(w.outputTokensPerSecond);
  });

  it("interactive presets bound latency; the offline analysis job asks for throughput instead", () => {
    expect(PRESETS["reasoning-r1"].workload).toMatchObject({ maxTpotMs: 50, maxTtftMs: 2000 });
    expect(PRESETS["assistant-7b"].workload).toMatchObject({ maxTpotMs: 40, maxTtftMs: 1000 });
    expect(PRESETS["analysis-70b"].workload).toMatchObject({ outputTokensPerSecond: 500, objective: "throughput" });
    expect(PRESETS["analysis-70b"].workload.maxTpotMs).toBeUndefined();
  });

  it("a deployment's workload keys override its preset's and reach the planner", () => {
    const plan = planWith(
      flat({
        ...base,
        "llm-fleet:environment": "staging",
        "llm-fleet:deployments": [{ name: "x", preset: "reasoning-r1", workload: { concurrency: 32, promptTokens: 1024, outputTokens: 1024, maxTpotMs: 40 } }],
      }),
      [],
    );
    const p = plan.deployments[0]!.spec.plan;
    expect(p).toMatchObject({ instanceType: "p5en.48xlarge", promptTokens: 1024, outputTokens: 1024 });
    expect(p.performance.tpotMs).toBeLessThanOrEqual(40);
    expect(p.performance.sequencesPerReplica).toBe(32);
  });

  it("engine knobs in a workload move the plan's memory and become the server's vLLM flags", async () => {
    const workload = { maxModelLen: 8192, gpuMemoryUtilization: 0.85, kvCacheDtype: "fp8", maxNumBatchedTokens: 4096, enforceEager: true };
    const config = flat({ ...base, "llm-fleet:deployments": [{ name: "tuned", model: "r1-distill-qwen-7b", placement: { gpus: ["l40s"] }, workload }] });
    const { resources } = await run("dev", config);
    const container = (resources.find((r) => r.name === "tuned-vllm-deployment")!.inputs as any).spec.template.spec.containers[0];
    const args: string[] = container.args;
    const after = (flag: string) => args[args.indexOf(flag) + 1];
    expect(after("--gpu-memory-utilization")).toBe("0.85");
    expect(after("--kv-cache-dtype")).toBe("fp8");
    expect(after("--max-num-batched-tokens")).toBe("4096");
    // An L40S's default of 256 sequences is below 4096 tokens: no --max-num-seqs.
    expect(args).not.toContain("--max-num-seqs");
    expect(args).toContain("--enforce-eager");
    const parsed = parseStackConfig(config);
    if ("problems" in parsed) throw new Error(JSON.stringify(parsed.problems));
    const planned = planStack(parsed.config, "us-east-1");
    if (!("plan" in planned)) throw new Error(JSON.stringify(planned.problems));
    const memory = planned.plan.deployments[0]!.spec.plan.memory;
    expect(memory).toMatchObject({ maxNumBatchedTokens: 4096, enforceEager: true, kvCacheDtype: "fp8" });
    expect(memory.budgetGiB).toBeCloseTo(GPUS.l40s.memoryGiB * 0.85, 9);
    expect(memory.reserves.cudaGraphsGiB).toBe(0);
  });

  it("a bad engine knob names its key", () => {
    const parsed = parseStackConfig(flat({ ...base, "llm-fleet:deployments": [{ name: "a", preset: "edge-1.5b", workload: { gpuMemoryUtilization: 1.2, kvCacheDtype: "fp4", maxNumBatchedTokens: 0, enforceEager: "yes" } }] }));
    expect("problems" in parsed && parsed.problems).toEqual([
      { path: "llm-fleet:deployments.0.workload.gpuMemoryUtilization", message: "1.2 is above 1; give a fraction such as 0.9" },
      { path: "llm-fleet:deployments.0.workload.kvCacheDtype", message: expect.stringContaining('unknown KV-cache dtype "fp4"') },
      { path: "llm-fleet:deployments.0.workload.maxNumBatchedTokens", message: "0 is below 1; give at least 1 token" },
      { path: "llm-fleet:deployments.0.workload.enforceEager", message: '"yes" is not true or false' },
    ]);
  });

  it("the full R1 on a budget really is one 8-GPU A100 or H100 node", () => {
    const plan = planWith(flat({ ...base, "llm-fleet:environment": "staging", "llm-fleet:deployments": [{ name: "x", preset: "r1-on-a-budget" }] }), []);
    expect(plan.deployments[0]!.spec.plan).toMatchObject({ instanceType: "p4de.24xlarge", nodes: 1, checkpoint: { precision: "int4" } });
  });
});

describe("cluster config is checked with everything else", () => {
  it("names the cluster key", () => {
    const config = flat({ ...base, "llm-fleet:cluster": { mode: "new", availabilityZoneCount: 9, publicAccessCidrs: DEPLOYER }, "llm-fleet:deployments": [{ name: "a", preset: "edge-1.5b" }] });
    const parsed = parseStackConfig(config);
    if ("problems" in parsed) throw new Error(JSON.stringify(parsed.problems));
    const planned = planStack(parsed.config, "us-east-1");
    expect("problems" in planned && planned.problems).toEqual([
      { path: "llm-fleet:cluster.availabilityZoneCount", message: "9 zones: EKS needs at least 2, and a /16 holds at most 6; give 2 to 6" },
    ]);
  });
  it("keeps a numeric secret a string", () => {
    const config = flat({ ...base, "llm-fleet:deployments": [{ name: "a", preset: "edge-1.5b" }], "llm-fleet:apiKey": "123456" });
    const parsed = parseStackConfig(config, ["llm-fleet:apiKey"]);
    expect("config" in parsed && parsed.config.apiKey).toBe("123456");
  });
});

describe("an existing cluster", () => {
  const existing = (cluster: Record<string, unknown>) =>
    flat({ ...base, "llm-fleet:cluster": { mode: "existing", clusterName: "shared-gpu", ...cluster }, "llm-fleet:deployments": [{ name: "a", preset: "edge-1.5b" }] });
  it("takes subnet ids, a kubeconfig file and the GPU Operator's own device plugin from the stack config", async () => {
    const dir = mkdtempSync(join(tmpdir(), "llm-fleet-kube-"));
    writeFileSync(join(dir, "config"), "apiVersion: v1\nkind: Config\n");
    const { resources } = await run("dev", existing({ subnetIds: ["subnet-0aaa", "subnet-0bbb"], kubeconfigPath: join(dir, "config"), nvidiaDevicePlugin: false }));
    expect(resources.find((r) => r.name === "a-gpu-node-group")!.inputs.subnetIds).toEqual(expect.arrayContaining(["subnet-0aaa"]));
    expect(resources.filter((r) => r.type === "kubernetes:helm.sh/v3:Release").map((r) => r.inputs.name)).not.toContain("nvidia-device-plugin");
    expect(resources.filter((r) => r.type === "aws:eks/cluster:Cluster")).toEqual([]);
  });
  it("names the key of a bad subnet id or a missing kubeconfig", () => {
    const bad = parseStackConfig(existing({ subnetIds: ["subnet-xyz"] }));
    expect("problems" in bad && bad.problems).toEqual([{ path: "llm-fleet:cluster.subnetIds.0", message: '"subnet-xyz" is not a subnet id (subnet- and hex digits, e.g. subnet-0abc12345def67890)' }]);
    const parsed = parseStackConfig(existing({ kubeconfigPath: "/nonexistent/kubeconfig" }));
    if ("problems" in parsed) throw new Error(JSON.stringify(parsed.problems));
    const planned = planStack(parsed.config, "us-east-1");
    expect("problems" in planned && planned.problems).toEqual([
      { path: "llm-fleet:cluster.kubeconfigPath", message: "no file at /nonexistent/kubeconfig; give the path of a kubeconfig for the cluster, or leave it out to use aws eks get-token" },
    ]);
  });
});

describe("config errors: one clear message each, before any resource", () => {
  const problems = (config: Record<string, unknown>, secretKeys: string[] = []) => {
    const parsed = parseStackConfig(flat(config), secretKeys);
    return "problems" in parsed ? parsed.problems : [];
  };
  it("an unknown key, with a did-you-mean", () => {
    expect(problems({ ...base, "llm-fleet:deployment": [] })).toEqual([
      { path: "llm-fleet:deployment", message: expect.stringContaining('unknown key "deployment"; did you mean "deployments"?') },
      { path: "llm-fleet:deployments", message: "is required" },
    ]);
    expect(problems({ ...base, "llm-fleet:deployments": [{ name: "a", preset: "edge-1.5b", workloads: {} }] })).toEqual([
      { path: "llm-fleet:deployments.0", message: expect.stringContaining('unknown key "workloads"; did you mean "workload"?') },
    ]);
  });
  it("a wrong type, an unknown preset, a name used twice", () => {
    expect(problems({ ...base, "llm-fleet:budgetUsdPerMonth": "lots", "llm-fleet:deployments": [{ name: "a", preset: "edge-15b" }, { name: "a", model: "deepseek-r1" }] })).toEqual([
      { path: "llm-fleet:deployments.0.preset", message: expect.stringContaining('unknown preset "edge-15b"; did you mean "edge-1.5b"?') },
      { path: "llm-fleet:deployments.1.name", message: '"a" is used twice; deployment names must be unique' },
      { path: "llm-fleet:budgetUsdPerMonth", message: '"lots" is not a budget in USD per month' },
    ]);
  });
  it("bad workload targets, each with its key", () => {
    expect(
      problems({
        ...base,
        "llm-fleet:deployments": [{ name: "a", preset: "edge-1.5b", workload: { maxTpotMs: 0, maxTtftMs: "soon", outputTokensPerSecond: -5, promptTokens: 1.5 } }],
      }),
    ).toEqual([
      { path: "llm-fleet:deployments.0.workload.promptTokens", message: "1.5 is not a whole number of tokens" },
      { path: "llm-fleet:deployments.0.workload.maxTpotMs", message: "0 is not above 0 ms; give a time per output token such as 50" },
      { path: "llm-fleet:deployments.0.workload.maxTtftMs", message: '"soon" is not a time to first token in milliseconds' },
      { path: "llm-fleet:deployments.0.workload.outputTokensPerSecond", message: "-5 is not above 0; give output tokens per second such as 2000" },
    ]);
  });
  it("a target nothing meets gives the planner's words, with the nearest target that plans", () => {
    const parsed = parseStackConfig(flat({ ...base, "llm-fleet:deployments": [{ name: "a", model: "deepseek-r1", workload: { maxTpotMs: 2 } }] }));
    if ("problems" in parsed) throw new Error(JSON.stringify(parsed.problems));
    const planned = planStack(parsed.config, "us-east-1");
    expect("problems" in planned && planned.problems[0]).toMatchObject({
      path: "llm-fleet:deployments.0.model",
      message: expect.stringMatching(/TPOT [\d.]+ ms at 1 sequence per replica, target 2 ms: more replicas cannot help.*change one of: maxTpotMs: 9 gives 1 x p5en\.48xlarge \(fp8/),
    });
  });
  it("a secret in plain text", () => {
    expect(problems({ ...base, "llm-fleet:deployments": [{ name: "a", preset: "edge-1.5b" }], "llm-fleet:apiKey": "sk-plain" })).toEqual([
      { path: "llm-fleet:apiKey", message: "must be a secret: `pulumi config set --secret llm-fleet:apiKey <value>`" },
    ]);
  });
  it("an unknown model and an impossible request give the planner's words, and register nothing", async () => {
    const config = flat({ ...base, "llm-fleet:deployments": [{ name: "a", model: "deepseek-r2" }, { name: "b", model: "deepseek-r1", placement: { gpus: ["a100-80gb"] } }] });
    let error: unknown;
    let registered: RecordedResource[] = [];
    try {
      registered = (await run("dev", config)).resources;
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(StackConfigError);
    expect((error as StackConfigError).problems.map((p) => p.path)).toEqual(["llm-fleet:deployments.0.model", "llm-fleet:deployments.1.model"]);
    expect((error as StackConfigError).problems[0]!.message).toContain('unknown model "deepseek-r2"; did you mean "deepseek-r1"?');
    expect((error as StackConfigError).problems[1]!.message).toContain("nothing fits DeepSeek-R1");
    expect((error as StackConfigError).noFit).toBe(true);
    expect(registered).toEqual([]);
    // The run threw before returning its records: ask the mock monitor it installed.
    const monitor = pulumi.runtime.getMonitor() as unknown as { getRegisteredResources(): Map<string, unknown> };
    expect(monitor.getRegisteredResources().size).toBe(0);
  });
});
