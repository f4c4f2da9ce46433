import * as pulumi from "@pulumi/pulumi";
import type { ClusterOptions } from "../components/aws/cluster-spec";
import { checkedGpuCluster, gpuClusterResources, type ExistingClusterOptions, type GpuClusterArgs as TypeScriptArgs, type NodeAutoscalerOption } from "../components/aws/gpu-cluster";
import { COMPONENT_TYPES } from "../components/component-types";
import { InputError, unknownIdMessage, type InputProblem } from "../sizing";
import { remember } from "./references";
import type { SystemNodes } from "./types";

export const ClusterMode = {
  /** A VPC and an EKS cluster of their own. */
  New: "new",
  /** Node groups join a cluster that exists; nothing is created for the cluster itself. */
  Existing: "existing",
} as const;
export type ClusterMode = (typeof ClusterMode)[keyof typeof ClusterMode];

export interface GpuClusterArgs extends ClusterOptions, ExistingClusterOptions, NodeAutoscalerOption {
  /**
   * A new cluster, or an existing one to attach to.
   * @default "new"
   */
  mode?: ClusterMode;
  /**
   * EKS cluster name: the new cluster's, or the existing one's to attach to (required then).
   * @default the component's name, for a new cluster
   */
  clusterName?: string;
  /**
   * Untainted nodes for cluster services; `count: 0` when something else provides them. New clusters only.
   * @default { instanceType: "m7i.large", count: 2 }
   */
  systemNodes?: SystemNodes;
}

/** Arguments that only one mode takes. */
const NEW_ONLY = [
  "kubernetesVersion",
  "vpcCidr",
  "availabilityZoneCount",
  "natGateways",
  "endpointPublicAccess",
  "publicAccessCidrs",
  "deployerPrincipalArn",
  "adminPrincipalArns",
  "systemNodes",
  "logRetentionDays",
  "ebsCsiDriver",
  "tags",
] as const satisfies readonly (keyof GpuClusterArgs)[];
const EXISTING_ONLY = ["subnetIds", "kubeconfig"] as const satisfies readonly (keyof GpuClusterArgs)[];

/** The TypeScript form of the arguments, or what is wrong with them. */
export function typeScriptGpuClusterArgs(args: GpuClusterArgs): { args: TypeScriptArgs } | { problems: InputProblem[] } {
  const mode = args.mode ?? "new";
  const given = (keys: readonly (keyof GpuClusterArgs)[]) => keys.filter((key) => args[key] !== undefined);
  switch (mode) {
    case "new": {
      const problems = given(EXISTING_ONLY).map((key) => ({ path: key, message: 'is only for an existing cluster (mode "existing")' }));
      if (problems.length > 0) return { problems };
      const { mode: _mode, subnetIds: _subnets, kubeconfig: _kubeconfig, systemNodes, ...options } = args;
      return { args: { ...options, mode: "new", ...(systemNodes ? { systemNodes: systemNodes.count === 0 ? false : systemNodes } : {}) } };
    }
    case "existing": {
      const problems = given(NEW_ONLY).map((key) => ({ path: key, message: 'is only for a new cluster (mode "new")' }));
      if (args.clusterName === undefined) problems.push({ path: "clusterName", message: "is required for an existing cluster: name the EKS cluster to attach to" });
      if (problems.length > 0) return { problems };
      return {
        args: {
          mode: "existing",
          clusterName: args.clusterName!,
          ...(args.subnetIds ? { subnetIds: args.subnetIds } : {}),
          ...(args.kubeconfig !== undefined ? { kubeconfig: args.kubeconfig } : {}),
          ...(args.region !== undefined ? { region: args.region } : {}),
          ...(args.nodeAutoscaler !== undefined ? { nodeAutoscaler: args.nodeAutoscaler } : {}),
        },
      };
    }
    default:
      return { problems: [{ path: "mode", message: unknownIdMessage("cluster mode", String(mode), Object.values(ClusterMode)) }] };
  }
}

/**
 * Where GPU node groups go: a new EKS cluster in its own VPC (private subnets, secrets encrypted
 * with a KMS key, the deploying identity as admin, the Pod Identity agent), or an existing cluster,
 * for which nothing is created. Pass it to ModelDeployment, GpuNodeGroup, VllmServer and ClusterAddons.
 */
export class GpuCluster extends pulumi.ComponentResource {
  /** The EKS cluster's name. */
  readonly clusterName: pulumi.Output<string>;
  /** The AWS region of the cluster. */
  readonly region: string;
  /** The VPC the cluster's subnets are in. */
  readonly vpcId: pulumi.Output<string>;
  /** The Kubernetes API server's URL. */
  readonly endpoint: pulumi.Output<string>;
  /** A kubeconfig for the cluster: one that authenticates with `aws eks get-token`, or the one given (a secret). */
  readonly kubeconfig: pulumi.Output<string>;
  /** Kubernetes version of the control plane. */
  readonly kubernetesVersion: pulumi.Output<string>;
  /** The security group EKS created for the cluster. */
  readonly clusterSecurityGroupId: pulumi.Output<string>;
  /** The private subnets GPU nodes go in. */
  readonly privateSubnetIds: pulumi.Output<string[]>;
  /** Whether the cluster autoscaler has an IAM role. */
  readonly nodeAutoscaler: boolean;

  constructor(name: string, args: GpuClusterArgs, opts?: pulumi.ComponentResourceOptions) {
    const converted = typeScriptGpuClusterArgs(args ?? {});
    if ("problems" in converted) throw new InputError(`GpuCluster "${name}"`, converted.problems);
    const checked = checkedGpuCluster(name, converted.args);
    super(COMPONENT_TYPES.GpuCluster, name, {}, opts);
    const parts = gpuClusterResources(this, name, converted.args, checked);
    remember(this, "GpuCluster", parts);
    this.clusterName = parts.clusterName;
    this.region = parts.region;
    this.vpcId = parts.vpcId;
    this.endpoint = parts.endpoint;
    this.kubeconfig = parts.kubeconfig;
    this.kubernetesVersion = parts.kubernetesVersion;
    this.clusterSecurityGroupId = parts.clusterSecurityGroupId;
    this.privateSubnetIds = parts.privateSubnets.apply((subnets) => subnets.map((s) => s.id));
    this.nodeAutoscaler = parts.nodeAutoscaler.length > 0;
    this.registerOutputs({
      clusterName: this.clusterName,
      region: this.region,
      vpcId: this.vpcId,
      endpoint: this.endpoint,
      kubeconfig: this.kubeconfig,
      kubernetesVersion: this.kubernetesVersion,
      clusterSecurityGroupId: this.clusterSecurityGroupId,
      privateSubnetIds: this.privateSubnetIds,
      nodeAutoscaler: this.nodeAutoscaler,
    });
  }
}
