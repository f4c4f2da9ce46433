import * as pulumi from "@pulumi/pulumi";
import { beforeAll, describe, expect, it } from "vitest";
import { GpuCluster } from "../../../components/aws/gpu-cluster";
import { GpuNodeGroup } from "../../../components/aws/gpu-node-group";
import { InputError } from "../../../sizing";
import { ACCOUNT_ID, EXISTING_CLUSTER, one, ofType, recorded, registeredUrns, settle, valueOf } from "../../support/pulumi";

const NODE_TRUST = {
  Version: "2012-10-17",
  Statement: [{ Effect: "Allow", Principal: { Service: "ec2.amazonaws.com" }, Action: ["sts:AssumeRole"] }],
};
const WORKER_POLICIES = [
  "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy",
  "arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy",
  "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly",
];
const decode = (b64: string) => Buffer.from(b64, "base64").toString("utf8");
const R1_TAGS = { "llm-fleet.dev/node-group": "r1", "llm-fleet.dev/model": "deepseek-r1" };
const BLOCK_TAGS = { "llm-fleet.dev/node-group": "block", "llm-fleet.dev/model": "deepseek-r1" };

const cluster = new GpuCluster("fleet", { publicAccessCidrs: ["34.200.10.7/32"] });
const existing = new GpuCluster("attached", { mode: "existing", clusterName: EXISTING_CLUSTER.name });

describe("one p5en.48xlarge on demand with EFA", () => {
  const group = new GpuNodeGroup("r1", { cluster, instanceType: "p5en.48xlarge", model: "deepseek-r1", checkpointSizeGB: 688.6, efa: true });
  beforeAll(settle);

  it("launches 16 EFA interfaces in the cluster and EFA security groups, in a cluster placement group", () => {
    const lt = one("aws:ec2/launchTemplate:LaunchTemplate", "r1-launch-template").inputs;
    expect(lt.networkInterfaces).toHaveLength(16);
    expect(lt.networkInterfaces[0]).toEqual({
      networkCardIndex: 0,
      deviceIndex: 0,
      interfaceType: "efa",
      deleteOnTermination: "true",
      securityGroups: ["sg-fleet-cluster", "r1-efa-id"],
    });
    expect(lt.networkInterfaces.slice(1).every((ni: { interfaceType: string; deviceIndex: number }) => ni.interfaceType === "efa-only" && ni.deviceIndex === 0)).toBe(true);
    expect(lt.networkInterfaces.map((ni: { networkCardIndex: number }) => ni.networkCardIndex)).toEqual([...Array(16).keys()]);
    expect(lt.placement).toEqual({ groupName: "r1-placement" });
    expect(one("aws:ec2/placementGroup:PlacementGroup", "r1-placement").inputs.strategy).toBe("cluster");
    const efa = one("aws:ec2/securityGroup:SecurityGroup", "r1-efa").inputs;
    expect(efa.ingress).toEqual([{ protocol: "-1", fromPort: 0, toPort: 0, self: true, description: "EFA from peers" }]);
    expect(efa.egress).toEqual([{ protocol: "-1", fromPort: 0, toPort: 0, self: true, description: "EFA to peers" }]);
  });

  it("passes nodeadm a NodeConfig that RAIDs the instance store", () => {
    expect(decode(one("aws:ec2/launchTemplate:LaunchTemplate", "r1-launch-template").inputs.userData)).toMatchInlineSnapshot(`
      "MIME-Version: 1.0
      Content-Type: multipart/mixed; boundary="//"

      --//
      Content-Type: application/node.eks.aws

      ---
      apiVersion: node.eks.aws/v1alpha1
      kind: NodeConfig
      spec:
        instance:
          localStorage:
            strategy: RAID0

      --//--
      "
    `);
  });

  it("encrypts a gp3 root, requires IMDSv2 with one hop, and tags what it launches: nothing else", () => {
    const { networkInterfaces, userData, ...rest } = one("aws:ec2/launchTemplate:LaunchTemplate", "r1-launch-template").inputs;
    expect(networkInterfaces).toHaveLength(16);
    expect(decode(userData)).toContain("      strategy: RAID0\n");
    expect(rest).toEqual({
      description: "p5en.48xlarge nodes for deepseek-r1",
      updateDefaultVersion: true,
      blockDeviceMappings: [{ deviceName: "/dev/xvda", ebs: { volumeSize: 100, volumeType: "gp3", encrypted: "true", deleteOnTermination: "true" } }],
      metadataOptions: { httpEndpoint: "enabled", httpTokens: "required", httpPutResponseHopLimit: 1 },
      placement: { groupName: "r1-placement" },
      tagSpecifications: [
        { resourceType: "instance", tags: R1_TAGS },
        { resourceType: "volume", tags: R1_TAGS },
      ],
      tags: R1_TAGS,
    });
  });

  it("builds the node group on the NVIDIA AL2023 AMI in the first zone, labelled and tainted", () => {
    expect(one("aws:eks/nodeGroup:NodeGroup", "r1-node-group").inputs).toEqual({
      clusterName: "fleet",
      nodeRoleArn: `arn:aws:iam::${ACCOUNT_ID}:role/r1-node-role`,
      subnetIds: ["fleet-private-0-id"],
      amiType: "AL2023_x86_64_NVIDIA",
      instanceTypes: ["p5en.48xlarge"],
      capacityType: "ON_DEMAND",
      scalingConfig: { minSize: 1, desiredSize: 1, maxSize: 1 },
      updateConfig: { maxUnavailable: 1 },
      launchTemplate: { id: "r1-launch-template-id", version: "1" },
      labels: { "llm-fleet.dev/node-group": "r1", "llm-fleet.dev/model": "deepseek-r1", "llm-fleet.dev/gpu": "h200" },
      taints: [{ key: "nvidia.com/gpu", value: "true", effect: "NO_SCHEDULE" }],
      tags: { ...R1_TAGS, "llm-fleet.dev/planned-nodes": "1" },
    });
  });

  it("gives the node role the worker policies and nothing else", () => {
    expect(JSON.parse(one("aws:iam/role:Role", "r1-node-role").inputs.assumeRolePolicy)).toEqual(NODE_TRUST);
    const attached = ofType("aws:iam/rolePolicyAttachment:RolePolicyAttachment", "r1-").map((r) => r.inputs.policyArn);
    expect(attached).toEqual(WORKER_POLICIES);
  });

  it("outputs the selector, tolerations and cost a workload needs", async () => {
    expect(group.nodeSelector).toEqual({ "llm-fleet.dev/node-group": "r1" });
    expect(group.tolerations).toEqual([{ key: "nvidia.com/gpu", operator: "Equal", value: "true", effect: "NoSchedule" }]);
    expect(group.cost?.desired).toEqual({ usdPerHour: 63.296, usdPerMonth: 63.296 * 730 });
    expect(await valueOf(group.nodeGroupName)).toBe("r1-node-group");
  });
});

describe("two p5.48xlarge in a Capacity Block", () => {
  const group = new GpuNodeGroup("block", {
    cluster,
    instanceType: "p5.48xlarge",
    model: "deepseek-r1",
    checkpointSizeGB: 688.6,
    capacityType: "capacity-block",
    capacityReservationId: "cr-0123456789abcdef0",
    // Far ahead, so the schedule is always in the future for this test.
    capacityBlockWindow: { startsAt: "2099-12-08T11:30:00Z", endsAt: "2099-12-15T11:30:00Z" },
    availabilityZone: "us-east-1b",
    nodesPerReplica: 2,
    scaling: { desiredSize: 2 },
    priceOverrides: [{ instanceType: "p5.48xlarge", usdPerHour: 31.464 }],
  });
  beforeAll(settle);

  it("targets the block through the launch template, which carries the instance type, with 32 EFA interfaces and no placement group", () => {
    const { networkInterfaces, userData, tagSpecifications, ...lt } = one("aws:ec2/launchTemplate:LaunchTemplate", "block-launch-template").inputs;
    expect(networkInterfaces).toHaveLength(32);
    expect(decode(userData)).toContain("strategy: RAID0");
    expect(tagSpecifications).toHaveLength(2);
    expect(lt).toEqual({
      description: "p5.48xlarge nodes for deepseek-r1",
      updateDefaultVersion: true,
      instanceType: "p5.48xlarge",
      instanceMarketOptions: { marketType: "capacity-block" },
      capacityReservationSpecification: { capacityReservationTarget: { capacityReservationId: "cr-0123456789abcdef0" } },
      blockDeviceMappings: [{ deviceName: "/dev/xvda", ebs: { volumeSize: 100, volumeType: "gp3", encrypted: "true", deleteOnTermination: "true" } }],
      metadataOptions: { httpEndpoint: "enabled", httpTokens: "required", httpPutResponseHopLimit: 1 },
      tags: BLOCK_TAGS,
    });
    expect(ofType("aws:ec2/placementGroup:PlacementGroup", "block")).toEqual([]);
  });

  it("runs a CAPACITY_BLOCK node group, created empty, in the block's zone, with no instance types of its own", () => {
    expect(one("aws:eks/nodeGroup:NodeGroup", "block-node-group").inputs).toEqual({
      clusterName: "fleet",
      nodeRoleArn: `arn:aws:iam::${ACCOUNT_ID}:role/block-node-role`,
      subnetIds: ["fleet-private-1-id"],
      amiType: "AL2023_x86_64_NVIDIA",
      capacityType: "CAPACITY_BLOCK",
      scalingConfig: { minSize: 0, desiredSize: 0, maxSize: 2 },
      updateConfig: { maxUnavailable: 1 },
      launchTemplate: { id: "block-launch-template-id", version: "1" },
      labels: { "llm-fleet.dev/node-group": "block", "llm-fleet.dev/model": "deepseek-r1", "llm-fleet.dev/gpu": "h100" },
      taints: [{ key: "nvidia.com/gpu", value: "true", effect: "NO_SCHEDULE" }],
      tags: { ...BLOCK_TAGS, "llm-fleet.dev/planned-nodes": "2" },
    });
  });

  it("scales its Auto Scaling group to 2 when the block starts and to 0 thirty minutes before it ends", () => {
    expect(one("aws:autoscaling/schedule:Schedule", "block-block-start").inputs).toEqual({
      scheduledActionName: "block-block-start",
      autoscalingGroupName: "eks-block-node-group-asg",
      startTime: "2099-12-08T11:30:00Z",
      minSize: 0,
      desiredCapacity: 2,
      maxSize: 2,
    });
    expect(one("aws:autoscaling/schedule:Schedule", "block-block-end").inputs).toMatchObject({ startTime: "2099-12-15T11:00:00Z", desiredCapacity: 0, minSize: 0 });
  });

  it("costs the block at the price given", () => {
    expect(group.cost).toMatchObject({ basis: "override", desired: { usdPerHour: 62.928 }, max: { usdPerHour: 62.928 } });
  });
});

describe("a g6.xlarge Spot group for a distill, scaling to zero", () => {
  const group = new GpuNodeGroup("dev", {
    cluster,
    instanceType: "g6.xlarge",
    model: "r1-distill-qwen-7b",
    checkpointSizeGB: 15.2,
    capacityType: "spot",
    scaling: { minSize: 0, desiredSize: 1, maxSize: 2 },
  });
  beforeAll(settle);

  it("uses every private subnet, no EFA, no placement group", () => {
    const lt = one("aws:ec2/launchTemplate:LaunchTemplate", "dev-launch-template").inputs;
    expect(lt.networkInterfaces).toBeUndefined();
    expect(lt.placement).toBeUndefined();
    expect(ofType("aws:ec2/securityGroup:SecurityGroup", "dev")).toEqual([]);
    expect(one("aws:eks/nodeGroup:NodeGroup", "dev-node-group").inputs).toEqual({
      clusterName: "fleet",
      nodeRoleArn: `arn:aws:iam::${ACCOUNT_ID}:role/dev-node-role`,
      subnetIds: ["fleet-private-0-id", "fleet-private-1-id"],
      amiType: "AL2023_x86_64_NVIDIA",
      instanceTypes: ["g6.xlarge"],
      capacityType: "SPOT",
      scalingConfig: { minSize: 0, desiredSize: 1, maxSize: 2 },
      updateConfig: { maxUnavailable: 1 },
      launchTemplate: { id: "dev-launch-template-id", version: "1" },
      labels: { "llm-fleet.dev/node-group": "dev", "llm-fleet.dev/model": "r1-distill-qwen-7b", "llm-fleet.dev/gpu": "l4" },
      taints: [{ key: "nvidia.com/gpu", value: "true", effect: "NO_SCHEDULE" }],
      tags: { "llm-fleet.dev/node-group": "dev", "llm-fleet.dev/model": "r1-distill-qwen-7b", "llm-fleet.dev/planned-nodes": "1" },
    });
  });

  it("prices Spot at its on-demand ceiling, at desired and maximum size", () => {
    expect(group.cost).toEqual({
      usdPerHourPerNode: 0.8048,
      basis: "spot-ceiling",
      asOf: "2026-01-21",
      desired: { usdPerHour: 0.8048, usdPerMonth: 0.8048 * 730 },
      max: { usdPerHour: 1.6096, usdPerMonth: 1.6096 * 730 },
    });
  });
});

describe("a node group on an existing cluster", () => {
  new GpuNodeGroup("shared", { cluster: existing, instanceType: "p5en.48xlarge", model: "deepseek-v3", checkpointSizeGB: 688.6, efa: true, availabilityZone: "us-east-1c" });
  beforeAll(settle);

  it("creates nothing for the cluster but its Kubernetes provider", () => {
    expect(recorded.filter((r) => r.name.startsWith("attached")).map((r) => r.type)).toEqual(["llm-fleet:index:GpuCluster", "pulumi:providers:kubernetes"]);
  });

  it("keeps GPU nodes off the cluster's public subnet", async () => {
    // subnet-0ddd (us-east-1d) gives instances public IPs: of the cluster's four subnets, three remain.
    expect((await valueOf(existing.privateSubnets)).map((s) => s.id)).toEqual(["subnet-0aaa", "subnet-0bbb", "subnet-0ccc"]);
  });

  it("joins the cluster's own subnets and security group", () => {
    const ng = one("aws:eks/nodeGroup:NodeGroup", "shared-node-group").inputs;
    expect(ng.clusterName).toBe("shared-gpu");
    expect(ng.subnetIds).toEqual(["subnet-0ccc"]);
    const lt = one("aws:ec2/launchTemplate:LaunchTemplate", "shared-launch-template").inputs;
    expect(lt.networkInterfaces[0].securityGroups).toEqual(["sg-0cluster", "shared-efa-id"]);
    expect(one("aws:ec2/securityGroup:SecurityGroup", "shared-efa").inputs.vpcId).toBe("vpc-0existing");
  });

  it("builds a kubeconfig that authenticates with aws eks get-token", async () => {
    const config = JSON.parse(await valueOf(existing.kubeconfig));
    expect(config.clusters[0].cluster).toEqual({ server: EXISTING_CLUSTER.endpoint, "certificate-authority-data": "LS0tLS1CRUdJTi1leGlzdGluZw==" });
    expect(config.users[0].user.exec.args).toEqual(["eks", "get-token", "--cluster-name", "shared-gpu", "--region", "us-east-1", "--output", "json"]);
  });
});

describe("a reservation fixes the zone", () => {
  new GpuNodeGroup("odcr", { cluster, instanceType: "p5.48xlarge", model: "deepseek-r1", checkpointSizeGB: 688.6, efa: true, capacityReservationId: "cr-0fedcba9876543210", availabilityZone: "us-east-1b" });
  beforeAll(settle);
  it("targets the on-demand reservation in its zone, without a new placement group", () => {
    const lt = one("aws:ec2/launchTemplate:LaunchTemplate", "odcr-launch-template").inputs;
    expect(lt.capacityReservationSpecification).toEqual({ capacityReservationTarget: { capacityReservationId: "cr-0fedcba9876543210" } });
    expect(lt.instanceMarketOptions).toBeUndefined();
    expect(lt.placement).toBeUndefined();
    expect(one("aws:eks/nodeGroup:NodeGroup", "odcr-node-group").inputs).toMatchObject({ capacityType: "ON_DEMAND", subnetIds: ["fleet-private-1-id"] });
  });
});

describe("a Bottlerocket group with SSM", () => {
  new GpuNodeGroup("rocket", { cluster, instanceType: "g6e.12xlarge", model: "r1-distill-qwen-32b", checkpointSizeGB: 65.5, amiFamily: "bottlerocket", ssm: true });
  beforeAll(settle);

  it("sizes Bottlerocket's data volume and binds its directories to the instance store", () => {
    const lt = one("aws:ec2/launchTemplate:LaunchTemplate", "rocket-launch-template").inputs;
    expect(lt.blockDeviceMappings).toEqual([
      { deviceName: "/dev/xvda", ebs: { volumeSize: 4, volumeType: "gp3", encrypted: "true", deleteOnTermination: "true" } },
      { deviceName: "/dev/xvdb", ebs: { volumeSize: 100, volumeType: "gp3", encrypted: "true", deleteOnTermination: "true" } },
    ]);
    expect(decode(lt.userData)).toMatchInlineSnapshot(`
      "[settings.bootstrap-commands.000-mount-instance-storage]
      commands = [["apiclient", "ephemeral-storage", "init"], ["apiclient", "ephemeral-storage", "bind", "--dirs", "/var/lib/containerd", "/var/lib/kubelet", "/var/log/pods"]]
      essential = true
      mode = "always"
      "
    `);
    expect(one("aws:eks/nodeGroup:NodeGroup", "rocket-node-group").inputs.amiType).toBe("BOTTLEROCKET_x86_64_NVIDIA");
  });

  it("adds the SSM policy to the worker policies", () => {
    expect(ofType("aws:iam/rolePolicyAttachment:RolePolicyAttachment", "rocket-").map((r) => r.inputs.policyArn)).toEqual([
      ...WORKER_POLICIES,
      "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore",
    ]);
  });
});

describe("an existing cluster with a kubeconfig of its own", () => {
  const withConfig = new GpuCluster("given", { mode: "existing", clusterName: EXISTING_CLUSTER.name, kubeconfig: "apiVersion: v1\nkind: Config\n" });
  it("uses it, as a secret", async () => {
    expect(await valueOf(withConfig.kubeconfig)).toBe("apiVersion: v1\nkind: Config\n");
    expect(await pulumi.isSecret(withConfig.kubeconfig)).toBe(true);
  });
});

describe("every child is parented and named after its component", () => {
  beforeAll(settle);
  it("has a URN under its component's type and a name that starts with one of that type's components", () => {
    const components: Record<string, string[]> = {
      "llm-fleet:index:GpuCluster": ["fleet", "attached", "given"],
      "llm-fleet:index:GpuNodeGroup": ["r1", "block", "dev", "shared", "rocket", "odcr"],
    };
    let children = 0;
    for (const urn of registeredUrns()) {
      const [, , type, name] = urn.split("::");
      if (!type!.includes("$")) {
        expect(Object.keys(components), urn).toContain(type);
        continue;
      }
      const parentType = type!.split("$")[0]!;
      expect(Object.keys(components), urn).toContain(parentType);
      expect(components[parentType]!.some((c) => name!.startsWith(`${c}-`)), urn).toBe(true);
      children++;
    }
    expect(children).toBeGreaterThan(50);
  });
});

describe("bad arguments fail before anything is registered", () => {
  it("raises every problem at once, with paths", async () => {
    await settle();
    const before = recorded.length;
    let error: unknown;
    try {
      new GpuNodeGroup("bad", {
        cluster,
        instanceType: "g6.xlarge",
        model: "r1-distill-qwen-7b",
        checkpointSizeGB: 15.2,
        efa: true,
        capacityType: "spot",
        capacityReservationId: "cr-0123456789abcdef0",
        scaling: { minSize: 2, desiredSize: 1, maxSize: 1 },
      });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(InputError);
    expect((error as Error).message).toBe(
      [
        'GpuNodeGroup "bad": invalid input',
        "  scaling.minSize: minSize 2 is above desiredSize 1; lower minSize or raise desiredSize",
        "  efa: g6.xlarge has no EFA; choose g6.8xlarge, g6.12xlarge, g6.16xlarge, g6.24xlarge, g6.48xlarge or set efa: false",
        "  capacityReservationId: Spot instances cannot launch into a capacity reservation; use capacityType on-demand or drop the reservation",
      ].join("\n"),
    );
    await settle();
    expect(recorded.length).toBe(before);
    expect(registeredUrns().filter((u) => u.endsWith("::bad") || u.includes("::bad-"))).toEqual([]);
  });

  it("an unknown instance type gets a did-you-mean", () => {
    expect(() => new GpuNodeGroup("typo", { cluster, instanceType: "p5.48xl", model: "deepseek-r1", checkpointSizeGB: 688.6 })).toThrow(
      'instanceType: unknown instance type "p5.48xl"; did you mean "p5.48xlarge"?',
    );
  });
});
