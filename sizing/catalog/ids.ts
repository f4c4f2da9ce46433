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

/** Precision names as the user writes them (`--precision`). */
export const PRECISIONS = ["bf16", "fp8", "int8", "int4", "fp4"] as const;
export type Precision = (typeof PRECISIONS)[number];

/** GPU generations, the unit in which vLLM's kernel support is documented. */
export const GPU_ARCHITECTURES = ["ampere", "ada", "hopper", "blackwell"] as const;
export type GpuArchitecture = (typeof GPU_ARCHITECTURES)[number];

export const CAPACITY_TYPES = ["on-demand", "spot", "capacity-block"] as const;
export type CapacityType = (typeof CAPACITY_TYPES)[number];

export const OBJECTIVES = ["cost", "throughput"] as const;
export type Objective = (typeof OBJECTIVES)[number];

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
