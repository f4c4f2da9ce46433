/**
 * `llm-fleet preview`: a real `pulumi preview` of a stack through the Automation API, with the
 * policy pack and the environment's pack config, summarised as `llm-fleet plan` summarises its
 * offline run: the changes, what the resulting resources cost, and the policy verdict.
 */
import { accessSync, constants, existsSync, readFileSync } from "node:fs";
import { delimiter, join, relative } from "node:path";
import type { EngineEvent, LocalProgramArgs, LocalWorkspaceOptions, OpType, PreviewOptions } from "@pulumi/pulumi/automation";
import YAML from "yaml";
import { z } from "zod";
import { PRICE_SHEET, type PriceOverride } from "../sizing";
import { PriceOverrideSchema } from "../sizing/request";
import { ENVIRONMENTS } from "../stacks/config";
import { costPreview, type CostItem } from "../policy/policies";
import { policyResources, type ResourceRecord, type Violation } from "../policy/run";
import { UsageError, helpText, parseFlags, type FlagSpecs } from "./args";
import { policyConfigFile } from "./plan";
import { costLines, table, usd, type CostTable } from "./render";
import type { CommandOutput } from "./size";

export const PREVIEW_FLAGS = {
  stack: { type: "string", value: ENVIRONMENTS.join("|"), help: "stack to preview: stacks/Pulumi.<stack>.yaml, selected in the backend you are logged in to" },
  json: { type: "boolean", help: "print { stack, changes, resources, cost, policy, budget } as JSON" },
  help: { type: "boolean", short: "h", help: "show this help" },
} as const satisfies FlagSpecs;

export const PREVIEW_USAGE = [
  "Usage: llm-fleet preview --stack <stack> [options]",
  "",
  "Runs `pulumi preview` on the stack through the Pulumi Automation API, with the policy pack in policy/",
  "and policy/config.<stack>.json. Needs the Pulumi CLI, a backend login and cloud credentials;",
  "`llm-fleet plan` previews offline without them. Progress goes to stderr, the summary to stdout.",
  "Exit codes: 0 passed, 1 bad input, missing CLI or credentials, or a failed preview, 3 a mandatory policy fails, 4 internal error.",
].join("\n");

const REPO_ROOT = join(__dirname, "..");

/** The arguments of `LocalWorkspace.selectStack` and `Stack.preview`, built without running anything. */
export interface PreviewCall {
  stack: LocalProgramArgs;
  workspace: LocalWorkspaceOptions;
  options: PreviewOptions;
}

export interface PreviewCallbacks {
  onOutput?: (text: string) => void;
  onEvent?: (event: EngineEvent) => void;
}

/**
 * The repository root is the workspace: Pulumi.yaml there names stacks/index.ts as the program
 * and stacks/ as its stackConfigDir, so the CLI finds stacks/Pulumi.<env>.yaml itself and no
 * stack settings are passed. The stack is selected, never created: a preview should not add a
 * stack to the backend.
 */
export function previewCall(environment: string, root = REPO_ROOT, callbacks: PreviewCallbacks = {}): PreviewCall {
  return {
    stack: { stackName: environment, workDir: root },
    // The update check would print a notice into the progress and wait on the network.
    workspace: { workDir: root, envVars: { PULUMI_SKIP_UPDATE_CHECK: "true" } },
    options: {
      policyPacks: [join(root, "policy")],
      policyPackConfigs: [policyConfigFile(environment, root)],
      color: "never",
      ...(callbacks.onOutput ? { onOutput: callbacks.onOutput, onError: callbacks.onOutput } : {}),
      ...(callbacks.onEvent ? { onEvent: callbacks.onEvent } : {}),
    },
  };
}

/** What the command needs of `@pulumi/pulumi/automation`; tests pass a fake. */
export interface Automation {
  /** The path of the `pulumi` executable, or undefined when it is not installed. */
  findCli(): string | undefined;
  selectStack(args: LocalProgramArgs, opts: LocalWorkspaceOptions): Promise<{ preview(opts: PreviewOptions): Promise<unknown> }>;
}

/** `which pulumi`, over a PATH. */
export function findOnPath(command: string, path = process.env.PATH ?? "", extensions = process.platform === "win32" ? (process.env.PATHEXT ?? ".EXE;.CMD").split(";") : [""]): string | undefined {
  for (const dir of path.split(delimiter).filter(Boolean)) {
    // Windows finds `pulumi` as pulumi.exe: the executable suffixes of PATHEXT.
    for (const extension of extensions) {
      const candidate = join(dir, command + extension);
      try {
        accessSync(candidate, constants.X_OK);
        return candidate;
      } catch {
        // not in this directory
      }
    }
  }
  return undefined;
}

export const LOCAL_AUTOMATION: Automation = {
  findCli: () => findOnPath("pulumi"),
  selectStack: (args, opts) => {
    // Loaded on demand: the Automation API is only needed once the CLI is known to be there.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { LocalWorkspace } = require("@pulumi/pulumi/automation") as typeof import("@pulumi/pulumi/automation");
    return LocalWorkspace.selectStack(args, opts);
  },
};

// ---------------------------------------------------------------------------------------
// From engine events to the summary

/** Steps that stand for another step of the same resource (a replacement's halves): not counted twice. */
const SUB_STEPS: readonly OpType[] = ["create-replacement", "delete-replaced", "discard-replaced", "read-replacement", "import-replacement"];
/** Steps after which the resource no longer exists. */
const GONE: readonly OpType[] = ["delete", "discard"];
/** Steps whose resource did not exist before. */
const NEW: readonly OpType[] = ["create", "create-replacement", "import", "read"];
const CHANGE_ORDER: readonly OpType[] = ["create", "update", "replace", "delete", "read", "import", "discard", "refresh", "remove-pending-replace"];
const ROOT_TYPE = "pulumi:pulumi:Stack";

/** The last segment of a URN (`urn:pulumi:<stack>::<project>::<type>::<name>`): the resource's name. */
export function urnName(urn: string): string {
  return urn.split("::").slice(3).join("::");
}

/** The resource's own type from a URN's qualified type (`parent$child`). */
function urnType(urn: string): string {
  return (urn.split("::")[2] ?? "").split("$").pop() ?? "";
}

/** The component a resource belongs to, by name, as `plan` records it; null under the stack itself. */
function parentName(parentUrn: string | undefined): string | null {
  if (!parentUrn || urnType(parentUrn) === ROOT_TYPE) return null;
  return urnName(parentUrn);
}

// Pulumi's colour tags and ANSI codes, should a message carry them despite color "never".
const plain = (text: string) => text.replace(/<\{%[^%]*%\}>/g, "").replace(/\x1b\[[0-9;]*m/g, "").trim();

export interface PreviewRecord extends ResourceRecord {
  urn: string;
  op: OpType;
}

/** Gathers what a preview's engine events say: the resource graph before and after, the policy events, the config. */
export class PreviewEvents {
  private readonly after = new Map<string, PreviewRecord>();
  private readonly before = new Map<string, ResourceRecord>();
  private readonly ops = new Map<string, OpType>();
  readonly violations: Violation[] = [];
  readonly errors: string[] = [];
  config: Record<string, string> | undefined;
  policyPacks: Record<string, string> | undefined;
  stackOutputs: Record<string, unknown> | undefined;

  readonly onEvent = (event: EngineEvent): void => {
    if (event.preludeEvent) this.config = event.preludeEvent.config;
    if (event.summaryEvent) this.policyPacks = event.summaryEvent.policyPacks;
    if (event.diagnosticEvent?.severity === "error") this.errors.push(plain(event.diagnosticEvent.message));
    if (event.policyEvent) {
      const p = event.policyEvent;
      const violation: Violation = {
        policy: p.policyName,
        level: p.enforcementLevel === "mandatory" ? "mandatory" : "advisory",
        message: plain(p.message),
        ...(p.resourceUrn ? { resource: urnName(p.resourceUrn) } : {}),
      };
      const same = (v: Violation) => v.policy === violation.policy && v.message === violation.message && v.resource === violation.resource;
      if (!this.violations.some(same)) this.violations.push(violation);
    }
    if (event.resOutputsEvent?.metadata.type === ROOT_TYPE) this.stackOutputs = event.resOutputsEvent.metadata.new?.outputs;
    const step = event.resourcePreEvent?.metadata;
    if (!step || step.type === ROOT_TYPE) return;
    if (!SUB_STEPS.includes(step.op) || !this.ops.has(step.urn)) this.ops.set(step.urn, SUB_STEPS.includes(step.op) ? "replace" : step.op);
    const record = (state: NonNullable<typeof step.new>): ResourceRecord => ({
      type: step.type,
      name: urnName(step.urn),
      parent: parentName(state.parent),
      inputs: state.inputs ?? {},
    });
    if (step.old && !NEW.includes(step.op) && !this.before.has(step.urn)) this.before.set(step.urn, record(step.old));
    if (GONE.includes(step.op)) this.after.delete(step.urn);
    else if (step.new && step.op !== "delete-replaced" && step.op !== "discard-replaced") this.after.set(step.urn, { ...record(step.new), urn: step.urn, op: this.ops.get(step.urn)! });
  };

  /** The resources as the stack will have them: what the cost and the pack look at. */
  resources(): PreviewRecord[] {
    return [...this.after.values()];
  }

  /** The resources the stack has now; empty for a stack never deployed. */
  current(): ResourceRecord[] {
    return [...this.before.values()];
  }

  /** Steps per resource type, replacements counted once. */
  changes(): { byType: Record<string, Partial<Record<OpType, number>>>; totals: Partial<Record<OpType, number>> } {
    const byType: Record<string, Partial<Record<OpType, number>>> = {};
    const totals: Partial<Record<OpType, number>> = {};
    for (const [urn, op] of this.ops) {
      const type = urnType(urn);
      const row = (byType[type] ??= {});
      row[op] = (row[op] ?? 0) + 1;
      totals[op] = (totals[op] ?? 0) + 1;
    }
    return { byType: Object.fromEntries(Object.entries(byType).sort(([a], [b]) => a.localeCompare(b))), totals };
  }
}

export interface PreviewDocument {
  stack: string;
  changes: ReturnType<PreviewEvents["changes"]>;
  resources: PreviewRecord[];
  cost: Omit<CostTable, "items"> & {
    region: string;
    pricesAsOf: string;
    items: CostItem[];
    unpriced: string[];
    /** What the resources the stack has now cost; null for a stack never deployed. */
    current: { usdPerHour: number; usdPerMonth: number; maxUsdPerMonth: number } | null;
  };
  /** CrossGuard's verdict in this preview: the llm-fleet pack with policy/config.<env>.json. */
  policy: { passed: boolean; violations: Violation[]; configFile: string; packs: Record<string, string> };
  budget: string | null;
}

/** Region and price overrides as the engine passed them to the program (its prelude), else as the stack file has them. */
function costConfigOf(events: PreviewEvents, environment: string, root: string): { region: string; environment: string; priceOverrides: PriceOverride[] } {
  let config = events.config;
  if (!config) {
    const file = join(root, "stacks", `Pulumi.${environment}.yaml`);
    const doc = existsSync(file) ? (YAML.parse(readFileSync(file, "utf8")) as { config?: Record<string, unknown> } | null) : null;
    config = Object.fromEntries(Object.entries(doc?.config ?? {}).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)]));
  }
  let prices: unknown = [];
  try {
    prices = JSON.parse(config["llm-fleet:prices"] ?? "[]");
  } catch {
    // The program itself rejects a malformed value; the cost then goes without overrides.
  }
  const parsed = z.array(PriceOverrideSchema).safeParse(prices);
  return { region: config["aws:region"] ?? "us-east-1", environment, priceOverrides: parsed.success ? (parsed.data as PriceOverride[]) : [] };
}

export function previewDocument(environment: string, events: PreviewEvents, root = REPO_ROOT): PreviewDocument {
  const costConfig = costConfigOf(events, environment, root);
  const resources = events.resources();
  const cost = costPreview(policyResources(resources), costConfig);
  const current = events.current();
  const before = current.length === 0 ? null : costPreview(policyResources(current), costConfig);
  const budget = (events.stackOutputs as { budget?: { message?: unknown } } | undefined)?.budget?.message;
  const configFile = policyConfigFile(environment, root);
  return {
    stack: environment,
    changes: events.changes(),
    resources,
    cost: {
      region: costConfig.region,
      usdPerHour: cost.desiredUsdPerHour,
      usdPerMonth: cost.desiredUsdPerMonth,
      activeUsdPerHour: cost.activeUsdPerHour,
      maxUsdPerHour: cost.maxUsdPerHour,
      maxUsdPerMonth: cost.maxUsdPerMonth,
      pricesAsOf: PRICE_SHEET.asOf,
      items: cost.items,
      unpriced: cost.unpriced,
      current: before && { usdPerHour: before.desiredUsdPerHour, usdPerMonth: before.desiredUsdPerMonth, maxUsdPerMonth: before.maxUsdPerMonth },
    },
    policy: {
      passed: events.violations.every((v) => v.level !== "mandatory"),
      violations: events.violations,
      configFile: relative(root, configFile) || configFile,
      packs: events.policyPacks ?? {},
    },
    budget: typeof budget === "string" ? budget : null,
  };
}

const signed = (n: number, digits: number) => `${n < 0 ? "-" : "+"}${usd(Math.abs(n), digits)}`;

export function renderPreview(doc: PreviewDocument): string {
  const out: string[] = [`Stack ${doc.stack} · prices of ${doc.cost.pricesAsOf} in ${doc.cost.region} · pulumi preview with the policy pack`, ""];
  const { byType, totals } = doc.changes;
  const columns = CHANGE_ORDER.filter((op) => (totals[op] ?? 0) > 0);
  const counted = columns.map((op) => `${totals[op]} to ${op}`);
  out.push(`Changes: ${[...counted, `${totals.same ?? 0} unchanged`].join(", ")}${columns.length === 0 ? "" : ":"}`);
  if (columns.length > 0) {
    const rows = Object.entries(byType)
      .filter(([, ops]) => columns.some((op) => (ops[op] ?? 0) > 0))
      .map(([type, ops]) => [type, ...columns.map((op) => String(ops[op] ?? 0))]);
    out.push(...table(["type", ...columns], rows, columns.map((_, i) => i + 1)).map((l) => `  ${l}`));
  }
  out.push("", `Cost after the preview (USD, ${doc.resources.length} resources):`);
  out.push(...costLines(doc.cost));
  if (doc.cost.unpriced.length > 0) out.push(`  Not priced (no price known; add one under llm-fleet:prices): ${doc.cost.unpriced.join(", ")}`);
  const now = doc.cost.current;
  if (now) {
    out.push(
      `  Now: ${usd(now.usdPerMonth, 0)}/month, ${usd(now.maxUsdPerMonth, 0)} at maximum; ` +
        `the change: ${signed(doc.cost.usdPerMonth - now.usdPerMonth, 0)}/month, ${signed(doc.cost.maxUsdPerMonth - now.maxUsdPerMonth, 0)} at maximum`,
    );
  }
  out.push("");
  if (doc.budget) out.push(`Budget: ${doc.budget}`);
  const packs = Object.entries(doc.policy.packs).map(([name, version]) => `${name} ${version}`);
  out.push(
    `Policies (${packs.length > 0 ? `pack ${packs.join(", ")}` : "pack"}, config ${doc.policy.configFile}): ${doc.policy.passed ? "passed" : "FAILED"}${doc.policy.violations.length === 0 ? "" : ":"}`,
  );
  for (const v of doc.policy.violations) out.push(`  [${v.level}] ${v.policy}: ${v.message}${v.resource ? ` (${v.resource})` : ""}`);
  return out.join("\n") + "\n";
}

// ---------------------------------------------------------------------------------------
// The command

/** What a preview that could not run needs, from what the CLI said; undefined for any other failure. */
function missingPiece(text: string, environment: string): string | undefined {
  if (/spawn pulumi ENOENT|ENOENT: pulumi version/.test(text)) return CLI_MISSING;
  if (/no stack named .*found/i.test(text)) {
    return (
      `needs the stack "${environment}" in the Pulumi backend you are logged in to (\`pulumi whoami -v\` names the backend): ` +
      `create it with \`pulumi stack init ${environment}\` (its config is stacks/Pulumi.${environment}.yaml), or log in to the backend that has it`
    );
  }
  if (/PULUMI_ACCESS_TOKEN must be set|not logged in|\[401\] Unauthorized|run `pulumi login`/i.test(text)) {
    return "needs a login to a Pulumi backend: run `pulumi login` (or set PULUMI_ACCESS_TOKEN, or `pulumi login --local` for a state file on this machine)";
  }
  if (/PULUMI_CONFIG_PASSPHRASE|passphrase must be set/i.test(text)) {
    return "needs the stack's secrets passphrase: set PULUMI_CONFIG_PASSPHRASE (or PULUMI_CONFIG_PASSPHRASE_FILE)";
  }
  if (/NoCredentialProviders|no valid credential sources|Unable to locate credentials|failed to refresh cached credentials|ExpiredToken|InvalidClientTokenId/i.test(text)) {
    return "needs AWS credentials for the stack's account: set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or run `aws sso login`)";
  }
  return undefined;
}

const CLI_MISSING = "needs the Pulumi CLI, and `pulumi` is not on PATH: install it (https://www.pulumi.com/docs/iac/download-install/), then log in with `pulumi login`";

function failure(environment: string, need: string): CommandOutput {
  return {
    code: 1,
    stdout: "",
    stderr: `llm-fleet preview: ${need}.\nWithout them, \`llm-fleet plan --stack ${environment}\` previews the stack offline: no CLI, no credentials.\n`,
  };
}

/** The command's run against an Automation API; progress (the CLI's own output) goes to `progress`. */
export async function runPreview(
  argv: readonly string[],
  automation: Automation = LOCAL_AUTOMATION,
  progress: (text: string) => void = (text) => process.stderr.write(text),
  root = REPO_ROOT,
): Promise<CommandOutput> {
  let environment: string;
  let json: boolean;
  try {
    const parsed = parseFlags(argv, PREVIEW_FLAGS);
    if (parsed.positionals.length > 0) throw new UsageError(`takes no positional arguments; got ${parsed.positionals.join(" ")}`);
    if (parsed.values.help) return { code: 0, stdout: helpText(PREVIEW_USAGE, PREVIEW_FLAGS) + "\n", stderr: "" };
    const stack = parsed.values.stack as string | undefined;
    if (stack === undefined) throw new UsageError(`--stack is required: one of ${ENVIRONMENTS.join(", ")}`);
    if (!(ENVIRONMENTS as readonly string[]).includes(stack)) {
      throw new UsageError(`--stack: "${stack}" is not one of ${ENVIRONMENTS.join(", ")}; for a stack file of your own, \`llm-fleet plan --config <file>\` previews it offline`);
    }
    environment = stack;
    json = parsed.values.json === true;
  } catch (error) {
    if (error instanceof UsageError) return { code: 1, stdout: "", stderr: `llm-fleet preview: ${error.message}\n` };
    throw error;
  }
  const packConfig = policyConfigFile(environment, root);
  if (!existsSync(packConfig)) return { code: 1, stdout: "", stderr: `llm-fleet preview: --stack ${environment}: no policy config at ${packConfig}\n` };
  if (automation.findCli() === undefined) return failure(environment, CLI_MISSING);

  const events = new PreviewEvents();
  const call = previewCall(environment, root, { onOutput: progress, onEvent: events.onEvent });
  let failed: unknown;
  try {
    const stack = await automation.selectStack(call.stack, call.workspace);
    await stack.preview(call.options);
  } catch (error) {
    failed = error;
  }
  if (failed !== undefined) {
    const text = [String(failed), (failed as { commandResult?: { stderr?: string } }).commandResult?.stderr ?? "", ...events.errors].join("\n");
    const missing = missingPiece(text, environment);
    if (missing) return failure(environment, missing);
    // A mandatory policy makes `pulumi preview` fail: that is the verdict, not an error.
    if (!events.violations.some((v) => v.level === "mandatory")) {
      if (!(failed instanceof Error) || !/CommandError|StackNotFoundError|ConcurrentUpdateError/.test(failed.name)) throw failed;
      const reasons = events.errors.length > 0 ? events.errors.map((e) => `  ${e}`).join("\n") : `  ${plain(String(failed)).split("\n").slice(0, 8).join("\n  ")}`;
      return { code: 1, stdout: "", stderr: `llm-fleet preview: pulumi preview of stack ${environment} failed:\n${reasons}\n` };
    }
  }
  const doc = previewDocument(environment, events, root);
  return { code: doc.policy.passed ? 0 : 3, stdout: json ? JSON.stringify(doc, null, 2) + "\n" : renderPreview(doc), stderr: "" };
}
