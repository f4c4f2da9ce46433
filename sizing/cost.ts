import { FIXED_COSTS, INSTANCES, PRICE_SHEET, onDemandPrices, type CapacityType, type InstanceType } from "./catalog";

/** Hours in a month as AWS's pricing calculator counts them (8760 / 12). */
export const HOURS_PER_MONTH = 730;

/** A negotiated or observed price that replaces the catalog's. */
export interface PriceOverride {
  instanceType: InstanceType;
  /** Region it applies to; every region when omitted. */
  region?: string | undefined;
  /** Capacity type it applies to; every capacity type when omitted. */
  capacityType?: CapacityType | undefined;
  usdPerHour: number;
}

export type PriceBasis = "on-demand" | "spot-ceiling" | "override";

export interface PriceQuote {
  usdPerHourPerNode: number;
  basis: PriceBasis;
  /** Date of the price: the sheet's date, or "override". */
  asOf: string;
  source: string;
}

/** Why an instance type cannot be bought here; null when it can. */
export function offeringProblem(instanceType: InstanceType, region: string, capacityType: CapacityType): string | null {
  const spec = INSTANCES[instanceType];
  if (!spec.capacityTypes.includes(capacityType)) {
    return `${instanceType} is not sold as ${capacityType} (offered: ${spec.capacityTypes.join(", ")})`;
  }
  if (capacityType === "capacity-block") {
    return spec.capacityBlockRegions.includes(region)
      ? null
      : `${instanceType} Capacity Blocks are not sold in ${region} (regions: ${spec.capacityBlockRegions.join(", ")})`;
  }
  // Spot is sold where on-demand is: both come from the same regional pools.
  const regions = Object.keys(onDemandPrices()[instanceType]);
  if (regions.includes(region)) return null;
  const where = regions.length <= 3 ? `only in ${regions.join(", ")}` : `in ${regions.length} regions`;
  return `${instanceType} is not offered in ${region} (sold ${where})`;
}

function findOverride(
  overrides: readonly PriceOverride[],
  instanceType: InstanceType,
  region: string,
  capacityType: CapacityType,
): PriceOverride | undefined {
  // The most specific override wins: region and capacity type both named beats either alone.
  const matching = overrides.filter(
    (o) =>
      o.instanceType === instanceType &&
      (o.region === undefined || o.region === region) &&
      (o.capacityType === undefined || o.capacityType === capacityType),
  );
  const specificity = (o: PriceOverride) => (o.region ? 2 : 0) + (o.capacityType ? 1 : 0);
  return matching.sort((a, b) => specificity(b) - specificity(a))[0];
}

/**
 * The hourly price of one node, or a reason when none is known. Spot is priced at the
 * on-demand rate, the most a Spot instance can cost
 * (https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/using-spot-instances.html);
 * Capacity Blocks are priced per block, so they need an override.
 */
export function priceQuote(
  instanceType: InstanceType,
  region: string,
  capacityType: CapacityType,
  overrides: readonly PriceOverride[] = [],
): PriceQuote | { problem: string } {
  const override = findOverride(overrides, instanceType, region, capacityType);
  if (override) {
    return { usdPerHourPerNode: override.usdPerHour, basis: "override", asOf: "override", source: "caller's price override" };
  }
  const onDemand = onDemandPrices()[instanceType][region];
  switch (capacityType) {
    case "capacity-block":
      return {
        problem: `Capacity Block prices are set per block and are not in the catalog; pass a price override for ${instanceType} in ${region}`,
      };
    case "spot":
    case "on-demand":
      if (onDemand === undefined) return { problem: `no ${PRICE_SHEET.asOf} price for ${instanceType} in ${region}` };
      return {
        usdPerHourPerNode: onDemand,
        basis: capacityType === "spot" ? "spot-ceiling" : "on-demand",
        asOf: PRICE_SHEET.asOf,
        source: PRICE_SHEET.source,
      };
    default: {
      const unreachable: never = capacityType;
      throw new Error(`unknown capacity type ${String(unreachable)}`);
    }
  }
}

/** USD per hour of one gp3 volume of `sizeGiB`, with the throughput and IOPS it is given. */
export function gp3UsdPerHour(sizeGiB: number, throughputMiBps = 0, iops = 0): number {
  const p = FIXED_COSTS.ebsGp3;
  const perMonth =
    sizeGiB * p.usdPerGbMonth +
    Math.max(0, throughputMiBps - p.includedMibps) * p.usdPerMibpsMonth +
    Math.max(0, iops - p.includedIops) * p.usdPerIopsMonth;
  return perMonth / HOURS_PER_MONTH;
}

/** USD per hour of a Network Load Balancer: internet-facing ones also hold a public IPv4 address per zone. */
export function nlbUsdPerHour(internal: boolean, zones: number): number {
  return FIXED_COSTS.nlbUsdPerHour + (internal ? 0 : zones * FIXED_COSTS.publicIpv4UsdPerHour);
}
