/**
 * The planner, staged: enumerate checkpoints x instance types x nodes per replica x
 * TP/PP layouts -> drop each infeasible candidate with the rule and numbers that
 * dropped it -> cost the rest -> rank with a deterministic tie-break.
 */
import {
  GPUS,
  INSTANCES,
  INSTANCE_TYPES,
  INTERCONNECTS,
  familyOf,
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
import { GIB, memoryBreakdown, schedulerDefaults, type MemoryBreakdown } from "./memory";
import { estimatePerformance, type Bottleneck, type Confidence, type PerformanceEstimate, type StepBreakdown } from "./performance";
import { MAX_NODES_PER_REPLICA, parsePlanRequest, type PlanRequest } from "./request";
import {
  architectureRule,
  kvCacheRule,
  latencyRule,
  memoryRule,
  MAX_NODES_PER_DEPLOYMENT,
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
  /** Data-parallel attention ranks with expert parallelism (`--data-parallel-size`); 1 without. */
  dataParallelSize: number;
  replicas: number;
  /** Replicas that share one node when a replica needs fewer GPUs than a node has. */
  replicasPerNode: number;
  region: string;
  capacityType: CapacityType;
  maxModelLen: number;
  /** Mean prompt and output lengths the performance is computed at. */
  promptTokens: number;
  outputTokens: number;
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
  performance: PlanPerformance;
}

/** The deployment's latency and throughput at the requested workload, predicted by the performance model. */
export interface PlanPerformance {
  tpotMs: number;
  ttftMs: number;
  /** The whole deployment. */
  outputTokensPerSecond: number;
  outputTokensPerSecondPerGpu: number;
  tokensPerSecondPerUser: number;
  /** The deployment's USD/hour over its output rate at the requested load (not at a theoretical full batch). */
  usdPerMillionOutputTokens: number;
  /** Per replica: the most sequences it holds within the latency targets and its KV cache. */
  maxConcurrencyWithinTargets: number;
  /** Per replica: the sequences it runs at the requested load. */
  sequencesPerReplica: number;
  bottleneck: Bottleneck;
  /** The basis of TPOT and the rates. */
  confidence: Confidence;
  extrapolatedBecause: string[];
  /** The basis of TTFT, which is weaker. */
  ttftConfidence: Confidence;
  /** The measurement that scaled the figures, when the confidence is `measured`. */
  measuredBecause?: string;
  /** One replica's TPOT by what it is spent on, in ms. */
  breakdown: StepBreakdown;
}

export interface Rejection {
  instanceType: InstanceType;
  checkpoint: string;
  precision: Precision;
  /** Nodes of the candidate: one replica spanning this many nodes (the plan's `nodesPerReplica`). */
  nodes: number;
  tensorParallelSize: number | null;
  pipelineParallelSize: number | null;
  dataParallelSize: number | null;
  rule: RuleId;
  reason: string;
  /** GiB per GPU missing for the candidate to fit; null for rules other than memory. */
  shortfallGiB: number | null;
  /**
   * How far over the limit that dropped it the candidate is, as a ratio (1.5 = 50 % over): its
   * TPOT or TTFT at one sequence against the target (rule latency), or its nodes against the
   * 64 a deployment plans (rule scale); null for the other rules.
   */
  excess: number | null;
}

export interface Relaxation {
  /** The request field to change, and its new value as the CLI writes it. */
  field:
    | "precisions"
    | "gpus"
    | "instanceTypes"
    | "nodesPerReplica"
    | "kvCacheDtype"
    | "enforceEager"
    | "capacityType"
    | "region"
    | "maxModelLen"
    | "maxTpotMs"
    | "maxTtftMs"
    | "outputTokensPerSecond"
    | "concurrency";
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

export interface Layout {
  tp: number;
  pp: number;
  /** Data-parallel attention ranks; 1 for plain TP x PP. */
  dp: number;
}

/**
 * Layouts of one replica: TP x PP within a node (any split of up to its GPUs); across whole
 * nodes, PP between them, and on NVLink nodes also TP over all their GPUs (TP 16 over two
 * 8-GPU nodes, as published R1 runs on 16 x H100 use: KempnerInstitute/distributed-inference-vllm
 * `README_DeepSeekR1.md`; PCIe nodes already pay for TP inside the node, and `estimate` still
 * takes it for them);
 * for MoE models also data-parallel attention with expert parallelism inside a node
 * (`--data-parallel-size dp --tensor-parallel-size tp`, vLLM
 * docs/serving/data_parallel_deployment.md), which keeps one copy of each sequence's MLA cache.
 */
export function layouts(gpusPerNode: number, nodesPerReplica: number, moe = false, tpAcrossNodes = true): Layout[] {
  const out: Layout[] = [];
  if (nodesPerReplica === 1) {
    for (const tp of powersOfTwoUpTo(gpusPerNode)) {
      for (const pp of powersOfTwoUpTo(gpusPerNode / tp)) out.push({ tp, pp, dp: 1 });
    }
    if (moe) {
      for (const dp of powersOfTwoUpTo(gpusPerNode).filter((d) => d > 1)) {
        for (const tp of powersOfTwoUpTo(gpusPerNode / dp)) out.push({ tp, pp: 1, dp });
      }
    }
    return out;
  }
  for (const tp of powersOfTwoUpTo(gpusPerNode)) {
    if (gpusPerNode % tp === 0) out.push({ tp, pp: (gpusPerNode / tp) * nodesPerReplica, dp: 1 });
  }
  if (tpAcrossNodes) out.push({ tp: gpusPerNode * nodesPerReplica, pp: 1, dp: 1 });
  return out;
}

interface Scored {
  plan: Plan;
  order: number;
}

/**
 * Orders two plans by the objective; 0 when they tie on it. Both only see plans that meet
 * every target.
 * - cost: the lowest USD per hour, then the lower USD per million output tokens.
 * - throughput: the lowest USD per million output tokens at the requested load, then the lower
 *   hourly cost. A raw tokens-per-second ranking would always buy the largest cluster.
 */
export function compareByObjective(objective: Objective, a: Plan, b: Plan): number {
  const cost = a.usdPerHour - b.usdPerHour;
  const perToken = a.performance.usdPerMillionOutputTokens - b.performance.usdPerMillionOutputTokens;
  switch (objective) {
    case "cost":
      return cost || perToken;
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
  return { ...result, relaxations: relaxations(request, result.rejected) };
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
 * is in checking order), then the smallest memory shortfall or target excess, then enumeration order.
 */
export function closest(rejected: readonly Rejection[]): Rejection | null {
  let best: Rejection | null = null;
  for (const r of rejected) {
    if (!best) {
      best = r;
      continue;
    }
    const stage = RULES.indexOf(r.rule) - RULES.indexOf(best.rule);
    const nearer = (r.shortfallGiB ?? r.excess ?? Infinity) < (best.shortfallGiB ?? best.excess ?? Infinity);
    if (stage > 0 || (stage === 0 && nearer)) best = r;
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
    layout: Layout | null = null,
    shortfallGiB: number | null = null,
    excess: number | null = null,
  ): CandidateOutcome => ({
    rejection: {
      instanceType,
      checkpoint: checkpoint.repo,
      precision: checkpoint.precision,
      nodes: nodesPerReplica,
      tensorParallelSize: layout?.tp ?? null,
      pipelineParallelSize: layout?.pp ?? null,
      dataParallelSize: layout?.dp ?? null,
      rule,
      reason,
      shortfallGiB,
      excess,
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
  let slow: { outcome: CandidateOutcome; excess: number } | undefined;
  let tooLarge: { outcome: CandidateOutcome; excess: number } | undefined;

  const nvlink = INTERCONNECTS[familyOf(instanceType)].kind.startsWith("nvlink");
  for (const layout of layouts(instance.gpuCount, nodesPerReplica, model.moe !== null, nvlink)) {
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
    const sizing = replicaSizing(request, checkpoint, instanceType, nodesPerReplica, layout, fit);
    if ("latency" in sizing) {
      const excess = targetExcess(request, sizing.single);
      if (!slow || excess < slow.excess) slow = { outcome: reject("latency", sizing.latency, layout, null, excess), excess };
      continue;
    }
    const scale = deploymentScale(instance.gpuCount, nodesPerReplica, layout, sizing.replicas);
    const scaleProblem = scaleRule(scale.nodes, request.concurrency, sizing.maxSequences, request.outputTokensPerSecond);
    if (scaleProblem) {
      const over = scale.nodes / MAX_NODES_PER_DEPLOYMENT;
      if (!tooLarge || over < tooLarge.excess) tooLarge = { outcome: reject("scale", scaleProblem, layout, null, over), excess: over };
      continue;
    }
    const plan = buildPlan(request, checkpoint, instanceType, nodesPerReplica, layout, fit, scale, quote, sizing);
    if (!bestPlan || compareByObjective(request.objective, plan, bestPlan) < 0) bestPlan = plan;
  }
  if (bestPlan) return { plan: bestPlan };
  return (
    tooLarge?.outcome ??
    slow?.outcome ??
    nearest ??
    structural ??
    reject("tensor-parallel", `no TP x PP layout of ${instance.gpuCount} GPUs per node`)
  );
}

/** What the performance model says one replica of a layout does, and how many replicas the load needs. */
export interface ReplicaSizing {
  replicas: number;
  /** Per replica, the most sequences within the targets and the KV cache. */
  maxSequences: number;
  /** Per replica, the sequences it runs at the requested load (the busiest replica). */
  sequences: number;
  /** Across the deployment: the concurrency, or what the throughput target implies when more. */
  sequencesInFlight: number;
  /** One replica at `sequences`. */
  estimate: PerformanceEstimate;
}

/**
 * The performance of one replica of a planned layout at `sequences` in flight: the single place
 * the planner asks the performance model, and where a measured calibration of the GPU applies.
 */
export function replicaPerformance(
  request: Pick<PlanRequest, "model" | "promptTokens" | "outputTokens">,
  checkpoint: Checkpoint,
  instanceType: InstanceType,
  nodesPerReplica: number,
  layout: Layout,
  memory: MemoryBreakdown,
  sequences: number,
  /** The request's measured factors for this GPU (calibrationFor); none leaves the model's figures. */
  factors?: CalibrationFactors,
): PerformanceEstimate {
  const e = estimatePerformance({
    model: MODELS[request.model],
    checkpoint,
    instanceType,
    tensorParallelSize: layout.tp,
    pipelineParallelSize: layout.pp,
    dataParallelSize: layout.dp,
    nodesPerReplica,
    concurrency: sequences,
    promptTokens: request.promptTokens,
    outputTokens: request.outputTokens,
    kvCacheDtype: memory.kvCacheDtype,
    enforceEager: memory.enforceEager,
    maxNumBatchedTokens: memory.maxNumBatchedTokens,
    kvCacheTokens: memory.kvCacheTokens,
    maxNumSeqs: memory.maxNumSeqs,
  });
  // estimatePerformance returns a new object each call: scaling it in place is safe.
  return factors === undefined ? e : calibrateEstimate(e, factors);
}

/** Measured / predicted factors of one model on one GPU, as the planner applies them. */
export interface CalibrationFactors {
  tpotFactor: number;
  ttftFactor: number;
  /** Said with the figures: where the factors come from. */
  reason: string;
}

/** Per request object, its calibration entries for its model by GPU: built once, read per candidate. */
const CALIBRATION_LOOKUPS = new WeakMap<object, Partial<Record<GpuId, CalibrationFactors>>>();

/** The request's measured factors for a GPU, if it has an entry for its model on that GPU. */
export function calibrationFor(request: Pick<PlanRequest, "model" | "calibration">, gpu: GpuId): CalibrationFactors | undefined {
  const entries = request.calibration;
  if (entries === undefined || entries.length === 0) return undefined;
  let lookup = CALIBRATION_LOOKUPS.get(request);
  if (lookup === undefined) {
    lookup = {};
    for (const entry of entries) {
      if (entry.model !== request.model) continue;
      lookup[entry.gpu] = {
        tpotFactor: entry.tpotFactor,
        ttftFactor: entry.ttftFactor,
        reason:
          `measured on ${entry.gpu} (llm-fleet:calibration, ${entry.runs} benchmark run${entry.runs === 1 ? "" : "s"} of ${entry.measuredAt}): ` +
          `the model's TPOT x ${entry.tpotFactor}, TTFT x ${entry.ttftFactor}`,
      };
    }
    CALIBRATION_LOOKUPS.set(request, lookup);
  }
  return lookup[gpu];
}

/**
 * Scales a fresh estimate by measured factors, in place (the planner asks for thousands per
 * plan; a copy each would double its time): TPOT and every part of it by tpotFactor, TTFT by
 * ttftFactor, and the rates through both, as the model's rate formula combines them.
 */
function calibrateEstimate(e: PerformanceEstimate, f: CalibrationFactors): PerformanceEstimate {
  const t = f.tpotFactor;
  const b = e.breakdown;
  // The rate is B / (TPOT + (TTFT - prefill queue) / output) (perf-facts.md 9): recovered from the
  // model's own figures, its TTFT term then scales with ttftFactor and its TPOT term with tpotFactor.
  const sequences = e.runningSequences + e.queuedSequences;
  const perTokenMs = (sequences * 1000) / e.outputTokensPerSecond;
  const ttftShareMs = Math.max(0, perTokenMs - e.tpotMs);
  const rateScale = perTokenMs / (e.tpotMs * t + ttftShareMs * f.ttftFactor);
  e.tpotMs *= t;
  e.ttftMs *= f.ttftFactor;
  e.outputTokensPerSecond *= rateScale;
  e.outputTokensPerSecondPerGpu *= rateScale;
  e.tokensPerSecondPerUser /= t;
  e.prefillQueueMs *= f.ttftFactor;
  b.weightsReadMs *= t;
  b.kvReadMs *= t;
  b.computeMs *= t;
  b.collectivesMs *= t;
  b.overheadMs *= t;
  b.prefillMs *= t;
  b.pipelineMs *= t;
  b.hostLaunchMs *= t;
  e.confidence = "measured";
  e.extrapolatedBecause = [];
  e.ttftConfidence = "measured";
  e.ttftExtrapolatedBecause = [];
  e.measuredBecause = f.reason;
  return e;
}

/**
 * One replica of a plan at another workload, by the performance model alone (no calibration):
 * what a benchmark of the deployment is held against, so that a factor is always relative to
 * the model and a second calibration replaces the first instead of compounding it.
 */
export function planReplicaPerformance(
  plan: Pick<Plan, "model" | "checkpoint" | "instanceType" | "nodesPerReplica" | "tensorParallelSize" | "pipelineParallelSize" | "dataParallelSize" | "memory">,
  workload: { promptTokens: number; outputTokens: number; sequences: number },
): PerformanceEstimate {
  const checkpoint = MODELS[plan.model].checkpoints.find((c) => c.repo === plan.checkpoint.repo);
  if (!checkpoint) throw new Error(`${plan.checkpoint.repo} is not a checkpoint of ${plan.model} in catalog ${CATALOG_VERSION}`);
  const layout = { tp: plan.tensorParallelSize, pp: plan.pipelineParallelSize, dp: plan.dataParallelSize };
  return replicaPerformance(
    { model: plan.model, promptTokens: workload.promptTokens, outputTokens: workload.outputTokens },
    checkpoint,
    plan.instanceType,
    plan.nodesPerReplica,
    layout,
    plan.memory,
    workload.sequences,
  );
}

interface SizingContext {
  request: PlanRequest;
  checkpoint: Checkpoint;
  instanceType: InstanceType;
  nodesPerReplica: number;
  layout: Layout;
  memory: MemoryBreakdown;
  /** The request's measured factors for the candidate's GPU, looked up once per layout. */
  factors: CalibrationFactors | undefined;
}

function sizedAt(c: SizingContext, sequences: number): PerformanceEstimate {
  return replicaPerformance(c.request, c.checkpoint, c.instanceType, c.nodesPerReplica, c.layout, c.memory, sequences, c.factors);
}

/** The larger of TPOT / target and TTFT / target: above 1 when a target is missed. */
function targetExcess(request: PlanRequest, e: PerformanceEstimate): number {
  return Math.max(request.maxTpotMs === undefined ? 0 : e.tpotMs / request.maxTpotMs, request.maxTtftMs === undefined ? 0 : e.ttftMs / request.maxTtftMs);
}

function meetsTargets(request: PlanRequest, e: PerformanceEstimate): boolean {
  return (request.maxTpotMs === undefined || e.tpotMs <= request.maxTpotMs) && (request.maxTtftMs === undefined || e.ttftMs <= request.maxTtftMs);
}

/**
 * Sequences per replica and replicas for the request: each replica holds at most what its KV
 * cache keeps running (at the mean lengths, no queue) and what stays within the TPOT and TTFT
 * targets; replicas hold the concurrency and, at that most, sustain the throughput target, and
 * fill the GPUs of the nodes they need.
 */
export function replicaSizing(
  request: PlanRequest,
  checkpoint: Checkpoint,
  instanceType: InstanceType,
  nodesPerReplica: number,
  layout: Layout,
  fit: MemoryFit,
): ReplicaSizing | { latency: string; single: PerformanceEstimate } {
  const c: SizingContext = {
    request,
    checkpoint,
    instanceType,
    nodesPerReplica,
    layout,
    memory: fit.memory,
    factors: calibrationFor(request, INSTANCES[instanceType].gpu),
  };
  const targeted = request.maxTpotMs !== undefined || request.maxTtftMs !== undefined;
  if (targeted) {
    const single = sizedAt(c, 1);
    const latency = latencyRule({ maxTpotMs: request.maxTpotMs, maxTtftMs: request.maxTtftMs, tpotMs: single.tpotMs, ttftMs: single.ttftMs });
    if (latency) return { latency, single };
  }
  const capacity = runningCapacity(request, layout, fit.memory);
  const atCapacity = sizedAt(c, capacity);
  let maxSequences = capacity;
  if (targeted && !meetsTargets(request, atCapacity)) {
    // Latency grows with the batch: bisect for the most sequences within the targets (1 meets them).
    let lo = 1;
    let hi = capacity - 1;
    while (lo < hi) {
      const mid = Math.ceil((lo + hi) / 2);
      if (meetsTargets(request, sizedAt(c, mid))) lo = mid;
      else hi = mid - 1;
    }
    maxSequences = lo;
  }
  const atMost = maxSequences === capacity ? atCapacity : sizedAt(c, maxSequences);
  const forThroughput =
    request.outputTokensPerSecond === undefined ? 0 : Math.ceil(request.outputTokensPerSecond / atMost.outputTokensPerSecond);
  const needed = Math.max(request.minReplicas, Math.ceil(request.concurrency / maxSequences), forThroughput);
  // Nodes are bought whole: replicas fill the GPUs they pay for, which spreads the load at no cost.
  const perNode = replicasPerNodeOf(INSTANCES[instanceType].gpuCount, nodesPerReplica, layout);
  const replicas = Math.ceil(needed / perNode) * perNode;
  let sequences = Math.min(maxSequences, Math.ceil(request.concurrency / replicas));
  let estimate = sequences === maxSequences ? atMost : sizedAt(c, sequences);
  if (request.outputTokensPerSecond !== undefined && estimate.outputTokensPerSecond < request.outputTokensPerSecond / replicas) {
    // The fewest sequences per replica that sustain the rate: the load the throughput implies.
    const needed = request.outputTokensPerSecond / replicas;
    let lo = sequences;
    let hi = maxSequences;
    while (lo < hi) {
      const mid = Math.floor((lo + hi) / 2);
      if (sizedAt(c, mid).outputTokensPerSecond >= needed) hi = mid;
      else lo = mid + 1;
    }
    sequences = lo;
    estimate = sizedAt(c, sequences);
  }
  const sequencesInFlight = request.outputTokensPerSecond === undefined ? request.concurrency : Math.max(request.concurrency, replicas * sequences);
  return { replicas, maxSequences, sequences, sequencesInFlight, estimate };
}

/**
 * The step size and sequence cap tried when vLLM's large defaults leave too little memory: the
 * defaults vLLM gives GPUs under 70 GiB (`arg_utils.py`), which shrink the profiling pass's
 * MoE workspace and its sampler over max_num_seqs rows of logits.
 */
export const SMALL_BATCHED_TOKENS = 2048;
export const SMALL_MAX_NUM_SEQS = 256;

export interface MemoryFit {
  memory: MemoryBreakdown;
  /** `--max-num-batched-tokens`, when the request set one or the default had to be lowered to fit. */
  maxNumBatchedTokens: number | null;
  /** `--max-num-seqs`, when it differs from what vLLM picks for the GPU and the step size. */
  maxNumSeqs: number | null;
}

/**
 * Checks memory and the start condition at the request's `maxNumBatchedTokens`, or at vLLM's
 * default batch for the GPU; where that default is large and does not fit, again at
 * SMALL_BATCHED_TOKENS, so that a GPU with more memory never fits less than a smaller one.
 */
export function fitMemory(
  request: PlanRequest,
  checkpoint: Checkpoint,
  gpu: GpuSpec,
  gpuId: GpuId,
  layout: Layout,
): MemoryFit | { rule: RuleId; reason: string; shortfallGiB: number } {
  const model = MODELS[request.model];
  const attempt = (maxNumBatchedTokens = request.maxNumBatchedTokens, maxNumSeqs?: number) =>
    memoryBreakdown({
      model,
      checkpoint,
      gpu,
      tensorParallelSize: layout.tp,
      pipelineParallelSize: layout.pp,
      dataParallelSize: layout.dp,
      maxModelLen: request.maxModelLen,
      gpuMemoryUtilization: request.gpuMemoryUtilization,
      kvCacheDtype: request.kvCacheDtype,
      maxNumBatchedTokens,
      maxNumSeqs,
      enforceEager: request.enforceEager,
    });
  // vLLM lowers its default max_num_seqs to max_num_batched_tokens itself; only another value needs the flag.
  const vllmSeqs = (tokens: number) => Math.min(schedulerDefaults(gpu).maxNumSeqs, tokens);
  const fitOf = (memory: MemoryBreakdown, maxNumBatchedTokens: number | null): MemoryFit => ({
    memory,
    maxNumBatchedTokens,
    maxNumSeqs: memory.maxNumSeqs === vllmSeqs(memory.maxNumBatchedTokens) ? null : memory.maxNumSeqs,
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
      const shortfallGiB = ((request.maxModelLen - memory.kvCacheTokensPerRank) * memory.kvBytesPerTokenPerGpu) / GIB;
      return { rule: "kv-cache" as const, reason: kvProblem, shortfallGiB };
    }
    return null;
  };
  const memory = attempt();
  const problem = check(memory);
  if (!problem) return fitOf(memory, request.maxNumBatchedTokens ?? null);
  // A step size the user chose is kept: the plan says it does not fit rather than change it.
  if (request.maxNumBatchedTokens === undefined && memory.maxNumBatchedTokens > SMALL_BATCHED_TOKENS) {
    const small = attempt(SMALL_BATCHED_TOKENS, Math.min(SMALL_MAX_NUM_SEQS, memory.maxNumSeqs));
    if (!check(small)) return fitOf(small, SMALL_BATCHED_TOKENS);
  }
  return problem;
}

interface Scale {
  replicas: number;
  replicasPerNode: number;
  nodes: number;
}

/** Replicas that share one node: as many as its GPUs hold, or one replica per node group when it spans nodes. */
function replicasPerNodeOf(gpusPerNode: number, nodesPerReplica: number, layout: Layout): number {
  return nodesPerReplica > 1 ? 1 : Math.floor(gpusPerNode / (layout.tp * layout.pp * layout.dp));
}

/**
 * Sequences one replica keeps running without a queue: its KV cache at the mean context
 * (prompt + output / 2), at most max_num_seqs on each data-parallel rank, at least one.
 */
function runningCapacity(
  request: Pick<PlanRequest, "promptTokens" | "outputTokens">,
  layout: Layout,
  memory: Pick<MemoryBreakdown, "maxNumSeqs" | "kvCacheTokens">,
): number {
  const contextTokens = request.promptTokens + request.outputTokens / 2;
  return Math.max(1, Math.min(memory.maxNumSeqs * layout.dp, Math.floor(memory.kvCacheTokens / contextTokens)));
}

/** Replicas packed onto nodes. */
export function deploymentScale(
  gpusPerNode: number,
  nodesPerReplica: number,
  layout: Layout,
  replicas: number,
): Scale {
  const replicasPerNode = replicasPerNodeOf(gpusPerNode, nodesPerReplica, layout);
  const nodes = nodesPerReplica > 1 ? replicas * nodesPerReplica : Math.ceil(replicas / replicasPerNode);
  return { replicas, replicasPerNode, nodes };
}

function buildPlan(
  request: PlanRequest,
  checkpoint: Checkpoint,
  instanceType: InstanceType,
  nodesPerReplica: number,
  layout: Layout,
  fit: MemoryFit,
  scale: Scale,
  quote: { usdPerHourPerNode: number; basis: PriceBasis; asOf: string; source: string },
  sizing: ReplicaSizing,
): Plan {
  const model = MODELS[request.model];
  const instance = INSTANCES[instanceType];
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
    dataParallelSize: layout.dp,
    replicas,
    replicasPerNode,
    region: request.region,
    capacityType: request.capacityType,
    maxModelLen: request.maxModelLen,
    promptTokens: request.promptTokens,
    outputTokens: request.outputTokens,
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
      dataParallelSize: layout.dp,
      maxModelLen: request.maxModelLen,
      gpuMemoryUtilization: request.gpuMemoryUtilization,
      kvCacheDtype: request.kvCacheDtype,
      maxNumBatchedTokens: fit.maxNumBatchedTokens,
      maxNumSeqs: fit.maxNumSeqs,
      enforceEager: request.enforceEager,
    }),
    performance: planPerformance(sizing, replicas, usdPerHour, layout),
  };
}

/** The deployment's figures from one replica's estimate. */
function planPerformance(sizing: ReplicaSizing, replicas: number, usdPerHour: number, layout: Layout): PlanPerformance {
  const e = sizing.estimate;
  // Every sequence decodes at the busiest replica's pace: concurrency 100 over 3 replicas is 100 sequences, not 3 x 34.
  const outputTokensPerSecond = (e.outputTokensPerSecond / sizing.sequences) * sizing.sequencesInFlight;
  return {
    tpotMs: e.tpotMs,
    ttftMs: e.ttftMs,
    outputTokensPerSecond,
    outputTokensPerSecondPerGpu: outputTokensPerSecond / (replicas * layout.tp * layout.pp * layout.dp),
    tokensPerSecondPerUser: e.tokensPerSecondPerUser,
    usdPerMillionOutputTokens: (usdPerHour * 1e6) / (3600 * outputTokensPerSecond),
    maxConcurrencyWithinTargets: sizing.maxSequences,
    sequencesPerReplica: sizing.sequences,
    bottleneck: e.bottleneck,
    confidence: e.confidence,
    extrapolatedBecause: e.extrapolatedBecause,
    ttftConfidence: e.ttftConfidence,
    ...(e.measuredBecause === undefined ? {} : { measuredBecause: e.measuredBecause }),
    breakdown: e.breakdown,
  };
}

export interface CurvePoint {
  /** Sequences in flight on one replica. */
  sequences: number;
  tokensPerSecondPerUser: number;
  outputTokensPerSecondPerGpu: number;
  /** Within the request's TPOT and TTFT targets. */
  withinTargets: boolean;
}

export interface CandidateCurve {
  /** `2 x p5en.48xlarge TP 8 x PP 2` */
  label: string;
  chosen: boolean;
  points: CurvePoint[];
}

/**
 * The plan and its alternatives, each swept over batch sizes (powers of two up to what its KV
 * cache holds at the mean lengths): the throughput-per-GPU against tokens-per-user trade-off
 * that InferenceX charts.
 */
export function candidateCurves(result: PlanResult): CandidateCurve[] {
  const request = result.request;
  const model = MODELS[request.model];
  const plans = result.plan ? [result.plan, ...result.alternatives] : [];
  return plans.map((plan, i) => {
    const checkpoint = model.checkpoints.find((c) => c.repo === plan.checkpoint.repo)!;
    const layout = { tp: plan.tensorParallelSize, pp: plan.pipelineParallelSize, dp: plan.dataParallelSize };
    const capacity = runningCapacity(request, layout, plan.memory);
    const factors = calibrationFor(request, plan.gpu);
    const points: CurvePoint[] = [];
    for (let sequences = 1; ; sequences = Math.min(sequences * 2, capacity)) {
      const e = replicaPerformance(request, checkpoint, plan.instanceType, plan.nodesPerReplica, layout, plan.memory, sequences, factors);
      points.push({
        sequences,
        tokensPerSecondPerUser: e.tokensPerSecondPerUser,
        outputTokensPerSecondPerGpu: e.outputTokensPerSecondPerGpu,
        withinTargets: meetsTargets(request, e),
      });
      if (sequences >= capacity) break;
    }
    const dp = layout.dp > 1 ? ` x DP ${layout.dp}` : "";
    const replicas = plan.replicas > 1 ? `, ${plan.replicas} replicas` : "";
    return { label: `${plan.nodes} x ${plan.instanceType} TP ${layout.tp} x PP ${layout.pp}${dp} ${plan.checkpoint.precision}${replicas}`, chosen: i === 0, points };
  });
}

/** When nothing fits, the single changes to the request that would give a plan. */
function relaxations(request: PlanRequest, rejected: readonly Rejection[]): Relaxation[] {
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
  // No CUDA graphs: their memory goes to the KV cache, at the price of slower small-batch steps.
  if (!request.enforceEager) tries.push({ field: "enforceEager", value: "true", request: { ...request, enforceEager: true } });
  if (request.capacityType !== "on-demand") {
    tries.push({ field: "capacityType", value: "on-demand", request: { ...request, capacityType: "on-demand" } });
  }
  // Targets: the tightest value some candidate reaches, so the suggestion is the nearest change.
  const loosest = loosestTargets(request, rejected);
  if (loosest.maxTpotMs !== undefined) tries.push({ field: "maxTpotMs", value: String(loosest.maxTpotMs), request: { ...request, maxTpotMs: loosest.maxTpotMs } });
  if (loosest.maxTtftMs !== undefined) tries.push({ field: "maxTtftMs", value: String(loosest.maxTtftMs), request: { ...request, maxTtftMs: loosest.maxTtftMs } });
  if (request.outputTokensPerSecond !== undefined) {
    tries.push({ field: "outputTokensPerSecond", value: "none", request: { ...request, outputTokensPerSecond: undefined } });
  }
  // Too many nodes for the load: the most concurrency the nearest candidate holds in 64 nodes.
  const scaleMisses = rejected.filter((r) => r.rule === "scale" && r.excess !== null).map((r) => r.excess!);
  if (scaleMisses.length > 0) {
    const concurrency = Math.floor(request.concurrency / Math.min(...scaleMisses));
    if (concurrency >= 1 && concurrency < request.concurrency) {
      tries.push({ field: "concurrency", value: String(concurrency), request: { ...request, concurrency } });
    }
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

/**
 * For each latency target the request sets: the target scaled by the smallest excess among the
 * candidates the latency rule dropped, in whole ms (the nearest value some candidate meets).
 */
function loosestTargets(request: PlanRequest, rejected: readonly Rejection[]): { maxTpotMs?: number; maxTtftMs?: number } {
  const excesses = rejected.filter((r) => r.rule === "latency" && r.excess !== null).map((r) => r.excess!);
  if (excesses.length === 0) return {};
  const least = Math.min(...excesses);
  const out: { maxTpotMs?: number; maxTtftMs?: number } = {};
  if (request.maxTpotMs !== undefined) out.maxTpotMs = Math.ceil(request.maxTpotMs * least);
  if (request.maxTtftMs !== undefined) out.maxTtftMs = Math.ceil(request.maxTtftMs * least);
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
