import { readFileSync } from "node:fs";
import { join } from "node:path";
import { INSTANCE_TYPES, type InstanceType } from "./ids";

/**
 * On-demand Linux USD/hour of every catalog instance type in every region that offers
 * it, read from the committed price sheet (instances.vantage.sh data of 2026-01-21;
 * an instance type missing from a region's rows is not offered there). Replace the CSV
 * and these three constants together to move the catalog to a newer sheet.
 */
export const PRICE_SHEET = {
  asOf: "2026-01-21",
  source: "https://instances.vantage.sh/ (AWS on-demand Linux prices, data of 2026-01-21)",
  file: "aws-gpu-prices-2026-01-21.csv",
} as const;

export type RegionPrices = Readonly<Record<string, number>>;
export type OnDemandPrices = { readonly [type in InstanceType]: RegionPrices };

let cached: OnDemandPrices | undefined;

/** Parses the price sheet once; a malformed row fails loudly with its line number. */
export function onDemandPrices(): OnDemandPrices {
  if (cached) return cached;
  const text = readFileSync(join(__dirname, "data", PRICE_SHEET.file), "utf8");
  cached = parsePriceSheet(text);
  return cached;
}

export function parsePriceSheet(text: string): OnDemandPrices {
  const lines = text.split(/\r?\n/).filter((line) => line.trim() !== "");
  const header = (lines[0] ?? "").split(",");
  const typeCol = header.indexOf("instance_type");
  const regionCol = header.indexOf("region");
  const priceCol = header.indexOf("on_demand_usd_per_hour");
  if (typeCol < 0 || regionCol < 0 || priceCol < 0) {
    throw new Error(`price sheet ${PRICE_SHEET.file}: header must name instance_type, region and on_demand_usd_per_hour`);
  }
  const known = new Set<string>(INSTANCE_TYPES);
  const prices = Object.fromEntries(INSTANCE_TYPES.map((t) => [t, {} as Record<string, number>])) as Record<
    InstanceType,
    Record<string, number>
  >;
  lines.slice(1).forEach((line, i) => {
    const cells = line.split(",");
    const type = cells[typeCol] ?? "";
    const region = cells[regionCol] ?? "";
    const usd = Number(cells[priceCol]);
    const where = `price sheet ${PRICE_SHEET.file} line ${i + 2}`;
    if (!known.has(type)) throw new Error(`${where}: instance type "${type}" is not in the catalog`);
    if (!/^[a-z]{2}(-[a-z]+)+-\d(-[a-z]+-\d)?$/.test(region)) throw new Error(`${where}: "${region}" is not a region code`);
    if (!Number.isFinite(usd) || usd <= 0) throw new Error(`${where}: price "${cells[priceCol]}" is not a positive number`);
    const byRegion = prices[type as InstanceType];
    if (byRegion[region] !== undefined) throw new Error(`${where}: second price for ${type} in ${region}`);
    byRegion[region] = usd;
  });
  return prices;
}
