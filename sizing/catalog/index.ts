import { GPUS } from "./gpus";
import { INSTANCE_TYPES, MODEL_IDS, type InstanceType, type ModelId } from "./ids";
import { INSTANCES } from "./instances";
import { MODELS } from "./models";
import { PRICE_SHEET, onDemandPrices } from "./prices";

export * from "./ids";
export type { Checkpoint, GpuSpec, InstanceSpec, InterconnectKind, InterconnectSpec, ModelSpec } from "./schema";
export { INTERCONNECT_KINDS } from "./schema";
export { ALL_REDUCE_CURVES, EFA_RDMA_READ, EFA_RDMA_READ_SOURCES, INTERCONNECTS, type AllReduceCurve } from "./interconnects";
export { GPUS, INSTANCES, MODELS, PRICE_SHEET, onDemandPrices };
export { FIXED_COSTS } from "./fixed-costs";

/** Bumped whenever a catalog fact changes, so a stored plan can say what it was computed from. */
export const CATALOG_VERSION = "2026.12.2";

export function isInstanceTypeId(input: string): input is InstanceType {
  return (INSTANCE_TYPES as readonly string[]).includes(input);
}

const MODEL_ALIASES: ReadonlyMap<string, ModelId> = new Map(
  MODEL_IDS.flatMap((id) => [
    [id, id],
    [MODELS[id].hubRepo.toLowerCase(), id],
  ]),
);

/** A catalog model id, or the hub repo id of the original release (`deepseek-ai/DeepSeek-R1`). */
export function findModelId(input: string): ModelId | undefined {
  return MODEL_ALIASES.get(input.trim().toLowerCase());
}

let regions: readonly string[] | undefined;

/**
 * Commercial AWS regions: not GovCloud (us-gov-*), which needs its own account, nor a
 * Local Zone (us-east-1-atl-1), which hangs off a parent region.
 */
export function isCommercialRegion(region: string): boolean {
  return !region.startsWith("us-gov-") && /^[a-z]{2}-[a-z]+-\d$/.test(region);
}

/** Every region where at least one catalog instance type is sold (on demand or as a Capacity Block). */
export function knownRegions(): readonly string[] {
  if (regions) return regions;
  const prices = onDemandPrices();
  const all = new Set<string>();
  for (const type of INSTANCE_TYPES) {
    for (const region of Object.keys(prices[type])) all.add(region);
    for (const region of INSTANCES[type].capacityBlockRegions) all.add(region);
  }
  regions = [...all].sort();
  return regions;
}
