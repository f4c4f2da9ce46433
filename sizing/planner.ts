/**
 * The planner, staged: enumerate checkpoints x instance types x nodes per replica x
 * TP/PP layouts -> drop each infeasible candidate with the rule and numbers that
 * dropped it -> cost the rest -> rank with a deterministic tie-break.
 */
import {
  GPUS,
  INSTANCES,
  INSTANCE_TYPES,
  MODELS,
  PRICE_SHEET,
  CATALOG_VERSION,
  knownRegions,
  type CapacityType,
  type Checkpoint,
  type GpuId,
  type InstanceType,
  type ModelId,
  type Precision,
} from "./catalog";
import { HOURS_PER_MONTH, offeringProblem, priceQuote, type PriceBasis } from "./cost";
import { estimates, type Estimates } from "./estimate";
import { kvBytesPerTokenPerLayer, memoryBreakdown, type MemoryBreakdown } from "./memory";
import { MAX_NODES_PER_REPLICA, parsePlanRequest, type PlanRequest } from "./request";
import {
  architectureRule,
  kvCacheRule,
  memoryRule,
  multiNodeRule,
  pipelineParallelRule,
  tensorParallelRule,
  RULES,
  type RuleId,
} from "./rules";
import { VLLM_IMAGE, vllmServeArgs } from "./vllm";

export interface Plan {
  model: ModelId;
  modelName: string;
  checkpoint: {
    repo: string;
    precision: Precision;
    format: string;
    sizeOnDiskGB: number;
    quantizationFlag: string | null;
  };
  instanceType: InstanceType;
  gpu: GpuId;
  gpusPerNode: number;
  /** Nodes of the whole deployment. */
  nodes: number;
  /** Nodes one replica spans (PP across nodes when above 1). */
  nodesPerReplica: number;
  tensorParallelSize: number;
  pipelineParallelSize: number;
  replicas: number;
  /** Replicas that share one node when a replica needs fewer GPUs than a node has. */
  replicasPerNode: number;
  region: string;
  capacityType: CapacityType;
  maxModelLen: number;
  /** Per replica. */
  kvCacheTokens: number;
  /** Per replica: full-length sequences that fit at once. */
  maxConcurrentSequences: number;
  /** One GPU of the limiting pipeline stage; the four parts add up to the device memory. */
  perGpuMemoryGiB: { weights: number; kvCache: number; activations: number; free: number };
  memory: MemoryBreakdown;
  /** All nodes of the deployment. */
  usdPerHour: number;
  usdPerMonth: number;
  price: { usdPerHourPerNode: number; basis: PriceBasis; asOf: string; source: string };
  image: string;
  /** Arguments after `vllm serve`. */
  vllmArgs: string[];
  estimates: Estimates;
}

export interface Rejection {
  instanceType: InstanceType;
  checkpoint: string;
  precision: Precision;
  /** Nodes per replica of the candidate. */
  nodes: number;
  tensorParallelSize: number | null;
  pipelineParallelSize: number | null;
  rule: RuleId;
  reason: string;
  /** GiB per GPU missing for the candidate to fit; null for rules other than memory. */
  shortfallGiB: number | null;
}

export interface Relaxation {
  /** The request field to change, and its new value as the CLI writes it. */
  field: "precisions" | "gpus" | "instanceTypes" | "nodesPerReplica" | "kvCacheDtype" | "capacityType" | "region" | "maxModelLen";
  value: string;
  plan: Pick<Plan, "instanceType" | "nodes" | "usdPerHour" | "tensorParallelSize" | "pipelineParallelSize"> & {
    checkpoint: string;
    precision: Precision;
    maxModelLen: number;
  };
}

export interface PlanResult {
  catalogVersion: string;
  pricesAsOf: string;
  request: PlanRequest;
  plan: Plan | null;
  alternatives: Plan[];
  rejected: Rejection[];
  /** Candidates left out by the request's own constraints, counted by the first one that excludes them. */
  excludedByRequest: { precision: number; gpu: number; instanceType: number; nodes: number };
  /** When nothing fits: the candidate that came closest, and the changes that would give a plan. */
  closestMiss: Rejection | null;
  relaxations: Relaxation[];
}

/** How many alternatives a result lists after the chosen plan. */
export const ALTERNATIVES = 5;

const powersOfTwoUpTo = (n: number) => {
  const out: number[] = [];
  for (let p = 1; p <= n; p *= 2) out.push(p);
  return out;
};

/** TP x PP layouts of one replica: within a node (any split of up to its GPUs), or PP across whole nodes. */
export function layouts(gpusPerNode: number, nodesPerReplica: number): { tp: number; pp: number }[] {
  const out: { tp: number; pp: number }[] = [];
  if (nodesPerReplica === 1) {
    for (const tp of powersOfTwoUpTo(gpusPerNode)) {
      for (const pp of powersOfTwoUpTo(gpusPerNode / tp)) out.push({ tp, pp });
    }
    return out;
  }
  for (const tp of powersOfTwoUpTo(gpusPerNode)) {
    if (gpusPerNode % tp === 0) out.push({ tp, pp: (gpusPerNode / tp) * nodesPerReplica });
  }
  return out;
}

interface Scored {
  plan: Plan;
  order: number;
}

function compare(objective: PlanRequest["objective"]) {
  return (a: Scored, b: Scored): number => {
    const cost = a.plan.usdPerHour - b.plan.usdPerHour;
    const rate = b.plan.estimates.decodeTokensPerSecond - a.plan.estimates.decodeTokensPerSecond;
    const primary = objective === "cost" ? cost || rate : rate || cost;
    if (primary !== 0) return primary;
    const gpus = a.plan.nodes * a.plan.gpusPerNode - b.plan.nodes * b.plan.gpusPerNode;
    return gpus || a.order - b.order;
  };
}

/**
 * Plans a deployment. Throws PlanInputError on malformed input; an input that is valid
 * but fits nowhere returns `plan: null` with the reasons.
 */
export function planDeployment(input: unknown): PlanResult {
  const request = parsePlanRequest(input);
  const result = evaluate(request);
  if (result.plan) return result;
  return { ...result, relaxations: relaxations(request) };
}

function evaluate(request: PlanRequest): PlanResult {
  const model = MODELS[request.model];
  const precisions = request.precisions ?? [model.nativePrecision];
  const feasible: Scored[] = [];
  const rejected: Rejection[] = [];
  const excludedByRequest = { precision: 0, gpu: 0, instanceType: 0, nodes: 0 };
  let order = 0;
  const byObjective = compare(request.objective);

  for (const checkpoint of model.checkpoints) {
    for (const instanceType of INSTANCE_TYPES) {
      const instance = INSTANCES[instanceType];
      for (let nodesPerReplica = 1; nodesPerReplica <= MAX_NODES_PER_REPLICA; nodesPerReplica++) {
        order++;
        const excluded = !precisions.includes(checkpoint.precision)
          ? "precision"
          : request.gpus && !request.gpus.includes(instance.gpu)
            ? "gpu"
            : request.instanceTypes && !request.instanceTypes.includes(instanceType)
              ? "instanceType"
              : request.nodesPerReplica !== undefined && request.nodesPerReplica !== nodesPerReplica
                ? "nodes"
                : null;
        if (excluded) {
          excludedByRequest[excluded]++;
          continue;
        }
        const outcome = evaluateCandidate(request, checkpoint, instanceType, nodesPerReplica);
        if ("plan" in outcome) feasible.push({ plan: outcome.plan, order });
        else rejected.push(outcome.rejection);
      }
    }
  }

  feasible.sort(byObjective);
  const [best, ...rest] = feasible;
  const closestMiss = best ? null : closest(rejected);
  return {
    catalogVersion: CATALOG_VERSION,
    pricesAsOf: PRICE_SHEET.asOf,
    request,
    plan: best?.plan ?? null,
    alternatives: rest.slice(0, ALTERNATIVES).map((s) => s.plan),
    rejected,
    excludedByRequest,
    closestMiss,
    relaxations: [],
  };
}

/**
 * The rejection that came nearest to a plan: the one that passed the most rules (RULES
 * is in checking order), then the smallest memory shortfall, then enumeration order.
 */
export function closest(rejected: readonly Rejection[]): Rejection | null {
  let best: Rejection | null = null;
  for (const r of rejected) {
    if (!best) {
      best = r;
      continue;
    }
    const stage = RULES.indexOf(r.rule) - RULES.indexOf(best.rule);
    if (stage > 0 || (stage === 0 && (r.shortfallGiB ?? Infinity) < (best.shortfallGiB ?? Infinity))) best = r;
  }
  return best;
}

type CandidateOutcome = { plan: Plan } | { rejection: Rejection };

function evaluateCandidate(
  request: PlanRequest,
  checkpoint: Checkpoint,
  instanceType: InstanceType,
  nodesPerReplica: number,
): CandidateOutcome {
  const model = MODELS[request.model];
  const instance = INSTANCES[instanceType];
  const gpu = GPUS[instance.gpu];
  const reject = (
    rule: RuleId,
    reason: string,
    layout: { tp: number; pp: number } | null = null,
    shortfallGiB: number | null = null,
  ): CandidateOutcome => ({
    rejection: {
      instanceType,
      checkpoint: checkpoint.repo,
      precision: checkpoint.precision,
      nodes: nodesPerReplica,
      tensorParallelSize: layout?.tp ?? null,
      pipelineParallelSize: layout?.pp ?? null,
      rule,
      reason,
      shortfallGiB,
    },
  });

  const offering = offeringProblem(instanceType, request.region, request.capacityType);
  if (offering) return reject("offering", offering);
  const quote = priceQuote(instanceType, request.region, request.capacityType, request.priceOverrides);
  if ("problem" in quote) return reject("price", quote.problem);
  const architecture = architectureRule(checkpoint, instance.gpu, gpu);
  if (architecture) return reject("architecture", architecture);
  const multiNode = multiNodeRule(instanceType, instance, nodesPerReplica);
  if (multiNode) return reject("multi-node", multiNode);

  let bestPlan: Plan | undefined;
  let closest: CandidateOutcome | undefined;
  let closestShortfall = Infinity;
  let structural: CandidateOutcome | undefined;
  const byObjective = compare(request.objective);

  for (const layout of layouts(instance.gpuCount, nodesPerReplica)) {
    const tpProblem = tensorParallelRule(model, layout.tp, instance.gpuCount);
    if (tpProblem) {
      structural ??= reject("tensor-parallel", tpProblem, layout);
      continue;
    }
    const ppProblem = pipelineParallelRule(model, layout.pp);
    if (ppProblem) {
      structural ??= reject("pipeline-parallel", ppProblem, layout);
      continue;
    }
    const memory = memoryBreakdown({
      model,
      checkpoint,
      gpu,
      tensorParallelSize: layout.tp,
      pipelineParallelSize: layout.pp,
      maxModelLen: request.maxModelLen,
      gpuMemoryUtilization: request.gpuMemoryUtilization,
      kvCacheDtype: request.kvCacheDtype,
    });
    const memoryProblem = memoryRule(memory, instance.gpu, request.gpuMemoryUtilization);
    const kvProblem = memoryProblem ? null : kvCacheRule(memory, request.maxModelLen);
    if (memoryProblem || kvProblem) {
      // GiB per GPU still missing: for the KV rule, the cache one full request needs beyond what is left.
      const shortfall = memoryProblem
        ? -memory.kvCacheGiB + (request.maxModelLen * memory.kvBytesPerToken) / 2 ** 30
        : ((request.maxModelLen - memory.kvCacheTokens) * memory.kvBytesPerToken) / 2 ** 30;
      if (shortfall < closestShortfall) {
        closestShortfall = shortfall;
        closest = memoryProblem
          ? reject("memory", memoryProblem, layout, shortfall)
          : reject("kv-cache", kvProblem!, layout, shortfall);
      }
      continue;
    }
    const plan = buildPlan(request, checkpoint, instanceType, nodesPerReplica, layout, memory, quote);
    if (!bestPlan || byObjective({ plan, order: 0 }, { plan: bestPlan, order: 0 }) < 0) bestPlan = plan;
  }
  if (bestPlan) return { plan: bestPlan };
  return closest ?? structural ?? reject("tensor-parallel", `no TP x PP layout of ${instance.gpuCount} GPUs per node`);
}

function buildPlan(
  request: PlanRequest,
  checkpoint: Checkpoint,
  instanceType: InstanceType,
  nodesPerReplica: number,
  layout: { tp: number; pp: number },
  memory: MemoryBreakdown,
  quote: { usdPerHourPerNode: number; basis: PriceBasis; asOf: string; source: string },
): Plan {
  const model = MODELS[request.model];
  const instance = INSTANCES[instanceType];
  const gpu = GPUS[instance.gpu];
  const replicas = Math.max(request.minReplicas, Math.ceil(request.concurrency / memory.maxConcurrentSequences));
  const replicasPerNode = nodesPerReplica > 1 ? 1 : Math.floor(instance.gpuCount / (layout.tp * layout.pp));
  const nodes = nodesPerReplica > 1 ? replicas * nodesPerReplica : Math.ceil(replicas / replicasPerNode);
  const usdPerHour = nodes * quote.usdPerHourPerNode;
  return {
    model: request.model,
    modelName: model.displayName,
    checkpoint: {
      repo: checkpoint.repo,
      precision: checkpoint.precision,
      format: checkpoint.format,
      sizeOnDiskGB: checkpoint.sizeOnDiskGB,
      quantizationFlag: checkpoint.quantizationFlag,
    },
    instanceType,
    gpu: instance.gpu,
    gpusPerNode: instance.gpuCount,
    nodes,
    nodesPerReplica,
    tensorParallelSize: layout.tp,
    pipelineParallelSize: layout.pp,
    replicas,
    replicasPerNode,
    region: request.region,
    capacityType: request.capacityType,
    maxModelLen: request.maxModelLen,
    kvCacheTokens: memory.kvCacheTokens,
    maxConcurrentSequences: memory.maxConcurrentSequences,
    perGpuMemoryGiB: {
      weights: memory.weightsGiB,
      kvCache: memory.kvCacheGiB,
      activations: memory.activationsGiB,
      free: memory.freeGiB,
    },
    memory,
    usdPerHour,
    usdPerMonth: usdPerHour * HOURS_PER_MONTH,
    price: quote,
    image: VLLM_IMAGE,
    vllmArgs: vllmServeArgs({
      modelId: request.model,
      model,
      checkpoint,
      tensorParallelSize: layout.tp,
      pipelineParallelSize: layout.pp,
      maxModelLen: request.maxModelLen,
      gpuMemoryUtilization: request.gpuMemoryUtilization,
      kvCacheDtype: request.kvCacheDtype,
    }),
    estimates: estimates(
      {
        model,
        checkpoint,
        gpu,
        tensorParallelSize: layout.tp,
        kvBytesPerTokenPerLayer: kvBytesPerTokenPerLayer(model, layout.tp, request.kvCacheDtype),
        maxModelLen: request.maxModelLen,
      },
      memory.maxConcurrentSequences,
      replicas,
      usdPerHour,
    ),
  };
}

/** When nothing fits, the single changes to the request that would give a plan. */
function relaxations(request: PlanRequest): Relaxation[] {
  const model = MODELS[request.model];
  const tries: { field: Relaxation["field"]; value: string; request: PlanRequest }[] = [];
  const allPrecisions = [...new Set(model.checkpoints.map((c) => c.precision))];
  if ((request.precisions ?? [model.nativePrecision]).length < allPrecisions.length) {
    tries.push({ field: "precisions", value: allPrecisions.join(","), request: { ...request, precisions: allPrecisions } });
  }
  if (request.gpus) tries.push({ field: "gpus", value: "any", request: { ...request, gpus: undefined } });
  if (request.instanceTypes) {
    tries.push({ field: "instanceTypes", value: "any", request: { ...request, instanceTypes: undefined } });
  }
  if (request.nodesPerReplica !== undefined) {
    tries.push({ field: "nodesPerReplica", value: "any", request: { ...request, nodesPerReplica: undefined } });
  }
  if (request.kvCacheDtype !== "fp8") {
    tries.push({ field: "kvCacheDtype", value: "fp8", request: { ...request, kvCacheDtype: "fp8" } });
  }
  if (request.capacityType !== "on-demand") {
    tries.push({ field: "capacityType", value: "on-demand", request: { ...request, capacityType: "on-demand" } });
  }
  const out: Relaxation[] = [];
  for (const t of tries) {
    const plan = evaluate(t.request).plan;
    if (plan) out.push({ field: t.field, value: t.value, plan: summary(plan) });
  }
  // Another region: the cheapest one with a plan.
  let cheapest: { region: string; plan: Plan } | undefined;
  for (const region of knownRegions()) {
    if (region === request.region) continue;
    const plan = evaluate({ ...request, region }).plan;
    if (plan && (!cheapest || plan.usdPerHour < cheapest.plan.usdPerHour)) cheapest = { region, plan };
  }
  if (cheapest) out.push({ field: "region", value: cheapest.region, plan: summary(cheapest.plan) });
  // A shorter context: the longest of these that fits somewhere.
  for (const maxModelLen of [65536, 32768, 16384, 8192, 4096]) {
    if (maxModelLen >= request.maxModelLen) continue;
    const plan = evaluate({ ...request, maxModelLen }).plan;
    if (plan) {
      out.push({ field: "maxModelLen", value: String(maxModelLen), plan: summary(plan) });
      break;
    }
  }
  return out;
}

function summary(plan: Plan): Relaxation["plan"] {
  return {
    instanceType: plan.instanceType,
    nodes: plan.nodes,
    usdPerHour: plan.usdPerHour,
    tensorParallelSize: plan.tensorParallelSize,
    pipelineParallelSize: plan.pipelineParallelSize,
    checkpoint: plan.checkpoint.repo,
    precision: plan.checkpoint.precision,
    maxModelLen: plan.maxModelLen,
  };
}
