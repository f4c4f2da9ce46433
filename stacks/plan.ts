/**
 * The stack as a decision, before any resource exists: each deployment resolved from its
 * preset and the environment's defaults, planned, checked, and priced with the cluster's
 * own parts. The Pulumi program and `llm-fleet plan` both start here.
 */
import type { Placement, Workload } from "../components/deployment-spec";
import { deploymentSpec, type DeploymentSpec } from "../components/deployment-spec";
import { servingProblems, type Serving } from "../components/model-deployment";
import { weightsSourceOf } from "../components/k8s/vllm-spec";
import { existsSync } from "node:fs";
import { EBS_STORAGE_CLASS, clusterCost, deployerCidrProblem, newClusterProblems, normalizeNewCluster } from "../components/aws/cluster-spec";
import { HOURS_PER_MONTH, gp3UsdPerHour, nlbUsdPerHour, type InputProblem } from "../sizing";
import { PROMETHEUS_VOLUME_GIB } from "../charts";
import type { DeploymentConfig, Environment, StackConfig } from "./config";
import { PRESETS } from "./presets";

/** What each environment means unless a deployment says otherwise. */
export const ENVIRONMENT_DEFAULTS: {
  readonly [env in Environment]: { placement: Placement; serving: Serving; budgetUsdPerMonth: number; monitoring: boolean };
} = {
  // Spot, scaled to zero pods and zero GPU nodes when idle: a dev stack costs its control plane
  // and system nodes until someone calls it. No monitoring stack to pay for.
  dev: { placement: { capacityType: "spot", minNodes: 0 }, serving: {}, budgetUsdPerMonth: 5_000, monitoring: false },
  staging: { placement: { capacityType: "on-demand" }, serving: {}, budgetUsdPerMonth: 30_000, monitoring: true },
  // An API key on every endpoint, reachable only inside the VPC.
  prod: {
    placement: { capacityType: "on-demand" },
    serving: { requireApiKey: true, loadBalancer: { enabled: true, internal: true } },
    budgetUsdPerMonth: 150_000,
    monitoring: true,
  },
};

export interface ResolvedDeployment {
  name: string;
  model: string;
  workload: Workload;
  placement: Placement;
  serving: Serving;
  spec: DeploymentSpec;
}

export interface CostItem {
  resource: string;
  /** Short, for messages: "2 x p5.48xlarge". */
  summary: string;
  what: string;
  /** What `pulumi up` creates: an autoscaled group's minimum (0 when it scales to zero). */
  desiredUsdPerHour: number;
  /** At the planned load: the plan's nodes, where the autoscaler takes the group when busy. */
  activeUsdPerHour: number;
  maxUsdPerHour: number;
}

export interface StackPlan {
  environment: Environment;
  region: string;
  deployments: ResolvedDeployment[];
  cost: {
    items: CostItem[];
    desiredUsdPerMonth: number;
    maxUsdPerMonth: number;
    desiredUsdPerHour: number;
    activeUsdPerHour: number;
    maxUsdPerHour: number;
  };
  /** What the cluster runs around the deployments. */
  operations: { autoscaling: boolean; monitoring: boolean };
  /** The budget is checked at the planned load (`activeUsdPerHour`), so scaling to zero does not hide a GPU bill. */
  budget: { usdPerMonth: number; passed: boolean; message: string };
  /**
   * What `pulumi up` needs and a preview went on without (a required API key, the deployer's
   * CIDR for a new cluster's API), each with its key and what to set; empty for `up`, which stops.
   */
  missingForUp: InputProblem[];
  /** The stack's own price overrides (`llm-fleet:prices`). */
  priceOverrides: StackConfig["prices"];
}

/** A cost that does not change with scale. */
function fixedItem(resource: string, summary: string, what: string, usdPerHour: number): CostItem {
  return { resource, summary, what, desiredUsdPerHour: usdPerHour, activeUsdPerHour: usdPerHour, maxUsdPerHour: usdPerHour };
}

/** Deployment values over preset values over environment defaults. */
function resolve(d: DeploymentConfig, env: Environment, secrets: { hfToken?: string | undefined; apiKey?: string | undefined }) {
  const preset = d.preset ? PRESETS[d.preset] : undefined;
  const defaults = ENVIRONMENT_DEFAULTS[env];
  const serving: Serving = {
    ...defaults.serving,
    ...(d.serving?.weights ? { weights: d.serving.weights } : {}),
    ...(d.serving?.s3RoleArn ? { s3Access: { roleArn: d.serving.s3RoleArn } } : {}),
    ...(d.serving?.storageClassName ? { storageClassName: d.serving.storageClassName } : {}),
    ...(d.serving?.loadBalancer ? { loadBalancer: { ...defaults.serving.loadBalancer, ...d.serving.loadBalancer } } : {}),
    ...(d.serving?.serviceMonitor !== undefined ? { serviceMonitor: d.serving.serviceMonitor } : {}),
    ...(d.serving?.image ? { image: d.serving.image } : {}),
    ...(secrets.hfToken !== undefined ? { hfToken: secrets.hfToken } : {}),
    ...(secrets.apiKey !== undefined ? { apiKey: secrets.apiKey } : {}),
  };
  return {
    model: d.model ?? preset!.model,
    workload: { ...preset?.workload, ...d.workload },
    placement: { ...defaults.placement, ...preset?.placement, ...d.placement },
    serving,
  };
}

const usd = (n: number) => `$${Math.round(n).toLocaleString("en-US")}`;

function priceNote(cost: DeploymentSpec["nodeGroup"]["cost"]): string {
  if (!cost) return ", no price: add one under llm-fleet:prices";
  switch (cost.basis) {
    case "on-demand":
      return "";
    case "spot-ceiling":
      return ", priced at the on-demand ceiling";
    case "override":
      return ", your price";
    default: {
      const unreachable: never = cost.basis;
      return String(unreachable);
    }
  }
}

function apiKeyProblem(environment: Environment): InputProblem {
  return { path: "llm-fleet:apiKey", message: `${environment} requires an API key on every endpoint: \`pulumi config set --secret llm-fleet:apiKey <key>\`` };
}

/** Plans the whole stack, or returns every problem, each with the config key it comes from. */
export function planStack(
  config: StackConfig,
  region: string,
  secrets: { hfToken?: string | undefined; apiKey?: string | undefined } = {},
  options: {
    /**
     * A preview goes on without what only `pulumi up` needs: a required API key (so that it shows
     * the whole stack and the policy pack's `api-key-required` fails it) and the deployer's CIDR
     * of a new cluster (nothing is reached yet); `pulumi up` stops before any resource instead.
     * @default false
     */
    preview?: boolean;
  } = {},
): { plan: StackPlan } | { problems: InputProblem[]; noFit: boolean } {
  const problems: InputProblem[] = [];
  const missingForUp: InputProblem[] = [];
  let noFit = false;
  // An existing cluster may run its own Prometheus stack: a second one would clash (node-exporter's
  // host port, the CRDs), so it is asked for there, not assumed.
  const monitoring = config.monitoring ?? (config.cluster.mode === "new" && ENVIRONMENT_DEFAULTS[config.environment].monitoring);
  const autoscaling = config.autoscaling ?? true;
  // The cluster's own checks, so that they are reported with everything else, by config key.
  if (config.cluster.mode === "existing" && config.cluster.kubeconfigPath !== undefined && !existsSync(config.cluster.kubeconfigPath)) {
    problems.push({ path: "llm-fleet:cluster.kubeconfigPath", message: `no file at ${config.cluster.kubeconfigPath}; give the path of a kubeconfig for the cluster, or leave it out to use aws eks get-token` });
  }
  if (config.cluster.mode === "new") {
    const cluster = normalizeNewCluster("cluster", config.cluster);
    for (const p of newClusterProblems(cluster)) problems.push({ ...p, path: `llm-fleet:cluster.${p.path}` });
    const cidr = deployerCidrProblem(cluster);
    if (cidr) (options.preview ? missingForUp : problems).push({ ...cidr, path: `llm-fleet:cluster.${cidr.path}` });
  }
  const deployments: ResolvedDeployment[] = [];
  config.deployments.forEach((d, i) => {
    const at = (path: string) => `llm-fleet:deployments.${i}.${path}`;
    const resolved = resolve(d, config.environment, secrets);
    if (options.preview && resolved.serving.requireApiKey && secrets.apiKey === undefined) {
      if (!missingForUp.some((p) => p.path === "llm-fleet:apiKey")) missingForUp.push(apiKeyProblem(config.environment));
      resolved.serving = { ...resolved.serving, requireApiKey: false };
    }
    if (monitoring && resolved.serving.serviceMonitor === undefined) resolved.serving = { ...resolved.serving, serviceMonitor: true };
    const result = deploymentSpec({
      name: `${d.name}-gpu`,
      model: resolved.model,
      workload: resolved.workload,
      placement: resolved.placement,
      region,
      priceOverrides: config.prices,
      ...(config.calibration ? { calibration: config.calibration } : {}),
      operations: {
        autoscaling,
        monitoring,
        loadBalancer: resolved.serving.loadBalancer?.enabled ?? false,
        weightsSource: weightsSourceOf(resolved.serving.weights),
      },
    });
    if ("problems" in result) {
      for (const p of result.problems) {
        if (p.message.startsWith("nothing fits")) noFit = true;
        problems.push({ path: at(p.path), message: p.message });
      }
      return;
    }
    // A weights cache on a volume: a new cluster brings the EBS CSI driver and its gp3 class.
    if (config.cluster.mode === "new" && !result.spec.node.localNvmeForWeights && resolved.serving.storageClassName === undefined) {
      resolved.serving = { ...resolved.serving, storageClassName: EBS_STORAGE_CLASS };
    }
    const storageClass = resolved.serving.storageClassName;
    if (config.cluster.mode === "new" && storageClass !== undefined && storageClass !== EBS_STORAGE_CLASS) {
      problems.push({
        path: at("serving.storageClassName"),
        message: `a new cluster has one StorageClass, ${EBS_STORAGE_CLASS} (gp3 through the EBS CSI driver it installs); "${storageClass}" does not exist there: use ${EBS_STORAGE_CLASS} or leave it out`,
      });
    }
    if (config.cluster.mode === "new" && resolved.serving.serviceMonitor && !monitoring) {
      problems.push({
        path: at("serving.serviceMonitor"),
        message:
          "monitoring is off, so the new cluster has no Prometheus Operator and a ServiceMonitor has no CRD to apply to; " +
          "set llm-fleet:monitoring: true (kube-prometheus-stack is installed), or serviceMonitor: false",
      });
    }
    for (const p of servingProblems(`${d.name}-vllm`, result.spec, resolved.serving, region)) {
      // The stack's one API key serves every endpoint: point at its config key.
      problems.push(
        p.path === "serving.apiKey" ? apiKeyProblem(config.environment) : { ...p, path: at(p.path) },
      );
    }
    deployments.push({ name: d.name, ...resolved, spec: result.spec });
  });
  if (problems.length > 0) return { problems, noFit };

  const zones = config.cluster.mode === "new" ? normalizeNewCluster("cluster", config.cluster).availabilityZoneCount : 2;
  const items: CostItem[] = deployments.flatMap((d) => {
    const cost = d.spec.nodeGroup.cost;
    const g = d.spec.nodeGroupArgs;
    const volumes = d.spec.nodeGroup.blockDevices;
    const perNodeEbs = volumes.reduce((sum, v) => sum + gp3UsdPerHour(v.volumeSizeGiB, v.throughputMiBps, v.iops), 0);
    // An autoscaled group is created at its minimum; the plan's nodes are what it runs when busy.
    const activeNodes = g.autoscaled ? Math.max(d.spec.plan.nodes, g.scaling.desiredSize) : g.scaling.desiredSize;
    const perNode = cost?.usdPerHourPerNode ?? 0;
    const scaled = g.autoscaled ? `, autoscaled: ${g.scaling.minSize} when idle, ${activeNodes} at the planned load, up to ${g.scaling.maxSize}` : `, up to ${g.scaling.maxSize}`;
    const out: CostItem[] = [
      {
        resource: `${d.name}-gpu`,
        summary: `${activeNodes} x ${g.instanceType}`,
        what: `${g.scaling.desiredSize} x ${g.instanceType} (${g.capacityType}${priceNote(cost)})${scaled}`,
        desiredUsdPerHour: cost?.desired.usdPerHour ?? 0,
        activeUsdPerHour: perNode * activeNodes,
        maxUsdPerHour: cost?.max.usdPerHour ?? 0,
      },
      {
        resource: `${d.name}-gpu`,
        summary: `${volumes.map((v) => `${v.volumeSizeGiB} GiB`).join(" + ")} gp3 per node`,
        what: `EBS: ${volumes.map((v) => `${v.volumeSizeGiB} GiB`).join(" + ")} gp3 per node`,
        desiredUsdPerHour: perNodeEbs * g.scaling.desiredSize,
        activeUsdPerHour: perNodeEbs * activeNodes,
        maxUsdPerHour: perNodeEbs * g.scaling.maxSize,
      },
    ];
    const backup = d.spec.fallback;
    if (backup) {
      // The pair never runs more than the Spot group's maximum: the fallback adds only its price
      // difference at that maximum, and nothing while Spot serves.
      const extra = Math.max(0, (backup.nodeGroup.cost?.usdPerHourPerNode ?? 0) - perNode) * backup.nodeGroupArgs.scaling.maxSize;
      out.push({
        resource: backup.name,
        summary: `0 x ${backup.nodeGroupArgs.instanceType} on demand`,
        what: `0 x ${backup.nodeGroupArgs.instanceType} (on-demand fallback when Spot cannot launch), within ${d.name}-gpu's ${backup.nodeGroupArgs.scaling.maxSize} nodes`,
        desiredUsdPerHour: 0,
        activeUsdPerHour: 0,
        maxUsdPerHour: extra,
      });
    }
    const lb = d.serving.loadBalancer;
    if (lb?.enabled) {
      const internal = lb.internal ?? true;
      const each = nlbUsdPerHour(internal, zones);
      out.push(fixedItem(`${d.name}-vllm`, "a load balancer", `Network Load Balancer (${internal ? "internal" : `internet-facing, ${zones} public IPv4`}), before capacity units`, each));
    }
    return out;
  });
  if (config.cluster.mode === "new") {
    for (const item of clusterCost(normalizeNewCluster("cluster", config.cluster))) items.push({ resource: "cluster", ...item, activeUsdPerHour: item.desiredUsdPerHour });
  }
  // Prometheus's data volume (kube-prometheus-stack runs on the system nodes, priced above).
  if (monitoring && config.cluster.mode === "new") {
    items.push(fixedItem("addons", `${PROMETHEUS_VOLUME_GIB} GiB gp3`, `Prometheus: ${PROMETHEUS_VOLUME_GIB} GiB gp3 volume`, gp3UsdPerHour(PROMETHEUS_VOLUME_GIB)));
  }
  const desiredUsdPerHour = items.reduce((s, i) => s + i.desiredUsdPerHour, 0);
  const activeUsdPerHour = items.reduce((s, i) => s + i.activeUsdPerHour, 0);
  const maxUsdPerHour = items.reduce((s, i) => s + i.maxUsdPerHour, 0);
  const budgetUsdPerMonth = config.budgetUsdPerMonth ?? ENVIRONMENT_DEFAULTS[config.environment].budgetUsdPerMonth;
  const desiredUsdPerMonth = desiredUsdPerHour * HOURS_PER_MONTH;
  const activeUsdPerMonth = activeUsdPerHour * HOURS_PER_MONTH;
  // The budget holds at the planned load: a stack that idles at zero still pays for its GPUs when used.
  const passed = activeUsdPerMonth <= budgetUsdPerMonth;
  const biggest = [...items].sort((a, b) => b.activeUsdPerHour - a.activeUsdPerHour)[0]!;
  const scales = activeUsdPerHour > desiredUsdPerHour;
  const at = scales ? "busy at the planned load" : "at desired size";
  const beside = scales
    ? `${usd(desiredUsdPerMonth)}/month idle at desired size, ${usd(maxUsdPerHour * HOURS_PER_MONTH)} at maximum size`
    : `${usd(maxUsdPerHour * HOURS_PER_MONTH)}/month at maximum size`;
  const message = passed
    ? `${config.environment}: ${usd(activeUsdPerMonth)}/month ${at} is within the ${usd(budgetUsdPerMonth)} budget (${beside})`
    : `${config.environment}: ${biggest.summary} costs ${usd(biggest.activeUsdPerHour * HOURS_PER_MONTH)}/month, ` +
      `${usd(activeUsdPerMonth)} in all ${at}, over the ${usd(budgetUsdPerMonth)} budget; lower the nodes or choose a smaller preset`;
  return {
    plan: {
      environment: config.environment,
      region,
      deployments,
      cost: { items, desiredUsdPerHour, activeUsdPerHour, maxUsdPerHour, desiredUsdPerMonth, maxUsdPerMonth: maxUsdPerHour * HOURS_PER_MONTH },
      operations: { autoscaling, monitoring },
      budget: { usdPerMonth: budgetUsdPerMonth, passed, message },
      missingForUp,
      priceOverrides: config.prices,
    },
  };
}
