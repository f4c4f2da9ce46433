/**
 * The closed sets of the sizing library. Each list is the one place its ids are
 * spelled; the catalogs are typed as complete maps over these unions, so adding an
 * id without its catalog entry is a compile error.
 */

export const MODEL_IDS = [
  "deepseek-r1",
  "deepseek-r1-0528",
  "deepseek-v3",
  "deepseek-v3-0324",
  "r1-distill-qwen-1.5b",
  "r1-distill-qwen-7b",
  "r1-distill-llama-8b",
  "r1-distill-qwen-14b",
  "r1-distill-qwen-32b",
  "r1-distill-llama-70b",
] as const;
export type ModelId = (typeof MODEL_IDS)[number];

export const GPU_IDS = [
  "a10g",
  "l4",
  "l40s",
  "a100-40gb",
  "a100-80gb",
  "h100",
  "h200",
  "b200",
  "b300",
  "rtx-pro-6000",
] as const;
export type GpuId = (typeof GPU_IDS)[number];

/**
 * Precision names as the user writes them (`--precision`). Enumerations are `as const` objects: the
 * Pulumi package schema reads an enum, with its member names, only from one (analyzer.ts in
 * @pulumi/pulumi/provider/experimental, `extractEnumMembers`).
 */
export const Precision = {
  /** 16-bit brain floating point, the distills' native precision. */
  Bf16: "bf16",
  /** 8-bit floating point, DeepSeek-V3/R1's native precision (Hopper and later). */
  Fp8: "fp8",
  /** 8-bit integer weights. */
  Int8: "int8",
  /** 4-bit integer weights. */
  Int4: "int4",
  /** 4-bit floating point (Blackwell). */
  Fp4: "fp4",
} as const;
export type Precision = (typeof Precision)[keyof typeof Precision];
export const PRECISIONS: readonly Precision[] = Object.values(Precision);

/** GPU generations, the unit in which vLLM's kernel support is documented. */
export const GPU_ARCHITECTURES = ["ampere", "ada", "hopper", "blackwell"] as const;
export type GpuArchitecture = (typeof GPU_ARCHITECTURES)[number];

export const CapacityType = {
  /** On-demand instances, at the price sheet's on-demand price. */
  OnDemand: "on-demand",
  /** Spot instances, which EC2 may reclaim at two minutes' notice. */
  Spot: "spot",
  /** An EC2 Capacity Block: GPUs reserved for fixed dates. */
  CapacityBlock: "capacity-block",
} as const;
export type CapacityType = (typeof CapacityType)[keyof typeof CapacityType];
export const CAPACITY_TYPES: readonly CapacityType[] = Object.values(CapacityType);

export const Objective = {
  /** The lowest USD per hour that meets every target. */
  Cost: "cost",
  /** The lowest USD per million output tokens. */
  Throughput: "throughput",
} as const;
export type Objective = (typeof Objective)[keyof typeof Objective];
export const OBJECTIVES: readonly Objective[] = Object.values(Objective);

export const INSTANCE_TYPES = [
  "g5.xlarge",
  "g5.2xlarge",
  "g5.4xlarge",
  "g5.8xlarge",
  "g5.12xlarge",
  "g5.16xlarge",
  "g5.24xlarge",
  "g5.48xlarge",
  "g6.xlarge",
  "g6.2xlarge",
  "g6.4xlarge",
  "g6.8xlarge",
  "g6.12xlarge",
  "g6.16xlarge",
  "g6.24xlarge",
  "g6.48xlarge",
  "g6e.xlarge",
  "g6e.2xlarge",
  "g6e.4xlarge",
  "g6e.8xlarge",
  "g6e.12xlarge",
  "g6e.16xlarge",
  "g6e.24xlarge",
  "g6e.48xlarge",
  "g7e.2xlarge",
  "g7e.4xlarge",
  "g7e.8xlarge",
  "g7e.12xlarge",
  "g7e.24xlarge",
  "g7e.48xlarge",
  "p4d.24xlarge",
  "p4de.24xlarge",
  "p5.4xlarge",
  "p5.48xlarge",
  "p5e.48xlarge",
  "p5en.48xlarge",
  "p6-b200.48xlarge",
  "p6-b300.48xlarge",
] as const;
export type InstanceType = (typeof INSTANCE_TYPES)[number];

/** The family is the part of the type before the dot: `p5en.48xlarge` is a `p5en`. */
export type InstanceFamily = InstanceType extends `${infer Family}.${string}` ? Family : never;

export function familyOf(type: InstanceType): InstanceFamily {
  return type.slice(0, type.indexOf(".")) as InstanceFamily;
}

export const INSTANCE_FAMILIES: readonly InstanceFamily[] = [...new Set(INSTANCE_TYPES.map(familyOf))];
