/**
 * From a model and a workload to the node group, the vLLM server and the add-ons that
 * match: a pure function, so that the stacks, `llm-fleet plan` and the tests see the same
 * decision before any resource exists.
 */
import {
  PlanInputError,
  explainNoFit,
  type CalibrationEntryInput,
  planDeployment,
  type CapacityType,
  type InputProblem,
  type KvCacheDtype,
  type Objective,
  type Plan,
  type PlanRequestInput,
  type Precision,
  type PriceOverride,
} from "../sizing";
import { FALLBACK_SUFFIX, nodeGroupSpec, rootVolumeGiB, type AmiFamily, type CapacityBlockWindow, type NodeGroupSpec } from "./aws/node-group-spec";
import { replicaScaling, type ReplicaScaling } from "./k8s/autoscaling-spec";
import type { AddonNeeds } from "./k8s/cluster-addons";
import { coldStart, nodeShapeOf, type NodeShape } from "./k8s/vllm-spec";

/** What a deployment must serve: sequence lengths, load, latency targets, precisions, vLLM engine knobs. */
export interface Workload {
  /** vLLM's `--max-model-len`: the longest sequence, prompt and output, in tokens. @default 32768 */
  maxModelLen?: number;
  /** Sequences in flight across the deployment. @default 1 */
  concurrency?: number;
  /** Mean prompt length in tokens. @default 1024, scaled down with outputTokens when both do not fit in maxModelLen */
  promptTokens?: number;
  /** Mean output length in tokens. @default 4096 for reasoning models, 1024 for chat models, scaled down as promptTokens */
  outputTokens?: number;
  /** Time per output token every replica must stay under; 50 ms is 20 tokens/s per user. @default none */
  maxTpotMs?: number;
  /** Time to first token every replica must stay under. @default none */
  maxTtftMs?: number;
  /** Output tokens per second the deployment must sustain; replicas follow. @default none */
  outputTokensPerSecond?: number;
  /** Checkpoint precisions the planner may choose from. @default the model's native precision */
  precisions?: Precision[];
  /** `cost`: the lowest USD/hour meeting every target; `throughput`: the lowest USD per million output tokens. @default "cost" */
  objective?: Objective;
  /** vLLM's `--gpu-memory-utilization`. @default 0.9 */
  gpuMemoryUtilization?: number;
  /** vLLM's `--kv-cache-dtype`: `fp8` halves the cache, on FP8 GPUs. @default "auto" */
  kvCacheDtype?: KvCacheDtype;
  /** vLLM's `--max-num-batched-tokens`: the tokens one engine step carries. @default vLLM's default for the GPU */
  maxNumBatchedTokens?: number;
  /** vLLM's `--enforce-eager`: no CUDA graphs. @default false */
  enforceEager?: boolean;
}

/** Where and how a deployment's nodes are bought. */
export interface Placement {
  /** Must be the cluster's region when given. @default the cluster's region */
  region?: string;
  /** How the nodes are bought. @default "on-demand" */
  capacityType?: CapacityType;
  /** GPUs the planner may choose from, by catalog id (`a10g`, `h100`, ...). @default any */
  gpus?: string[];
  /** EC2 instance types the planner may choose from. @default any */
  instanceTypes?: string[];
  /** Nodes one replica spans. @default the planner's choice */
  nodesPerReplica?: number;
  /** Fewest vLLM replicas, for redundancy. @default 1 */
  minReplicas?: number;
  /** Lowest node count, 0 to let the group scale to zero. @default the plan's node count */
  minNodes?: number;
  /** Highest node count. @default the plan's node count */
  maxNodes?: number;
  /** A Capacity Reservation or Capacity Block (`cr-...`). @default none */
  capacityReservationId?: string;
  /** A Capacity Block's start and end (ISO 8601, from its reservation). @default none; required for a Capacity Block */
  capacityBlockWindow?: CapacityBlockWindow;
  /** The reservation's or block's zone. @default none */
  availabilityZone?: string;
  /** The nodes' AMI. @default "al2023" */
  amiFamily?: AmiFamily;
  /**
   * For an autoscaled Spot group: a second, on-demand group of the same instance type, at 0 nodes,
   * that the cluster autoscaler scales only when Spot cannot launch. Within the same maxNodes.
   * @default true for autoscaled Spot groups
   */
  onDemandFallback?: boolean;
}

/** What the cluster runs around the deployment, which decides how it scales. */
export interface Operations {
  /**
   * KEDA scales the replicas and the cluster autoscaler the GPU nodes, between the placement's
   * `minNodes` and `maxNodes`; at `minNodes: 0` both reach zero when idle.
   * @default true
   */
  autoscaling?: boolean;
  /**
   * Prometheus scrapes vLLM (kube-prometheus-stack and the DCGM exporter are installed): replicas
   * then scale on vLLM's queue and KV-cache usage.
   * @default false
   */
  monitoring?: boolean;
  /**
   * A load balancer sends requests straight to vLLM; such a deployment cannot scale to zero.
   * @default false
   */
  loadBalancer?: boolean;
  /**
   * Where the weights come from, for the cold start a request held at zero replicas waits for.
   * @default "hub"
   */
  weightsSource?: "hub" | "s3";
}

export interface DeploymentSpecInput {
  name: string;
  model: string;
  workload?: Workload;
  placement?: Placement;
  region: string;
  priceOverrides?: PriceOverride[];
  /**
   * Measured factors of the performance model per model and GPU (`llm-fleet:calibration`); the
   * planner scales its figures for this model on a GPU that has an entry.
   * @default none
   */
  calibration?: CalibrationEntryInput[];
  /** @default { autoscaling: true, monitoring: false, loadBalancer: false, weightsSource: "hub" } */
  operations?: Operations;
}

export interface DeploymentSpec {
  plan: Plan;
  nodeGroup: NodeGroupSpec;
  /** Arguments for GpuNodeGroup, decided here. */
  nodeGroupArgs: {
    instanceType: string;
    capacityType: CapacityType;
    scaling: { minSize: number; desiredSize: number; maxSize: number };
    nodesPerReplica: number;
    checkpointSizeGB: number;
    model: string;
    amiFamily: AmiFamily;
    capacityReservationId?: string | undefined;
    capacityBlockWindow?: CapacityBlockWindow | undefined;
    availabilityZone?: string | undefined;
    autoscaled: boolean;
    /** The plan's nodes: where an autoscaled group runs when busy. */
    plannedNodes: number;
  };
  node: NodeShape;
  addons: AddonNeeds;
  /** How the replicas follow the load: fixed, or autoscaled between two counts. */
  scaling: ReplicaScaling;
  /** The on-demand group behind an autoscaled Spot group; null without one. */
  fallback: { name: string; nodeGroup: NodeGroupSpec; nodeGroupArgs: DeploymentSpec["nodeGroupArgs"] & { fallbackFor: string } } | null;
}

/** The plan and everything derived from it, or the problems (the planner's explanation when nothing fits). */
export function deploymentSpec(input: DeploymentSpecInput): { spec: DeploymentSpec } | { problems: InputProblem[] } {
  const placement = input.placement ?? {};
  if (placement.region !== undefined && placement.region !== input.region) {
    return {
      problems: [{ path: "placement.region", message: `${placement.region} is not the cluster's region (${input.region}); a deployment runs where its cluster is` }],
    };
  }
  const request: PlanRequestInput = {
    model: input.model,
    ...input.workload,
    region: placement.region ?? input.region,
    capacityType: placement.capacityType,
    gpus: placement.gpus,
    instanceTypes: placement.instanceTypes,
    nodesPerReplica: placement.nodesPerReplica,
    minReplicas: placement.minReplicas,
    priceOverrides: input.priceOverrides,
    calibration: input.calibration,
  };
  for (const key of Object.keys(request) as (keyof PlanRequestInput)[]) if (request[key] === undefined) delete request[key];
  let result;
  try {
    result = planDeployment(request);
  } catch (error) {
    if (error instanceof PlanInputError) return { problems: error.problems.map((p) => ({ ...p, path: requestPath(p.path) })) };
    throw error;
  }
  const plan = result.plan;
  if (!plan) return { problems: [{ path: "model", message: explainNoFit(result) }] };

  const amiFamily = placement.amiFamily ?? "al2023";
  const operations = input.operations ?? {};
  const nodes = { min: placement.minNodes ?? plan.nodes, max: placement.maxNodes ?? plan.nodes };
  const { weightsOnInstanceStore } = rootVolumeGiB(plan.instanceType, plan.checkpoint.sizeOnDiskGB);
  const scaled = replicaScaling({
    plan,
    nodes,
    enabled: operations.autoscaling ?? true,
    reservation: placement.capacityReservationId !== undefined,
    loadBalancer: operations.loadBalancer ?? false,
    prometheus: operations.monitoring ?? false,
    coldStart: coldStart(plan.checkpoint.sizeOnDiskGB, weightsOnInstanceStore ? "local-nvme" : "pvc", operations.weightsSource ?? "hub"),
  });
  if ("problems" in scaled) return { problems: scaled.problems };
  const scaling = scaled.scaling;
  const autoscaled = scaling.mode === "autoscaled";
  const nodeGroupArgs = {
    instanceType: plan.instanceType,
    capacityType: plan.capacityType,
    // An autoscaled group starts at its minimum: the autoscaler adds nodes as replicas need them.
    scaling: { minSize: nodes.min, desiredSize: autoscaled ? nodes.min : plan.nodes, maxSize: nodes.max },
    nodesPerReplica: plan.nodesPerReplica,
    checkpointSizeGB: plan.checkpoint.sizeOnDiskGB,
    model: plan.model,
    amiFamily,
    capacityReservationId: placement.capacityReservationId,
    capacityBlockWindow: placement.capacityBlockWindow,
    availabilityZone: placement.availabilityZone,
    autoscaled,
    plannedNodes: plan.nodes,
  };
  const group = nodeGroupSpec({
    name: input.name,
    ...nodeGroupArgs,
    region: plan.region,
    ssm: false,
    priceOverrides: input.priceOverrides ?? [],
  });
  if ("problems" in group) return { problems: group.problems.map((p) => ({ ...p, path: `placement.${p.path}` })) };
  const nodeGroup = group.spec;
  // Spot first, on demand when Spot cannot launch: the pair stays within maxNodes (KEDA's maximum).
  let fallback: DeploymentSpec["fallback"] = null;
  if (autoscaled && plan.capacityType === "spot" && (placement.onDemandFallback ?? true)) {
    const name = `${input.name}${FALLBACK_SUFFIX}`;
    const args = { ...nodeGroupArgs, capacityType: "on-demand" as const, scaling: { minSize: 0, desiredSize: 0, maxSize: nodes.max }, plannedNodes: 0, fallbackFor: input.name };
    const backup = nodeGroupSpec({ ...args, name, selectorName: input.name, region: plan.region, ssm: false, priceOverrides: input.priceOverrides ?? [] });
    if ("problems" in backup) return { problems: backup.problems.map((p) => ({ ...p, path: `placement.onDemandFallback.${p.path}` })) };
    fallback = { name, nodeGroup: backup.spec, nodeGroupArgs: args };
  }
  return {
    spec: {
      plan,
      nodeGroup,
      nodeGroupArgs,
      node: nodeShapeOf(plan.instanceType, { efa: nodeGroup.efa, weightsOnInstanceStore: nodeGroup.weightsOnInstanceStore, amiFamily }),
      addons: {
        nvidiaDevicePlugin: amiFamily === "al2023",
        leaderWorkerSet: plan.nodesPerReplica > 1,
        efaDevicePlugin: nodeGroup.efa,
        replicaAutoscaler: autoscaled,
        requestHolder: autoscaled && scaling.scaleToZero,
        nodeAutoscaler: autoscaled,
        monitoring: operations.monitoring ?? false,
      },
      scaling,
      fallback,
    },
  };
}

/** Planner fields as the deployment spells them: `gpus` is `placement.gpus`, `maxModelLen` is `workload.maxModelLen`. */
function requestPath(path: string): string {
  const [field, ...rest] = path.split(".");
  const group: Record<string, string> = {
    maxModelLen: "workload",
    concurrency: "workload",
    promptTokens: "workload",
    outputTokens: "workload",
    maxTpotMs: "workload",
    maxTtftMs: "workload",
    outputTokensPerSecond: "workload",
    precisions: "workload",
    objective: "workload",
    gpuMemoryUtilization: "workload",
    kvCacheDtype: "workload",
    maxNumBatchedTokens: "workload",
    enforceEager: "workload",
    region: "placement",
    capacityType: "placement",
    gpus: "placement",
    instanceTypes: "placement",
    nodesPerReplica: "placement",
    minReplicas: "placement",
  };
  const prefix = field ? group[field] : undefined;
  return prefix ? [prefix, field, ...rest].join(".") : path;
}

/** A plan in one line, as the stack's outputs and the package's ModelDeployment give it. */
export function planSummary(p: Plan): string {
  const dp = p.dataParallelSize > 1 ? ` x DP ${p.dataParallelSize}` : "";
  return `${p.nodes} x ${p.instanceType}, ${p.checkpoint.repo} (${p.checkpoint.precision}), TP ${p.tensorParallelSize} x PP ${p.pipelineParallelSize}${dp}, ${p.replicas} replica(s)`;
}

/** The add-ons a set of deployments needs together: one install per cluster. */
export function combinedAddons(specs: readonly DeploymentSpec[]): AddonNeeds {
  return {
    nvidiaDevicePlugin: specs.some((s) => s.addons.nvidiaDevicePlugin),
    leaderWorkerSet: specs.some((s) => s.addons.leaderWorkerSet),
    efaDevicePlugin: specs.some((s) => s.addons.efaDevicePlugin),
    replicaAutoscaler: specs.some((s) => s.addons.replicaAutoscaler),
    requestHolder: specs.some((s) => s.addons.requestHolder),
    nodeAutoscaler: specs.some((s) => s.addons.nodeAutoscaler),
    monitoring: specs.some((s) => s.addons.monitoring),
  };
}
