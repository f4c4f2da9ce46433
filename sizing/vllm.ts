/**
 * The `vllm serve` command line for a plan, for the pinned vLLM release. Every flag
 * emitted is one of VLLM_SERVE_FLAGS, the subset of 0.33.0's flags llm-fleet uses.
 */
import type { Checkpoint, ModelId, ModelSpec } from "./catalog";
import { DEFAULT_GPU_MEMORY_UTILIZATION, type KvCacheDtype } from "./memory";

/** Pinned vLLM release (shared/reference/pulumi-notes.md: newest release, 2026-11). */
export const VLLM_VERSION = "0.33.0";
export const VLLM_IMAGE = `vllm/vllm-openai:v${VLLM_VERSION}`;

/**
 * Flags llm-fleet passes, all present in vLLM 0.33.0's `vllm serve --help`
 * (https://docs.vllm.ai/en/latest/cli/serve.html). `--swap-space` and
 * `--disable-log-requests` are absent on purpose: both were removed before 0.33.
 */
export const VLLM_SERVE_FLAGS = [
  "--served-model-name",
  "--tensor-parallel-size",
  "--pipeline-parallel-size",
  "--data-parallel-size",
  "--max-model-len",
  "--gpu-memory-utilization",
  "--enable-expert-parallel",
  "--trust-remote-code",
  "--reasoning-parser",
  "--quantization",
  "--kv-cache-dtype",
  "--max-num-batched-tokens",
  "--max-num-seqs",
  "--enforce-eager",
  // Added by the Kubernetes component: the port, the API key, and multi-node launch flags
  // (vLLM's LeaderWorkerSet guide, docs/deployment/frameworks/lws.md).
  "--port",
  "--api-key",
  "--nnodes",
  "--node-rank",
  "--master-addr",
  "--headless",
] as const;

export interface ServeArgsInput {
  modelId: ModelId;
  model: ModelSpec;
  checkpoint: Checkpoint;
  tensorParallelSize: number;
  pipelineParallelSize: number;
  /** Data-parallel attention ranks; 1 for none. */
  dataParallelSize: number;
  maxModelLen: number;
  gpuMemoryUtilization: number;
  kvCacheDtype: KvCacheDtype;
  /** Set only when the user or the plan chose another step size than vLLM's default for the GPU. */
  maxNumBatchedTokens: number | null;
  /** Set only when the plan caps the sequences below what vLLM picks for the GPU and the step size. */
  maxNumSeqs: number | null;
  enforceEager: boolean;
}

/**
 * Arguments after `vllm serve` (the image's entrypoint), model first. Multi-node launch
 * flags (`--nnodes`, `--node-rank`, `--master-addr`, `--headless`) depend on the pod and
 * are added by the Kubernetes component.
 */
export function vllmServeArgs(input: ServeArgsInput): string[] {
  const { model, checkpoint } = input;
  const args = [checkpoint.repo, "--served-model-name", input.modelId];
  args.push("--tensor-parallel-size", String(input.tensorParallelSize));
  if (input.pipelineParallelSize > 1) args.push("--pipeline-parallel-size", String(input.pipelineParallelSize));
  // Data-parallel attention: each rank its own sequences and MLA cache, experts sharded over all ranks.
  if (input.dataParallelSize > 1) args.push("--data-parallel-size", String(input.dataParallelSize));
  args.push("--max-model-len", String(input.maxModelLen));
  if (input.gpuMemoryUtilization !== DEFAULT_GPU_MEMORY_UTILIZATION) args.push("--gpu-memory-utilization", String(input.gpuMemoryUtilization));
  // vLLM's DeepSeek recipes shard the 256 experts across ranks instead of slicing each one.
  if (model.moe && input.tensorParallelSize * input.dataParallelSize > 1) args.push("--enable-expert-parallel");
  // vLLM's DeepSeek recipes pass it; the AWQ release patches the model code for FP16 overflow.
  if (model.family === "deepseek-v3") args.push("--trust-remote-code");
  if (model.reasoningParser) args.push("--reasoning-parser", model.reasoningParser);
  // Pre-quantized checkpoints declare their format in config.json; only the rest need the flag.
  if (checkpoint.quantizationFlag) args.push("--quantization", checkpoint.quantizationFlag);
  if (input.kvCacheDtype === "fp8") args.push("--kv-cache-dtype", "fp8");
  if (input.maxNumBatchedTokens !== null) args.push("--max-num-batched-tokens", String(input.maxNumBatchedTokens));
  if (input.maxNumSeqs !== null) args.push("--max-num-seqs", String(input.maxNumSeqs));
  if (input.enforceEager) args.push("--enforce-eager");
  return args;
}

/** The engine knobs a `vllm serve` command line sets, vLLM's defaults where it sets none. */
export interface ServeEngineOptions {
  gpuMemoryUtilization: number;
  kvCacheDtype: KvCacheDtype;
  /** Undefined: vLLM's default for the GPU. */
  maxNumBatchedTokens: number | undefined;
  maxNumSeqs: number | undefined;
  enforceEager: boolean;
}

/** The value after `flag` in a command line, if the flag is there. */
export function flagValue(args: readonly string[], flag: string): string | undefined {
  const at = args.indexOf(flag);
  return at >= 0 ? args[at + 1] : undefined;
}

/** Reads the engine knobs back from arguments vllmServeArgs wrote (the policy pack checks a workload's memory with them). */
export function serveEngineOptions(args: readonly string[]): ServeEngineOptions {
  const value = (flag: string) => flagValue(args, flag);
  const number = (flag: string) => {
    const raw = value(flag);
    return raw === undefined ? undefined : Number(raw);
  };
  return {
    gpuMemoryUtilization: number("--gpu-memory-utilization") ?? DEFAULT_GPU_MEMORY_UTILIZATION,
    kvCacheDtype: value("--kv-cache-dtype") === "fp8" ? "fp8" : "auto",
    maxNumBatchedTokens: number("--max-num-batched-tokens"),
    maxNumSeqs: number("--max-num-seqs"),
    enforceEager: args.includes("--enforce-eager"),
  };
}
