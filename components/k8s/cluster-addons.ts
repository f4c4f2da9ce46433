import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import {
  CHARTS,
  CHART_IDS,
  chartProblems,
  clusterAutoscalerImageTag,
  clusterAutoscalerImageTagOrDefault,
  type ChartContext,
  type ChartId,
  type GpuNodeMarks,
} from "../../charts";
import { InputError } from "../../sizing";
import type { GpuClusterParts } from "../aws/gpu-cluster";
import { AUTOSCALED_TAG, FALLBACK_GROUP_PATTERN, GPU_NODE_MARKS } from "../aws/node-group-spec";
import { COMPONENT_TYPES, componentOptions } from "../component-types";

/** What the deployments on a cluster need of it. */
export interface AddonNeeds {
  /** AL2023 NVIDIA nodes need the device plugin; Bottlerocket NVIDIA nodes ship it. */
  nvidiaDevicePlugin: boolean;
  /** Any replica that spans nodes. */
  leaderWorkerSet: boolean;
  /** Any node group with EFA. */
  efaDevicePlugin: boolean;
  /** Any autoscaled deployment: KEDA scales its replicas. */
  replicaAutoscaler: boolean;
  /** Any deployment that scales to zero: the HTTP add-on holds its requests while a replica starts. */
  requestHolder: boolean;
  /** Any autoscaled node group: the cluster autoscaler resizes it. */
  nodeAutoscaler: boolean;
  /** Prometheus, Grafana, Alertmanager and the DCGM exporter. */
  monitoring: boolean;
}

/** The charts the needs call for, in a stable order; nothing that is not needed. */
export function chartsFor(needs: AddonNeeds): ChartId[] {
  return CHART_IDS.filter((id) => {
    switch (id) {
      case "nvidia-device-plugin":
        return needs.nvidiaDevicePlugin;
      case "lws":
        return needs.leaderWorkerSet;
      case "aws-efa-k8s-device-plugin":
        return needs.efaDevicePlugin;
      case "keda":
        return needs.replicaAutoscaler || needs.requestHolder;
      case "keda-add-ons-http":
        return needs.requestHolder;
      case "cluster-autoscaler":
        return needs.nodeAutoscaler;
      case "kube-prometheus-stack":
      case "dcgm-exporter":
        return needs.monitoring;
      default: {
        const unreachable: never = id;
        throw new Error(`unknown chart ${String(unreachable)}`);
      }
    }
  });
}

export interface ClusterAddonsArgs {
  /** Kubernetes provider of the cluster. */
  provider: k8s.Provider;
  /** What the deployments need; see `chartsFor`. */
  needs: AddonNeeds;
  /** How the GPU nodes are tainted and labelled, so the device plugins run there. */
  gpuNodes: GpuNodeMarks;
  /**
   * The EKS cluster, for the cluster autoscaler: its name and region (plain text, chart values),
   * its Kubernetes version (the autoscaler's release must match its minor) and the tag it
   * discovers node groups by.
   * @default none; required when `needs.nodeAutoscaler`
   */
  cluster?: { clusterName: string; region: string; kubernetesVersion: pulumi.Input<string>; autoscaledTag: string; fallbackGroupPattern: string };
  /**
   * Resources the autoscaler's release waits for: its IAM role's Pod Identity association, so it
   * starts with credentials (GpuCluster `nodeAutoscaler`).
   * @default []
   */
  nodeAutoscalerIdentity?: pulumi.Resource[];
  /**
   * A StorageClass for Prometheus's data volume.
   * @default none: Prometheus keeps its data on an emptyDir, lost when its pod moves
   */
  storageClassName?: string;
  /**
   * Resources the releases wait for: the system node group a controller (the LWS manager) runs
   * on. Without it a first `up` installs the chart before any node exists and times out.
   * @default [] (an existing cluster's nodes are already there)
   */
  waitFor?: pulumi.Resource[];
}

/** The add-ons' arguments for a cluster: its provider, name, region, version and autoscaler role; its system nodes to wait for. */
export function clusterAddonsArgsFor(cluster: GpuClusterParts, needs: AddonNeeds): ClusterAddonsArgs {
  return {
    provider: cluster.provider,
    needs,
    gpuNodes: GPU_NODE_MARKS,
    waitFor: cluster.systemNodes,
    cluster: {
      clusterName: cluster.clusterNameText,
      region: cluster.region,
      kubernetesVersion: cluster.kubernetesVersion,
      autoscaledTag: AUTOSCALED_TAG,
      fallbackGroupPattern: FALLBACK_GROUP_PATTERN,
    },
    nodeAutoscalerIdentity: cluster.nodeAutoscaler,
  };
}

/**
 * How long `pulumi up` waits for a release's pods: a first install may wait for a managed node
 * group (3-5 minutes to join) and an image pull, well past Helm's 300 s default
 * (https://docs.aws.amazon.com/eks/latest/userguide/create-managed-node-group.html).
 */
export const RELEASE_TIMEOUT_SECONDS = 900;

/** What a ClusterAddons gives the deployments that wait for it. */
export interface ClusterAddonsParts {
  /** The charts installed, by id. */
  readonly installed: ChartId[];
  readonly releases: k8s.helm.v3.Release[];
  /** The release of one chart, when installed: what objects of its CRDs wait for. */
  readonly release: (id: ChartId) => k8s.helm.v3.Release | undefined;
}

/** The charts to install, with their values. */
export interface CheckedClusterAddons {
  ids: ChartId[];
  values: Record<string, Record<string, unknown>>;
}

/** Every problem of the arguments, before anything is created; the charts to install when there is none. */
export function checkedClusterAddons(name: string, args: ClusterAddonsArgs): CheckedClusterAddons {
  const ids = chartsFor(args.needs);
  const values = chartValues(args, ids);
  const problems: { path: string; message: string }[] = [];
  if (args.needs.nodeAutoscaler && !args.cluster) {
    problems.push({ path: "cluster", message: "the cluster autoscaler needs the cluster's name, region and Kubernetes version: pass cluster (GpuCluster has them)" });
  }
  if (args.needs.nodeAutoscaler && (args.nodeAutoscalerIdentity ?? []).length === 0) {
    problems.push({
      path: "nodeAutoscalerIdentity",
      message: "the cluster autoscaler needs AWS credentials to resize node groups: create the GpuCluster with nodeAutoscaler: true and pass its nodeAutoscaler here",
    });
  }
  if (problems.length === 0) problems.push(...ids.flatMap((id) => chartProblems(id, CHARTS[id], values[id]!)));
  // A version known now (a new cluster's) is checked now; an existing cluster's when it is read.
  const version = args.cluster?.kubernetesVersion;
  if (args.needs.nodeAutoscaler && typeof version === "string") {
    try {
      clusterAutoscalerImageTag(version);
    } catch (error) {
      problems.push({ path: "cluster.kubernetesVersion", message: (error as Error).message });
    }
  }
  if (problems.length > 0) throw new InputError(`ClusterAddons "${name}"`, problems);
  return { ids, values };
}

function chartValues(args: ClusterAddonsArgs, ids: ChartId[]): Record<string, Record<string, unknown>> {
  const context: ChartContext = {
    gpuNodes: args.gpuNodes,
    clusterName: args.cluster?.clusterName ?? "",
    region: args.cluster?.region ?? "",
    autoscaledTag: args.cluster?.autoscaledTag ?? "",
    fallbackGroupPattern: args.cluster?.fallbackGroupPattern ?? "",
    storageClassName: args.storageClassName ?? null,
  };
  return Object.fromEntries(ids.map((id) => [id, CHARTS[id].values(context)]));
}

/** The releases of checked arguments, children of `parent`: what the TypeScript class and the package's form both create. */
export function clusterAddonsResources(parent: pulumi.ComponentResource, name: string, args: ClusterAddonsArgs, checked: CheckedClusterAddons): ClusterAddonsParts {
  const { ids, values } = checked;
  const version = args.cluster?.kubernetesVersion;
  const byId = new Map<ChartId, k8s.helm.v3.Release>();
  // CHART_IDS lists every chart after those it needs, so each release can wait for them.
  for (const id of ids) {
    const chart = CHARTS[id];
    const oci = chart.repository.startsWith("oci://");
    const releaseValues: Record<string, unknown> =
      id === "cluster-autoscaler" ? { ...values[id], image: { tag: pulumi.output(version!).apply((v) => autoscalerTag(parent, v)) } } : values[id]!;
    const before = chart.after.flatMap((other) => byId.get(other) ?? []);
    const identity = id === "cluster-autoscaler" ? (args.nodeAutoscalerIdentity ?? []) : [];
    byId.set(
      id,
      new k8s.helm.v3.Release(
        `${name}-${id}`,
        {
          name: id,
          chart: oci ? `${chart.repository}/${chart.chart}` : chart.chart,
          version: chart.version,
          repositoryOpts: oci ? undefined : { repo: chart.repository },
          namespace: chart.namespace,
          createNamespace: chart.namespace !== "kube-system",
          values: releaseValues,
          // The release is up when its pods are: deployments wait for their device plugin.
          atomic: true,
          timeout: RELEASE_TIMEOUT_SECONDS,
        },
        { parent, provider: args.provider, dependsOn: [...(args.waitFor ?? []), ...before, ...identity] },
      ),
    );
  }
  return { installed: ids, releases: [...byId.values()], release: (id: ChartId) => byId.get(id) };
}

/** An existing cluster's version is read at run time: an unpinned minor warns instead of failing half-way. */
function autoscalerTag(parent: pulumi.Resource, version: string): string {
  const { tag, warning } = clusterAutoscalerImageTagOrDefault(version);
  if (warning) pulumi.log.warn(`ClusterAddons: ${warning}`, parent);
  return tag;
}

export interface ClusterAddons extends ClusterAddonsParts {}

/** The cluster-wide pieces vLLM deployments depend on, from pinned Helm charts. */
export class ClusterAddons extends pulumi.ComponentResource {
  constructor(name: string, args: ClusterAddonsArgs, opts?: pulumi.ComponentResourceOptions) {
    const checked = checkedClusterAddons(name, args);
    super(COMPONENT_TYPES.ClusterAddons, name, {}, componentOptions("ClusterAddons", opts));
    Object.assign(this, clusterAddonsResources(this, name, args, checked));
    this.registerOutputs({ installed: this.installed });
  }
}
