import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join, relative, resolve } from "node:path";
import YAML from "yaml";
import { CHARTS, CHART_IDS } from "../charts";
import { InputError, PRICE_SHEET } from "../sizing";
import { ENVIRONMENTS } from "../stacks/config";
import { parsePolicyConfig, type PolicyConfig } from "../policy/config";
import { POLICIES } from "../policy/policies";
import { runPolicies, type Violation } from "../policy/run";
import type { StackPlan } from "../stacks/plan";
import { runProgram, stackPlanFromConfig } from "../stacks/program";
import { UsageError, helpText, parseFlags, type FlagSpecs } from "./args";
import { diffPlans, renderDiff, renderDiffMarkdown, renderPlanMarkdown } from "./diff";
import { readStackFile, resolveOutputs, runOffline, type RecordedResource } from "./offline";
import { costLines, int, usd, type CostTable } from "./render";
import type { CommandOutput } from "./size";

export const PLAN_FLAGS = {
  stack: { type: "string", value: ENVIRONMENTS.join("|"), help: "stack to preview, from stacks/Pulumi.<stack>.yaml (default dev)" },
  config: { type: "string", value: "stack-file.yaml", help: "a stack file of your own instead" },
  json: { type: "boolean", help: "print { stack, deployments, resources, cost, operations, policy, outputs } as JSON; with --diff, { base, head, delta }" },
  diff: {
    type: "string",
    value: "base",
    help: "compare with a base: another stack file of the same stack, or git:<ref> for this stack file at a git ref (git:origin/main)",
  },
  format: { type: "string", value: "text|markdown", help: "markdown: a summary made for a pull-request comment (default text)" },
  out: { type: "string", value: "dir", help: "write each deployment's Kubernetes objects as YAML into dir" },
  help: { type: "boolean", short: "h", help: "show this help" },
} as const satisfies FlagSpecs;

export const PLAN_USAGE = [
  "Usage: llm-fleet plan [options]",
  "",
  "Runs the Pulumi program of a stack offline, under Pulumi's mocks: no CLI, no credentials.",
  "Prints each deployment's plan, the resources, their cost and the budget verdict.",
  "With --diff, what the change does: plans, resources, cost and policy, before and after.",
  "Exit codes: 0 passed, 1 bad config or base, 2 nothing fits, 3 a mandatory policy (the budget among them) fails, 4 internal error;",
  "with --diff they are the head's.",
].join("\n");

const STACKS_DIR = join(__dirname, "..", "stacks");

export interface PlanDocument {
  stack: string;
  deployments: {
    name: string;
    plan: StackPlan["deployments"][number]["spec"]["plan"];
    scaling: StackPlan["deployments"][number]["spec"]["scaling"];
    /** The on-demand group behind a Spot group, when there is one. */
    onDemandFallback: string | null;
  }[];
  resources: RecordedResource[];
  /** The totals and items `costLines` shows; `activeUsdPerHour` is the planned load, where autoscaled groups run when busy. */
  cost: Omit<CostTable, "items"> & { pricesAsOf: string; items: StackPlan["cost"]["items"] };
  operations: StackPlan["operations"];
  /** The verdict with the pack config `pulumi preview --policy-pack-config` gets for this environment. */
  policy: { passed: boolean; violations: Violation[]; configFile: string };
  outputs: unknown;
}

/** Runs the program of a stack file offline and gathers what the command shows. */
const POLICY_DIR = join(__dirname, "..", "policy");

/**
 * The policy config of an environment exactly as `pulumi preview --policy-pack policy
 * --policy-pack-config policy/config.<env>.json` gives it to the pack, so that a stack gets
 * one verdict: the platform team's budget in that file, not the stack's own, decides. Only
 * what the file leaves out is filled in from the stack (its region, its price overrides),
 * because the pack would otherwise price the stack as us-east-1 list prices.
 */
export function policyConfigFor(plan: StackPlan, file = policyConfigFile(plan.environment)): PolicyConfig {
  const prices = plan.priceOverrides;
  const raw = existsSync(file) ? (JSON.parse(readFileSync(file, "utf8")) as unknown) : {};
  const parsed = parsePolicyConfig(raw);
  if ("problems" in parsed) throw new InputError(`policy config ${file}`, parsed.problems);
  const budget = parsed.config["monthly-budget"];
  if (budget === undefined || typeof budget === "string") return parsed.config;
  return {
    ...parsed.config,
    "monthly-budget": { environment: plan.environment, region: plan.region, ...(prices.length > 0 ? { priceOverrides: prices } : {}), ...budget },
  };
}

/** policy/config.<env>.json under a checkout: what the README's `pulumi preview` and `pulumi up` pass the pack. */
export function policyConfigFile(environment: string, root = join(POLICY_DIR, "..")): string {
  return join(root, "policy", `config.${environment}.json`);
}

export async function previewStack(stack: string, file: string, policyFile?: string): Promise<PlanDocument> {
  const { config, secretKeys } = readStackFile(file);
  let plan: StackPlan | undefined;
  const run = await runOffline(stack, config, secretKeys, () => {
    plan = stackPlanFromConfig();
    return runProgram();
  });
  const p = plan!;
  const resources = run.resources.map((r) => ({ ...r, inputs: redact(r.inputs) as Record<string, unknown> }));
  const configFile = policyFile ?? policyConfigFile(p.environment);
  const violations = runPolicies(resources, policyConfigFor(p, configFile));
  return {
    stack,
    deployments: p.deployments.map((d) => ({ name: d.name, plan: d.spec.plan, scaling: d.spec.scaling, onDemandFallback: d.spec.fallback?.name ?? null })),
    resources,
    cost: {
      usdPerHour: p.cost.desiredUsdPerHour,
      usdPerMonth: p.cost.desiredUsdPerMonth,
      activeUsdPerHour: p.cost.activeUsdPerHour,
      maxUsdPerHour: p.cost.maxUsdPerHour,
      maxUsdPerMonth: p.cost.maxUsdPerMonth,
      pricesAsOf: PRICE_SHEET.asOf,
      items: p.cost.items,
    },
    operations: p.operations,
    policy: { passed: violations.every((v) => v.level !== "mandatory"), violations, configFile: relative(process.cwd(), configFile) || configFile },
    outputs: await resolveOutputs(run.outputs),
  };
}

function renderTree(resources: readonly RecordedResource[]): string[] {
  const children = new Map<string | null, RecordedResource[]>();
  for (const r of resources) children.set(r.parent, [...(children.get(r.parent) ?? []), r]);
  // Registration order depends on when inputs resolve; sorted, the tree reads the same every run.
  for (const list of children.values()) list.sort((a, b) => a.type.localeCompare(b.type) || a.name.localeCompare(b.name));
  const lines: string[] = [];
  const walk = (parent: string | null, depth: number) => {
    for (const r of children.get(parent) ?? []) {
      lines.push(`${"  ".repeat(depth + 1)}${r.type}  ${r.name}`);
      if (r.type.startsWith("llm-fleet:")) walk(r.name, depth + 1);
    }
  };
  walk(null, 0);
  return lines;
}

export function renderPlan(doc: PlanDocument, budgetMessage: string): string {
  const out: string[] = [`Stack ${doc.stack} · prices of ${doc.cost.pricesAsOf} · offline preview under Pulumi mocks`, ""];
  for (const { name, plan: p, scaling, onDemandFallback } of doc.deployments) {
    out.push(
      `${name}: ${p.modelName}, ${p.nodes} x ${p.instanceType} (${p.gpusPerNode} x ${p.gpu}), ${p.checkpoint.repo} (${p.checkpoint.precision}), ` +
        `TP ${p.tensorParallelSize} x PP ${p.pipelineParallelSize}${p.dataParallelSize > 1 ? ` x DP ${p.dataParallelSize}` : ""}, ${p.replicas} replica(s)`,
    );
    out.push(
      `  max_model_len ${int(p.maxModelLen)}, ${p.maxConcurrentSequences} concurrent sequence(s) per replica, ${p.capacityType} in ${p.region}, ${usd(p.usdPerHour)}/hour`,
    );
    const f = p.performance;
    out.push(
      `  predicted at ${f.sequencesPerReplica} sequence(s) per replica (mean ${int(p.promptTokens)}/${int(p.outputTokens)} tokens): ` +
        `TPOT ${f.tpotMs.toFixed(1)} ms, TTFT ${Math.round(f.ttftMs)} ms${f.ttftConfidence === f.confidence ? "" : ` [TTFT ${f.ttftConfidence}]`}, ` +
        `${int(f.outputTokensPerSecond)} output tokens/s, ${usd(f.usdPerMillionOutputTokens)} per million output tokens [${f.confidence}]`,
    );
    // Which figures the stack's own benchmark scaled (llm-fleet:calibration), and by how much.
    if (f.measuredBecause) out.push(`  ${f.measuredBecause}`);
    out.push(...scalingLines(scaling, onDemandFallback));
  }
  out.push(`  monitoring: ${doc.operations.monitoring ? "on (kube-prometheus-stack, DCGM exporter, alert rules and a dashboard per deployment)" : "off"}`);
  out.push("", `Resources (${doc.resources.length}):`, ...renderTree(doc.resources), "");
  out.push(...addonLines(doc.resources));
  out.push("Cost (USD):");
  out.push(...costLines(doc.cost));
  out.push("", `Budget: ${budgetMessage}`);
  out.push(
    `Policies (${POLICIES.length}, config ${doc.policy.configFile}): ${doc.policy.passed ? "passed" : "FAILED"}${doc.policy.violations.length === 0 ? "" : ":"}`,
  );
  for (const v of doc.policy.violations) out.push(`  [${v.level}] ${v.policy}: ${v.message}`);
  return out.join("\n") + "\n";
}

/** The charts the stack installs: version, what each does, where it runs (and so what it costs). */
function addonLines(resources: readonly RecordedResource[]): string[] {
  const releases = resources.filter((r) => r.type === "kubernetes:helm.sh/v3:Release").map((r) => r.inputs.name as string);
  const ids = CHART_IDS.filter((id) => releases.includes(id));
  if (ids.length === 0) return [];
  return [
    "Add-ons (pinned Helm charts):",
    ...ids.map((id) => `  ${id} ${CHARTS[id].version}: ${CHARTS[id].purpose}; runs ${CHARTS[id].runsOn}`),
    "",
  ];
}

const minutes = (seconds: number) => `${(seconds / 60).toFixed(seconds < 600 ? 1 : 0)} min`;

/** How a deployment's replicas follow the load, with the cold start a request at zero waits for. */
export function scalingLines(scaling: PlanDocument["deployments"][number]["scaling"], onDemandFallback: string | null = null): string[] {
  if (scaling.mode === "fixed") return [`  replicas: fixed (${scaling.reason})`];
  const on = [scaling.triggers.prometheus ? "vLLM's running + waiting requests and KV-cache usage" : "", scaling.triggers.requests ? "requests held at the interceptor" : ""]
    .filter(Boolean)
    .join(", ");
  const lines = [
    `  autoscaling: ${scaling.minReplicas}-${scaling.maxReplicas} replicas (nodes follow${onDemandFallback ? `, Spot first, then ${onDemandFallback} on demand` : ""}), ` +
      `target ${scaling.sequencesPerReplica} sequence(s) per replica, on ${on}`,
  ];
  if (scaling.scaleToZero) {
    const c = scaling.coldStart;
    lines.push(
      `  scale to zero after ${minutes(scaling.idleSecondsToZero)} idle; the first request then waits about ${minutes(c.totalSeconds)} [extrapolated]: ` +
        `node ${minutes(c.nodeLaunchSeconds)}, image ${minutes(c.imagePullSeconds)}, weights download ${minutes(c.downloadSeconds)}, ` +
        `load ${minutes(c.loadSeconds)}, engine start ${minutes(c.engineInitSeconds)}; held up to ${minutes(scaling.holdSeconds ?? 0)}`,
    );
  }
  return lines;
}

const SECRET_TYPE = "kubernetes:core/v1:Secret";

/**
 * Every Kubernetes object of each deployment as one multi-document YAML file, except the
 * Secrets: their values are never written, and a placeholder would become the API key once
 * applied. Each file starts with the `kubectl create secret` commands to run first, and they
 * are returned for printing.
 */
export function writeManifests(doc: PlanDocument, dir: string): { written: string[]; secretCommands: string[] } {
  mkdirSync(dir, { recursive: true });
  const written: string[] = [];
  const secretCommands: string[] = [];
  for (const { name } of doc.deployments) {
    const objects = doc.resources
      .filter((r) => r.type.startsWith("kubernetes:") && !r.type.startsWith("kubernetes:helm.sh") && ownedBy(doc.resources, r, name))
      .sort((a, b) => applyOrder(a.type) - applyOrder(b.type) || a.name.localeCompare(b.name));
    const commands = objects.filter((r) => r.type === SECRET_TYPE).map((r) => createSecretCommand(r.inputs));
    secretCommands.push(...commands);
    const header = commands.length === 0 ? "" : ["# Create these Secrets first; their values are never written here:", ...commands.map((c) => `#   ${c}`), ""].join("\n");
    const text = header + objects.filter((r) => r.type !== SECRET_TYPE).map((r) => YAML.stringify(r.inputs, { aliasDuplicateObjects: false })).join("---\n");
    const path = join(dir, `${name}.yaml`);
    writeFileSync(path, text);
    written.push(path);
  }
  return { written, secretCommands };
}

/** `kubectl create secret generic` for a Secret the program would create, its value left to the operator. */
function createSecretCommand(inputs: Record<string, unknown>): string {
  const metadata = inputs.metadata as { name: string; namespace?: string };
  const keys = Object.keys((inputs.stringData ?? inputs.data ?? {}) as Record<string, unknown>);
  const variable = metadata.name.toUpperCase().replace(/[^A-Z0-9]/g, "_");
  const literals = keys.map((k) => `--from-literal=${k}="$${variable}"`).join(" ");
  return `kubectl -n ${metadata.namespace ?? "default"} create secret generic ${metadata.name} ${literals}`;
}

/** Whether a resource sits under the named component, following recorded parents. */
function ownedBy(resources: readonly RecordedResource[], r: RecordedResource, component: string): boolean {
  const byName = new Map(resources.filter((x) => x.type.startsWith("llm-fleet:")).map((x) => [x.name, x]));
  for (let parent = r.parent; parent !== null; parent = byName.get(parent)?.parent ?? null) {
    if (parent === component && byName.get(parent)?.type === "llm-fleet:index:ModelDeployment") return true;
  }
  return false;
}

/** `kubectl apply -f` order: what others refer to comes first. */
function applyOrder(type: string): number {
  const order = [
    "Namespace",
    "ServiceAccount",
    "Secret",
    "ConfigMap",
    "PodDisruptionBudget",
    "Deployment",
    "LeaderWorkerSet",
    "Service",
    "ServiceMonitor",
    "PrometheusRule",
    "HTTPScaledObject",
    "ScaledObject",
  ];
  const index = order.findIndex((kind) => type.endsWith(`:${kind}`));
  return index < 0 ? order.length : index;
}

const SECRET_SIG = "4dabf18193072939515e22adb298388d";
const SECRET_VALUE = "1b47061264138c4ac30d75fd1eb44270";

/**
 * Secret values are never written: each string under a secret becomes a placeholder, so a
 * Secret keeps its shape (a map of keys) and still applies once the value is filled in.
 */
function redact(value: unknown, secret = false): unknown {
  if (value && typeof value === "object") {
    const record = value as Record<string, unknown>;
    if (record[SECRET_SIG] === SECRET_VALUE) return redact(record.value, true);
    if (Array.isArray(value)) return value.map((v) => redact(v, secret));
    return Object.fromEntries(Object.entries(record).map(([k, v]) => [k, redact(v, secret)]));
  }
  return secret && typeof value === "string" ? "[secret: set it from your secret store]" : value;
}

/**
 * The stack a file previews, as Pulumi would name it: `Pulumi.<name>.yaml` names it; any other
 * file name falls back to its `llm-fleet:environment`, then to dev.
 */
export function stackNameOf(file: string): string {
  const fromName = /Pulumi\.([^./]+)\.ya?ml$/.exec(file)?.[1];
  if (fromName) return fromName;
  const environment = readStackFile(file).config["llm-fleet:environment"];
  return environment && /^[\w.-]+$/.test(environment) ? environment : "dev";
}

/** A stack file's `llm-fleet:environment`: which policy config applies to it. */
function environmentOf(file: string): string {
  return readStackFile(file).config["llm-fleet:environment"] ?? "dev";
}

/** The offline plan of a stack file, or the command's output for its problems (exit 1, or 2 when nothing fits). */
async function planOrProblems(stack: string, file: string, label = file, policyFile?: string): Promise<{ doc: PlanDocument } | { output: CommandOutput }> {
  try {
    return { doc: await previewStack(stack, file, policyFile) };
  } catch (error) {
    const problems = error instanceof InputError ? error.problems : (error as { problems?: InputError["problems"] }).problems;
    if (problems) {
      const noFit = (error as { noFit?: boolean }).noFit === true;
      const lines = problems.map((p) => `llm-fleet plan: ${label === file ? p.path || file : `${label}: ${p.path || file}`}: ${p.message}`);
      return { output: { code: noFit ? 2 : 1, stdout: "", stderr: lines.join("\n") + "\n" } };
    }
    throw error;
  }
}

/**
 * The base of `--diff`: a stack file of the same stack, or `git:<ref>` for the head's file as
 * it is at that ref, written to a temporary file of the same name so it plans as the same stack.
 * Both sides run through today's program; a git base also brings the policy config it had at
 * that ref, so a pull request that tightens a policy shows the violations it adds.
 */
export function resolveBase(
  base: string,
  headFile: string,
  stack: string,
  environment = stack,
): { file: string; policyFile?: string; cleanup: () => void } | { problem: string } {
  if (!base.startsWith("git:")) {
    if (!existsSync(base) || !statSync(base).isFile()) return { problem: `no stack file at ${base}; give a stack file or git:<ref>` };
    let baseStack: string;
    try {
      baseStack = stackNameOf(base);
    } catch (error) {
      if (error instanceof InputError) return { problem: `${base}: ${error.problems.map((p) => p.message).join("; ")}` };
      throw error;
    }
    if (baseStack !== stack) return { problem: `${base} is the ${baseStack} stack's file, not ${stack}'s; --diff compares two versions of one stack` };
    return { file: base, cleanup: () => undefined };
  }
  const ref = base.slice("git:".length);
  if (ref === "") return { problem: "git: needs a ref, e.g. git:origin/main" };
  if (ref.startsWith("-")) return { problem: `${ref} is not a git ref; name a branch, tag or commit, e.g. git:origin/main` };
  // The real file's own directory: a symlinked stack file is looked up where it lives.
  const real = realpathSync(resolve(headFile));
  const dir = dirname(real);
  const git = (...args: string[]) => spawnSync("git", ["-C", dir, ...args], { encoding: "utf8" });
  const top = git("rev-parse", "--show-toplevel");
  if (top.status !== 0) return { problem: `${headFile} is not in a git repository, so there is no ${ref} to compare with; give a base stack file instead` };
  if (git("rev-parse", "--verify", "--quiet", "--end-of-options", `${ref}^{commit}`).status !== 0) {
    return { problem: `no git ref ${ref} in ${top.stdout.trim()}; fetch it (git fetch origin) or name another, e.g. git:HEAD~1` };
  }
  const prefix = git("rev-parse", "--show-prefix").stdout.trim();
  const shown = git("show", `${ref}:./${basename(real)}`);
  if (shown.status !== 0) return { problem: `no stack file ${prefix}${basename(real)} at ${ref}: the stack is new there; run llm-fleet plan without --diff` };
  const tmp = mkdtempSync(join(tmpdir(), "llm-fleet-base-"));
  const cleanup = () => rmSync(tmp, { recursive: true, force: true });
  try {
    const file = join(tmp, basename(headFile));
    writeFileSync(file, shown.stdout);
    // policy/config.<env>.json at the ref, when the stack's checkout has one there.
    const policy = spawnSync("git", ["-C", top.stdout.trim(), "show", `${ref}:policy/config.${environment}.json`], { encoding: "utf8" });
    if (policy.status !== 0) return { file, cleanup };
    const policyFile = join(tmp, `config.${environment}.json`);
    writeFileSync(policyFile, policy.stdout);
    return { file, policyFile, cleanup };
  } catch (error) {
    cleanup();
    throw error;
  }
}

export async function runPlan(argv: readonly string[]): Promise<CommandOutput> {
  let values: Record<string, unknown>;
  try {
    const parsed = parseFlags(argv, PLAN_FLAGS);
    if (parsed.positionals.length > 0) throw new UsageError(`takes no positional arguments; got ${parsed.positionals.join(" ")}`);
    values = parsed.values;
    if (values.help) return { code: 0, stdout: helpText(PLAN_USAGE, PLAN_FLAGS) + "\n", stderr: "" };
    const stack = values.stack as string | undefined;
    if (stack !== undefined && !(ENVIRONMENTS as readonly string[]).includes(stack)) {
      throw new UsageError(`--stack: "${stack}" is not one of ${ENVIRONMENTS.join(", ")}; use --config for a stack file of your own`);
    }
  } catch (error) {
    if (error instanceof UsageError) return { code: 1, stdout: "", stderr: `llm-fleet plan: ${error.message}\n` };
    throw error;
  }
  const fail = (message: string): CommandOutput => ({ code: 1, stdout: "", stderr: `llm-fleet plan: ${message}\n` });
  const format = (values.format as string | undefined) ?? "text";
  if (format !== "text" && format !== "markdown") return fail(`--format: "${format}" is not text or markdown`);
  if (format === "markdown" && values.json) return fail("--format markdown and --json each choose the output; give one");
  if (values.diff !== undefined && values.out !== undefined) return fail("--out writes one plan's manifests; run it without --diff");
  const configFile = values.config as string | undefined;
  const file = configFile ?? join(STACKS_DIR, `Pulumi.${(values.stack as string | undefined) ?? "dev"}.yaml`);
  if (!existsSync(file)) return fail(`--config: no stack file at ${file}`);
  const stack = (values.stack as string | undefined) ?? stackNameOf(file);
  const planned = await planOrProblems(stack, file);
  if ("output" in planned) return planned.output;
  const doc = planned.doc;
  const code = doc.policy.passed ? 0 : 3;
  if (values.diff !== undefined) {
    const base = resolveBase(values.diff as string, file, stack, environmentOf(file));
    if ("problem" in base) return fail(`--diff: ${base.problem}`);
    try {
      const basePlan = await planOrProblems(stack, base.file, `--diff ${values.diff as string}`, base.policyFile);
      if ("output" in basePlan) {
        // A base that no longer plans (a preset renamed, a main that was broken) must not hold the
        // head back: the head's plan is shown, and its code decides.
        const why = basePlan.output.stderr.trim();
        if (values.json) return { code, stdout: JSON.stringify({ base: null, baseProblem: why, head: doc, delta: null }, null, 2) + "\n", stderr: "" };
        const note = `The base (${values.diff as string}) could not be planned, so this is the head alone: ${why.replace(/^llm-fleet plan: /gm, "")}`;
        if (format === "markdown") {
          const [verdictLine, ...rest] = renderPlanMarkdown(doc).split("\n");
          return { code, stdout: [verdictLine, "", `> ${note.replace(/\n/g, " ")}`, ...rest].join("\n"), stderr: "" };
        }
        return { code, stdout: `${note}\n\n${renderPlan(doc, (doc.outputs as { budget?: { message?: string } }).budget?.message ?? "")}`, stderr: "" };
      }
      const diff = diffPlans(basePlan.doc, doc);
      const text = values.json
        ? JSON.stringify({ base: diff.base, head: diff.head, delta: diff.delta }, null, 2) + "\n"
        : format === "markdown"
          ? renderDiffMarkdown(diff)
          : renderDiff(diff);
      return { code, stdout: text, stderr: "" };
    } finally {
      base.cleanup();
    }
  }
  const budgetMessage = (doc.outputs as { budget?: { message?: string } }).budget?.message ?? "";
  if (format === "markdown") return { code, stdout: renderPlanMarkdown(doc), stderr: "" };
  let stdout = values.json ? JSON.stringify(doc, null, 2) + "\n" : renderPlan(doc, budgetMessage);
  if (values.out) {
    try {
      const { written, secretCommands } = writeManifests(doc, values.out as string);
      if (!values.json) {
        stdout += `\nWrote ${written.join(", ")}\n`;
        if (secretCommands.length > 0) {
          stdout += `Secrets are not written; create them before kubectl apply:\n${secretCommands.map((c) => `  ${c}\n`).join("")}`;
        }
      }
    } catch (error) {
      return { code: 1, stdout: "", stderr: `llm-fleet plan: --out: cannot write to ${String(values.out)}: ${(error as NodeJS.ErrnoException).code ?? String(error)}\n` };
    }
  }
  return { code, stdout, stderr: "" };
}
