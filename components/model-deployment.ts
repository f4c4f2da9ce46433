import * as pulumi from "@pulumi/pulumi";
import { COMPONENT_TYPES, componentOptions } from "./component-types";
import { DEFAULT_CONCURRENCY, InputError, type CalibrationEntryInput, type InputProblem, type Plan, type PriceOverride } from "../sizing";
import type { GpuClusterParts } from "./aws/gpu-cluster";
import { GpuNodeGroup } from "./aws/gpu-node-group";
import type { NodeGroupCost } from "./aws/node-group-spec";
import { deploymentSpec, type DeploymentSpec, type Operations, type Placement, type Workload } from "./deployment-spec";
import { ClusterAddons, clusterAddonsArgsFor, type ClusterAddonsParts } from "./k8s/cluster-addons";
import type { MonitoredDeployment } from "./k8s/monitoring-spec";
import { BenchmarkJob } from "./k8s/benchmark-job";
import { ServerMonitoring } from "./k8s/server-monitoring";
import { VllmServer, scalingAddonProblem, vllmServerSpecInput, type VllmServerArgs } from "./k8s/vllm-server";
import { NODE_LAUNCH_SECONDS, vllmServerProblems, weightsSourceOf, type VllmServerSpec } from "./k8s/vllm-spec";

/** How the model is served, passed to VllmServer. */
export type Serving = Pick<
  VllmServerArgs,
  "weights" | "s3Access" | "cacheSizeGiB" | "storageClassName" | "hfToken" | "apiKey" | "requireApiKey" | "loadBalancer" | "serviceMonitor" | "image"
>;

/** A deployment's options that the multi-language package takes as they are (package/model-deployment.ts). */
export interface DeploymentOptions {
  /** Catalog model id or hub repo id, e.g. `deepseek-r1`. */
  model: string;
  /**
   * What the deployment must serve.
   * @default { maxModelLen: 32768, concurrency: 1, mean 1,024 prompt / 4,096 (reasoning) or 1,024 (chat) output tokens, no target, native precision, cheapest first }
   */
  workload?: Workload;
  /**
   * Where and how the nodes are bought.
   * @default the cluster's region, on demand, any GPU
   */
  placement?: Placement;
  /**
   * Scale replicas with KEDA and GPU nodes with the cluster autoscaler between the placement's
   * `minNodes` and `maxNodes` (to zero at `minNodes: 0`). The cluster needs `nodeAutoscaler: true`.
   * @default true
   */
  autoscaling?: boolean;
  /**
   * Prometheus scraping (a ServiceMonitor), alert rules and a Grafana dashboard for the
   * deployment; the add-ons must include kube-prometheus-stack.
   * @default false
   */
  monitoring?: boolean;
  /**
   * A Kubernetes Job that runs `vllm bench serve` against the server at the plan's workload once
   * it is up, for `llm-fleet calibrate` (its result is the Job's last log line).
   * @default false
   */
  benchmark?: boolean;
  /**
   * Tags for the AWS resources.
   * @default {}
   */
  tags?: Record<string, string>;
}

export interface ModelDeploymentArgs extends DeploymentOptions {
  /** The cluster to deploy onto: a GpuCluster. */
  cluster: GpuClusterParts;
  /**
   * Negotiated or Capacity Block prices.
   * @default []
   */
  priceOverrides?: PriceOverride[];
  /**
   * Measured factors per model and GPU (`llm-fleet calibrate` proposes them): the planner scales
   * its TPOT and TTFT by them, so the deployment is planned as `llm-fleet plan` showed it.
   * @default []
   */
  calibration?: CalibrationEntryInput[];
  /**
   * How vLLM is run: weights source, secrets, load balancer, image.
   * @default weights from the Hub, no API key, ClusterIP only
   */
  serving?: Serving;
  /**
   * Add-ons shared with other deployments on the cluster (install once per cluster).
   * @default a ClusterAddons of this deployment's own for what it needs
   */
  addons?: ClusterAddonsParts;
}

/** VllmServer's checks for a deployment, with `serving.` paths: run before anything is created. */
export function servingProblems(serverName: string, spec: DeploymentSpec, serving: Serving, region: string): InputProblem[] {
  return vllmServerProblems(vllmServerSpecInput(serverName, { ...serving, plan: spec.plan, node: spec.node, cluster: { region } })).map((p) => ({
    ...p,
    path: `serving.${p.path}`,
  }));
}

/** What autoscaling and monitoring need of the cluster and its add-ons, checked before anything is created. */
export function operationsProblems(
  spec: DeploymentSpec,
  addons: Pick<ClusterAddonsParts, "installed"> | undefined,
  clusterHasNodeAutoscaler: boolean,
  monitoring: boolean,
): InputProblem[] {
  const problems: InputProblem[] = [];
  if (addons) {
    const missing = scalingAddonProblem(spec.scaling, addons);
    if (missing) problems.push(missing);
    if (spec.addons.nodeAutoscaler && !addons.installed.includes("cluster-autoscaler")) {
      problems.push({ path: "addons", message: "this deployment autoscales its GPU nodes: give addons whose needs include nodeAutoscaler" });
    }
    if (monitoring && !addons.installed.includes("kube-prometheus-stack")) {
      problems.push({ path: "addons", message: "monitoring needs kube-prometheus-stack among the add-ons: give addons whose needs include monitoring" });
    }
  } else if (spec.addons.nodeAutoscaler && !clusterHasNodeAutoscaler) {
    problems.push({
      path: "cluster",
      message: "this deployment autoscales its GPU nodes, but the cluster has no role for the cluster autoscaler: create the GpuCluster with nodeAutoscaler: true, or set autoscaling: false",
    });
  }
  return problems;
}

/** What the alerts and the dashboard compare with: the plan's predictions, the workload's targets, a replica's price. */
export function monitoredDeployment(server: { spec: VllmServerSpec; namespaceName: string }, spec: DeploymentSpec, workload: Workload): MonitoredDeployment {
  const plan = spec.plan;
  return {
    name: server.spec.names.workload,
    namespace: server.namespaceName,
    modelName: server.spec.servedModelName,
    labels: server.spec.labels,
    predicted: {
      tpotMs: plan.performance.tpotMs,
      ttftMs: plan.performance.ttftMs,
      outputTokensPerSecond: plan.performance.outputTokensPerSecond,
      confidence: plan.performance.confidence,
    },
    targets: { maxTpotMs: workload.maxTpotMs ?? null, maxTtftMs: workload.maxTtftMs ?? null },
    usdPerHourPerReplica: (plan.price.usdPerHourPerNode * plan.nodesPerReplica) / plan.replicasPerNode,
    sequencesPerReplica: spec.scaling.mode === "autoscaled" ? spec.scaling.sequencesPerReplica : plan.performance.maxConcurrencyWithinTargets,
    // As long as `pulumi up` gives a pod to become ready, S3 copy included: longer is a replica that will not start.
    startupBudgetSeconds: server.spec.rolloutBudgetSeconds,
    nodeLaunchSeconds: NODE_LAUNCH_SECONDS,
  };
}

/** What a ModelDeployment exposes. */
export interface ModelDeploymentParts {
  readonly plan: Plan;
  readonly endpoint: pulumi.Output<string>;
  readonly servedModelName: string;
  /** USD per hour and per month at desired and maximum size; null when no price is known. */
  readonly cost: NodeGroupCost | null;
  readonly spec: DeploymentSpec;
  readonly nodeGroup: GpuNodeGroup;
  readonly server: VllmServer;
}

/** The deployment's spec, or every problem of the arguments (the server's own checks included) before anything is created. */
export function checkedModelDeployment(name: string, args: ModelDeploymentArgs): DeploymentSpec {
  const serving = args.serving ?? {};
  const monitoring = args.monitoring ?? false;
  const operations: Operations = {
    autoscaling: args.autoscaling ?? true,
    monitoring,
    loadBalancer: serving.loadBalancer?.enabled ?? false,
    weightsSource: weightsSourceOf(serving.weights),
  };
  const result = deploymentSpec({
    name: `${name}-gpu`,
    model: args.model,
    workload: args.workload,
    placement: args.placement,
    region: args.cluster.region,
    priceOverrides: args.priceOverrides,
    operations,
    ...(args.calibration ? { calibration: args.calibration } : {}),
  });
  if ("problems" in result) throw new InputError(`ModelDeployment "${name}"`, result.problems);
  const spec = result.spec;
  const serverProblems = [
    ...servingProblems(`${name}-vllm`, spec, servedOf(args), args.cluster.region),
    ...operationsProblems(spec, args.addons, args.cluster.nodeAutoscaler.length > 0, monitoring),
  ];
  if (serverProblems.length > 0) throw new InputError(`ModelDeployment "${name}"`, serverProblems);
  return spec;
}

function servedOf(args: ModelDeploymentArgs): Serving {
  const serving = args.serving ?? {};
  return { ...serving, serviceMonitor: serving.serviceMonitor ?? args.monitoring ?? false };
}

/** The components of a checked deployment, children of `parent`: what the TypeScript class and the package's form both create. */
export function modelDeploymentResources(parent: pulumi.ComponentResource, name: string, args: ModelDeploymentArgs, spec: DeploymentSpec): ModelDeploymentParts {
  const serving = args.serving ?? {};
  const monitoring = args.monitoring ?? false;
  const served = servedOf(args);
  const nodeGroup = new GpuNodeGroup(
    `${name}-gpu`,
    { cluster: args.cluster, ...spec.nodeGroupArgs, priceOverrides: args.priceOverrides, tags: args.tags },
    { parent },
  );
  const fallback = spec.fallback
    ? new GpuNodeGroup(
        spec.fallback.name,
        { cluster: args.cluster, ...spec.fallback.nodeGroupArgs, priceOverrides: args.priceOverrides, tags: args.tags },
        { parent },
      )
    : undefined;
  const addons = args.addons ?? new ClusterAddons(`${name}-addons`, clusterAddonsArgsFor(args.cluster, spec.addons), { parent });
  const server = new VllmServer(
    `${name}-vllm`,
    {
      provider: args.cluster.provider,
      plan: spec.plan,
      node: spec.node,
      nodeSelector: nodeGroup.nodeSelector,
      tolerations: nodeGroup.tolerations,
      addons,
      cluster: { clusterName: args.cluster.clusterName, region: args.cluster.region },
      // The pods need their nodes, and a volume cache the cluster's storage class and CSI driver.
      waitFor: [nodeGroup, ...(fallback ? [fallback] : []), ...args.cluster.storage],
      awaitPods: !spec.nodeGroup.startsLater,
      scaling: spec.scaling,
      ...served,
    },
    { parent },
  );
  if (args.benchmark) {
    new BenchmarkJob(
      `${name}-bench`,
      {
        provider: args.cluster.provider,
        deployment: name,
        plan: spec.plan,
        server: { namespace: server.namespaceName, names: server.spec.names, servedModelName: server.spec.servedModelName },
        concurrency: args.workload?.concurrency ?? DEFAULT_CONCURRENCY,
        scaling: spec.scaling,
        hasApiKey: serving.apiKey !== undefined,
        hasHfToken: serving.hfToken !== undefined,
        image: server.spec.image,
        // The system nodes of a new cluster; any untainted node of an existing one.
        nodeSelector: args.cluster.systemNodes.length > 0 ? undefined : null,
        waitFor: [server],
      },
      { parent },
    );
  }
  if (monitoring) {
    const prometheus = addons.release("kube-prometheus-stack");
    new ServerMonitoring(
      `${name}-monitoring`,
      {
        provider: args.cluster.provider,
        deployment: monitoredDeployment(server, spec, args.workload ?? {}),
        namespace: server.namespace,
        waitFor: prometheus ? [prometheus] : [],
      },
      { parent },
    );
  }
  return { plan: spec.plan, endpoint: server.endpoint, servedModelName: server.servedModelName, cost: nodeGroup.cost, spec, nodeGroup, server };
}

export interface ModelDeployment extends ModelDeploymentParts {}

/**
 * A model served on its own GPU node group: runs the planner, then creates the node
 * group, the add-ons and the vLLM server that match the plan (same selector and
 * tolerations, TP x PP equal to the GPUs given, cache sized to the checkpoint).
 */
export class ModelDeployment extends pulumi.ComponentResource {
  constructor(name: string, args: ModelDeploymentArgs, opts?: pulumi.ComponentResourceOptions) {
    const spec = checkedModelDeployment(name, args);
    super(COMPONENT_TYPES.ModelDeployment, name, {}, componentOptions("ModelDeployment", opts));
    Object.assign(this, modelDeploymentResources(this, name, args, spec));
    this.registerOutputs({ plan: this.plan, endpoint: this.endpoint, cost: this.cost });
  }
}
