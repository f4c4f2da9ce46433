import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import YAML from "yaml";
import { DEFAULT_CONCURRENCY, DEFAULT_REGION, InputError, unknownIdMessage, type InputProblem } from "../sizing";
import { benchmarkJobManifest, benchmarkSpec, stackServer, type BenchmarkJobInput } from "../components/k8s/benchmark-spec";
import { ENVIRONMENTS, parseStackConfig, type StackConfig } from "../stacks/config";
import { planStack, type ResolvedDeployment, type StackPlan } from "../stacks/plan";
import { UsageError, helpText, countFlag, parseFlags, type FlagSpecs } from "./args";
import { readStackFile } from "./offline";
import { int } from "./render";
import type { CommandOutput } from "./size";

const STACKS_DIR = join(__dirname, "..", "stacks");

/** Flags every command on one stack deployment takes. */
export const DEPLOYMENT_FLAGS = {
  stack: { type: "string", value: ENVIRONMENTS.join("|"), help: "the stack, from stacks/Pulumi.<stack>.yaml (default dev)" },
  config: { type: "string", value: "stack-file.yaml", help: "a stack file of your own instead" },
  deployment: { type: "string", value: "name", help: "the deployment of the stack (required)" },
} as const satisfies FlagSpecs;

/** Bad input found after the flags parsed: the lines to print, exit code 1. */
export class CommandError extends Error {
  constructor(readonly lines: readonly string[]) {
    super(lines.join("\n"));
    this.name = "CommandError";
  }
}

export interface StackDeployment {
  /** The file read, and the flag that names it for a next command (`--stack dev` or `--config file`). */
  file: string;
  stackFlag: string;
  config: StackConfig;
  plan: StackPlan;
  deployment: ResolvedDeployment;
  hasApiKey: boolean;
  hasHfToken: boolean;
}

const problemLines = (subject: string, problems: readonly InputProblem[]) => problems.map((p) => `${subject}: ${p.path ? `${p.path}: ` : ""}${p.message}`);

/**
 * The stack file a command names (`--stack` or `--config`), planned as `pulumi preview` plans it
 * (secrets only as set or not, no cloud), and the deployment `--deployment` names in it.
 */
export function loadStackDeployment(values: Record<string, unknown>): StackDeployment {
  const stack = values.stack as string | undefined;
  const configFile = values.config as string | undefined;
  if (stack !== undefined && configFile !== undefined) throw new UsageError("give --stack or --config, not both");
  if (stack !== undefined && !(ENVIRONMENTS as readonly string[]).includes(stack)) {
    throw new UsageError(`--stack: "${stack}" is not one of ${ENVIRONMENTS.join(", ")}; use --config for a stack file of your own`);
  }
  const file = configFile ?? join(STACKS_DIR, `Pulumi.${stack ?? "dev"}.yaml`);
  if (!existsSync(file)) throw new UsageError(`${configFile !== undefined ? "--config" : "--stack"}: no stack file at ${file}`);
  // As the user wrote it; the shipped stacks relative to where the command runs.
  const shown = configFile ?? (relative(process.cwd(), file) || file);
  const stackFlag = configFile !== undefined ? `--config ${configFile}` : `--stack ${stack ?? "dev"}`;
  let flat: ReturnType<typeof readStackFile>;
  try {
    flat = readStackFile(file);
  } catch (error) {
    if (error instanceof InputError) throw new CommandError(problemLines(shown, error.problems));
    throw error;
  }
  const parsed = parseStackConfig(flat.config, flat.secretKeys);
  if ("problems" in parsed) throw new CommandError(problemLines(shown, parsed.problems));
  const config = parsed.config;
  const set = (value: string | undefined) => (value === undefined ? undefined : "set");
  const planned = planStack(config, flat.config["aws:region"] ?? DEFAULT_REGION, { hfToken: set(config.hfToken), apiKey: set(config.apiKey) }, { preview: true });
  if ("problems" in planned) throw new CommandError(problemLines(shown, planned.problems));
  const name = values.deployment as string | undefined;
  const names = planned.plan.deployments.map((d) => d.name);
  if (name === undefined) throw new UsageError(`--deployment is required: one of ${names.join(", ")} (in ${shown})`);
  const deployment = planned.plan.deployments.find((d) => d.name === name);
  if (!deployment) throw new UsageError(`--deployment: ${unknownIdMessage("deployment", name, names)} (in ${shown})`);
  return { file: shown, stackFlag, config, plan: planned.plan, deployment, hasApiKey: config.apiKey !== undefined, hasHfToken: config.hfToken !== undefined };
}

/** The workload's concurrency across the deployment, as the planner read it. */
export function workloadConcurrency(d: ResolvedDeployment): number {
  return d.workload.concurrency ?? DEFAULT_CONCURRENCY;
}

export const BENCH_FLAGS = {
  ...DEPLOYMENT_FLAGS,
  out: { type: "string", value: "dir", help: "where to write <deployment>-bench.yaml (default: the current directory)" },
  "num-prompts": { type: "string", value: "n", help: "requests of the run (default max(4 x concurrency, 32): four rounds per sequence slot)" },
  json: { type: "boolean", help: "print the Job as JSON instead of writing it (written as well with --out)" },
  help: { type: "boolean", short: "h", help: "show this help" },
} as const satisfies FlagSpecs;

export const BENCH_USAGE = [
  "Usage: llm-fleet bench --deployment <name> [--stack <env> | --config <file>] [options]",
  "",
  "Writes a Kubernetes Job that runs vllm bench serve from the server's own image against the deployment's",
  "Service with the plan's workload (prompt and output lengths, concurrency), and prints the kubectl commands",
  "that run it and fetch its result for llm-fleet calibrate. Nothing is run against a cluster here.",
  "Exit codes: 0 written, 1 bad input, 4 internal error.",
].join("\n");

export function runBench(argv: readonly string[]): CommandOutput {
  const fail = (lines: readonly string[]): CommandOutput => ({ code: 1, stdout: "", stderr: lines.map((l) => `llm-fleet bench: ${l}\n`).join("") });
  let values: Record<string, unknown>;
  let target: StackDeployment;
  let input: BenchmarkJobInput;
  try {
    const parsed = parseFlags(argv, BENCH_FLAGS);
    values = parsed.values;
    if (values.help) return { code: 0, stdout: helpText(BENCH_USAGE, BENCH_FLAGS) + "\n", stderr: "" };
    if (parsed.positionals.length > 0) throw new UsageError(`takes no positional arguments; got ${parsed.positionals.join(" ")}`);
    const numPrompts = countFlag(values, "num-prompts", "requests", "give one such as 64");
    target = loadStackDeployment(values);
    const d = target.deployment;
    input = {
      deployment: d.name,
      plan: d.spec.plan,
      server: stackServer(d.name, d.spec.plan),
      concurrency: workloadConcurrency(d),
      scaling: d.spec.scaling,
      hasApiKey: target.hasApiKey,
      hasHfToken: target.hasHfToken,
      image: d.serving.image,
      numPrompts,
      // The system node group exists only in a cluster llm-fleet creates; elsewhere any node without the GPU taint.
      nodeSelector: target.config.cluster.mode === "new" ? undefined : null,
    };
  } catch (error) {
    if (error instanceof UsageError) return fail([error.message]);
    if (error instanceof CommandError) return fail(error.lines);
    throw error;
  }
  const result = benchmarkSpec(input);
  if ("problems" in result) return fail(problemLines(target.file, result.problems));
  const spec = result.spec;
  const manifest = benchmarkJobManifest(input);
  const outDir = values.out as string | undefined;
  const path = join(outDir ?? ".", `${target.deployment.name}-bench.yaml`);
  const write = !values.json || outDir !== undefined;
  if (write) {
    try {
      mkdirSync(outDir ?? ".", { recursive: true });
      // No anchors: the manifest reads as plain YAML, the same labels written out where they are used.
      writeFileSync(path, YAML.stringify(manifest, { aliasDuplicateObjects: false }));
    } catch (error) {
      return fail([`--out: cannot write ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`]);
    }
  }
  if (values.json) return { code: 0, stdout: JSON.stringify(manifest, null, 2) + "\n", stderr: "" };
  const d = target.deployment;
  const resultFile = `${d.name}-result.json`;
  const ns = spec.namespace;
  const out = [
    `Wrote ${path}: Job ${spec.name} in ${ns}, ${spec.image}`,
    `  vllm bench serve against ${spec.baseUrl}: ${int(spec.numPrompts)} requests, ${spec.concurrency} at a time, ` +
      `${int(d.spec.plan.promptTokens)} prompt / ${int(d.spec.plan.outputTokens)} output tokens`,
    `  predicted: TPOT ${d.spec.plan.performance.tpotMs.toFixed(1)} ms, TTFT ${Math.round(d.spec.plan.performance.ttftMs)} ms [${d.spec.plan.performance.confidence}]; ` +
      `the Job stops after ${int(spec.activeDeadlineSeconds)} s`,
  ];
  // A preview plans a stack that requires a key without one; the server `pulumi up` deploys has one.
  const keyMissing = target.plan.missingForUp.find((p) => p.path === "llm-fleet:apiKey");
  if (keyMissing) out.push(`  The Job sends no API key: ${keyMissing.message}; then run llm-fleet bench again.`);
  if (spec.heldAtZero) out.push(`  The deployment scales to zero: the first request waits up to ${int(spec.readyCheckSeconds)} s for a replica to start.`);
  out.push(
    "",
    "Run it, wait for it and fetch its result (the Job's last log line):",
    `  kubectl apply -f ${path}`,
    `  kubectl -n ${ns} wait --for=condition=complete job/${spec.name} --timeout=${spec.activeDeadlineSeconds}s`,
    `  kubectl -n ${ns} logs job/${spec.name} --tail=1 > ${resultFile}`,
    "Then compare it with the plan:",
    `  llm-fleet calibrate ${target.stackFlag} --deployment ${d.name} ${resultFile}`,
  );
  return { code: 0, stdout: out.join("\n") + "\n", stderr: "" };
}
