import { CATALOG_VERSION, VLLM_VERSION } from "../sizing";
import { runSize, type CommandOutput } from "./size";

const USAGE = `Usage: llm-fleet <command> [options]

Commands:
  size <model>   the cheapest deployment of a model that vLLM can start, with the reasons for every other candidate

Run "llm-fleet <command> --help" for the options of a command.`;

export function run(argv: readonly string[]): CommandOutput {
  const [command, ...rest] = argv;
  switch (command) {
    case "size":
      return runSize(rest);
    case undefined:
    case "help":
    case "--help":
    case "-h":
      return { code: command === undefined ? 1 : 0, stdout: USAGE + "\n", stderr: "" };
    case "--version":
      return { code: 0, stdout: `llm-fleet catalog ${CATALOG_VERSION}, vLLM ${VLLM_VERSION}\n`, stderr: "" };
    default:
      return { code: 1, stdout: "", stderr: `llm-fleet: unknown command "${command}"\n${USAGE}\n` };
  }
}

/** Entry point of bin/llm-fleet: never lets a stack trace reach the terminal. */
export function main(argv: readonly string[]): number {
  let output: CommandOutput;
  try {
    output = run(argv);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    output = { code: 3, stdout: "", stderr: `llm-fleet: internal error: ${message}\nPlease report it with the command line you ran.\n` };
  }
  process.stdout.write(output.stdout);
  process.stderr.write(output.stderr);
  return output.code;
}
