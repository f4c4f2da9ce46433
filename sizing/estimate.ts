/**
 * Decode-throughput estimates: a memory-bandwidth roofline. Each decode step reads the
 * weights the batch routes through once and every sequence's KV cache; compute,
 * communication and scheduling overheads are ignored, so real rates are lower. These are
 * estimates, labelled as such wherever they are shown.
 */
import type { Checkpoint, GpuSpec, ModelSpec } from "./catalog";
import { loadedWeightBytes } from "./memory";

/** Parameters in routed experts, which a decode step only partly reads. */
export function routedExpertParams(model: ModelSpec): number {
  const moe = model.moe;
  if (!moe) return 0;
  return (model.layers - moe.denseLayers) * moe.routedExperts * 3 * model.hiddenSize * moe.expertIntermediateSize;
}

/**
 * Parameters a decode step of `batch` sequences reads: all dense weights, and of the
 * routed experts the expected share any token of the batch picks, 1 - (1 - k/E)^batch.
 */
export function paramsReadPerStep(model: ModelSpec, batch: number): number {
  const moe = model.moe;
  const total = model.totalParamsB * 1e9;
  if (!moe) return total;
  const routed = routedExpertParams(model);
  const share = 1 - (1 - moe.expertsPerToken / moe.routedExperts) ** batch;
  return total - routed + routed * share;
}

export interface ThroughputInput {
  model: ModelSpec;
  checkpoint: Checkpoint;
  gpu: GpuSpec;
  tensorParallelSize: number;
  /** KV-cache bytes of one token in one layer on one GPU. */
  kvBytesPerTokenPerLayer: number;
  maxModelLen: number;
}

/**
 * Tokens per second one replica decodes with `batch` sequences in flight, each at half
 * of `maxModelLen` on average. Stages run one after another (no pipelining credit).
 */
export function decodeTokensPerSecond(input: ThroughputInput, batch: number): number {
  const bytesPerParam = loadedWeightBytes(input.model, input.checkpoint) / (input.model.totalParamsB * 1e9);
  const weightBytesPerGpu = (paramsReadPerStep(input.model, batch) * bytesPerParam) / input.tensorParallelSize;
  const kvBytesPerGpu = batch * input.kvBytesPerTokenPerLayer * input.model.layers * (input.maxModelLen / 2);
  const stepSeconds = (weightBytesPerGpu + kvBytesPerGpu) / (input.gpu.memoryBandwidthGBps * 1e9);
  return batch / stepSeconds;
}

export interface Estimates {
  /** Upper bound for one sequence alone. */
  singleSequenceTokensPerSecond: number;
  /** Upper bound for the whole deployment at the requested concurrency, spread over the replicas. */
  decodeTokensPerSecond: number;
  /** Upper bound for the whole deployment with every replica holding all the sequences it fits. */
  fullBatchDecodeTokensPerSecond: number;
  /** Hourly cost over the full-batch rate, per million output tokens: the best case. */
  usdPerMillionOutputTokens: number;
  basis: string;
}

export interface Load {
  /** Sequences the deployment must hold at once. */
  concurrency: number;
  replicas: number;
  /** Sequences one replica holds at most. */
  maxSequencesPerReplica: number;
  usdPerHour: number;
}

export function estimates(input: ThroughputInput, load: Load): Estimates {
  const perReplica = Math.min(Math.ceil(load.concurrency / load.replicas), load.maxSequencesPerReplica);
  const fullBatch = decodeTokensPerSecond(input, load.maxSequencesPerReplica) * load.replicas;
  return {
    singleSequenceTokensPerSecond: decodeTokensPerSecond(input, 1),
    decodeTokensPerSecond: decodeTokensPerSecond(input, perReplica) * load.replicas,
    fullBatchDecodeTokensPerSecond: fullBatch,
    usdPerMillionOutputTokens: (load.usdPerHour / (fullBatch * 3600)) * 1e6,
    basis:
      "estimate: memory-bandwidth roofline (weights read per step + KV cache at half max_model_len); ignores compute and communication",
  };
}
