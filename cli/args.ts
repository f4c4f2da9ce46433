import { parseArgs } from "node:util";
import { unknownIdMessage } from "../sizing/didyoumean";

/** A command-line mistake: printed as one line naming the flag, exit code 1. */
export class UsageError extends Error {
  override name = "UsageError";
}

export interface FlagSpec {
  type: "string" | "boolean";
  /** Comma-separated values; repeating the flag adds to the list. */
  list?: boolean;
  /** Repeating the flag adds another value (kept in order). */
  repeatable?: boolean;
  /** Shown in --help as `--flag <value>`. */
  value?: string;
  short?: string;
  help: string;
}

export type FlagSpecs = Record<string, FlagSpec>;

export interface ParsedArgs {
  positionals: string[];
  /** Scalar flags as one string, list and repeatable flags as arrays, booleans as true. */
  values: Record<string, string | string[] | boolean | undefined>;
}

/** Parses argv against the command's flags; unknown flags get a did-you-mean, all values are checked by the caller. */
export function parseFlags(argv: readonly string[], flags: FlagSpecs): ParsedArgs {
  const options = Object.fromEntries(
    Object.entries(flags).map(([name, spec]) => [
      name,
      { type: spec.type, multiple: spec.type === "string", ...(spec.short ? { short: spec.short } : {}) },
    ]),
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
  let parsed: { values: Record<string, unknown>; positionals: string[] };
  try {
    parsed = parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError(describeParseError(error instanceof Error ? error.message : String(error), flags));
  }
  const values: ParsedArgs["values"] = {};
  for (const [name, raw] of Object.entries(parsed.values)) {
    const spec = flags[name]!;
    if (spec.type === "boolean") {
      values[name] = raw as boolean;
    } else if (spec.list) {
      values[name] = (raw as string[]).flatMap((v) => v.split(",")).map((v) => v.trim()).filter((v) => v !== "");
    } else if (spec.repeatable) {
      values[name] = raw as string[];
    } else {
      const given = raw as string[];
      if (given.length > 1) throw new UsageError(`--${name} is given ${given.length} times; give it once`);
      values[name] = given[0];
    }
  }
  return { values, positionals: parsed.positionals };
}

function describeParseError(message: string, flags: FlagSpecs): string {
  const unknown = /Unknown option '(-{1,2}[^']+)'/.exec(message);
  if (unknown) {
    return unknownIdMessage("flag", unknown[1]!, Object.keys(flags).map((f) => `--${f}`));
  }
  const missing = /Option '(?:-\w, )?(--[\w-]+) <value>' argument missing/.exec(message);
  if (missing) return `${missing[1]} needs a value`;
  const ambiguous = /Option '(?:-\w, )?(--[\w-]+)' argument is ambiguous/.exec(message);
  if (ambiguous) return `${ambiguous[1]} needs a value`;
  const notBoolean = /Option '(?:-\w, )?(--[\w-]+)' does not take an argument/.exec(message);
  if (notBoolean) return `${notBoolean[1]} takes no value`;
  return message.split("\n")[0]!;
}

const INTEGER = /^-?\d+$/;
const DECIMAL = /^-?\d+(\.\d+)?$/;

/**
 * A flag's value as a number when it is written as plain digits (no hex, exponents or
 * spaces); otherwise the text itself, which the request schema then rejects together with
 * every other problem.
 */
export function numberFlag(raw: string, kind: "integer" | "decimal"): number | string {
  return (kind === "integer" ? INTEGER : DECIMAL).test(raw) ? Number(raw) : raw;
}

/**
 * A count flag (`--replicas 2`): a whole number of at least 1, or undefined when not given; any
 * other text is a UsageError that repeats it, says what it counts, and how to fix it.
 */
export function countFlag(values: Record<string, unknown>, flag: string, unit: string, fix: string): number | undefined {
  const raw = values[flag] as string | undefined;
  if (raw === undefined) return undefined;
  const value = numberFlag(raw, "integer");
  if (typeof value !== "number" || value < 1) {
    throw new UsageError(`--${flag}: ${JSON.stringify(raw)} is not a whole number of ${unit} of at least 1; ${fix}, or leave it out`);
  }
  return value;
}

export function helpText(usage: string, flags: FlagSpecs): string {
  const rows = Object.entries(flags).map(([name, spec]) => {
    const left = `  ${spec.short ? `-${spec.short}, ` : ""}--${name}${spec.value ? ` <${spec.value}>` : ""}`;
    return `${left.padEnd(40)} ${spec.help}`;
  });
  return [usage, "", "Options:", ...rows].join("\n");
}
