import { UsageError, helpText, parseFlags, type FlagSpecs } from "./args";
import type { CommandOutput } from "./size";

export const SCHEMA_FLAGS = {
  compact: { type: "boolean", help: "the schema text exactly as the provider serves it, on one line (default: indented)" },
  help: { type: "boolean", short: "h", help: "show this help" },
} as const satisfies FlagSpecs;

export const SCHEMA_USAGE = [
  "Usage: llm-fleet schema [--compact]",
  "",
  "The Pulumi package schema of llm-fleet's components, as the component provider serves it to",
  "`pulumi package add` (ComponentProvider.getSchema()): what the SDKs for Python, Go and YAML are",
  "generated from. Reads the TypeScript sources, so it takes a few seconds.",
].join("\n");

export async function runSchema(argv: readonly string[]): Promise<CommandOutput> {
  let compact: boolean;
  try {
    const parsed = parseFlags(argv, SCHEMA_FLAGS);
    if (parsed.values.help) return { code: 0, stdout: helpText(SCHEMA_USAGE, SCHEMA_FLAGS) + "\n", stderr: "" };
    if (parsed.positionals.length > 0) throw new UsageError(`unexpected argument "${parsed.positionals[0]}": schema takes no arguments`);
    compact = parsed.values.compact === true;
  } catch (error) {
    if (error instanceof UsageError) return { code: 1, stdout: "", stderr: `llm-fleet schema: ${error.message}\n` };
    throw error;
  }
  // Loaded on demand: the provider brings the Pulumi SDK and the TypeScript compiler.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { LlmFleetProvider } = require("../package/provider") as typeof import("../package/provider");
  const text = await new LlmFleetProvider().getSchema();
  return { code: 0, stdout: (compact ? text : JSON.stringify(JSON.parse(text), null, 2)) + "\n", stderr: "" };
}
