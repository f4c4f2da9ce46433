import { parseArgs } from "node:util";
import { unknownIdMessage } from "../sizing/didyoumean";

/** A command-line mistake: printed as one line naming the flag, exit code 1. */
export class UsageError extends Error {
  override name = "UsageError";
}

export interface FlagSpec {
  type: "string" | "boolean";
  multiple?: boolean;
  /** Shown in --help. */
  value?: string;
  help: string;
}

export type FlagSpecs = Record<string, FlagSpec>;

export interface ParsedArgs {
  positionals: string[];
  values: Record<string, string | boolean | string[] | undefined>;
}

/** Parses argv against the command's flags; unknown flags get a did-you-mean. */
export function parseFlags(argv: readonly string[], flags: FlagSpecs): ParsedArgs {
  const options = Object.fromEntries(
    Object.entries(flags).map(([name, spec]) => [name, { type: spec.type, multiple: spec.multiple ?? false }]),
  );
  // "--concurrency -3" would read -3 as a flag; bind negative numbers to their flag so the
  // value check, not the parser, reports them.
  const args: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const next = argv[i + 1];
    const name = arg.startsWith("--") ? arg.slice(2) : undefined;
    if (name && flags[name]?.type === "string" && next !== undefined && /^-\d/.test(next)) {
      args.push(`${arg}=${next}`);
      i++;
    } else {
      args.push(arg);
    }
  }
  try {
    const { values, positionals } = parseArgs({ args, options, allowPositionals: true, strict: true });
    return { values: values as ParsedArgs["values"], positionals };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const unknown = /Unknown option '(-{1,2}[^']+)'/.exec(message);
    if (unknown) {
      const flag = unknown[1]!.replace(/^-+/, "");
      throw new UsageError(unknownIdMessage("flag", `--${flag}`, Object.keys(flags).map((f) => `--${f}`)));
    }
    const missing = /Option '(?:-\w, )?(--[\w-]+) <value>' argument missing/.exec(message);
    if (missing) throw new UsageError(`${missing[1]} needs a value`);
    const notBoolean = /Option '(--[\w-]+)' does not take an argument/.exec(message);
    if (notBoolean) throw new UsageError(`${notBoolean[1]} takes no value`);
    throw new UsageError(message.replace(/\. To specify.*$/s, ""));
  }
}

/**
 * A flag's value as a number when it reads as one; otherwise the text itself, so the
 * request schema reports it together with every other problem.
 */
export function numberFlag(raw: string): number | string {
  const value = Number(raw);
  return raw.trim() !== "" && Number.isFinite(value) ? value : raw;
}

export function listFlag(raw: string | undefined): string[] | undefined {
  if (raw === undefined) return undefined;
  return raw
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
}

export function helpText(usage: string, flags: FlagSpecs): string {
  const rows = Object.entries(flags).map(([name, spec]) => {
    const left = `  --${name}${spec.value ? ` <${spec.value}>` : ""}`;
    return `${left.padEnd(34)} ${spec.help}`;
  });
  return [usage, "", "Options:", ...rows].join("\n");
}
