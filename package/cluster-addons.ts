import * as pulumi from "@pulumi/pulumi";
import { COMPONENT_TYPES } from "../components/component-types";
import { checkedClusterAddons, clusterAddonsArgsFor, clusterAddonsResources, type AddonNeeds, type ClusterAddonsArgs as TypeScriptArgs } from "../components/k8s/cluster-addons";
import { InputError } from "../sizing";
import { referenced, remember } from "./references";
import type { AddonSelection, GpuClusterReference } from "./types";

export interface ClusterAddonsArgs {
  /** The GpuCluster to install onto. */
  cluster: GpuClusterReference;
  /**
   * What the deployments on the cluster need; a ModelDeployment without `addons` installs its own.
   * @default nothing
   */
  needs?: AddonSelection;
  /**
   * A StorageClass for Prometheus's data volume.
   * @default none: Prometheus keeps its data on an emptyDir, lost when its pod moves
   */
  storageClassName?: string;
}

/** Every need, false unless selected. */
export function addonNeeds(selection: AddonSelection | undefined): AddonNeeds {
  const s = selection ?? {};
  return {
    nvidiaDevicePlugin: s.nvidiaDevicePlugin ?? false,
    leaderWorkerSet: s.leaderWorkerSet ?? false,
    efaDevicePlugin: s.efaDevicePlugin ?? false,
    replicaAutoscaler: s.replicaAutoscaler ?? false,
    requestHolder: s.requestHolder ?? false,
    nodeAutoscaler: s.nodeAutoscaler ?? false,
    monitoring: s.monitoring ?? false,
  };
}

/**
 * The cluster-wide pieces vLLM deployments depend on, from pinned Helm charts: install once per
 * cluster and pass to every ModelDeployment on it.
 */
export class ClusterAddons extends pulumi.ComponentResource {
  /** The charts installed, by id. */
  readonly installed: string[];

  constructor(name: string, args: ClusterAddonsArgs, opts?: pulumi.ComponentResourceOptions) {
    const cluster = referenced("GpuCluster", "cluster", args.cluster);
    if ("problem" in cluster) throw new InputError(`ClusterAddons "${name}"`, [cluster.problem]);
    // The TypeScript check names the role it is passed; here it comes with the cluster.
    if (args.needs?.nodeAutoscaler && cluster.parts.nodeAutoscaler.length === 0) {
      throw new InputError(`ClusterAddons "${name}"`, [
        { path: "needs.nodeAutoscaler", message: "the cluster autoscaler needs AWS credentials to resize node groups: create the GpuCluster with nodeAutoscaler: true" },
      ]);
    }
    const typeScriptArgs: TypeScriptArgs = {
      ...clusterAddonsArgsFor(cluster.parts, addonNeeds(args.needs)),
      waitFor: [...cluster.parts.systemNodes, ...cluster.parts.storage],
      ...(args.storageClassName !== undefined ? { storageClassName: args.storageClassName } : {}),
    };
    const checked = checkedClusterAddons(name, typeScriptArgs);
    super(COMPONENT_TYPES.ClusterAddons, name, {}, opts);
    const parts = clusterAddonsResources(this, name, typeScriptArgs, checked);
    remember(this, "ClusterAddons", parts);
    this.installed = parts.installed;
    this.registerOutputs({ installed: this.installed });
  }
}
