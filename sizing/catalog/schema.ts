/**
 * zod schemas of the catalog entries: the single source of the catalog types, and
 * what the tests parse every entry against.
 */
import { z } from "zod";
import {
  CAPACITY_TYPES,
  GPU_ARCHITECTURES,
  GPU_IDS,
  PRECISIONS,
} from "./ids";

/** Where a number comes from: one or more public URLs. */
export const SourcesSchema = z.array(z.url({ protocol: /^https$/ })).min(1);

const positive = z.number().positive();
const positiveInt = z.number().int().positive();

export const GpuSpecSchema = z
  .object({
    name: z.string().min(1),
    /** The name CUDA reports (`torch.cuda.get_device_name`), which vLLM matches on for some defaults. */
    cudaDeviceName: z.string().min(1),
    architecture: z.enum(GPU_ARCHITECTURES),
    /** CUDA compute capability as major.minor, e.g. 8.9. */
    computeCapability: z.number().min(7).max(13),
    /** Memory as the vendor markets it. */
    marketedMemoryGB: positive,
    /** Total memory as nvidia-smi reports it. */
    nvidiaSmiMemoryMiB: positiveInt,
    /** Memory CUDA reports (`torch.cuda.mem_get_info` total), which vLLM's `gpu_memory_utilization` multiplies. */
    memoryGiB: positive,
    memoryBandwidthGBps: positive,
    /**
     * Dense (no sparsity) tensor-core peak per math precision, in TFLOPS (TOPS for INT8);
     * null where the GPU has no tensor cores for it (FP8 on Ampere) or no figure is published.
     */
    denseTflops: z
      .object({ bf16: positive, fp8: positive.nullable(), int8: positive.nullable(), fp4: positive.nullable() })
      .strict(),
    /** Precisions the tensor cores execute natively (weights and activations). */
    nativePrecisions: z.array(z.enum(PRECISIONS)).min(1),
    sources: SourcesSchema,
  })
  .strict();
export type GpuSpec = z.output<typeof GpuSpecSchema>;

const CheckpointSchema = z
  .object({
    /** Hugging Face repo id vLLM loads. */
    repo: z.string().regex(/^[\w.-]+\/[\w.-]+$/),
    precision: z.enum(PRECISIONS),
    /** Bits per weight of the quantized linear layers. */
    weightBits: z.union([z.literal(4), z.literal(8), z.literal(16)]),
    /** Size of the safetensors files on the hub. */
    sizeOnDiskGB: positive,
    /** Whether the files include the multi-token-prediction module, which vLLM skips unless speculative decoding is on. */
    includesMtpModule: z.boolean(),
    /** GPU generations on which vLLM has kernels for this checkpoint's format. */
    architectures: z.array(z.enum(GPU_ARCHITECTURES)).min(1),
    /** `--quantization` value, only for checkpoints whose config.json does not declare their format. */
    quantizationFlag: z.string().min(1).nullable(),
    /** How vLLM runs it, for the human output. */
    format: z.string().min(1),
    sources: SourcesSchema,
  })
  .strict();
export type Checkpoint = z.output<typeof CheckpointSchema>;

const AttentionSchema = z.discriminatedUnion("kind", [
  z
    .object({
      kind: z.literal("gqa"),
      headDim: positiveInt,
    })
    .strict(),
  z
    .object({
      kind: z.literal("mla"),
      qLoraRank: positiveInt,
      kvLoraRank: positiveInt,
      qkNopeHeadDim: positiveInt,
      qkRopeHeadDim: positiveInt,
      vHeadDim: positiveInt,
    })
    .strict(),
]);

const MoeSchema = z
  .object({
    routedExperts: positiveInt,
    sharedExperts: z.number().int().nonnegative(),
    expertsPerToken: positiveInt,
    expertIntermediateSize: positiveInt,
    /** Leading layers that stay dense (`first_k_dense_replace`). */
    denseLayers: z.number().int().nonnegative(),
  })
  .strict();

export const ModelSpecSchema = z
  .object({
    displayName: z.string().min(1),
    /** Hugging Face repo id of the original release; accepted as an alias of the model id. */
    hubRepo: z.string().regex(/^[\w.-]+\/[\w.-]+$/),
    family: z.enum(["deepseek-v3", "qwen2", "llama"]),
    layers: positiveInt,
    hiddenSize: positiveInt,
    attentionHeads: positiveInt,
    kvHeads: positiveInt,
    intermediateSize: positiveInt,
    vocabSize: positiveInt,
    tieWordEmbeddings: z.boolean(),
    attention: AttentionSchema,
    moe: MoeSchema.nullable(),
    /** Parameters of the model vLLM serves, in billions (without the MTP module). */
    totalParamsB: positive,
    /** Parameters used per token, in billions. */
    activeParamsB: positive,
    /** Extra multi-token-prediction parameters shipped in the checkpoint, in billions. */
    mtpParamsB: z.number().nonnegative(),
    maxContextTokens: positiveInt,
    /** `--reasoning-parser` value; null for non-reasoning models. */
    reasoningParser: z.string().min(1).nullable(),
    /** The model's own precision: the default the planner plans for. */
    nativePrecision: z.enum(PRECISIONS),
    checkpoints: z.array(CheckpointSchema).min(1),
    sources: SourcesSchema,
  })
  .strict();
export type ModelSpec = z.output<typeof ModelSpecSchema>;

export const INTERCONNECT_KINDS = ["pcie4", "pcie5", "nvlink3", "nvlink4", "nvlink5"] as const;
export type InterconnectKind = (typeof INTERCONNECT_KINDS)[number];

/** How the GPUs of one instance talk to each other: what tensor parallelism's all-reduces cross. */
export const InterconnectSpecSchema = z
  .object({
    kind: z.enum(INTERCONNECT_KINDS),
    /** Per GPU, per direction. */
    gbpsPerDirection: positive,
    sources: SourcesSchema,
  })
  .strict();
export type InterconnectSpec = z.output<typeof InterconnectSpecSchema>;

export const InstanceSpecSchema = z
  .object({
    gpu: z.enum(GPU_IDS),
    gpuCount: positiveInt,
    vcpu: positiveInt,
    memoryGiB: positive,
    /** Instance-store NVMe, all drives together, usable as a weights cache. */
    localNvmeGB: positive,
    /** Maximum number of EFA interfaces (one per network card); 0 when EFA is unsupported. */
    efaInterfaces: z.number().int().nonnegative(),
    /** Network bandwidth; "up to" figures are recorded as their ceiling. */
    networkGbps: positive,
    capacityTypes: z.array(z.enum(CAPACITY_TYPES)).min(1),
    /** Regions where EC2 Capacity Blocks for ML sell this type; empty when it has none. */
    capacityBlockRegions: z.array(z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d$/)),
    sources: SourcesSchema,
  })
  .strict();
export type InstanceSpec = z.output<typeof InstanceSpecSchema>;
