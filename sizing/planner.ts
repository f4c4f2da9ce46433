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
  isCommercialRegion,
  knownRegions,
  type CapacityType,
  type Checkpoint,
  type GpuId,
  type GpuSpec,
  type Objective,
  type InstanceType,
  type ModelId,
  type Precision,
} from "./catalog";
import { HOURS_PER_MONTH, offeringProblem, priceQuote, type PriceBasis } from "./cost";
import { estimates, type Estimates } from "./estimate";
import { GIB, kvBytesPerTokenPerLayer, memoryBreakdown, type MemoryBreakdown } from "./memory";
import { MAX_NODES_PER_REPLICA, parsePlanRequest, type PlanRequest } from "./request";
import {
  architectureRule,
  kvCacheRule,
  memoryRule,
  multiNodeRule,
  pipelineParallelRule,
  scaleRule,
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
  /** Nodes of the candidate: one replica spanning this many nodes (the plan's `nodesPerReplica`). */
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

/**
 * Orders two plans by the objective; 0 when they tie on it.
 * - cost: the lowest USD per hour, then the higher decode rate at the requested concurrency.
 * - throughput: the most output tokens per dollar at full batch (the lowest estimated USD per
 *   million output tokens), then the lower hourly cost. A raw tokens-per-second ranking would
 *   always buy the largest cluster: more nodes always decode more in total.
 */
export function compareByObjective(objective: Objective, a: Plan, b: Plan): number {
  const cost = a.usdPerHour - b.usdPerHour;
  const rate = b.estimates.decodeTokensPerSecond - a.estimates.decodeTokensPerSecond;
  const perToken = a.estimates.usdPerMillionOutputTokens - b.estimates.usdPerMillionOutputTokens;
  switch (objective) {
    case "cost":
      return cost || rate;
    case "throughput":
      return perToken || cost;
    default: {
      const unreachable: never = objective;
      throw new Error(`unknown objective ${String(unreachable)}`);
    }
  }
}

/** The objective, then fewer GPUs, then enumeration order: a total, deterministic order. */
function rank(objective: Objective) {
  return (a: Scored, b: Scored): number =>
    compareByObjective(objective, a.plan, b.plan) ||
    a.plan.nodes * a.plan.gpusPerNode - b.plan.nodes * b.plan.gpusPerNode ||
    a.order - b.order;
}

/**
 * Plans a deployment. Throws PlanInputError on malformed input; an input that is valid
 * but fits nowhere returns `plan: null` with the reasons and, unless `relaxations: false`,
 * the single changes that would give a plan.
 */
export function planDeployment(input: unknown, options: { relaxations?: boolean } = {}): PlanResult {
  const request = parsePlanRequest(input);
  const result = evaluate(request);
  // Relaxations re-plan the request several times; callers that only need the verdict skip them.
  if (result.plan || options.relaxations === false) return result;
  return { ...result, relaxations: relaxations(request) };
}

function evaluate(request: PlanRequest): PlanResult {
  const model = MODELS[request.model];
  const precisions = request.precisions ?? [model.nativePrecision];
  const feasible: Scored[] = [];
  const rejected: Rejection[] = [];
  const excludedByRequest = { precision: 0, gpu: 0, instanceType: 0, nodes: 0 };
  let order = 0;
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

  feasible.sort(rank(request.objective));
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
  let nearest: CandidateOutcome | undefined;
  let nearestShortfall = Infinity;
  let structural: CandidateOutcome | undefined;
  let tooLarge: CandidateOutcome | undefined;

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
    const fit = fitMemory(request, checkpoint, gpu, instance.gpu, layout);
    if ("rule" in fit) {
      if (fit.shortfallGiB < nearestShortfall) {
        nearestShortfall = fit.shortfallGiB;
        nearest = reject(fit.rule, fit.reason, layout, fit.shortfallGiB);
      }
      continue;
    }
    const scale = deploymentScale(request, instance.gpuCount, nodesPerReplica, layout, fit.memory);
    const scaleProblem = scaleRule(scale.nodes, request.concurrency);
    if (scaleProblem) {
      tooLarge ??= reject("scale", scaleProblem, layout);
      continue;
    }
    const plan = buildPlan(request, checkpoint, instanceType, nodesPerReplica, layout, fit, scale, quote);
    if (!bestPlan || compareByObjective(request.objective, plan, bestPlan) < 0) bestPlan = plan;
  }
  if (bestPlan) return { plan: bestPlan };
  return tooLarge ?? nearest ?? structural ?? reject("tensor-parallel", `no TP x PP layout of ${instance.gpuCount} GPUs per node`);
}

/** The prefill batch tried when vLLM's large default leaves too little memory (its 256-sequence default). */
export const SMALL_BATCHED_TOKENS = 2048;

export interface MemoryFit {
  memory: MemoryBreakdown;
  /** `--max-num-batched-tokens`, when the default had to be lowered to fit. */
  maxNumBatchedTokens: number | null;
}

/**
 * Checks memory and the start condition at vLLM's default batch for the GPU; where that
 * default is large and does not fit, again at SMALL_BATCHED_TOKENS, so that a GPU with
 * more memory never fits less than a smaller one.
 */
export function fitMemory(
  request: PlanRequest,
  checkpoint: Checkpoint,
  gpu: GpuSpec,
  gpuId: GpuId,
  layout: { tp: number; pp: number },
): MemoryFit | { rule: RuleId; reason: string; shortfallGiB: number } {
  const model = MODELS[request.model];
  const attempt = (maxNumBatchedTokens?: number) =>
    memoryBreakdown({
      model,
      checkpoint,
      gpu,
      tensorParallelSize: layout.tp,
      pipelineParallelSize: layout.pp,
      maxModelLen: request.maxModelLen,
      gpuMemoryUtilization: request.gpuMemoryUtilization,
      kvCacheDtype: request.kvCacheDtype,
      maxNumBatchedTokens,
    });
  const check = (memory: MemoryBreakdown) => {
    const memoryProblem = memoryRule(memory, gpuId, request.gpuMemoryUtilization);
    if (memoryProblem) {
      // GiB per GPU missing: the overshoot plus the cache one full request needs.
      const shortfallGiB = -memory.kvCacheGiB + (request.maxModelLen * memory.kvBytesPerTokenPerGpu) / GIB;
      return { rule: "memory" as const, reason: memoryProblem, shortfallGiB };
    }
    const kvProblem = kvCacheRule(memory, request.maxModelLen);
    if (kvProblem) {
      const shortfallGiB = ((request.maxModelLen - memory.kvCacheTokens) * memory.kvBytesPerTokenPerGpu) / GIB;
      return { rule: "kv-cache" as const, reason: kvProblem, shortfallGiB };
    }
    return null;
  };
  const memory = attempt();
  const problem = check(memory);
  if (!problem) return { memory, maxNumBatchedTokens: null };
  if (memory.maxNumBatchedTokens > SMALL_BATCHED_TOKENS) {
    const small = attempt(SMALL_BATCHED_TOKENS);
    if (!check(small)) return { memory: small, maxNumBatchedTokens: SMALL_BATCHED_TOKENS };
  }
  return problem;
}

interface Scale {
  replicas: number;
  replicasPerNode: number;
  nodes: number;
}

/** Replicas for the concurrency (at least minReplicas), packed onto nodes. */
export function deploymentScale(
  request: Pick<PlanRequest, "concurrency" | "minReplicas">,
  gpusPerNode: number,
  nodesPerReplica: number,
  layout: { tp: number; pp: number },
  memory: Pick<MemoryBreakdown, "maxConcurrentSequences">,
): Scale {
  const replicas = Math.max(request.minReplicas, Math.ceil(request.concurrency / memory.maxConcurrentSequences));
  const replicasPerNode = nodesPerReplica > 1 ? 1 : Math.floor(gpusPerNode / (layout.tp * layout.pp));
  const nodes = nodesPerReplica > 1 ? replicas * nodesPerReplica : Math.ceil(replicas / replicasPerNode);
  return { replicas, replicasPerNode, nodes };
}

function buildPlan(
  request: PlanRequest,
  checkpoint: Checkpoint,
  instanceType: InstanceType,
  nodesPerReplica: number,
  layout: { tp: number; pp: number },
  fit: MemoryFit,
  scale: Scale,
  quote: { usdPerHourPerNode: number; basis: PriceBasis; asOf: string; source: string },
): Plan {
  const model = MODELS[request.model];
  const instance = INSTANCES[instanceType];
  const gpu = GPUS[instance.gpu];
  const memory = fit.memory;
  const { replicas, replicasPerNode, nodes } = scale;
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
      maxNumBatchedTokens: fit.maxNumBatchedTokens,
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
      { concurrency: request.concurrency, replicas, maxSequencesPerReplica: memory.maxConcurrentSequences, usdPerHour },
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
  // Another commercial region: the cheapest one with a plan.
  let cheapest: { region: string; plan: Plan } | undefined;
  for (const region of knownRegions()) {
    if (region === request.region || !isCommercialRegion(region)) continue;
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
