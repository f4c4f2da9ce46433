import * as pulumi from "@pulumi/pulumi";
import { checkedGpuNodeGroup, gpuNodeGroupResources, type GpuNodeGroupArgs as TypeScriptArgs, type NodeGroupOptions } from "../components/aws/gpu-node-group";
import type { NodeGroupCost } from "../components/aws/node-group-spec";
import { COMPONENT_TYPES } from "../components/component-types";
import { InputError } from "../sizing";
import { referenced } from "./references";
import { priceOverrides, type GpuClusterReference, type PriceOverride, type Toleration } from "./types";

export interface GpuNodeGroupArgs extends NodeGroupOptions {
  /** The GpuCluster to join. */
  cluster: GpuClusterReference;
  /**
   * Negotiated or Capacity Block prices, for the cost outputs.
   * @default []
   */
  priceOverrides?: PriceOverride[];
}

/** The cost outputs of a node group or deployment; absent when no price is known. */
export function costOutputs(cost: NodeGroupCost | null): { usdPerHour?: number; usdPerMonth?: number; maxUsdPerHour?: number; maxUsdPerMonth?: number } {
  if (!cost) return {};
  return { usdPerHour: cost.desired.usdPerHour, usdPerMonth: cost.desired.usdPerMonth, maxUsdPerHour: cost.max.usdPerHour, maxUsdPerMonth: cost.max.usdPerMonth };
}

/**
 * One EKS managed node group for one node specification: its IAM role, a launch template
 * (encrypted gp3 root, IMDSv2 with one hop, NVMe RAID for the weights cache, EFA interfaces,
 * capacity reservation), an optional cluster placement group, and the node group with GPU labels
 * and the `nvidia.com/gpu` taint.
 */
export class GpuNodeGroup extends pulumi.ComponentResource {
  /** The EKS managed node group's name. */
  readonly nodeGroupName: pulumi.Output<string>;
  /** What a workload's pod spec must carry to land on these nodes. */
  readonly nodeSelector: Record<string, string>;
  /** Tolerations for the nodes' taints. */
  readonly tolerations: Toleration[];
  /** USD per hour at the desired size, from the dated price sheet or an override. */
  readonly usdPerHour: number | undefined;
  /** USD per month (730 hours) at the desired size. */
  readonly usdPerMonth: number | undefined;
  /** USD per hour at the maximum size. */
  readonly maxUsdPerHour: number | undefined;
  /** USD per month at the maximum size. */
  readonly maxUsdPerMonth: number | undefined;

  constructor(name: string, args: GpuNodeGroupArgs, opts?: pulumi.ComponentResourceOptions) {
    const cluster = referenced("GpuCluster", "cluster", args.cluster);
    if ("problem" in cluster) throw new InputError(`GpuNodeGroup "${name}"`, [cluster.problem]);
    const typeScriptArgs: TypeScriptArgs = { ...args, cluster: cluster.parts, priceOverrides: priceOverrides(args.priceOverrides) };
    const spec = checkedGpuNodeGroup(name, typeScriptArgs);
    super(COMPONENT_TYPES.GpuNodeGroup, name, {}, opts);
    const parts = gpuNodeGroupResources(this, name, typeScriptArgs, spec);
    this.nodeGroupName = parts.nodeGroupName;
    this.nodeSelector = parts.nodeSelector;
    this.tolerations = parts.tolerations;
    const cost = costOutputs(parts.cost);
    this.usdPerHour = cost.usdPerHour;
    this.usdPerMonth = cost.usdPerMonth;
    this.maxUsdPerHour = cost.maxUsdPerHour;
    this.maxUsdPerMonth = cost.maxUsdPerMonth;
    this.registerOutputs({ nodeGroupName: this.nodeGroupName, nodeSelector: this.nodeSelector, tolerations: this.tolerations, ...cost });
  }
}
