import type { ModelId } from "./ids";
import type { Checkpoint, ModelSpec } from "./schema";

const hf = (repo: string) => `https://huggingface.co/${repo}`;
const VLLM_QUANT_DOCS = "https://docs.vllm.ai/en/latest/features/quantization/index.html";
// vLLM has no block-FP8 fused-MoE kernel for Ampere (SM80/86).
const VLLM_BLOCK_FP8_AMPERE = "https://github.com/vllm-project/vllm/issues/13885";

/**
 * Size of a checkpoint derived from its parameter count: embeddings (and an untied
 * LM head) stay 16-bit, every other weight is stored at `bits` plus its scales.
 * Used where the hub lists no size for a variant (marked *derived* in
 * shared/reference/sizing-facts.md).
 */
function derivedSizeGB(shape: {
  totalParamsB: number;
  vocabSize: number;
  hiddenSize: number;
  tieWordEmbeddings: boolean;
}, bitsPerWeight: number): number {
  const embeddingParamsB = (shape.vocabSize * shape.hiddenSize * (shape.tieWordEmbeddings ? 1 : 2)) / 1e9;
  const gb = embeddingParamsB * 2 + (shape.totalParamsB - embeddingParamsB) * (bitsPerWeight / 8);
  return Math.round(gb * 100) / 100;
}

// Group-wise 4-bit (group size 128) adds one 16-bit scale per 128 weights.
const W4_GROUP128_BITS = 4 + 16 / 128;
// AWQ group 128 also stores a packed 4-bit zero point per group.
const AWQ_GROUP128_BITS = 4 + 16 / 128 + 4 / 128;
// Per-channel FP8/INT8 scales are one number per output row: negligible.
const W8_CHANNEL_BITS = 8;

const AMPERE_AND_NEWER = ["ampere", "ada", "hopper", "blackwell"] as const;
const ADA_AND_NEWER = ["ada", "hopper", "blackwell"] as const;

/** DeepSeek-V3 architecture (config.json of deepseek-ai/DeepSeek-V3), shared by V3, V3-0324, R1 and R1-0528. */
const DEEPSEEK_V3_ARCH = {
  family: "deepseek-v3",
  layers: 61,
  hiddenSize: 7168,
  attentionHeads: 128,
  kvHeads: 128,
  intermediateSize: 18432,
  vocabSize: 129280,
  tieWordEmbeddings: false,
  attention: {
    kind: "mla",
    qLoraRank: 1536,
    kvLoraRank: 512,
    qkNopeHeadDim: 128,
    qkRopeHeadDim: 64,
    vHeadDim: 128,
  },
  moe: {
    routedExperts: 256,
    sharedExperts: 1,
    expertsPerToken: 8,
    expertIntermediateSize: 2048,
    denseLayers: 3,
  },
  totalParamsB: 671,
  activeParamsB: 37,
  mtpParamsB: 14,
  maxContextTokens: 163840,
  nativePrecision: "fp8",
} as const satisfies Partial<ModelSpec>;

/** The native block-FP8 release of a DeepSeek-V3-architecture model. */
function deepseekNativeFp8(repo: string): Checkpoint {
  return {
    repo,
    precision: "fp8",
    weightBits: 8,
    // 163 safetensors shards, 688.6 GB including the MTP module (hub file listing of
    // deepseek-ai/DeepSeek-R1; the other releases share its layout).
    sizeOnDiskGB: 688.6,
    includesMtpModule: true,
    architectures: [...ADA_AND_NEWER],
    quantizationFlag: null,
    format: "block FP8 W8A8 (128x128 scales)",
    sources: [hf(repo), VLLM_QUANT_DOCS, VLLM_BLOCK_FP8_AMPERE],
  };
}

function deepseekBf16Upcast(repo: string): Checkpoint {
  return {
    repo,
    precision: "bf16",
    weightBits: 16,
    // The hub's safetensors count for these upcasts is 684B parameters (MTP module
    // included; opensourcerelease collection page), at 2 bytes each.
    sizeOnDiskGB: 684 * 2,
    includesMtpModule: true,
    architectures: [...AMPERE_AND_NEWER],
    quantizationFlag: null,
    format: "BF16 upcast of the FP8 release",
    sources: [hf(repo)],
  };
}

/**
 * `sizeOnDiskGB` where the hub lists it; otherwise derived from the parameter count. The
 * derivation gives 351 GB where the measured R1 release is 340 GB, so derived sizes err
 * towards more memory.
 */
function deepseekAwq(repo: string, sizeOnDiskGB = derivedSizeGB(DEEPSEEK_V3_ARCH, AWQ_GROUP128_BITS)): Checkpoint {
  return {
    repo,
    precision: "int4",
    weightBits: 4,
    sizeOnDiskGB,
    includesMtpModule: false,
    architectures: [...AMPERE_AND_NEWER],
    quantizationFlag: null,
    format: "AWQ 4-bit, AWQ-Marlin kernels",
    sources: [hf(repo), VLLM_QUANT_DOCS],
  };
}

function deepseekGptqW4a16(
  repo: string,
  format: string,
  sizeOnDiskGB = derivedSizeGB(DEEPSEEK_V3_ARCH, W4_GROUP128_BITS),
): Checkpoint {
  return {
    repo,
    precision: "int4",
    weightBits: 4,
    sizeOnDiskGB,
    includesMtpModule: false,
    architectures: [...AMPERE_AND_NEWER],
    quantizationFlag: null,
    format,
    sources: [hf(repo), VLLM_QUANT_DOCS],
  };
}

function deepseekNvfp4(repo: string): Checkpoint {
  return {
    repo,
    precision: "fp4",
    weightBits: 4,
    // ~400 GB for nvidia/DeepSeek-R1-NVFP4 (model card); the other NVIDIA NVFP4 releases
    // apply the same ModelOpt recipe to the same architecture and list no size of their own.
    sizeOnDiskGB: 400,
    includesMtpModule: false,
    architectures: ["blackwell"],
    quantizationFlag: null,
    format: "NVFP4 (ModelOpt), Blackwell FP4 tensor cores only",
    sources: [hf(repo), VLLM_QUANT_DOCS],
  };
}

interface DistillShape {
  hubRepo: string;
  redHatName: string;
  family: "qwen2" | "llama";
  totalParamsB: number;
  layers: number;
  hiddenSize: number;
  attentionHeads: number;
  kvHeads: number;
  intermediateSize: number;
  vocabSize: number;
  tieWordEmbeddings: boolean;
  bf16SizeOnDiskGB: number;
}

/** An R1-Distill model and the variants vLLM loads: native BF16, FP8-dynamic, INT8 W8A8, INT4 W4A16. */
function distill(displayName: string, shape: DistillShape): ModelSpec {
  const redHat = (suffix: string) => `RedHatAI/${shape.redHatName}-${suffix}`;
  return {
    displayName,
    hubRepo: shape.hubRepo,
    family: shape.family,
    layers: shape.layers,
    hiddenSize: shape.hiddenSize,
    attentionHeads: shape.attentionHeads,
    kvHeads: shape.kvHeads,
    intermediateSize: shape.intermediateSize,
    vocabSize: shape.vocabSize,
    tieWordEmbeddings: shape.tieWordEmbeddings,
    attention: { kind: "gqa", headDim: shape.hiddenSize / shape.attentionHeads },
    moe: null,
    totalParamsB: shape.totalParamsB,
    activeParamsB: shape.totalParamsB,
    mtpParamsB: 0,
    maxContextTokens: 131072,
    reasoningParser: "deepseek_r1",
    nativePrecision: "bf16",
    checkpoints: [
      {
        repo: shape.hubRepo,
        precision: "bf16",
        weightBits: 16,
        sizeOnDiskGB: shape.bf16SizeOnDiskGB,
        includesMtpModule: false,
        architectures: [...AMPERE_AND_NEWER],
        quantizationFlag: null,
        format: "BF16, the original release",
        sources: [hf(shape.hubRepo)],
      },
      {
        repo: redHat("FP8-dynamic"),
        precision: "fp8",
        weightBits: 8,
        sizeOnDiskGB: derivedSizeGB(shape, W8_CHANNEL_BITS),
        includesMtpModule: false,
        // W8A8 on CC >= 8.9; Ampere runs it weight-only through FP8-Marlin.
        architectures: [...AMPERE_AND_NEWER],
        quantizationFlag: null,
        format: "FP8 W8A8 dynamic (compressed-tensors); weight-only FP8-Marlin on Ampere",
        sources: [hf(redHat("FP8-dynamic")), VLLM_QUANT_DOCS],
      },
      {
        repo: redHat("quantized.w8a8"),
        precision: "int8",
        weightBits: 8,
        sizeOnDiskGB: derivedSizeGB(shape, W8_CHANNEL_BITS),
        includesMtpModule: false,
        // vLLM's CUTLASS INT8 GEMMs are not built for Blackwell (SM100/SM120), and the
        // Triton fallback is not reached there (vllm-project/vllm#25935, #54311).
        architectures: ["ampere", "ada", "hopper"],
        quantizationFlag: null,
        format: "INT8 W8A8 (compressed-tensors), CUTLASS INT8 kernels",
        sources: [
          hf(redHat("quantized.w8a8")),
          VLLM_QUANT_DOCS,
          "https://github.com/vllm-project/vllm/pull/25935",
          "https://github.com/vllm-project/vllm/issues/54311",
        ],
      },
      {
        repo: redHat("quantized.w4a16"),
        precision: "int4",
        weightBits: 4,
        sizeOnDiskGB: derivedSizeGB(shape, W4_GROUP128_BITS),
        includesMtpModule: false,
        architectures: [...AMPERE_AND_NEWER],
        quantizationFlag: null,
        format: "GPTQ W4A16 (compressed-tensors), Marlin kernels",
        sources: [hf(redHat("quantized.w4a16")), VLLM_QUANT_DOCS],
      },
    ],
    sources: [hf(shape.hubRepo), `${hf(shape.hubRepo)}/blob/main/config.json`],
  };
}

/**
 * The DeepSeek line-up. Architecture fields are the models' config.json files;
 * parameter counts and the MTP module are from the DeepSeek-V3 README_WEIGHTS.md and
 * the R1 model card (distill table).
 */
export const MODELS: { readonly [id in ModelId]: ModelSpec } = {
  "deepseek-r1": {
    ...DEEPSEEK_V3_ARCH,
    displayName: "DeepSeek-R1",
    hubRepo: "deepseek-ai/DeepSeek-R1",
    reasoningParser: "deepseek_r1",
    checkpoints: [
      deepseekNativeFp8("deepseek-ai/DeepSeek-R1"),
      deepseekBf16Upcast("opensourcerelease/DeepSeek-R1-bf16"),
      // 340 GB (size table on the ISTA-DASLab/DeepSeek-R1-GPTQ-4b-128g model card).
      deepseekAwq("cognitivecomputations/DeepSeek-R1-AWQ", 340),
      // 325 GB, every linear layer at 4 bits (same table).
      deepseekGptqW4a16("ISTA-DASLab/DeepSeek-R1-GPTQ-4b-128g", "GPTQ 4-bit, group 128, Marlin kernels", 325),
      deepseekNvfp4("nvidia/DeepSeek-R1-NVFP4"),
      // No INT8 W8A8: meituan/DeepSeek-R1-Block-INT8 and -Channel-INT8 are SGLang-only;
      // vLLM registers neither format (vllm-project/vllm#13942 closed unmerged, ROCm/vllm#555).
    ],
    sources: [
      hf("deepseek-ai/DeepSeek-R1"),
      "https://huggingface.co/deepseek-ai/DeepSeek-V3/blob/main/config.json",
      "https://github.com/deepseek-ai/DeepSeek-V3/blob/main/README_WEIGHTS.md",
      "https://huggingface.co/ISTA-DASLab/DeepSeek-R1-GPTQ-4b-128g",
    ],
  },
  "deepseek-r1-0528": {
    ...DEEPSEEK_V3_ARCH,
    displayName: "DeepSeek-R1-0528",
    hubRepo: "deepseek-ai/DeepSeek-R1-0528",
    reasoningParser: "deepseek_r1",
    checkpoints: [
      deepseekNativeFp8("deepseek-ai/DeepSeek-R1-0528"),
      deepseekGptqW4a16("RedHatAI/DeepSeek-R1-0528-quantized.w4a16", "GPTQ W4A16 (compressed-tensors), Marlin kernels"),
      // The NVFP4 variant vLLM's own DeepSeek-R1 recipe serves.
      deepseekNvfp4("nvidia/DeepSeek-R1-0528-NVFP4-v2"),
    ],
    sources: [
      hf("deepseek-ai/DeepSeek-R1-0528"),
      "https://huggingface.co/deepseek-ai/DeepSeek-V3/blob/main/config.json",
      "https://github.com/deepseek-ai/DeepSeek-V3/blob/main/README_WEIGHTS.md",
    ],
  },
  "deepseek-v3": {
    ...DEEPSEEK_V3_ARCH,
    displayName: "DeepSeek-V3",
    hubRepo: "deepseek-ai/DeepSeek-V3",
    reasoningParser: null,
    checkpoints: [
      deepseekNativeFp8("deepseek-ai/DeepSeek-V3"),
      deepseekBf16Upcast("opensourcerelease/DeepSeek-V3-bf16"),
      deepseekAwq("cognitivecomputations/DeepSeek-V3-AWQ"),
    ],
    sources: [
      hf("deepseek-ai/DeepSeek-V3"),
      "https://huggingface.co/deepseek-ai/DeepSeek-V3/blob/main/config.json",
      "https://github.com/deepseek-ai/DeepSeek-V3/blob/main/README_WEIGHTS.md",
    ],
  },
  "deepseek-v3-0324": {
    ...DEEPSEEK_V3_ARCH,
    displayName: "DeepSeek-V3-0324",
    hubRepo: "deepseek-ai/DeepSeek-V3-0324",
    reasoningParser: null,
    checkpoints: [
      deepseekNativeFp8("deepseek-ai/DeepSeek-V3-0324"),
      deepseekAwq("cognitivecomputations/DeepSeek-V3-0324-AWQ"),
      deepseekNvfp4("nvidia/DeepSeek-V3-0324-FP4"),
    ],
    sources: [
      hf("deepseek-ai/DeepSeek-V3-0324"),
      "https://huggingface.co/deepseek-ai/DeepSeek-V3/blob/main/config.json",
      "https://github.com/deepseek-ai/DeepSeek-V3/blob/main/README_WEIGHTS.md",
    ],
  },
  "r1-distill-qwen-1.5b": distill("DeepSeek-R1-Distill-Qwen-1.5B", {
    hubRepo: "deepseek-ai/DeepSeek-R1-Distill-Qwen-1.5B",
    redHatName: "DeepSeek-R1-Distill-Qwen-1.5B",
    family: "qwen2",
    totalParamsB: 1.78,
    layers: 28,
    hiddenSize: 1536,
    attentionHeads: 12,
    kvHeads: 2,
    intermediateSize: 8960,
    vocabSize: 151936,
    tieWordEmbeddings: false,
    bf16SizeOnDiskGB: 3.55,
  }),
  "r1-distill-qwen-7b": distill("DeepSeek-R1-Distill-Qwen-7B", {
    hubRepo: "deepseek-ai/DeepSeek-R1-Distill-Qwen-7B",
    redHatName: "DeepSeek-R1-Distill-Qwen-7B",
    family: "qwen2",
    totalParamsB: 7.62,
    layers: 28,
    hiddenSize: 3584,
    attentionHeads: 28,
    kvHeads: 4,
    intermediateSize: 18944,
    vocabSize: 152064,
    tieWordEmbeddings: false,
    bf16SizeOnDiskGB: 15.2,
  }),
  "r1-distill-llama-8b": distill("DeepSeek-R1-Distill-Llama-8B", {
    hubRepo: "deepseek-ai/DeepSeek-R1-Distill-Llama-8B",
    redHatName: "DeepSeek-R1-Distill-Llama-8B",
    family: "llama",
    totalParamsB: 8.03,
    layers: 32,
    hiddenSize: 4096,
    attentionHeads: 32,
    kvHeads: 8,
    intermediateSize: 14336,
    vocabSize: 128256,
    tieWordEmbeddings: false,
    bf16SizeOnDiskGB: 16.1,
  }),
  "r1-distill-qwen-14b": distill("DeepSeek-R1-Distill-Qwen-14B", {
    hubRepo: "deepseek-ai/DeepSeek-R1-Distill-Qwen-14B",
    redHatName: "DeepSeek-R1-Distill-Qwen-14B",
    family: "qwen2",
    totalParamsB: 14.77,
    layers: 48,
    hiddenSize: 5120,
    attentionHeads: 40,
    kvHeads: 8,
    intermediateSize: 13824,
    vocabSize: 152064,
    tieWordEmbeddings: false,
    bf16SizeOnDiskGB: 29.5,
  }),
  "r1-distill-qwen-32b": distill("DeepSeek-R1-Distill-Qwen-32B", {
    hubRepo: "deepseek-ai/DeepSeek-R1-Distill-Qwen-32B",
    redHatName: "DeepSeek-R1-Distill-Qwen-32B",
    family: "qwen2",
    totalParamsB: 32.8,
    layers: 64,
    hiddenSize: 5120,
    attentionHeads: 40,
    kvHeads: 8,
    intermediateSize: 27648,
    vocabSize: 152064,
    tieWordEmbeddings: false,
    bf16SizeOnDiskGB: 65.5,
  }),
  "r1-distill-llama-70b": distill("DeepSeek-R1-Distill-Llama-70B", {
    hubRepo: "deepseek-ai/DeepSeek-R1-Distill-Llama-70B",
    redHatName: "DeepSeek-R1-Distill-Llama-70B",
    family: "llama",
    totalParamsB: 70.55,
    layers: 80,
    hiddenSize: 8192,
    attentionHeads: 64,
    kvHeads: 8,
    intermediateSize: 28672,
    vocabSize: 128256,
    tieWordEmbeddings: false,
    bf16SizeOnDiskGB: 141,
  }),
};
