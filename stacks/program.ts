/**
 * The llm-fleet Pulumi program: reads the stack's config, plans every deployment before
 * creating anything, then builds the cluster, one set of add-ons and a ModelDeployment per
 * entry. `pulumi up` runs it through stacks/index.ts; `llm-fleet plan` runs it under mocks.
 */
import { readFileSync } from "node:fs";
import * as pulumi from "@pulumi/pulumi";
import { EBS_STORAGE_CLASS } from "../components/aws/cluster-spec";
import { GpuCluster } from "../components/aws/gpu-cluster";
import { combinedAddons, planSummary } from "../components/deployment-spec";
import { ClusterAddons, clusterAddonsArgsFor } from "../components/k8s/cluster-addons";
import { ModelDeployment } from "../components/model-deployment";
import type { InputProblem } from "../sizing";
import { NAMESPACE, parseStackConfig } from "./config";
import { planStack, type StackPlan } from "./plan";

/** Bad config or nothing fits: a message without a stack trace, before any resource exists. */
export class StackConfigError extends pulumi.RunError {
  constructor(
    readonly problems: readonly InputProblem[],
    readonly noFit: boolean,
  ) {
    super(`llm-fleet stack config:\n${problems.map((p) => `  ${p.path}: ${p.message}`).join("\n")}`);
    this.name = "StackConfigError";
  }
}

export interface StackOutputs {
  deployments: Record<string, { endpoint: pulumi.Output<string>; plan: string; usdPerMonth: number | null }>;
  totalUsdPerMonth: number;
  budget: StackPlan["budget"];
}

/** The config keys that are secrets, as the Pulumi engine (or setAllConfig) declared them. */
function secretKeys(): string[] {
  // The SDK's own check; it is marked internal, so it is reached through its module.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { isConfigSecret } = require("@pulumi/pulumi/runtime/config") as { isConfigSecret(key: string): boolean };
  return Object.keys(pulumi.runtime.allConfig()).filter((key) => isConfigSecret(key));
}

/** Plans the stack from its config; throws StackConfigError with every problem. */
export function stackPlanFromConfig(): StackPlan {
  const parsed = parseStackConfig(pulumi.runtime.allConfig(), secretKeys());
  const region = new pulumi.Config("aws").get("region");
  if ("problems" in parsed || !region) {
    const problems = "problems" in parsed ? [...parsed.problems] : [];
    if (!region) problems.push({ path: "aws:region", message: "is required: `pulumi config set aws:region us-east-1`" });
    throw new StackConfigError(problems, false);
  }
  const config = parsed.config;
  // Only whether the secrets are set matters to the plan; their values stay Pulumi secrets.
  const planned = planStack(
    config,
    region,
    { hfToken: config.hfToken === undefined ? undefined : "set", apiKey: config.apiKey === undefined ? undefined : "set" },
    { preview: pulumi.runtime.isDryRun() },
  );
  if ("problems" in planned) throw new StackConfigError(planned.problems, planned.noFit);
  return planned.plan;
}

export function runProgram(): StackOutputs {
  const plan = stackPlanFromConfig();
  // A preview shows the whole stack without them; `up` stopped in the plan.
  for (const p of plan.missingForUp) pulumi.log.warn(`${p.path}: ${p.message}; pulumi up stops here until it is set`);
  const parsed = parseStackConfig(pulumi.runtime.allConfig(), secretKeys());
  const config = "config" in parsed ? parsed.config : undefined!;
  const settings = new pulumi.Config(NAMESPACE);
  const hfToken = config.hfToken === undefined ? undefined : settings.requireSecret("hfToken");
  const apiKey = config.apiKey === undefined ? undefined : settings.requireSecret("apiKey");

  const needs = {
    ...combinedAddons(plan.deployments.map((d) => d.spec)),
    // The GPU Operator brings its own device plugin; a second one would fight it for the GPUs.
    ...(config.cluster.mode === "existing" && config.cluster.nvidiaDevicePlugin === false ? { nvidiaDevicePlugin: false } : {}),
    monitoring: plan.operations.monitoring,
  };
  const cluster = new GpuCluster(
    "cluster",
    config.cluster.mode === "existing"
      ? {
          mode: "existing",
          clusterName: config.cluster.clusterName,
          region: plan.region,
          ...(config.cluster.subnetIds ? { subnetIds: config.cluster.subnetIds } : {}),
          ...(config.cluster.kubeconfigPath ? { kubeconfig: pulumi.secret(readFileSync(config.cluster.kubeconfigPath, "utf8")) } : {}),
          nodeAutoscaler: needs.nodeAutoscaler,
        }
      : {
          ...config.cluster,
          mode: "new",
          clusterName: config.cluster.clusterName ?? `llm-fleet-${pulumi.getStack()}`,
          region: plan.region,
          // Volumes: weights caches on nodes without NVMe for them, and Prometheus's data.
          ebsCsiDriver: plan.operations.monitoring || plan.deployments.some((d) => d.serving.storageClassName === EBS_STORAGE_CLASS),
          nodeAutoscaler: needs.nodeAutoscaler,
        },
  );
  const addons = new ClusterAddons("addons", {
    ...clusterAddonsArgsFor(cluster, needs),
    waitFor: [...cluster.systemNodes, ...cluster.storage],
    ...(config.cluster.mode === "new" ? { storageClassName: EBS_STORAGE_CLASS } : {}),
  });
  const deployments: StackOutputs["deployments"] = {};
  for (const d of plan.deployments) {
    const deployment = new ModelDeployment(d.name, {
      cluster,
      model: d.model,
      workload: d.workload,
      placement: d.placement,
      priceOverrides: config.prices,
      // The same measured factors the plan used, so the cluster gets the plan llm-fleet plan shows.
      ...(config.calibration ? { calibration: config.calibration } : {}),
      serving: { ...d.serving, ...(hfToken ? { hfToken } : {}), ...(apiKey ? { apiKey } : {}) },
      addons,
      autoscaling: plan.operations.autoscaling,
      monitoring: plan.operations.monitoring,
      benchmark: config.deployments.find((c) => c.name === d.name)?.benchmark ?? false,
    });
    deployments[d.name] = {
      endpoint: deployment.endpoint,
      plan: planSummary(deployment.plan),
      usdPerMonth: deployment.cost?.desired.usdPerMonth ?? null,
    };
  }
  // The policy pack gates on the budget; until it runs, `pulumi up` at least says so.
  if (!plan.budget.passed) pulumi.log.warn(`budget: ${plan.budget.message}`);
  return { deployments, totalUsdPerMonth: plan.cost.desiredUsdPerMonth, budget: plan.budget };
}
