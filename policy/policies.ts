/**
 * llm-fleet's CrossGuard policies, as plain objects with no side effects: the pack's entry
 * (index.ts) hands them to a PolicyPack, and `llm-fleet plan` and the tests call the same
 * `validateResource` / `validateStack` functions directly.
 */
import type {
  PolicyResource,
  ReportViolation,
  ResourceValidationArgs,
  ResourceValidationPolicy,
  StackValidationArgs,
  StackValidationPolicy,
} from "@pulumi/policy";
import {
  FIXED_COSTS,
  GPUS,
  HOURS_PER_MONTH,
  INSTANCES,
  MODELS,
  VLLM_IMAGE,
  familyOf,
  findModelId,
  isInstanceTypeId,
  gp3UsdPerHour,
  nlbUsdPerHour,
  memoryBreakdown,
  priceQuote,
  flagValue,
  serveEngineOptions,
  type CapacityType,
  type GpuId,
  type PriceOverride,
} from "../sizing";

const NODE_GROUP = "aws:eks/nodeGroup:NodeGroup";
const LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate";
const EKS_CLUSTER = "aws:eks/cluster:Cluster";
const NAT_GATEWAY = "aws:ec2/natGateway:NatGateway";
const EIP = "aws:ec2/eip:Eip";
const KMS_KEY = "aws:kms/key:Key";
const LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup";
const SUBNET = "aws:ec2/subnet:Subnet";
const DEPLOYMENT = "kubernetes:apps/v1:Deployment";
const LWS = "kubernetes:leaderworkerset.x-k8s.io/v1:LeaderWorkerSet";
const HELM_RELEASE = "kubernetes:helm.sh/v3:Release";
/** components/aws/node-group-spec.ts PLANNED_NODES_TAG and FALLBACK_FOR_TAG (the pack imports nothing from components). */
const PLANNED_NODES_TAG = "llm-fleet.dev/planned-nodes";
const FALLBACK_FOR_TAG = "llm-fleet.dev/fallback-for";
const SERVICE = "kubernetes:core/v1:Service";

const usd = (n: number) => `$${Math.round(n).toLocaleString("en-US")}`;
const EKS_CAPACITY: Record<string, CapacityType> = { ON_DEMAND: "on-demand", SPOT: "spot", CAPACITY_BLOCK: "capacity-block" };

// ---------------------------------------------------------------------------------------
// Reading the resources

interface PodSpecLike {
  containers?: ContainerLike[];
  initContainers?: ContainerLike[];
  nodeSelector?: Record<string, string>;
}
interface ContainerLike {
  name?: string;
  image?: string;
  command?: string[];
  args?: string[];
  env?: { name: string; value?: string; valueFrom?: unknown }[];
  resources?: { limits?: Record<string, string> };
  securityContext?: { privileged?: boolean; allowPrivilegeEscalation?: boolean };
}

/** The pod specs of a workload: a Deployment's template, a LeaderWorkerSet's leader and worker templates. */
export function podSpecs(type: string, props: Record<string, any>): { spec: PodSpecLike; podsPerReplica: number }[] {
  if (type === DEPLOYMENT) return props.spec?.template?.spec ? [{ spec: props.spec.template.spec, podsPerReplica: 1 }] : [];
  if (type === LWS) {
    const t = props.spec?.leaderWorkerTemplate ?? {};
    const size = Number(t.size ?? 1);
    return [t.leaderTemplate?.spec, t.workerTemplate?.spec].filter(Boolean).map((spec: PodSpecLike) => ({ spec, podsPerReplica: size }));
  }
  return [];
}

function vllmContainer(spec: PodSpecLike): ContainerLike | undefined {
  return spec.containers?.find((c) => c.command?.[0] === "vllm" && c.command?.[1] === "serve");
}

function launchTemplateOf(resources: readonly PolicyResource[], nodeGroup: PolicyResource): PolicyResource | undefined {
  return resources.find((r) => r.type === LAUNCH_TEMPLATE && r.parent?.urn !== undefined && r.parent.urn === nodeGroup.parent?.urn);
}

/** Whether a LoadBalancer Service's annotations keep its NLB inside the VPC. */
function isInternalLoadBalancer(props: PolicyResource["props"]): boolean {
  const a = props.metadata?.annotations ?? {};
  return a["service.beta.kubernetes.io/aws-load-balancer-internal"] === "true" || a["service.beta.kubernetes.io/aws-load-balancer-scheme"] === "internal";
}

/** A node group's instance type: on the group, or (Capacity Blocks) in its launch template. */
function instanceTypeOf(resources: readonly PolicyResource[], nodeGroup: PolicyResource): string | undefined {
  return nodeGroup.props.instanceTypes?.[0] ?? launchTemplateOf(resources, nodeGroup)?.props.instanceType;
}

// ---------------------------------------------------------------------------------------
// The cost preview

export interface CostConfig {
  /** Region the prices are taken from. */
  region: string;
  environment: string;
  budgetUsdPerMonth?: number;
  priceOverrides?: PriceOverride[];
}

export interface CostItem {
  resource: string;
  what: string;
  desiredUsdPerHour: number;
  /** At the planned load: an autoscaled group at its planned nodes (its `llm-fleet.dev/planned-nodes` tag). */
  activeUsdPerHour: number;
  maxUsdPerHour: number;
}

export interface CostPreview {
  items: CostItem[];
  desiredUsdPerHour: number;
  activeUsdPerHour: number;
  maxUsdPerHour: number;
  desiredUsdPerMonth: number;
  activeUsdPerMonth: number;
  maxUsdPerMonth: number;
  /** Node groups whose price is unknown (a Capacity Block without an override). */
  unpriced: string[];
}

function capacityOf(group: PolicyResource): CapacityType {
  return EKS_CAPACITY[String(group.props.capacityType ?? "ON_DEMAND")] ?? "on-demand";
}

/** A node group's price per node and hour, or undefined when none is known. */
function nodeGroupUsdPerHour(resources: readonly PolicyResource[], group: PolicyResource, config: CostConfig): number | undefined {
  const type = instanceTypeOf(resources, group);
  if (type && isInstanceTypeId(type)) {
    const quote = priceQuote(type, config.region, capacityOf(group), config.priceOverrides ?? []);
    return "problem" in quote ? undefined : quote.usdPerHourPerNode;
  }
  return type ? FIXED_COSTS.systemNodeUsdPerHour[type] : undefined;
}

/** The Spot group an on-demand fallback group backs up (its FALLBACK_FOR_TAG names it). */
function fallbackPrimary(resources: readonly PolicyResource[], group: PolicyResource): PolicyResource | undefined {
  const name = group.props.tags?.[FALLBACK_FOR_TAG];
  if (typeof name !== "string") return undefined;
  return resources.find((r) => r.type === NODE_GROUP && r !== group && r.props.tags?.["llm-fleet.dev/node-group"] === name);
}

/** A cost that does not change with scale. */
function fixedCost(resource: string, what: string, usdPerHour: number): CostItem {
  return { resource, what, desiredUsdPerHour: usdPerHour, activeUsdPerHour: usdPerHour, maxUsdPerHour: usdPerHour };
}

/** The data volume a kube-prometheus-stack release asks for, in GiB; 0 for other charts or none. */
export function releaseVolumeGiB(props: Record<string, any>): number {
  if (props.chart !== "kube-prometheus-stack") return 0;
  const storage = props.values?.prometheus?.prometheusSpec?.storageSpec?.volumeClaimTemplate?.spec?.resources?.requests?.storage;
  const match = typeof storage === "string" ? /^(\d+)Gi$/.exec(storage) : null;
  return match ? Number(match[1]) : 0;
}

/** What the stack's resources cost per hour and per month, at desired and at maximum scale. */
export function costPreview(resources: readonly PolicyResource[], config: CostConfig): CostPreview {
  const items: CostItem[] = [];
  const unpriced: string[] = [];
  for (const r of resources) {
    if (r.type === NODE_GROUP) {
      const type = instanceTypeOf(resources, r);
      const scaling = r.props.scalingConfig ?? {};
      const capacity = capacityOf(r);
      const usdPerHourPerNode = nodeGroupUsdPerHour(resources, r, config);
      if (usdPerHourPerNode === undefined) unpriced.push(`${r.name} (${type ?? "no instance type"}, ${capacity})`);
      const each = usdPerHourPerNode ?? 0;
      // A Capacity Block's group is created empty and scheduled up to its size: the block is paid for at that size.
      const desired = capacity === "capacity-block" ? Number(scaling.maxSize ?? 0) : Number(scaling.desiredSize ?? 0);
      const planned = Number(r.props.tags?.[PLANNED_NODES_TAG]);
      const active = capacity !== "capacity-block" && Number.isInteger(planned) && planned > desired ? planned : desired;
      const primary = fallbackPrimary(resources, r);
      if (primary) {
        // An on-demand fallback never runs beyond its Spot primary's maximum: it adds its price difference there.
        const primaryEach = nodeGroupUsdPerHour(resources, primary, config) ?? 0;
        const max = Number(scaling.maxSize ?? 0);
        items.push({
          resource: r.name,
          what: `${desired} x ${type} (${capacity} fallback of ${primary.props.tags?.["llm-fleet.dev/node-group"]}), up to ${max} within its maximum`,
          desiredUsdPerHour: each * desired,
          activeUsdPerHour: each * desired,
          maxUsdPerHour: Math.max(0, each - primaryEach) * max,
        });
        continue;
      }
      items.push({
        resource: r.name,
        what:
          active === desired
            ? `${desired} x ${type} (${capacity}), up to ${scaling.maxSize}`
            : `${active} x ${type} at the planned load (${capacity}), ${desired} when idle, up to ${scaling.maxSize}`,
        desiredUsdPerHour: each * desired,
        activeUsdPerHour: each * active,
        maxUsdPerHour: each * Number(scaling.maxSize ?? 0),
      });
      const volumes = ((launchTemplateOf(resources, r)?.props.blockDeviceMappings ?? []) as { ebs?: { volumeSize?: number; throughput?: number; iops?: number } }[])
        .map((m) => m.ebs)
        .filter((e): e is { volumeSize: number; throughput?: number; iops?: number } => e?.volumeSize !== undefined);
      if (volumes.length > 0) {
        const perNode = volumes.reduce((sum, v) => sum + gp3UsdPerHour(v.volumeSize, v.throughput, v.iops), 0);
        items.push({
          resource: r.name,
          what: `EBS: ${volumes.map((v) => `${v.volumeSize} GiB`).join(" + ")} gp3 per node`,
          desiredUsdPerHour: perNode * desired,
          activeUsdPerHour: perNode * active,
          maxUsdPerHour: perNode * Number(scaling.maxSize ?? 0),
        });
      }
    } else if (r.type === EIP) {
      items.push(fixedCost(r.name, "public IPv4 address", FIXED_COSTS.publicIpv4UsdPerHour));
    } else if (r.type === KMS_KEY) {
      const kms = FIXED_COSTS.kmsKeyUsdPerMonth / HOURS_PER_MONTH;
      items.push(fixedCost(r.name, "KMS key", kms));
    } else if (r.type === LOG_GROUP) {
      items.push(fixedCost(r.name, `CloudWatch Logs: $${FIXED_COSTS.cloudWatchLogsUsdPerGbIngested.toFixed(2)} per GB ingested, not in the total`, 0));
    } else if (r.type === SERVICE && r.props.spec?.type === "LoadBalancer") {
      const internal = isInternalLoadBalancer(r.props);
      // An internet-facing NLB holds a public address in each zone of the cluster's public subnets.
      const zones = resources.filter((x) => x.type === SUBNET && x.name.includes("-public-")).length || 2;
      const each = nlbUsdPerHour(internal, zones);
      items.push(fixedCost(r.name, `Network Load Balancer (${internal ? "internal" : "internet-facing"}), before capacity units`, each));
    } else if (r.type === HELM_RELEASE) {
      const gib = releaseVolumeGiB(r.props);
      if (gib > 0) items.push(fixedCost(r.name, `Prometheus: ${gib} GiB gp3 volume`, gp3UsdPerHour(gib)));
    } else if (r.type === EKS_CLUSTER) {
      items.push(fixedCost(r.name, "EKS control plane", FIXED_COSTS.eksClusterUsdPerHour));
    } else if (r.type === NAT_GATEWAY) {
      items.push(fixedCost(r.name, "NAT gateway, before data", FIXED_COSTS.natGatewayUsdPerHour));
    }
  }
  const desiredUsdPerHour = items.reduce((s, i) => s + i.desiredUsdPerHour, 0);
  const activeUsdPerHour = items.reduce((s, i) => s + i.activeUsdPerHour, 0);
  const maxUsdPerHour = items.reduce((s, i) => s + i.maxUsdPerHour, 0);
  return {
    items,
    desiredUsdPerHour,
    activeUsdPerHour,
    maxUsdPerHour,
    desiredUsdPerMonth: desiredUsdPerHour * HOURS_PER_MONTH,
    activeUsdPerMonth: activeUsdPerHour * HOURS_PER_MONTH,
    maxUsdPerMonth: maxUsdPerHour * HOURS_PER_MONTH,
    unpriced,
  };
}

// ---------------------------------------------------------------------------------------
// The policies

/** A policy that only looks at some resource types. */
function forTypes(types: readonly string[], check: (args: ResourceValidationArgs, report: ReportViolation) => void) {
  return (args: ResourceValidationArgs, report: ReportViolation) => {
    if (types.includes(args.type)) check(args, report);
  };
}

export const monthlyBudget: StackValidationPolicy = {
  name: "monthly-budget",
  description:
    "The stack's monthly cost at the planned load (autoscaled GPU groups at their planned nodes, the rest at desired size) stays within its budget; idle and maximum costs are reported beside it.",
  enforcementLevel: "mandatory",
  configSchema: {
    properties: {
      budgetUsdPerMonth: { type: "number", exclusiveMinimum: 0 },
      region: { type: "string", default: "us-east-1" },
      environment: { type: "string", default: "stack" },
    },
  },
  validateStack: (args: StackValidationArgs, report: ReportViolation) => {
    const config = args.getConfig<CostConfig>();
    if (config.budgetUsdPerMonth === undefined) return;
    const cost = costPreview(args.resources, config);
    if (cost.activeUsdPerMonth <= config.budgetUsdPerMonth) return;
    const biggest = [...cost.items].sort((a, b) => b.activeUsdPerHour - a.activeUsdPerHour)[0]!;
    const idle = cost.activeUsdPerHour > cost.desiredUsdPerHour ? `, ${usd(cost.desiredUsdPerMonth)} idle` : "";
    report(
      `${config.environment}: ${biggest.what.replace(/ \(.*$/, "")} costs ${usd(biggest.activeUsdPerHour * HOURS_PER_MONTH)}/month, ` +
        `${usd(cost.activeUsdPerMonth)} in all (${usd(cost.maxUsdPerMonth)} at maximum scale${idle}), over the ${usd(config.budgetUsdPerMonth)} budget; ` +
        "lower the nodes or choose a smaller preset",
    );
  },
};

export const allowedInstanceTypes: StackValidationPolicy = {
  name: "allowed-instance-types",
  description: "GPU node groups use only the instance families and GPUs this environment allows.",
  enforcementLevel: "mandatory",
  configSchema: { properties: { allowedFamilies: { type: "array", items: { type: "string" } }, allowedGpus: { type: "array", items: { type: "string" } } } },
  // A stack policy: a Capacity Block group names its instance type only in its launch template.
  validateStack: (args, report) => {
    const { allowedFamilies, allowedGpus } = args.getConfig<{ allowedFamilies?: string[]; allowedGpus?: string[] }>();
    for (const group of args.resources.filter((r) => r.type === NODE_GROUP)) {
      const type = instanceTypeOf(args.resources, group);
      if (!type || !isInstanceTypeId(type)) continue;
      const family = familyOf(type);
      const gpu = INSTANCES[type].gpu;
      if (allowedFamilies && !allowedFamilies.includes(family)) {
        report(`${group.name}: ${type} (family ${family}) is not allowed here; allowed families: ${allowedFamilies.join(", ")}; choose one of them or change allowedFamilies`);
      }
      if (allowedGpus && !allowedGpus.includes(gpu)) {
        report(`${group.name}: ${type} carries ${gpu}, which is not allowed here; allowed GPUs: ${allowedGpus.join(", ")}; choose one of them or change allowedGpus`);
      }
    }
  },
};

export const devCapacity: ResourceValidationPolicy = {
  name: "dev-capacity",
  description: "In dev, GPU node groups run on Spot or can scale to zero.",
  enforcementLevel: "disabled",
  validateResource: (args, report) => {
    if (args.type !== NODE_GROUP || args.props.labels?.["llm-fleet.dev/gpu"] === undefined) return;
    const spot = args.props.capacityType === "SPOT";
    const minSize = Number(args.props.scalingConfig?.minSize ?? 0);
    if (!spot && minSize > 0) {
      report(`${args.name} runs ${args.props.capacityType ?? "ON_DEMAND"} with minSize ${minSize}; in dev use Spot (placement.capacityType: spot) or minNodes: 0`);
    }
  },
};

export const parallelismMatchesGpus: ResourceValidationPolicy = {
  name: "parallelism-matches-gpus",
  description: "vLLM's --tensor-parallel-size x --pipeline-parallel-size x --data-parallel-size equals the GPUs its pods are given.",
  enforcementLevel: "mandatory",
  validateResource: forTypes([DEPLOYMENT, LWS], (args, report) => {
    for (const { spec, podsPerReplica } of podSpecs(args.type, args.props)) {
      const c = vllmContainer(spec);
      if (!c?.args) continue;
      const tp = Number(flagValue(c.args, "--tensor-parallel-size") ?? 1);
      const pp = Number(flagValue(c.args, "--pipeline-parallel-size") ?? 1);
      const dp = Number(flagValue(c.args, "--data-parallel-size") ?? 1);
      const gpus = Number(c.resources?.limits?.["nvidia.com/gpu"] ?? 0) * podsPerReplica;
      if (tp * pp * dp !== gpus) {
        const layout = dp > 1 ? `TP ${tp} x PP ${pp} x DP ${dp}` : `TP ${tp} x PP ${pp}`;
        report(`${args.name}: ${layout} = ${tp * pp * dp} GPUs, but a replica gets ${gpus} (${podsPerReplica} pod(s)); make them equal, or re-plan with llm-fleet size`);
        return;
      }
    }
  }),
};

export const pinnedVllmImage: ResourceValidationPolicy = {
  name: "pinned-vllm-image",
  description: "vLLM runs the pinned image, or one this environment allows.",
  enforcementLevel: "mandatory",
  configSchema: { properties: { allowedImages: { type: "array", items: { type: "string" }, default: [] } } },
  validateResource: forTypes([DEPLOYMENT, LWS], (args, report) => {
    const { allowedImages = [] } = args.getConfig<{ allowedImages?: string[] }>();
    for (const { spec } of podSpecs(args.type, args.props)) {
      const image = vllmContainer(spec)?.image;
      if (image && image !== VLLM_IMAGE && !allowedImages.includes(image)) {
        report(`${args.name} runs ${image}; use ${VLLM_IMAGE} or add the image to allowedImages`);
        return;
      }
    }
  }),
};

export const imdsv2Required: ResourceValidationPolicy = {
  name: "imdsv2-required",
  description: "Launch templates require IMDSv2, with a hop limit that keeps pods off the node's credentials.",
  enforcementLevel: "mandatory",
  configSchema: { properties: { maxHopLimit: { type: "integer", minimum: 1, default: 1 } } },
  validateResource: forTypes([LAUNCH_TEMPLATE], (args, report) => {
    const { maxHopLimit = 1 } = args.getConfig<{ maxHopLimit?: number }>();
    const m = args.props.metadataOptions ?? {};
    if (m.httpTokens !== "required") report(`${args.name}: metadataOptions.httpTokens is ${m.httpTokens ?? "unset"}; set it to "required" (IMDSv2)`);
    if (Number(m.httpPutResponseHopLimit ?? 2) > maxHopLimit) {
      report(`${args.name}: hop limit ${m.httpPutResponseHopLimit ?? "unset (2)"} lets pods reach node credentials; set httpPutResponseHopLimit to ${maxHopLimit}`);
    }
  }),
};

export const encryptedVolumes: ResourceValidationPolicy = {
  name: "encrypted-volumes",
  description: "Node volumes and the cluster's Kubernetes secrets are encrypted.",
  enforcementLevel: "mandatory",
  validateResource: forTypes([LAUNCH_TEMPLATE, EKS_CLUSTER], (args, report) => {
    if (args.type === LAUNCH_TEMPLATE) {
      for (const d of args.props.blockDeviceMappings ?? []) {
        if (String(d.ebs?.encrypted) !== "true") report(`${args.name}: volume ${d.deviceName} is not encrypted; set ebs.encrypted: "true"`);
      }
    } else if (!(args.props.encryptionConfig?.resources ?? []).includes("secrets")) {
      report(`${args.name}: Kubernetes secrets are not encrypted with a KMS key; set encryptionConfig { resources: ["secrets"] }`);
    }
  }),
};

export const noPublicLoadBalancer: ResourceValidationPolicy = {
  name: "no-public-load-balancer",
  description: "Load balancers in front of model endpoints are internal unless this environment allows public ones.",
  enforcementLevel: "mandatory",
  configSchema: { properties: { allowPublic: { type: "boolean", default: false } } },
  validateResource: forTypes([SERVICE], (args, report) => {
    if (args.props.spec?.type !== "LoadBalancer" || args.getConfig<{ allowPublic?: boolean }>().allowPublic) return;
    if (!isInternalLoadBalancer(args.props)) report(`${args.name} is an internet-facing load balancer; make it internal (loadBalancer.internal: true) or set allowPublic`);
  }),
};

const SECRET_NAME = /(TOKEN|KEY|SECRET|PASSWORD)/i;

export const noPlainSecretEnv: ResourceValidationPolicy = {
  name: "no-secret-in-plain-env",
  description: "Tokens and keys reach containers from Secrets, never as plain environment values.",
  enforcementLevel: "mandatory",
  validateResource: forTypes([DEPLOYMENT, LWS], (args, report) => {
    for (const { spec } of podSpecs(args.type, args.props)) {
      for (const c of [...(spec.containers ?? []), ...(spec.initContainers ?? [])]) {
        for (const e of c.env ?? []) {
          if (e.value !== undefined && SECRET_NAME.test(e.name)) {
            report(`${args.name}: container ${c.name} has ${e.name} in plain text; take it from a Secret (valueFrom.secretKeyRef)`);
          }
        }
      }
    }
  }),
};

export const noPrivilegedContainers: ResourceValidationPolicy = {
  name: "no-privileged-containers",
  description: "No container runs privileged or may escalate privileges.",
  enforcementLevel: "mandatory",
  validateResource: forTypes([DEPLOYMENT, LWS], (args, report) => {
    for (const { spec } of podSpecs(args.type, args.props)) {
      for (const c of [...(spec.containers ?? []), ...(spec.initContainers ?? [])]) {
        const sc = c.securityContext ?? {};
        if (sc.privileged === true || sc.allowPrivilegeEscalation !== false) {
          report(`${args.name}: container ${c.name} ${sc.privileged ? "is privileged" : "may escalate privileges"}; set privileged: false and allowPrivilegeEscalation: false`);
        }
      }
    }
  }),
};

export const apiKeyRequired: ResourceValidationPolicy = {
  name: "api-key-required",
  description: "Every vLLM endpoint requires an API key (on in prod).",
  enforcementLevel: "disabled",
  validateResource: forTypes([DEPLOYMENT, LWS], (args, report) => {
    const [first] = podSpecs(args.type, args.props);
    const c = first && vllmContainer(first.spec);
    if (!c) return;
    const fromSecret = (c.env ?? []).some((e) => e.name === "VLLM_API_KEY" && e.valueFrom !== undefined);
    if (!fromSecret) report(`${args.name} serves without an API key; set llm-fleet:apiKey with \`pulumi config set --secret\``);
  }),
};

export const checkpointFitsGpus: StackValidationPolicy = {
  name: "checkpoint-fits-gpus",
  description: "Each vLLM workload's checkpoint fits the GPUs of its node group by the sizing memory model.",
  enforcementLevel: "mandatory",
  validateStack: (args, report) => {
    for (const w of args.resources.filter((r) => r.type === DEPLOYMENT || r.type === LWS)) {
      const [first] = podSpecs(w.type, w.props);
      if (!first) continue;
      const c = vllmContainer(first.spec);
      if (!c?.args) continue;
      const group = first.spec.nodeSelector?.["llm-fleet.dev/node-group"];
      const nodeGroup = args.resources.find((r) => r.type === NODE_GROUP && r.props.labels?.["llm-fleet.dev/node-group"] === group);
      const gpuId = nodeGroup?.props.labels?.["llm-fleet.dev/gpu"] as GpuId | undefined;
      const modelId = findModelId(flagValue(c.args, "--served-model-name") ?? "");
      if (!gpuId || !GPUS[gpuId] || !modelId) continue;
      const model = MODELS[modelId];
      const checkpoint = model.checkpoints.find((k) => k.repo === c.args![0]);
      if (!checkpoint) continue; // an S3 copy: its repo is not in the arguments
      const tp = Number(flagValue(c.args, "--tensor-parallel-size") ?? 1);
      const pp = Number(flagValue(c.args, "--pipeline-parallel-size") ?? 1);
      const dp = Number(flagValue(c.args, "--data-parallel-size") ?? 1);
      const maxModelLen = Number(flagValue(c.args, "--max-model-len") ?? model.maxContextTokens);
      const engine = serveEngineOptions(c.args);
      const m = memoryBreakdown({
        model,
        checkpoint,
        gpu: GPUS[gpuId],
        tensorParallelSize: tp,
        pipelineParallelSize: pp,
        dataParallelSize: dp,
        maxModelLen,
        gpuMemoryUtilization: engine.gpuMemoryUtilization,
        kvCacheDtype: engine.kvCacheDtype,
        maxNumBatchedTokens: engine.maxNumBatchedTokens,
        maxNumSeqs: engine.maxNumSeqs,
        enforceEager: engine.enforceEager,
      });
      if (m.kvCacheGiB <= 0) {
        report(`${w.name}: ${checkpoint.repo} needs ${m.weightsGiB.toFixed(1)} GiB weights + ${m.activationsGiB.toFixed(1)} GiB activations per GPU; ${gpuId} leaves ${m.budgetGiB.toFixed(1)} GiB; re-plan with llm-fleet size`);
      } else if (m.kvCacheTokensPerRank < maxModelLen) {
        report(`${w.name}: the KV cache holds ${m.kvCacheTokensPerRank} tokens, under --max-model-len ${maxModelLen}: vLLM will not start; lower it or re-plan`);
      }
    }
  },
};

/** Every policy of the pack, in report order. */
export const POLICIES = [
  monthlyBudget,
  allowedInstanceTypes,
  devCapacity,
  parallelismMatchesGpus,
  checkpointFitsGpus,
  pinnedVllmImage,
  imdsv2Required,
  encryptedVolumes,
  noPublicLoadBalancer,
  noPlainSecretEnv,
  noPrivilegedContainers,
  apiKeyRequired,
] as const satisfies readonly (ResourceValidationPolicy | StackValidationPolicy)[];

export type PolicyName = (typeof POLICIES)[number]["name"];
