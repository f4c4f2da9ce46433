import type { GpuId } from "./ids";
import type { GpuSpec } from "./schema";

const CUDA_GPUS = "https://developer.nvidia.com/cuda-gpus";
/** Dense TFLOPS per precision (shared/reference/perf-facts.md, "GPU specifications"). */
const AICONFIGURATOR_SYSTEMS = "https://github.com/ai-dynamo/aiconfigurator/tree/main/src/aiconfigurator/systems";

/**
 * CUDA's total device memory sits about 0.45 GiB below nvidia-smi's total: on an H100
 * nvidia-smi shows 81559 MiB (79.65 GiB) and vLLM budgets from 79.2 GiB
 * (llm-d-benchmark, empirical vLLM memory results). Applied where only nvidia-smi's
 * figure is published.
 */
const NVIDIA_SMI_TO_CUDA_GAP_GIB = 79.65 - 79.2;

/** Device memory vLLM sees, from an nvidia-smi "memory.total" reading in MiB. */
function fromNvidiaSmi(mib: number): number {
  return Math.round((mib / 1024 - NVIDIA_SMI_TO_CUDA_GAP_GIB) * 100) / 100;
}

/**
 * GPUs of the catalog's AWS instance families. `memoryGiB` is the total vLLM
 * multiplies by `gpu_memory_utilization`: below the marketed size because of ECC and
 * driver reservations.
 */
export const GPUS: { readonly [id in GpuId]: GpuSpec } = {
  a10g: {
    name: "NVIDIA A10G",
    cudaDeviceName: "NVIDIA A10G",
    architecture: "ampere",
    computeCapability: 8.6,
    marketedMemoryGB: 24,
    nvidiaSmiMemoryMiB: 23028, // NVIDIA/DCGM#232
    memoryGiB: 22.3, // vLLM's log on g5.xlarge (awslabs/ai-on-eks)
    memoryBandwidthGBps: 600,
    denseTflops: { bf16: 125, fp8: null, int8: 250, fp4: null }, // A10 datasheet ceilings; the A10G is clocked lower
    nativePrecisions: ["bf16", "int8", "int4"],
    sources: [
      "https://aws.amazon.com/ec2/instance-types/g5/",
      "https://github.com/NVIDIA/DCGM/issues/232",
      "https://github.com/awslabs/ai-on-eks",
      CUDA_GPUS,
    ],
  },
  l4: {
    name: "NVIDIA L4",
    cudaDeviceName: "NVIDIA L4",
    architecture: "ada",
    computeCapability: 8.9,
    marketedMemoryGB: 24,
    nvidiaSmiMemoryMiB: 23034, // speaches-ai/speaches#438
    memoryGiB: fromNvidiaSmi(23034),
    memoryBandwidthGBps: 300,
    denseTflops: { bf16: 121, fp8: 242, int8: 242, fp4: null }, // aiconfigurator systems/l4.yaml; L4 datasheet (INT8 = FP8 rate)
    nativePrecisions: ["bf16", "fp8", "int8", "int4"],
    sources: [
      AICONFIGURATOR_SYSTEMS,
      "https://www.nvidia.com/en-us/data-center/l4/", "https://github.com/speaches-ai/speaches/pull/438", CUDA_GPUS],
  },
  l40s: {
    name: "NVIDIA L40S",
    cudaDeviceName: "NVIDIA L40S",
    architecture: "ada",
    computeCapability: 8.9,
    marketedMemoryGB: 48,
    nvidiaSmiMemoryMiB: 46068, // akash-network/provider-configs#99
    memoryGiB: fromNvidiaSmi(46068),
    memoryBandwidthGBps: 864,
    denseTflops: { bf16: 362, fp8: 733, int8: 733, fp4: null }, // aiconfigurator systems/l40s.yaml; L40S datasheet
    nativePrecisions: ["bf16", "fp8", "int8", "int4"],
    sources: [
      AICONFIGURATOR_SYSTEMS,
      "https://www.nvidia.com/en-us/data-center/l40s/",
      "https://github.com/akash-network/provider-configs/pull/99",
      CUDA_GPUS,
    ],
  },
  "a100-40gb": {
    name: "NVIDIA A100 40GB SXM",
    cudaDeviceName: "NVIDIA A100-SXM4-40GB",
    architecture: "ampere",
    computeCapability: 8.0,
    marketedMemoryGB: 40,
    nvidiaSmiMemoryMiB: 40960, // modal-labs/modal-client#2797
    memoryGiB: fromNvidiaSmi(40960),
    memoryBandwidthGBps: 1555,
    denseTflops: { bf16: 312, fp8: null, int8: 624, fp4: null }, // A100 datasheet: no FP8 tensor cores
    nativePrecisions: ["bf16", "int8", "int4"],
    sources: [
      "https://www.nvidia.com/en-us/data-center/a100/",
      "https://github.com/modal-labs/modal-client/pull/2797",
      CUDA_GPUS,
    ],
  },
  "a100-80gb": {
    name: "NVIDIA A100 80GB SXM",
    cudaDeviceName: "NVIDIA A100-SXM4-80GB",
    architecture: "ampere",
    computeCapability: 8.0,
    marketedMemoryGB: 80,
    nvidiaSmiMemoryMiB: 81920, // modal-labs/modal-client#2797
    // vLLM's "total_gpu_memory (79.15GiB)" on A100-SXM4-80GB (vllm-project/vllm#10533): the A100's
    // reservation below nvidia-smi's total is 0.85 GiB, not the H100's 0.45.
    memoryGiB: 79.15,
    memoryBandwidthGBps: 2039,
    denseTflops: { bf16: 312, fp8: null, int8: 624, fp4: null }, // aiconfigurator systems/a100_sxm.yaml; A100 datasheet
    nativePrecisions: ["bf16", "int8", "int4"],
    sources: [
      AICONFIGURATOR_SYSTEMS,
      "https://www.nvidia.com/en-us/data-center/a100/",
      "https://github.com/modal-labs/modal-client/pull/2797",
      "https://github.com/vllm-project/vllm/issues/10533",
      CUDA_GPUS,
    ],
  },
  h100: {
    name: "NVIDIA H100 80GB SXM",
    cudaDeviceName: "NVIDIA H100 80GB HBM3",
    architecture: "hopper",
    computeCapability: 9.0,
    marketedMemoryGB: 80,
    nvidiaSmiMemoryMiB: 81559, // NVIDIA/nccl#1264
    memoryGiB: 79.2, // usable as vLLM sees it (llm-d-benchmark)
    memoryBandwidthGBps: 3350,
    denseTflops: { bf16: 989, fp8: 1979, int8: 1979, fp4: null }, // aiconfigurator systems/h100_sxm.yaml
    nativePrecisions: ["bf16", "fp8", "int8", "int4"],
    sources: [
      AICONFIGURATOR_SYSTEMS,
      "https://www.nvidia.com/en-us/data-center/h100/",
      "https://github.com/NVIDIA/nccl/issues/1264",
      "https://github.com/llm-d/llm-d-benchmark",
      CUDA_GPUS,
    ],
  },
  h200: {
    name: "NVIDIA H200 141GB",
    cudaDeviceName: "NVIDIA H200",
    architecture: "hopper",
    computeCapability: 9.0,
    marketedMemoryGB: 141,
    nvidiaSmiMemoryMiB: 143771, // nvidia-smi on 8 x H200 hosts
    memoryGiB: fromNvidiaSmi(143771),
    memoryBandwidthGBps: 4800,
    denseTflops: { bf16: 989, fp8: 1979, int8: 1979, fp4: null }, // aiconfigurator systems/h200_sxm.yaml
    nativePrecisions: ["bf16", "fp8", "int8", "int4"],
    sources: [
      AICONFIGURATOR_SYSTEMS,
      "https://www.nvidia.com/en-us/data-center/h200/", "https://github.com/allenai/open-instruct/pull/1441", CUDA_GPUS],
  },
  b200: {
    name: "NVIDIA B200",
    cudaDeviceName: "NVIDIA B200",
    architecture: "blackwell",
    computeCapability: 10.0,
    marketedMemoryGB: 180,
    nvidiaSmiMemoryMiB: 183359, // NVIDIA/TensorRT-LLM#10278
    memoryGiB: fromNvidiaSmi(183359),
    memoryBandwidthGBps: 8000,
    denseTflops: { bf16: 2250, fp8: 4500, int8: null, fp4: 9000 }, // aiconfigurator systems/b200_sxm.yaml; no vLLM INT8 GEMMs on Blackwell
    nativePrecisions: ["bf16", "fp8", "int8", "int4", "fp4"],
    sources: [
      AICONFIGURATOR_SYSTEMS,
      "https://www.nvidia.com/en-us/data-center/dgx-b200/",
      "https://github.com/NVIDIA/TensorRT-LLM/issues/10278",
      "https://github.com/pytorch/ao/pull/4002",
    ],
  },
  b300: {
    name: "NVIDIA B300",
    cudaDeviceName: "NVIDIA B300 SXM6 AC",
    architecture: "blackwell",
    computeCapability: 10.3, // kokkos/kokkos#8791
    marketedMemoryGB: 288,
    nvidiaSmiMemoryMiB: 275040, // nvidia-smi on p6-b300
    memoryGiB: fromNvidiaSmi(275040),
    memoryBandwidthGBps: 8000,
    denseTflops: { bf16: 2250, fp8: 4500, int8: null, fp4: 14000 }, // aiconfigurator systems/b300_sxm.yaml
    nativePrecisions: ["bf16", "fp8", "int8", "int4", "fp4"],
    sources: [
      AICONFIGURATOR_SYSTEMS,
      "https://www.nvidia.com/en-us/data-center/dgx-b300/",
      "https://github.com/kokkos/kokkos/pull/8791",
      "https://www.glennklockwood.com/garden/processors/B300",
    ],
  },
  "rtx-pro-6000": {
    name: "NVIDIA RTX PRO 6000 Blackwell Server Edition",
    cudaDeviceName: "NVIDIA RTX PRO 6000 Blackwell Server Edition",
    architecture: "blackwell",
    computeCapability: 12.0, // vllm-project/vllm#32109
    marketedMemoryGB: 96,
    nvidiaSmiMemoryMiB: 97887, // nvidia-smi on g7e (EKS Auto Mode GPU guide)
    memoryGiB: fromNvidiaSmi(97887),
    // Workstation Edition datasheet (same silicon, 512-bit GDDR7); no Server Edition figure is published.
    memoryBandwidthGBps: 1792,
    denseTflops: { bf16: 467.8, fp8: 935.6, int8: null, fp4: 1871 }, // aiconfigurator systems/rtx_pro_6000_server.yaml
    nativePrecisions: ["bf16", "fp8", "int8", "int4", "fp4"],
    sources: [
      AICONFIGURATOR_SYSTEMS,
      "https://www.nvidia.com/en-us/data-center/rtx-pro-6000-blackwell-server-edition/",
      "https://github.com/vllm-project/vllm/issues/32109",
      "https://aws.amazon.com/ec2/instance-types/g7e/",
    ],
  },
};
