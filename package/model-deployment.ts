import * as pulumi from "@pulumi/pulumi";
import { COMPONENT_TYPES } from "../components/component-types";
import { planSummary } from "../components/deployment-spec";
import {
  checkedModelDeployment,
  modelDeploymentResources,
  type DeploymentOptions,
  type ModelDeploymentArgs as TypeScriptArgs,
} from "../components/model-deployment";
import type { Plan } from "../sizing";
import { costOutputs } from "./gpu-node-group";
import { deploymentTargets } from "./references";
import { priceOverrides, typeScriptServing, type Calibration, type ClusterAddonsReference, type GpuClusterReference, type PlanSummary, type PriceOverride, type Serving } from "./types";

export interface ModelDeploymentArgs extends DeploymentOptions {
  /** The GpuCluster to deploy onto. */
  cluster: GpuClusterReference;
  /**
   * Negotiated or Capacity Block prices.
   * @default []
   */
  priceOverrides?: PriceOverride[];
  /**
   * Measured factors per model and GPU (`llm-fleet calibrate` proposes them): the planner scales
   * its TPOT and TTFT by them.
   * @default []
   */
  calibration?: Calibration[];
  /**
   * How vLLM is run: weights source, secrets, load balancer, image.
   * @default weights from the Hub, no API key, ClusterIP only
   */
  serving?: Serving;
  /**
   * A ClusterAddons shared with other deployments on the cluster.
   * @default a ClusterAddons of this deployment's own for what it needs
   */
  addons?: ClusterAddonsReference;
}

/** The plan's figures a program reads back. */
export function planSummaryOutput(plan: Plan): PlanSummary {
  return {
    instanceType: plan.instanceType,
    nodes: plan.nodes,
    replicas: plan.replicas,
    checkpoint: plan.checkpoint.repo,
    precision: plan.checkpoint.precision,
    tensorParallelSize: plan.tensorParallelSize,
    pipelineParallelSize: plan.pipelineParallelSize,
    dataParallelSize: plan.dataParallelSize,
    maxModelLen: plan.maxModelLen,
    tpotMs: plan.performance.tpotMs,
    ttftMs: plan.performance.ttftMs,
    outputTokensPerSecond: plan.performance.outputTokensPerSecond,
    confidence: plan.performance.confidence,
  };
}

/**
 * A model served on its own GPU node group: runs the planner for the workload, then creates the
 * node group, the add-ons and the vLLM server that match the plan, as the llm-fleet stacks do.
 */
export class ModelDeployment extends pulumi.ComponentResource {
  /** In-cluster base URL of the OpenAI-compatible API. */
  readonly endpoint: pulumi.Output<string>;
  /** The namespace of the server's objects. */
  readonly namespace: pulumi.Output<string>;
  /** The model name clients send. */
  readonly servedModelName: string;
  /** The plan in one line: nodes, instance type, checkpoint, parallelism, replicas. */
  readonly planSummary: string;
  /** The plan's figures: instance type, nodes, checkpoint, parallelism, predicted latencies. */
  readonly plan: PlanSummary;
  /** USD per hour at the planned load (the plan's nodes), from the dated price sheet or an override. */
  readonly usdPerHour: number;
  /** USD per month (730 hours) at the planned load. */
  readonly usdPerMonth: number;
  /** USD per hour at the most GPU nodes autoscaling may reach; absent when no price is known. */
  readonly maxUsdPerHour: number | undefined;
  /** USD per month at the most GPU nodes. */
  readonly maxUsdPerMonth: number | undefined;

  constructor(name: string, args: ModelDeploymentArgs, opts?: pulumi.ComponentResourceOptions) {
    const typeScriptArgs = modelDeploymentArgs(name, args);
    const spec = checkedModelDeployment(name, typeScriptArgs);
    super(COMPONENT_TYPES.ModelDeployment, name, {}, opts);
    const parts = modelDeploymentResources(this, name, typeScriptArgs, spec);
    this.endpoint = parts.endpoint;
    this.namespace = parts.server.namespace;
    this.servedModelName = parts.servedModelName;
    this.planSummary = planSummary(parts.plan);
    this.plan = planSummaryOutput(parts.plan);
    // The plan's price at its load; the node group's at its desired size is 0 for a group that scales from zero.
    const { maxUsdPerHour, maxUsdPerMonth } = costOutputs(parts.cost);
    const cost = { usdPerHour: parts.plan.usdPerHour, usdPerMonth: parts.plan.usdPerMonth, maxUsdPerHour, maxUsdPerMonth };
    this.usdPerHour = cost.usdPerHour;
    this.usdPerMonth = cost.usdPerMonth;
    this.maxUsdPerHour = cost.maxUsdPerHour;
    this.maxUsdPerMonth = cost.maxUsdPerMonth;
    this.registerOutputs({
      endpoint: this.endpoint,
      namespace: this.namespace,
      servedModelName: this.servedModelName,
      planSummary: this.planSummary,
      plan: this.plan,
      ...cost,
    });
  }
}

/** The TypeScript form, the references resolved; throws every problem of them. */
function modelDeploymentArgs(name: string, args: ModelDeploymentArgs): TypeScriptArgs {
  const serving = typeScriptServing(args.serving, "serving.");
  const targets = deploymentTargets(`ModelDeployment "${name}"`, args.cluster, args.addons, serving.problems);
  const { cluster: _cluster, addons: _addons, serving: _serving, priceOverrides: prices, ...options } = args;
  return {
    ...options,
    cluster: targets.cluster,
    ...(prices ? { priceOverrides: priceOverrides(prices) } : {}),
    serving: serving.serving,
    ...(targets.addons ? { addons: targets.addons } : {}),
  };
}
