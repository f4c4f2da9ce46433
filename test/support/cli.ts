import { spawnSync } from "node:child_process";
import { join } from "node:path";

export const BIN = join(__dirname, "../../bin/llm-fleet");

/** Runs bin/llm-fleet as a user would: a separate process, no TTY. */
export function cli(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const result = spawnSync(BIN, args, { encoding: "utf8", env: { ...process.env, NO_COLOR: "1" } });
  if (result.error) throw result.error;
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}
