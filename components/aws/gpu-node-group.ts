import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { InputError, type CapacityType, type PriceOverride } from "../../sizing";
import { COMPONENT_TYPES, componentOptions } from "../component-types";
import type { GpuClusterRef } from "./gpu-cluster";
import { NODE_TRUST_POLICY, managedPolicyArn } from "./iam";
import { FALLBACK_FOR_TAG, PLANNED_NODES_TAG, autoscalerTags, nodeGroupSpec, type AmiFamily, type CapacityBlockWindow, type NodeGroupCost, type NodeGroupSpec } from "./node-group-spec";

/** Node counts of a GpuNodeGroup. */
export interface NodeGroupScaling {
  /**
   * Fewest nodes; 0 lets the group scale to zero.
   * @default desiredSize
   */
  minSize?: number;
  /**
   * Nodes the group starts with.
   * @default 1
   */
  desiredSize?: number;
  /**
   * Most nodes.
   * @default desiredSize
   */
  maxSize?: number;
}

/** A node group's options that the multi-language package takes as they are (package/gpu-node-group.ts). */
export interface NodeGroupOptions {
  /** EC2 instance type of the catalog, e.g. `p5.48xlarge`. */
  instanceType: string;
  /** Model id the nodes serve, for labels. */
  model: string;
  /** Size of the checkpoint the nodes serve, in GB: sizes the weights cache. */
  checkpointSizeGB: number;
  /**
   * How the nodes are bought.
   * @default "on-demand"
   */
  capacityType?: CapacityType;
  /**
   * Node counts. `minSize` 0 lets a stack scale to zero.
   * @default { minSize: desiredSize, desiredSize: 1, maxSize: desiredSize }
   */
  scaling?: NodeGroupScaling;
  /**
   * Nodes one vLLM replica spans. Above 1, EFA is on by default where the instance has it.
   * @default 1
   */
  nodesPerReplica?: number;
  /**
   * EFA network interfaces, one per network card, with a cluster placement group.
   * @default true when nodesPerReplica > 1 and the instance type has EFA
   */
  efa?: boolean;
  /**
   * A Capacity Reservation or Capacity Block to launch into (`cr-...`). Required for Capacity
   * Blocks. No placement group is created for a reservation: it already fixes placement.
   * @default none
   */
  capacityReservationId?: string;
  /**
   * A Capacity Block's start and end, ISO 8601 (its reservation's StartDate and EndDate): the
   * group is created at 0 nodes and scheduled up at the start, down 30 minutes before the end.
   * @default none; required for a Capacity Block
   */
  capacityBlockWindow?: CapacityBlockWindow;
  /**
   * The single availability zone for the nodes. Required with a reservation or Capacity Block (its zone).
   * @default the first zone of the cluster's subnets when EFA is on; every zone otherwise
   */
  availabilityZone?: string;
  /**
   * `al2023` (AL2023 NVIDIA AMI; needs the NVIDIA device plugin) or `bottlerocket` (plugin included).
   * @default "al2023"
   */
  amiFamily?: AmiFamily;
  /**
   * Attach AmazonSSMManagedInstanceCore, for Session Manager access to the nodes.
   * @default false
   */
  ssm?: boolean;
  /**
   * Whether the cluster autoscaler resizes the group: its Auto Scaling group gets the tags the
   * autoscaler discovers it by and scales it from zero with, and later deployments leave
   * `desiredSize` as the autoscaler set it. Capacity Blocks keep their schedule instead.
   * @default false
   */
  autoscaled?: boolean;
  /**
   * Nodes the group runs at the planned load, for an autoscaled group that starts below it: tagged
   * on the node group so the policy pack checks the budget at that size.
   * @default scaling.desiredSize
   */
  plannedNodes?: number;
  /**
   * The Spot group this on-demand group backs up: it carries that group's node-group label (the
   * same pods land on either), is tagged with its name, and the cluster autoscaler tries it only
   * when Spot cannot launch.
   * @default none
   */
  fallbackFor?: string;
  /**
   * Tags for every AWS resource.
   * @default {}
   */
  tags?: Record<string, string>;
}

export interface GpuNodeGroupArgs extends NodeGroupOptions {
  /** The cluster to join: a GpuCluster, new or existing. */
  cluster: GpuClusterRef;
  /**
   * Negotiated or Capacity Block prices, for the cost outputs.
   * @default []
   */
  priceOverrides?: PriceOverride[];
}

/** What a GpuNodeGroup exposes. */
export interface GpuNodeGroupParts {
  readonly nodeGroupName: pulumi.Output<string>;
  /** What a workload's pod spec must carry to land on these nodes. */
  readonly nodeSelector: Record<string, string>;
  readonly tolerations: NodeGroupSpec["tolerations"];
  /** Hourly and monthly cost at desired and at maximum size; null when no price is known. */
  readonly cost: NodeGroupCost | null;
  readonly spec: NodeGroupSpec;
}

/** The node group's spec from the arguments, or every problem of them, before anything is created. */
export function checkedGpuNodeGroup(name: string, args: GpuNodeGroupArgs): NodeGroupSpec {
  const desiredSize = args.scaling?.desiredSize ?? 1;
  const result = nodeGroupSpec({
    name,
    instanceType: args.instanceType,
    region: args.cluster.region,
    capacityType: args.capacityType ?? "on-demand",
    scaling: {
      minSize: args.scaling?.minSize ?? desiredSize,
      desiredSize,
      maxSize: args.scaling?.maxSize ?? desiredSize,
    },
    efa: args.efa,
    nodesPerReplica: args.nodesPerReplica ?? 1,
    capacityReservationId: args.capacityReservationId,
    capacityBlockWindow: args.capacityBlockWindow,
    availabilityZone: args.availabilityZone,
    amiFamily: args.amiFamily ?? "al2023",
    checkpointSizeGB: args.checkpointSizeGB,
    model: args.model,
    ssm: args.ssm ?? false,
    priceOverrides: args.priceOverrides ?? [],
    selectorName: args.fallbackFor,
  });
  if ("problems" in result) throw new InputError(`GpuNodeGroup "${name}"`, result.problems);
  return result.spec;
}

/** The resources of a checked node group, children of `parent`: what the TypeScript class and the package's form both create. */
export function gpuNodeGroupResources(parent: pulumi.ComponentResource, name: string, args: GpuNodeGroupArgs, spec: NodeGroupSpec): GpuNodeGroupParts {
  const desiredSize = args.scaling?.desiredSize ?? 1;
  const child = { parent };
  const tags = { ...args.tags, "llm-fleet.dev/node-group": name, "llm-fleet.dev/model": args.model };
  const partition = aws.getPartitionOutput({}, child).partition;

  const role = new aws.iam.Role(`${name}-node-role`, { assumeRolePolicy: NODE_TRUST_POLICY, tags }, child);
  const attachments = spec.managedPolicies.map(
    (policy) =>
      new aws.iam.RolePolicyAttachment(
        `${name}-node-${policy}`,
        { role: role.name, policyArn: partition.apply((p) => managedPolicyArn(p, policy)) },
        child,
      ),
  );

  const subnets = args.cluster.privateSubnets.apply((list) => {
    if (spec.availabilityZone === null) return list.map((s) => s.id);
    const zone = spec.availabilityZone === "first" ? [...list.map((s) => s.availabilityZone)].sort()[0] : spec.availabilityZone;
    const inZone = list.filter((s) => s.availabilityZone === zone).map((s) => s.id);
    if (inZone.length === 0) {
      throw new Error(`GpuNodeGroup "${name}": the cluster has no private subnet in ${zone}; use one of ${[...new Set(list.map((s) => s.availabilityZone))].join(", ")}`);
    }
    return inZone;
  });

  let placementGroup: aws.ec2.PlacementGroup | undefined;
  let networkInterfaces: aws.types.input.ec2.LaunchTemplateNetworkInterface[] | undefined;
  if (spec.efa) {
    // EFA traffic must be allowed to and from the interfaces' own security group.
    const efaGroup = new aws.ec2.SecurityGroup(
      `${name}-efa`,
      {
        vpcId: args.cluster.vpcId,
        description: `EFA traffic between ${name} nodes`,
        ingress: [{ protocol: "-1", fromPort: 0, toPort: 0, self: true, description: "EFA from peers" }],
        egress: [{ protocol: "-1", fromPort: 0, toPort: 0, self: true, description: "EFA to peers" }],
        tags,
      },
      child,
    );
    networkInterfaces = spec.networkInterfaces.map((ni) => ({
      ...ni,
      deleteOnTermination: "true",
      securityGroups: [args.cluster.clusterSecurityGroupId, efaGroup.id],
    }));
    if (spec.placementGroup) {
      placementGroup = new aws.ec2.PlacementGroup(`${name}-placement`, { strategy: "cluster", tags }, child);
    }
  }

  const launchTemplate = new aws.ec2.LaunchTemplate(
    `${name}-launch-template`,
    {
      description: `${spec.instanceType} nodes for ${args.model}`,
      updateDefaultVersion: true,
      blockDeviceMappings: spec.blockDevices.map((d) => ({
        deviceName: d.deviceName,
        ebs: {
          volumeSize: d.volumeSizeGiB,
          volumeType: "gp3",
          encrypted: "true",
          deleteOnTermination: "true",
          throughput: d.throughputMiBps,
          iops: d.iops,
        },
      })),
      // EKS takes a Capacity Block's instance type from the launch template, not the node group
      // (https://docs.aws.amazon.com/eks/latest/userguide/capacity-blocks-mng.html).
      instanceType: spec.marketType === "capacity-block" ? spec.instanceType : undefined,
      metadataOptions: spec.metadataOptions,
      networkInterfaces,
      placement: placementGroup ? { groupName: placementGroup.name } : undefined,
      instanceMarketOptions: spec.marketType ? { marketType: spec.marketType } : undefined,
      capacityReservationSpecification: spec.capacityReservationId
        ? { capacityReservationTarget: { capacityReservationId: spec.capacityReservationId } }
        : undefined,
      userData: spec.userData === "" ? undefined : Buffer.from(spec.userData, "utf8").toString("base64"),
      tagSpecifications: [
        { resourceType: "instance", tags },
        { resourceType: "volume", tags },
      ],
      tags,
    },
    child,
  );

  const nodeGroup = new aws.eks.NodeGroup(
    `${name}-node-group`,
    {
      clusterName: args.cluster.clusterName,
      nodeRoleArn: role.arn,
      subnetIds: subnets,
      amiType: spec.amiType,
      instanceTypes: spec.marketType === "capacity-block" ? undefined : [spec.instanceType],
      capacityType: spec.capacityType,
      scalingConfig: spec.scaling,
      updateConfig: { maxUnavailable: 1 },
      launchTemplate: { id: launchTemplate.id, version: launchTemplate.latestVersion.apply(String) },
      labels: spec.labels,
      taints: spec.taints,
      tags: {
        ...tags,
        [PLANNED_NODES_TAG]: String(args.plannedNodes ?? desiredSize),
        ...(args.fallbackFor ? { [FALLBACK_FOR_TAG]: args.fallbackFor } : {}),
      },
    },
    // An autoscaler or a Capacity Block's schedule, when there is one, owns desiredSize once the group exists.
    { parent, dependsOn: attachments, ignoreChanges: args.autoscaled || spec.schedule.length > 0 ? ["scalingConfig.desiredSize"] : [] },
  );
  // The schedule acts on the Auto Scaling group EKS creates for the node group.
  const autoScalingGroup = nodeGroup.resources.apply((r) => r[0]?.autoscalingGroups?.[0]?.name ?? "");
  for (const action of spec.schedule) {
    new aws.autoscaling.Schedule(
      `${name}-${action.name}`,
      {
        scheduledActionName: `${name}-${action.name}`,
        autoscalingGroupName: autoScalingGroup,
        startTime: action.startTime,
        minSize: action.minSize,
        desiredCapacity: action.desiredCapacity,
        maxSize: action.maxSize,
      },
      { parent },
    );
  }

  if (args.autoscaled && spec.schedule.length === 0) {
    autoscalerTags(spec).forEach(
      (tag, i) =>
        new aws.autoscaling.Tag(
          `${name}-autoscaler-tag-${i}`,
          { autoscalingGroupName: autoScalingGroup, tag: { key: tag.key, value: tag.value, propagateAtLaunch: false } },
          { parent },
        ),
    );
  }

  if (spec.costProblem) pulumi.log.warn(`GpuNodeGroup "${name}": no cost estimate: ${spec.costProblem}`, parent);
  return { nodeGroupName: nodeGroup.nodeGroupName, nodeSelector: spec.nodeSelector, tolerations: spec.tolerations, cost: spec.cost, spec };
}

export interface GpuNodeGroup extends GpuNodeGroupParts {}

/**
 * One EKS managed node group for one node specification of a plan: its IAM role, a
 * launch template (encrypted gp3 root, IMDSv2 with one hop, NVMe RAID for the weights
 * cache, EFA interfaces, capacity reservation), an optional cluster placement group, and
 * the node group with GPU labels and the `nvidia.com/gpu` taint.
 */
export class GpuNodeGroup extends pulumi.ComponentResource {
  constructor(name: string, args: GpuNodeGroupArgs, opts?: pulumi.ComponentResourceOptions) {
    const spec = checkedGpuNodeGroup(name, args);
    super(COMPONENT_TYPES.GpuNodeGroup, name, {}, componentOptions("GpuNodeGroup", opts));
    Object.assign(this, gpuNodeGroupResources(this, name, args, spec));
    this.registerOutputs({ nodeGroupName: this.nodeGroupName, nodeSelector: this.nodeSelector, tolerations: this.tolerations, cost: this.cost });
  }
}
