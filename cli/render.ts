/** Plain-text rendering helpers: numbers with units, tables, and the memory bar. */
import { HOURS_PER_MONTH, type MemoryBreakdown } from "../sizing";

export const usd = (n: number, digits = 2) =>
  `$${n.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits })}`;
export const gib = (n: number) => `${n.toFixed(1)} GiB`;
export const int = (n: number) => Math.round(n).toLocaleString("en-US");

/** Left-aligned text columns, right-aligned numeric ones. */
export function table(header: readonly string[], rows: readonly (readonly string[])[], numeric: readonly number[] = []): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (numeric.includes(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join("  ")
      .trimEnd();
  return [line(header), ...rows.map(line)];
}

/**
 * One GPU's memory as a bar of `width` characters: W weights, K KV cache,
 * A activations, . free. Each part gets at least one character when it is non-zero.
 */
export function memoryBar(parts: { weights: number; kvCache: number; activations: number; free: number }, width = 60): string {
  const entries: [string, number][] = [
    ["W", parts.weights],
    ["K", Math.max(0, parts.kvCache)],
    ["A", parts.activations],
    [".", parts.free],
  ];
  const total = entries.reduce((s, [, v]) => s + v, 0);
  const cells = entries.map(([ch, v]) => [ch, v > 0 ? Math.max(1, Math.round((v / total) * width)) : 0] as const);
  // Rounding can overshoot or undershoot; the largest part absorbs the difference.
  const drift = width - cells.reduce((s, [, n]) => s + n, 0);
  const largest = cells.reduce((best, c, i) => (c[1] > cells[best]![1] ? i : best), 0);
  return (
    "[" +
    cells.map(([ch, n], i) => ch.repeat(i === largest ? n + drift : n)).join("") +
    "]"
  );
}

/**
 * What the activations share holds, in the terms of vLLM's startup log ("torch peak memory
 * increase", "non-torch forward increase memory", CUDA graphs): the profiling pass's peak at
 * its batch, non-torch memory and the graphs.
 */
export function activationsLine(m: MemoryBreakdown): string {
  const seqs = `${int(m.maxNumBatchedTokens)} batched tokens, ${int(m.maxNumSeqs)} sequences`;
  const graphs = m.enforceEager ? "no CUDA graphs (--enforce-eager)" : `CUDA graphs ${gib(m.reserves.cudaGraphsGiB)}`;
  return `  activations = profile peak ${gib(m.reserves.activationPeakGiB)} (${seqs}) + non-torch ${gib(m.reserves.nonTorchGiB)} + ${graphs}`;
}

/** The KV cache's dtype and the attention backend that holds it. */
export function kvCacheLine(m: MemoryBreakdown): string {
  return `  KV cache in ${m.kvCacheDtype === "fp8" ? "FP8" : "BF16"} (${m.attentionBackend}), ${int(m.kvBytesPerTokenPerGpu)} bytes per token per GPU`;
}

/** What a cost table shows: the items and the totals, per hour. */
export interface CostTable {
  items: readonly { resource: string; what: string; desiredUsdPerHour: number; maxUsdPerHour: number }[];
  usdPerHour: number;
  usdPerMonth: number;
  activeUsdPerHour: number;
  maxUsdPerHour: number;
  maxUsdPerMonth: number;
}

/** The cost table of `plan` and `preview`: each item at desired size and at maximum, the total, and the cost when busy. */
export function costLines(cost: CostTable): string[] {
  const rows = cost.items.map((i) => [
    i.resource,
    i.what,
    usd(i.desiredUsdPerHour, 4),
    usd(i.desiredUsdPerHour * HOURS_PER_MONTH, 0),
    usd(i.maxUsdPerHour, 4),
    usd(i.maxUsdPerHour * HOURS_PER_MONTH, 0),
  ]);
  rows.push(["total", "", usd(cost.usdPerHour, 4), usd(cost.usdPerMonth, 0), usd(cost.maxUsdPerHour, 4), usd(cost.maxUsdPerMonth, 0)]);
  const out = table(["resource", "what", "/hour", "/month", "max /hour", "max /month"], rows, [2, 3, 4, 5]).map((l) => `  ${l}`);
  if (cost.activeUsdPerHour > cost.usdPerHour) {
    out.push(
      `  When busy at the planned load (autoscaled groups at the plan's nodes): ${usd(cost.activeUsdPerHour, 4)}/hour, ` +
        `${usd(cost.activeUsdPerHour * HOURS_PER_MONTH, 0)} for a month of it`,
    );
  }
  return out;
}
