/** The frontier chart behind `llm-fleet size --chart`: plain text, one symbol per candidate. */
import type { CandidateCurve } from "../sizing";

const SYMBOLS = ["@", "a", "b", "c", "d", "e", "f", "g"];

/**
 * Output tokens/s per GPU (up) against tokens/s per user (across), log scales, as InferenceX
 * draws it: up and to the right is better; a point outside the latency targets is drawn in
 * upper case (or `x` for the plan).
 */
export function renderFrontier(curves: readonly CandidateCurve[], width = 64, height = 16): string {
  const points = curves.flatMap((c, i) => c.points.map((p) => ({ ...p, curve: i })));
  if (points.length === 0) return "Frontier: no plan to chart.";
  const xs = points.map((p) => Math.log10(p.tokensPerSecondPerUser));
  const ys = points.map((p) => Math.log10(Math.max(p.outputTokensPerSecondPerGpu, 1e-3)));
  const span = (v: number[]) => {
    const lo = Math.min(...v);
    const hi = Math.max(...v);
    return hi - lo < 1e-9 ? { lo: lo - 0.5, hi: hi + 0.5 } : { lo, hi };
  };
  const x = span(xs);
  const y = span(ys);
  const grid = Array.from({ length: height }, () => Array.from({ length: width }, () => " "));
  // Later curves first, so the chosen plan's symbol wins where two points share a cell.
  for (let k = points.length - 1; k >= 0; k--) {
    const p = points[k]!;
    const col = Math.round(((xs[k]! - x.lo) / (x.hi - x.lo)) * (width - 1));
    const row = height - 1 - Math.round(((ys[k]! - y.lo) / (y.hi - y.lo)) * (height - 1));
    const symbol = SYMBOLS[p.curve % SYMBOLS.length]!;
    grid[row]![col] = p.withinTargets ? symbol : symbol === "@" ? "x" : symbol.toUpperCase();
  }
  const label = (v: number) => {
    const n = 10 ** v;
    return n >= 100 ? Math.round(n).toLocaleString("en-US") : n.toFixed(1);
  };
  const yLabels = [label(y.hi), label((y.hi + y.lo) / 2), label(y.lo)];
  const pad = Math.max(...yLabels.map((l) => l.length));
  const out = ["Frontier: output tokens/s per GPU (up) against tokens/s per user (across), log scales, batch 1 to the KV cache's limit"];
  grid.forEach((row, i) => {
    const tick = i === 0 ? yLabels[0]! : i === Math.floor((height - 1) / 2) ? yLabels[1]! : i === height - 1 ? yLabels[2]! : "";
    out.push(`${tick.padStart(pad)} |${row.join("").trimEnd()}`);
  });
  out.push(`${" ".repeat(pad)} +${"-".repeat(width)}`);
  const left = label(x.lo);
  const right = label(x.hi);
  out.push(`${" ".repeat(pad + 2)}${left}${right.padStart(width - left.length)}`);
  curves.forEach((c, i) => {
    const symbol = SYMBOLS[i % SYMBOLS.length]!;
    const outside = symbol === "@" ? "x" : symbol.toUpperCase();
    out.push(`  ${symbol} ${c.label}${c.chosen ? " (the plan)" : ""}; ${outside}: outside the targets`);
  });
  return out.join("\n");
}
