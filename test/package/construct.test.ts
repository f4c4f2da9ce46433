/**
 * The package's components constructed as a program in another language has them constructed:
 * plain JSON inputs and resource references through the provider's construct, under mocks. Each
 * registers what the TypeScript class registers for the same arguments, names aside.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { GpuCluster } from "../../components/aws/gpu-cluster";
import { GpuNodeGroup } from "../../components/aws/gpu-node-group";
import { deploymentSpec, planSummary } from "../../components/deployment-spec";
import { ClusterAddons, clusterAddonsArgsFor } from "../../components/k8s/cluster-addons";
import { VllmServer } from "../../components/k8s/vllm-server";
import { ModelDeployment } from "../../components/model-deployment";
import { addonNeeds } from "../../package/cluster-addons";
import { construct, outputValue, reference, secret } from "../support/package";
import { isSecretInput, recorded, registeredUrns, settle, valueOf, type RecordedResource } from "../support/pulumi";

const DEPLOYER = ["34.200.10.7/32"];
/** The dev stack's deployment (stacks/Pulumi.dev.yaml, preset assistant-7b), as the README's Python example gives it. */
const DEV = {
  model: "r1-distill-qwen-7b",
  workload: { maxModelLen: 8192, concurrency: 16, promptTokens: 1024, outputTokens: 1024, maxTpotMs: 40, maxTtftMs: 1000 },
  placement: { capacityType: "spot" as const, minNodes: 0, maxNodes: 2 },
};

interface Registered {
  /** Each resource with its inputs and provider. */
  resources: RecordedResource[];
  /** Their URNs, whose type part is the parent chain (`Parent$Child`). */
  urns: string[];
}

/** What a block registers, with the TypeScript path's names for the package's (`py-` for `ts-`). */
async function registered(block: () => unknown): Promise<Registered> {
  const start = recorded.length;
  const urns = registeredUrns().length;
  await block();
  await settle();
  return JSON.parse(JSON.stringify({ resources: recorded.slice(start), urns: registeredUrns().slice(urns) }).replaceAll("py-", "ts-")) as Registered;
}

const sorted = (r: Registered) => ({
  resources: [...r.resources].sort((a, b) => `${a.type} ${a.name}`.localeCompare(`${b.type} ${b.name}`)),
  urns: [...r.urns].sort(),
});

/** The error a construct rejects with, and that it registered nothing. */
async function rejection(type: string, name: string, inputs: Parameters<typeof construct>[2]): Promise<string> {
  const resources = recorded.length;
  const urns = registeredUrns().length;
  const error = await construct(type, name, inputs).then(
    () => new Error("constructed"),
    (e: Error) => e,
  );
  await settle();
  expect(recorded.length).toBe(resources);
  expect(registeredUrns().length).toBe(urns);
  return error.message;
}

/** The TypeScript path's error for the same input, under the package path's name. */
function thrown(block: () => unknown): string {
  try {
    block();
  } catch (error) {
    return (error as Error).message.replaceAll("ts-", "py-");
  }
  throw new Error("did not throw");
}

let tsCluster: GpuCluster;
/** The existing cluster of the TypeScript path, attached without the autoscaler's role. */
let ATTACHED: GpuCluster | undefined;
let pyCluster: { urn: string; state: Record<string, unknown> };
let tsAddons: ClusterAddons;
let pyAddons: { urn: string; state: Record<string, unknown> };
const needs = { nvidiaDevicePlugin: true, replicaAutoscaler: true, requestHolder: true, nodeAutoscaler: true };

describe("construct through the component provider", () => {
  let clusterResources: { ts: Registered; py: Registered };
  beforeAll(async () => {
    const args = { publicAccessCidrs: DEPLOYER, nodeAutoscaler: true, ebsCsiDriver: true };
    const ts = await registered(() => (tsCluster = new GpuCluster("ts-cluster", args)));
    const py = await registered(async () => (pyCluster = await construct("llm-fleet:index:GpuCluster", "py-cluster", args)));
    clusterResources = { ts, py };
    await registered(() => (tsAddons = new ClusterAddons("ts-addons", { ...clusterAddonsArgsFor(tsCluster, addonNeeds(needs)), waitFor: [...tsCluster.systemNodes, ...tsCluster.storage] })));
    await registered(async () => (pyAddons = await construct("llm-fleet:index:ClusterAddons", "py-addons", { cluster: reference(pyCluster.urn), needs })));
  }, 120_000);

  it("GpuCluster: a new cluster's resources, and outputs a program reads", async () => {
    expect(clusterResources.py.resources).toHaveLength(39);
    expect(clusterResources.py.urns).toHaveLength(39);
    expect(sorted(clusterResources.py)).toEqual(sorted(clusterResources.ts));
    expect(pyCluster.urn).toBe("urn:pulumi:test::llm-fleet::llm-fleet:index:GpuCluster::py-cluster");
    expect(pyCluster.state).toMatchObject({
      clusterName: "py-cluster",
      region: "us-east-1",
      endpoint: "https://py-cluster.gr7.us-east-1.eks.amazonaws.com",
      nodeAutoscaler: true,
      privateSubnetIds: ["py-cluster-private-0-id", "py-cluster-private-1-id"],
    });
    expect(JSON.parse(pyCluster.state.kubeconfig as string).clusters[0].cluster.server).toBe("https://py-cluster.gr7.us-east-1.eks.amazonaws.com");
  });

  it("GpuCluster: an existing cluster, read and not created", async () => {
    const args = { mode: "existing" as const, clusterName: "shared-gpu" };
    const ts = await registered(() => (ATTACHED = new GpuCluster("ts-attached", args)));
    const py = await registered(() => construct("llm-fleet:index:GpuCluster", "py-attached", args));
    expect(sorted(py)).toEqual(sorted(ts));
    expect(py.resources.map((r) => r.type)).toEqual(["llm-fleet:index:GpuCluster", "pulumi:providers:kubernetes"]);
  });

  it("ClusterAddons: the releases its needs call for", async () => {
    const of = (prefix: string) => ({ resources: recorded.filter((r) => r.name.startsWith(prefix)), urns: registeredUrns().filter((u) => u.includes(`::${prefix}`)) });
    const ts = of("ts-addons");
    const py = JSON.parse(JSON.stringify(of("py-addons")).replaceAll("py-", "ts-")) as Registered;
    expect(py.resources).toHaveLength(5);
    expect(py.resources.every((r) => r.type !== "kubernetes:helm.sh/v3:Release" || r.provider?.includes("::ts-cluster-k8s::"))).toBe(true);
    expect(sorted(py)).toEqual(sorted(ts));
    expect(pyAddons.state.installed).toEqual(["nvidia-device-plugin", "keda", "keda-add-ons-http", "cluster-autoscaler"]);
  });

  it("GpuNodeGroup: a two-node EFA group on the cluster it is given by reference", async () => {
    const args = {
      instanceType: "p5.48xlarge",
      model: "deepseek-r1",
      checkpointSizeGB: 688.6,
      scaling: { desiredSize: 2 },
      nodesPerReplica: 2,
      priceOverrides: [{ instanceType: "p5.48xlarge", usdPerHour: 40 }],
    };
    const ts = await registered(() => new GpuNodeGroup("ts-r1", { ...args, cluster: tsCluster, priceOverrides: [{ instanceType: "p5.48xlarge", usdPerHour: 40 }] }));
    let state: Record<string, unknown> = {};
    const py = await registered(async () => ({ state } = await construct("llm-fleet:index:GpuNodeGroup", "py-r1", { ...args, cluster: reference(pyCluster.urn) })));
    expect(sorted(py)).toEqual(sorted(ts));
    expect(py.resources.some((r) => r.type === "aws:ec2/placementGroup:PlacementGroup")).toBe(true);
    expect(state).toMatchObject({ nodeGroupName: "py-r1-node-group", usdPerHour: 80, usdPerMonth: 58_400, maxUsdPerHour: 80 });
    expect(state.tolerations).toEqual([{ key: "nvidia.com/gpu", operator: "Equal", value: "true", effect: "NoSchedule" }]);
  });

  it("VllmServer: planned for the instance type it is given, onto the given nodes", async () => {
    const nodeSelector = { "llm-fleet.dev/node-group": "own-l40s" };
    const tolerations = [{ key: "nvidia.com/gpu", operator: "Exists", effect: "NoSchedule" }];
    const workload = { maxModelLen: 8192, concurrency: 8 };
    const spec = deploymentSpec({ name: "ts-vllm", model: "r1-distill-qwen-14b", workload, placement: { instanceTypes: ["g6e.xlarge"] }, region: "us-east-1", operations: { autoscaling: false } });
    if ("problems" in spec) throw new Error(JSON.stringify(spec.problems));
    const ts = await registered(
      () =>
        new VllmServer("ts-vllm", {
          provider: tsCluster.provider,
          plan: spec.spec.plan,
          node: spec.spec.node,
          nodeSelector,
          tolerations: tolerations as { key: string; operator: "Exists"; effect: "NoSchedule" }[],
          cluster: { clusterName: tsCluster.clusterName, region: "us-east-1" },
          waitFor: tsCluster.storage,
          apiKey: "sk-test",
          storageClassName: "gp3-encrypted",
        }),
    );
    let state: Record<string, unknown> = {};
    const py = await registered(async () => {
      ({ state } = await construct("llm-fleet:index:VllmServer", "py-vllm", {
        cluster: reference(pyCluster.urn),
        model: "r1-distill-qwen-14b",
        instanceType: "g6e.xlarge",
        workload,
        nodeSelector,
        tolerations,
        apiKey: "sk-test",
        storageClassName: "gp3-encrypted",
      }));
    });
    expect(sorted(py)).toEqual(sorted(ts));
    const deployment = py.resources.find((r) => r.type === "kubernetes:apps/v1:Deployment")!;
    expect(deployment.inputs.spec.template.spec.nodeSelector).toEqual(nodeSelector);
    // On the cluster's own Kubernetes provider, as the TypeScript path.
    expect(deployment.provider).toMatch(/::ts-cluster-k8s::/);
    expect(state).toMatchObject({
      endpoint: "http://py-vllm-api.py-vllm.svc.cluster.local:8000/v1",
      namespace: "py-vllm",
      planSummary: planSummary(spec.spec.plan),
    });
  });

  it("ModelDeployment: the dev stack's 7B distill, with add-ons of its own", async () => {
    let tsDeployment: ModelDeployment | undefined;
    const ts = await registered(() => (tsDeployment = new ModelDeployment("ts-assistant", { ...DEV, cluster: tsCluster })));
    let state: Record<string, unknown> = {};
    const py = await registered(async () => ({ state } = await construct("llm-fleet:index:ModelDeployment", "py-assistant", { ...DEV, cluster: reference(pyCluster.urn) })));
    expect(py.resources.length).toBeGreaterThan(20);
    expect(sorted(py)).toEqual(sorted(ts));
    const plan = tsDeployment!.plan;
    expect(state).toEqual({
      endpoint: (await valueOf(tsDeployment!.endpoint)).replaceAll("ts-", "py-"),
      namespace: "py-assistant-vllm",
      servedModelName: "r1-distill-qwen-7b",
      planSummary: planSummary(plan),
      plan: {
        instanceType: plan.instanceType,
        nodes: plan.nodes,
        replicas: plan.replicas,
        checkpoint: "deepseek-ai/DeepSeek-R1-Distill-Qwen-7B",
        precision: "bf16",
        tensorParallelSize: 1,
        pipelineParallelSize: 1,
        dataParallelSize: 1,
        maxModelLen: 8192,
        tpotMs: plan.performance.tpotMs,
        ttftMs: plan.performance.ttftMs,
        outputTokensPerSecond: plan.performance.outputTokensPerSecond,
        confidence: plan.performance.confidence,
      },
      usdPerHour: plan.usdPerHour,
      usdPerMonth: plan.usdPerMonth,
      maxUsdPerHour: tsDeployment!.cost!.max.usdPerHour,
      maxUsdPerMonth: tsDeployment!.cost!.max.usdPerMonth,
    });
    expect(plan.usdPerHour).toBeGreaterThan(0.5);
    expect(state.endpoint).toBe("http://py-assistant-vllm-entry.py-assistant-vllm.svc.cluster.local:8080/v1");
  });

  it("ModelDeployment: references and plain values the engine sends as output values, awaited before the plan", async () => {
    const ts = await registered(() => new ModelDeployment("ts-wrapped", { ...DEV, cluster: tsCluster }));
    const py = await registered(() =>
      construct("llm-fleet:index:ModelDeployment", "py-wrapped", {
        ...DEV,
        cluster: outputValue([pyCluster.urn], reference(pyCluster.urn)),
        workload: { ...DEV.workload, concurrency: outputValue([pyAddons.urn], 16) },
      }),
    );
    expect(sorted(py)).toEqual(sorted(ts));
  });

  it("ModelDeployment: an API key from another resource, unknown at preview, stays an output", async () => {
    const py = await registered(() =>
      construct("llm-fleet:index:ModelDeployment", "py-later", { ...DEV, cluster: reference(pyCluster.urn), serving: { apiKey: outputValue([pyAddons.urn]) } }),
    );
    expect(py.resources.some((r) => r.name === "ts-later-vllm-api-key")).toBe(true);
  });

  it("ModelDeployment: on shared add-ons given by reference, with a secret API key and an S3 role", async () => {
    const serving = { weights: "s3://models/r1-distill-qwen-7b", s3RoleArn: "arn:aws:iam::123456789012:role/weights-reader", apiKey: "sk-test" };
    const ts = await registered(
      () =>
        new ModelDeployment("ts-shared", {
          ...DEV,
          cluster: tsCluster,
          addons: tsAddons,
          serving: { weights: serving.weights, s3Access: { roleArn: serving.s3RoleArn }, apiKey: serving.apiKey },
        }),
    );
    const py = await registered(() =>
      construct("llm-fleet:index:ModelDeployment", "py-shared", { ...DEV, cluster: reference(pyCluster.urn), addons: reference(pyAddons.urn), serving: { ...serving, apiKey: secret(serving.apiKey) } }),
    );
    expect(sorted(py)).toEqual(sorted(ts));
    // The shared add-ons, not a second set.
    expect(py.resources.some((r) => r.type === "kubernetes:helm.sh/v3:Release")).toBe(false);
    expect(py.resources.some((r) => r.type === "aws:eks/podIdentityAssociation:PodIdentityAssociation")).toBe(true);
    // The API key stays a secret on its way to the Kubernetes Secret.
    expect(isSecretInput(py.resources.find((r) => r.name === "ts-shared-vllm-api-key")!.inputs.stringData)).toBe(true);
  });
});

describe("bad inputs through construct", () => {
  const clusterRef = () => reference(pyCluster.urn);

  it("get the TypeScript path's errors, path-named, and register nothing", async () => {
    const cases: { type: string; inputs: Parameters<typeof construct>[2]; typescript: () => unknown }[] = [
      {
        type: "llm-fleet:index:ModelDeployment",
        inputs: { cluster: clusterRef(), model: "deepseek-r9" },
        typescript: () => new ModelDeployment("ts-bad", { cluster: tsCluster, model: "deepseek-r9" }),
      },
      {
        type: "llm-fleet:index:ModelDeployment",
        inputs: { cluster: clusterRef(), model: "r1-distill-qwen-7b", workload: { concurrency: -1, maxTpotMs: 0 } },
        typescript: () => new ModelDeployment("ts-bad", { cluster: tsCluster, model: "r1-distill-qwen-7b", workload: { concurrency: -1, maxTpotMs: 0 } }),
      },
      {
        type: "llm-fleet:index:ModelDeployment",
        inputs: { cluster: clusterRef(), model: "r1-distill-qwen-7b", placement: { region: "eu-west-1" } },
        typescript: () => new ModelDeployment("ts-bad", { cluster: tsCluster, model: "r1-distill-qwen-7b", placement: { region: "eu-west-1" } }),
      },
      {
        type: "llm-fleet:index:ModelDeployment",
        inputs: { cluster: clusterRef(), model: "r1-distill-qwen-7b", serving: { image: "vllm/vllm-openai:v0.33.0", requireApiKey: true } },
        typescript: () => new ModelDeployment("ts-bad", { cluster: tsCluster, model: "r1-distill-qwen-7b", serving: { image: "vllm/vllm-openai:v0.33.0", requireApiKey: true } }),
      },
      {
        type: "llm-fleet:index:GpuNodeGroup",
        inputs: { cluster: clusterRef(), instanceType: "p9.huge", model: "deepseek-r1", checkpointSizeGB: 688.6 },
        typescript: () => new GpuNodeGroup("ts-bad", { cluster: tsCluster, instanceType: "p9.huge", model: "deepseek-r1", checkpointSizeGB: 688.6 }),
      },
      {
        type: "llm-fleet:index:GpuCluster",
        inputs: { availabilityZoneCount: 1, publicAccessCidrs: ["10.0.0.1/8"] },
        typescript: () => new GpuCluster("ts-bad", { availabilityZoneCount: 1, publicAccessCidrs: ["10.0.0.1/8"] }),
      },
      {
        type: "llm-fleet:index:ModelDeployment",
        inputs: { cluster: reference(pyCluster.urn.replace("py-cluster", "py-attached")), ...DEV },
        typescript: () => new ModelDeployment("ts-bad", { cluster: ATTACHED!, ...DEV }),
      },
    ];
    for (const c of cases) {
      const expected = thrown(c.typescript);
      await settle();
      expect(expected, c.type).toMatch(/^\w+ "py-bad": invalid input\n {2}\S/);
      expect(await rejection(c.type, "py-bad", c.inputs), JSON.stringify(c.inputs)).toBe(expected);
    }
  });

  it("name a plain input that is not known at preview, which the plan cannot be made from", async () => {
    expect(
      await rejection("llm-fleet:index:ModelDeployment", "py-bad", { cluster: clusterRef(), model: "r1-distill-qwen-7b", workload: { maxModelLen: outputValue([pyAddons.urn]) } }),
    ).toBe('ModelDeployment "py-bad": invalid input\n  workload.maxModelLen: is not known until the deployment runs, and the plan is made from it: give a value known at preview');
  });

  it("name a reference that is not the component asked for", async () => {
    expect(await rejection("llm-fleet:index:ModelDeployment", "py-bad", { cluster: "py-cluster", model: "r1-distill-qwen-7b" })).toBe(
      'ModelDeployment "py-bad": invalid input\n  cluster: "py-cluster" is not a resource: pass the GpuCluster itself',
    );
    expect(await rejection("llm-fleet:index:ModelDeployment", "py-bad", { cluster: reference(pyAddons.urn), model: "r1-distill-qwen-7b" })).toBe(
      'ModelDeployment "py-bad": invalid input\n  cluster: is a ClusterAddons: pass a GpuCluster of the llm-fleet package created in the same program',
    );
    expect(await rejection("llm-fleet:index:VllmServer", "py-bad", { cluster: reference("urn:pulumi:other::llm-fleet::llm-fleet:index:GpuCluster::gone"), model: "r1-distill-qwen-7b", instanceType: "g6.xlarge", nodeSelector: {}, tolerations: [] })).toBe(
      'VllmServer "py-bad": invalid input\n  cluster: is a resource this program did not create through the llm-fleet package: pass a GpuCluster of the llm-fleet package created in the same program',
    );
  });

  it("name the package's own arguments where its form differs from the TypeScript one", async () => {
    expect(await rejection("llm-fleet:index:ModelDeployment", "py-bad", { cluster: clusterRef(), model: "r1-distill-qwen-7b", serving: { weights: "s3://models/x" } })).toBe(
      'ModelDeployment "py-bad": invalid input\n  serving.s3RoleArn: reading s3://models/x needs access: give s3RoleArn for the service account, or s3BucketPolicy: true if the bucket grants the nodes',
    );
    expect(await rejection("llm-fleet:index:ClusterAddons", "py-bad", { cluster: reference(pyCluster.urn.replace("py-cluster", "py-attached")), needs: { nodeAutoscaler: true } })).toBe(
      'ClusterAddons "py-bad": invalid input\n  needs.nodeAutoscaler: the cluster autoscaler needs AWS credentials to resize node groups: create the GpuCluster with nodeAutoscaler: true',
    );
  });

  it("name the arguments of the other cluster mode, an unknown mode, and two S3 access methods", async () => {
    expect(await rejection("llm-fleet:index:GpuCluster", "py-bad", { mode: "existing", clusterName: "shared-gpu", vpcCidr: "10.1.0.0/16", tags: { team: "ml" } })).toBe(
      'GpuCluster "py-bad": invalid input\n  vpcCidr: is only for a new cluster (mode "new")\n  tags: is only for a new cluster (mode "new")',
    );
    expect(await rejection("llm-fleet:index:GpuCluster", "py-bad", { mode: "existing" })).toBe(
      'GpuCluster "py-bad": invalid input\n  clusterName: is required for an existing cluster: name the EKS cluster to attach to',
    );
    expect(await rejection("llm-fleet:index:GpuCluster", "py-bad", { subnetIds: ["subnet-0abc"], publicAccessCidrs: DEPLOYER })).toBe(
      'GpuCluster "py-bad": invalid input\n  subnetIds: is only for an existing cluster (mode "existing")',
    );
    expect(await rejection("llm-fleet:index:GpuCluster", "py-bad", { mode: "attached" })).toMatch(/^GpuCluster "py-bad": invalid input\n {2}mode: unknown cluster mode "attached"\. Valid: new, existing/);
    expect(
      await rejection("llm-fleet:index:ModelDeployment", "py-bad", {
        cluster: clusterRef(),
        model: "r1-distill-qwen-7b",
        serving: { weights: "s3://models/x", s3RoleArn: "arn:aws:iam::123456789012:role/r", s3BucketPolicy: true },
      }),
    ).toBe(
      'ModelDeployment "py-bad": invalid input\n  serving.s3BucketPolicy: give either s3RoleArn or s3BucketPolicy: the S3 source is read with a role, or its bucket policy allows reads',
    );
  });
});
