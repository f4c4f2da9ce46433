/**
 * `llm-fleet plan --diff`: two offline plans of one stack, compared as a reviewer reads a pull
 * request. Pure functions over two PlanDocuments; the command runs both sides through the same
 * program.
 */
import { HOURS_PER_MONTH } from "../sizing";
import type { Violation } from "../policy/run";
import type { RecordedResource } from "./offline";
import type { PlanDocument } from "./plan";
import { int, usd } from "./render";

/** One figure of a deployment's plan that differs, in the form the output prints. */
export interface FieldChange {
  field: string;
  before: string;
  after: string;
}

export interface DeploymentChange {
  name: string;
  change: "added" | "removed" | "changed";
  /** For `changed`: the plan's figures that differ, in a fixed order. */
  fields: FieldChange[];
}

export interface ResourceChange {
  type: string;
  name: string;
  /** Input paths that differ (`spec.replicas`); never their values, which may be secret. */
  paths: string[];
}

/** One cost item of a resource on each side; an item on one side only has null on the other. */
export interface CostLine {
  resource: string;
  before: { what: string; usdPerHour: number; activeUsdPerHour: number; maxUsdPerHour: number } | null;
  after: { what: string; usdPerHour: number; activeUsdPerHour: number; maxUsdPerHour: number } | null;
}

export interface PlanDiff {
  base: PlanDocument;
  head: PlanDocument;
  delta: {
    usdPerHour: number;
    usdPerMonth: number;
    /** At the planned load, where autoscaled groups run when busy (what the budget is checked at). */
    activeUsdPerMonth: number;
    maxUsdPerMonth: number;
    deployments: DeploymentChange[];
    resources: { added: { type: string; name: string }[]; removed: { type: string; name: string }[]; changed: ResourceChange[] };
    policy: { newViolations: Violation[]; resolvedViolations: Violation[] };
  };
  /** Per cost item, before and after; items on one side only have zeros on the other. */
  cost: CostLine[];
}

type Plan = PlanDocument["deployments"][number]["plan"];

/** The plan figures a reviewer weighs, in the order they are shown. */
const PLAN_FIELDS: { field: string; of: (p: Plan) => string }[] = [
  { field: "model", of: (p) => p.modelName },
  { field: "checkpoint", of: (p) => `${p.checkpoint.repo} (${p.checkpoint.precision})` },
  { field: "instance type", of: (p) => p.instanceType },
  { field: "nodes", of: (p) => String(p.nodes) },
  { field: "layout", of: (p) => `TP ${p.tensorParallelSize} x PP ${p.pipelineParallelSize}${p.dataParallelSize > 1 ? ` x DP ${p.dataParallelSize}` : ""}` },
  { field: "replicas", of: (p) => String(p.replicas) },
  { field: "capacity", of: (p) => `${p.capacityType} in ${p.region}` },
  { field: "max_model_len", of: (p) => int(p.maxModelLen) },
  { field: "TPOT", of: (p) => `${p.performance.tpotMs.toFixed(1)} ms [${p.performance.confidence}]` },
  { field: "$/Mtok", of: (p) => `${usd(p.performance.usdPerMillionOutputTokens)} [${p.performance.confidence}]` },
  { field: "$/hour", of: (p) => usd(p.usdPerHour) },
];

const key = (r: { type: string; name: string }) => `${r.type} ${r.name}`;
// A violation is the same one before and after when only its amounts moved (a budget overshoot that grew).
const violationKey = (v: Violation) => `${v.policy}\u0000${v.resource ?? ""}\u0000${v.message.replace(/[$\d.,]+/g, "#")}`;

/** Leaf paths where two input trees differ, sorted. */
export function changedPaths(before: unknown, after: unknown, prefix = ""): string[] {
  if (JSON.stringify(before) === JSON.stringify(after)) return [];
  const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null;
  if (!isObject(before) || !isObject(after) || Array.isArray(before) !== Array.isArray(after)) return [prefix || "(value)"];
  const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
  return keys.flatMap((k) => changedPaths(before[k], after[k], prefix ? `${prefix}.${k}` : k));
}

export function diffPlans(base: PlanDocument, head: PlanDocument): PlanDiff {
  const deployments: DeploymentChange[] = [];
  const baseDeployments = new Map(base.deployments.map((d) => [d.name, d]));
  const headDeployments = new Map(head.deployments.map((d) => [d.name, d]));
  for (const name of [...new Set([...baseDeployments.keys(), ...headDeployments.keys()])].sort()) {
    const b = baseDeployments.get(name);
    const h = headDeployments.get(name);
    if (!b) deployments.push({ name, change: "added", fields: PLAN_FIELDS.map((f) => ({ field: f.field, before: "", after: f.of(h!.plan) })) });
    else if (!h) deployments.push({ name, change: "removed", fields: PLAN_FIELDS.map((f) => ({ field: f.field, before: f.of(b.plan), after: "" })) });
    else {
      const fields = PLAN_FIELDS.map((f) => ({ field: f.field, before: f.of(b.plan), after: f.of(h.plan) })).filter((f) => f.before !== f.after);
      if (fields.length > 0) deployments.push({ name, change: "changed", fields });
    }
  }

  const baseResources = new Map(base.resources.map((r) => [key(r), r]));
  const headResources = new Map(head.resources.map((r) => [key(r), r]));
  const byKey = (a: { type: string; name: string }, b: { type: string; name: string }) => a.type.localeCompare(b.type) || a.name.localeCompare(b.name);
  const pick = (r: RecordedResource) => ({ type: r.type, name: r.name });
  const added = head.resources.filter((r) => !baseResources.has(key(r))).map(pick).sort(byKey);
  const removed = base.resources.filter((r) => !headResources.has(key(r))).map(pick).sort(byKey);
  const changed = head.resources
    .filter((r) => baseResources.has(key(r)))
    .map((r) => ({ type: r.type, name: r.name, paths: changedPaths(baseResources.get(key(r))!.inputs, r.inputs) }))
    .filter((r) => r.paths.length > 0)
    .sort(byKey);

  const baseViolations = new Set(base.policy.violations.map(violationKey));
  const headViolations = new Set(head.policy.violations.map(violationKey));
  // Mandatory breaches first: they are what fails the check.
  const severity = (a: Violation, b: Violation) => (a.level === b.level ? 0 : a.level === "mandatory" ? -1 : 1);
  const newViolations = head.policy.violations.filter((v) => !baseViolations.has(violationKey(v))).sort(severity);
  const resolvedViolations = base.policy.violations.filter((v) => !headViolations.has(violationKey(v))).sort(severity);

  // Items are matched by resource and position: a node group's item stays one line when its instance type changes.
  const cost: CostLine[] = [];
  const itemsOf = (doc: PlanDocument) => {
    const seen = new Map<string, number>();
    return new Map(
      doc.cost.items.map((i) => {
        const n = seen.get(i.resource) ?? 0;
        seen.set(i.resource, n + 1);
        return [`${i.resource}\u0000${n}`, { what: i.what, usdPerHour: i.desiredUsdPerHour, activeUsdPerHour: i.activeUsdPerHour, maxUsdPerHour: i.maxUsdPerHour, resource: i.resource }];
      }),
    );
  };
  const baseItems = itemsOf(base);
  const headItems = itemsOf(head);
  for (const k of [...new Set([...baseItems.keys(), ...headItems.keys()])].sort()) {
    const b = baseItems.get(k);
    const h = headItems.get(k);
    const side = (i: typeof b) => (i ? { what: i.what, usdPerHour: i.usdPerHour, activeUsdPerHour: i.activeUsdPerHour, maxUsdPerHour: i.maxUsdPerHour } : null);
    cost.push({ resource: (h ?? b)!.resource, before: side(b), after: side(h) });
  }

  return {
    base,
    head,
    delta: {
      usdPerHour: head.cost.usdPerHour - base.cost.usdPerHour,
      usdPerMonth: head.cost.usdPerMonth - base.cost.usdPerMonth,
      activeUsdPerMonth: (head.cost.activeUsdPerHour - base.cost.activeUsdPerHour) * HOURS_PER_MONTH,
      maxUsdPerMonth: head.cost.maxUsdPerMonth - base.cost.maxUsdPerMonth,
      deployments,
      resources: { added, removed, changed },
      policy: { newViolations, resolvedViolations },
    },
    cost,
  };
}

/** A signed dollar amount: +$1,234 or -$56. */
export function signedUsd(n: number, digits = 0): string {
  const rounded = Number(n.toFixed(digits));
  if (rounded === 0) return usd(0, digits);
  return `${rounded > 0 ? "+" : "-"}${usd(Math.abs(rounded), digits)}`;
}

const NONE = { what: "", usdPerHour: 0, activeUsdPerHour: 0, maxUsdPerHour: 0 };

/** Cost items whose price or description moved, in resource order. */
function changedCosts(diff: PlanDiff): CostLine[] {
  return diff.cost.filter(
    (c) =>
      c.before?.what !== c.after?.what ||
      c.before?.usdPerHour !== c.after?.usdPerHour ||
      c.before?.activeUsdPerHour !== c.after?.activeUsdPerHour ||
      c.before?.maxUsdPerHour !== c.after?.maxUsdPerHour,
  );
}

function describe(c: CostLine): string {
  if (!c.before) return `(new) ${c.after!.what}`;
  if (!c.after) return `(removed) ${c.before.what}`;
  return c.before.what === c.after.what ? c.after.what : `${c.before.what} -> ${c.after.what}`;
}

function verdict(diff: PlanDiff): string {
  const h = diff.head;
  const failed = h.policy.violations.filter((v) => v.level === "mandatory");
  const active = (d: PlanDocument) => d.cost.activeUsdPerHour * HOURS_PER_MONTH;
  const cost =
    `${signedUsd(diff.delta.activeUsdPerMonth)}/month at the planned load (${usd(active(diff.base), 0)} -> ${usd(active(h), 0)}), ` +
    `${signedUsd(diff.delta.usdPerMonth)} at desired size, ${signedUsd(diff.delta.maxUsdPerMonth)} at maximum`;
  const policy = h.policy.passed
    ? "policies passed"
    : `policy FAILED: ${[...new Set(failed.map((v) => v.policy))].join(", ")}`;
  return `${cost}; ${policy}`;
}

export function renderDiff(diff: PlanDiff): string {
  const { base, head, delta } = diff;
  const out = [`Stack ${head.stack}: ${verdict(diff)}`, ""];
  out.push("Deployments:");
  if (delta.deployments.length === 0) out.push("  no change to any plan");
  for (const d of delta.deployments) {
    out.push(`  ${d.name} (${d.change})`);
    for (const f of d.fields) {
      out.push(d.change === "changed" ? `    ${f.field}: ${f.before} -> ${f.after}` : `    ${f.field}: ${d.change === "added" ? f.after : f.before}`);
    }
  }
  out.push("", `Resources: ${delta.resources.added.length} to add, ${delta.resources.removed.length} to remove, ${delta.resources.changed.length} to change`);
  for (const r of delta.resources.added) out.push(`  + ${r.type}  ${r.name}`);
  for (const r of delta.resources.removed) out.push(`  - ${r.type}  ${r.name}`);
  for (const r of delta.resources.changed) out.push(`  ~ ${r.type}  ${r.name}: ${r.paths.join(", ")}`);
  out.push("", "Cost (USD), before -> after:");
  for (const c of changedCosts(diff)) {
    const b = c.before ?? NONE;
    const a = c.after ?? NONE;
    out.push(
      `  ${c.resource}: ${describe(c)}: ${usd(b.usdPerHour, 4)} -> ${usd(a.usdPerHour, 4)}/hour (${signedUsd((a.usdPerHour - b.usdPerHour) * HOURS_PER_MONTH)}/month), ` +
        `at the planned load ${usd(b.activeUsdPerHour, 4)} -> ${usd(a.activeUsdPerHour, 4)}/hour, max ${usd(b.maxUsdPerHour, 4)} -> ${usd(a.maxUsdPerHour, 4)}/hour`,
    );
  }
  out.push(
    `  total: ${usd(base.cost.usdPerHour, 4)} -> ${usd(head.cost.usdPerHour, 4)}/hour (${signedUsd(delta.usdPerHour, 4)}), ` +
      `${usd(base.cost.usdPerMonth, 0)} -> ${usd(head.cost.usdPerMonth, 0)}/month (${signedUsd(delta.usdPerMonth)}); ` +
      `at the planned load ${usd(base.cost.activeUsdPerHour * HOURS_PER_MONTH, 0)} -> ${usd(head.cost.activeUsdPerHour * HOURS_PER_MONTH, 0)}/month (${signedUsd(delta.activeUsdPerMonth)}); ` +
      `at maximum ${usd(base.cost.maxUsdPerMonth, 0)} -> ${usd(head.cost.maxUsdPerMonth, 0)}/month (${signedUsd(delta.maxUsdPerMonth)})`,
  );
  out.push("", `Policies: ${base.policy.passed ? "passed" : "FAILED"} -> ${head.policy.passed ? "passed" : "FAILED"}`);
  for (const v of delta.policy.newViolations) out.push(`  new [${v.level}] ${v.policy}: ${v.message}`);
  for (const v of delta.policy.resolvedViolations) out.push(`  resolved [${v.level}] ${v.policy}: ${v.message}`);
  return out.join("\n") + "\n";
}

/** GitHub's limit on one issue or pull-request comment. */
export const GITHUB_COMMENT_LIMIT = 65_536;
/** Left free by default for the marker line a CI job puts above the comment to find it again. */
export const COMMENT_MARKER_RESERVE = 100;

const cell = (text: string) => text.replace(/\|/g, "\\|");

/** A Markdown table. */
function mdTable(header: readonly string[], rows: readonly (readonly string[])[]): string[] {
  return [`| ${header.join(" | ")} |`, `|${header.map(() => "---").join("|")}|`, ...rows.map((r) => `| ${r.map(cell).join(" | ")} |`)];
}

/**
 * The parts of a comment: what must survive (verdict, deployments, cost) and the collapsed
 * details, which are cut first when the comment would pass GitHub's limit.
 */
function fitComment(head: string[], details: string[], limit: number): string {
  const text = (d: string[]) => [...head, ...(d.length > 0 ? ["", "<details><summary>Resources</summary>", "", ...d, "", "</details>"] : [])].join("\n") + "\n";
  let full = text(details);
  if (full.length <= limit) return full;
  const note = "... cut to stay under GitHub's comment limit; run llm-fleet plan --diff for the rest";
  let kept = details.length;
  while (kept > 0) {
    kept = Math.floor(kept / 2);
    full = text([...details.slice(0, kept), note]);
    if (full.length <= limit) {
      // Grow back line by line while it still fits.
      while (kept < details.length && text([...details.slice(0, kept + 1), note]).length <= limit) kept++;
      return text([...details.slice(0, kept), note]);
    }
  }
  // The tables alone pass the limit (many deployments): keep the verdict and as many lines as fit.
  const bare = text([note]);
  if (bare.length <= limit) return bare;
  const verdictLine = head[0] ?? "";
  let lines = head.length;
  while (lines > 1 && [...head.slice(0, lines), "", note].join("\n").length + 1 > limit) lines = Math.floor(lines / 2);
  return [verdictLine, ...head.slice(1, Math.max(1, lines)), "", note].join("\n") + "\n";
}

export function renderDiffMarkdown(diff: PlanDiff, limit = GITHUB_COMMENT_LIMIT - COMMENT_MARKER_RESERVE): string {
  const { base, head, delta } = diff;
  const lines = [`**llm-fleet plan \`${head.stack}\`**: ${verdict(diff)}`, ""];
  if (delta.deployments.length === 0) lines.push("No change to any deployment's plan.");
  for (const d of delta.deployments) {
    lines.push(`#### \`${d.name}\` (${d.change})`, "");
    lines.push(...mdTable(["", "before", "after"], d.fields.map((f) => [f.field, f.before || "-", f.after || "-"])), "");
  }
  const money = changedCosts(diff).map((c) => {
    const b = c.before ?? NONE;
    const a = c.after ?? NONE;
    return [
      `${c.resource}: ${describe(c)}`,
      usd(b.activeUsdPerHour * HOURS_PER_MONTH, 0),
      usd(a.activeUsdPerHour * HOURS_PER_MONTH, 0),
      signedUsd((a.activeUsdPerHour - b.activeUsdPerHour) * HOURS_PER_MONTH),
      signedUsd((a.usdPerHour - b.usdPerHour) * HOURS_PER_MONTH),
      signedUsd((a.maxUsdPerHour - b.maxUsdPerHour) * HOURS_PER_MONTH),
    ];
  });
  money.push([
    "**total**",
    usd(base.cost.activeUsdPerHour * HOURS_PER_MONTH, 0),
    usd(head.cost.activeUsdPerHour * HOURS_PER_MONTH, 0),
    signedUsd(delta.activeUsdPerMonth),
    signedUsd(delta.usdPerMonth),
    signedUsd(delta.maxUsdPerMonth),
  ]);
  lines.push(`Cost per month (prices of ${head.cost.pricesAsOf}) at the planned load, with the deltas at desired size and at maximum:`, "");
  lines.push(...mdTable(["item", "before", "after", "delta", "delta at desired", "delta at max"], money), "");
  lines.push(`Policies: ${base.policy.passed ? "passed" : "FAILED"} -> ${head.policy.passed ? "passed" : "FAILED"} (${head.policy.configFile})`);
  for (const v of delta.policy.newViolations) lines.push(`- new **[${v.level}] ${v.policy}**: ${v.message}`);
  for (const v of delta.policy.resolvedViolations) lines.push(`- resolved [${v.level}] ${v.policy}: ${v.message}`);
  const details = [
    `${delta.resources.added.length} to add, ${delta.resources.removed.length} to remove, ${delta.resources.changed.length} to change.`,
    "",
    ...delta.resources.added.map((r) => `- \`+\` ${r.type} \`${r.name}\``),
    ...delta.resources.removed.map((r) => `- \`-\` ${r.type} \`${r.name}\``),
    ...delta.resources.changed.map((r) => `- \`~\` ${r.type} \`${r.name}\`: ${r.paths.map((p) => `\`${p}\``).join(", ")}`),
  ];
  return fitComment(lines, details, limit);
}

/** One plan as a pull-request comment: the same shape as a diff's, without a base. */
export function renderPlanMarkdown(doc: PlanDocument, limit = GITHUB_COMMENT_LIMIT - COMMENT_MARKER_RESERVE): string {
  const failed = doc.policy.violations.filter((v) => v.level === "mandatory");
  const verdictLine =
    `**llm-fleet plan \`${doc.stack}\`**: ${usd(doc.cost.activeUsdPerHour * HOURS_PER_MONTH, 0)}/month at the planned load, ` +
    `${usd(doc.cost.usdPerMonth, 0)} at desired size, ${usd(doc.cost.maxUsdPerMonth, 0)} at maximum; ` +
    (doc.policy.passed ? "policies passed" : `policy FAILED: ${[...new Set(failed.map((v) => v.policy))].join(", ")}`);
  const lines = [verdictLine, ""];
  lines.push(
    ...mdTable(
      ["deployment", "model", "checkpoint", "nodes", "layout", "replicas", "TPOT", "$/Mtok", "$/hour"],
      doc.deployments.map(({ name, plan: p }) => [
        `\`${name}\``,
        p.modelName,
        `${p.checkpoint.repo} (${p.checkpoint.precision})`,
        `${p.nodes} x ${p.instanceType}`,
        `TP ${p.tensorParallelSize} x PP ${p.pipelineParallelSize}${p.dataParallelSize > 1 ? ` x DP ${p.dataParallelSize}` : ""}`,
        String(p.replicas),
        `${p.performance.tpotMs.toFixed(1)} ms [${p.performance.confidence}]`,
        `${usd(p.performance.usdPerMillionOutputTokens)} [${p.performance.confidence}]`,
        usd(p.usdPerHour),
      ]),
    ),
    "",
  );
  const items = [...doc.cost.items].sort((a, b) => a.resource.localeCompare(b.resource) || a.what.localeCompare(b.what));
  lines.push(`Cost per month (prices of ${doc.cost.pricesAsOf}):`, "");
  lines.push(
    ...mdTable(
      ["item", "planned load", "desired", "max"],
      [
        ...items.map((i) => [
          `${i.resource}: ${i.what}`,
          usd(i.activeUsdPerHour * HOURS_PER_MONTH, 0),
          usd(i.desiredUsdPerHour * HOURS_PER_MONTH, 0),
          usd(i.maxUsdPerHour * HOURS_PER_MONTH, 0),
        ]),
        ["**total**", usd(doc.cost.activeUsdPerHour * HOURS_PER_MONTH, 0), usd(doc.cost.usdPerMonth, 0), usd(doc.cost.maxUsdPerMonth, 0)],
      ],
    ),
    "",
  );
  lines.push(`Policies: ${doc.policy.passed ? "passed" : "FAILED"} (${doc.policy.configFile})`);
  for (const v of [...doc.policy.violations].sort((a, b) => (a.level === b.level ? 0 : a.level === "mandatory" ? -1 : 1))) {
    lines.push(`- **[${v.level}] ${v.policy}**: ${v.message}`);
  }
  const details = [...doc.resources]
    .sort((a, b) => a.type.localeCompare(b.type) || a.name.localeCompare(b.name))
    .map((r) => `- ${r.type} \`${r.name}\``);
  return fitComment(lines, details, limit);
}
