import { CATALOG_VERSION, VLLM_VERSION } from "../sizing";
import { runEstimate } from "./estimate";
import { runSize, type CommandOutput } from "./size";

const USAGE = `Usage: llm-fleet <command> [options]

Commands:
  plan           offline preview of a stack: its plans, resources, cost and budget verdict (no cloud credentials)
  preview --stack <stack>
                 a real pulumi preview with the policy pack, summarised as plan does (needs the Pulumi CLI and credentials)
  size <model>   the cheapest deployment of a model that vLLM can start and that meets the latency targets, with the reasons for every other candidate
  estimate <model> --gpu <id> --tp <n>
                 memory, latency and throughput of one replica in a layout you name
  bench --deployment <name>
                 a Kubernetes Job that benchmarks a deployed stack deployment with vllm bench serve at its plan's workload
  calibrate --deployment <name> <result.json>...
                 the benchmark's figures against the plan's, and the llm-fleet:calibration entry that makes the planner use them
  schema         the Pulumi package schema of the components, as programs in Python, Go and YAML get them (pulumi package add)

Run "llm-fleet <command> --help" for the options of a command.`;

export async function run(argv: readonly string[]): Promise<CommandOutput> {
  const [command, ...rest] = argv;
  switch (command) {
    case "size":
      return runSize(rest);
    case "estimate":
      return runEstimate(rest);
    case "plan": {
      // Loaded on demand: it brings the Pulumi SDK, which `size` does not need at start-up.
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { runPlan } = require("./plan") as typeof import("./plan");
      return runPlan(rest);
    }
    case "preview": {
      // Loaded on demand, as plan: it brings the Pulumi SDK and the policy pack's code.
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { runPreview } = require("./preview") as typeof import("./preview");
      return runPreview(rest);
    }
    case "bench": {
      // Loaded on demand, as plan: reading a stack file brings the Pulumi SDK.
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { runBench } = require("./bench") as typeof import("./bench");
      return runBench(rest);
    }
    case "calibrate": {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { runCalibrate } = require("./calibrate") as typeof import("./calibrate");
      return runCalibrate(rest);
    }
    case "schema": {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { runSchema } = require("./schema") as typeof import("./schema");
      return runSchema(rest);
    }
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

/**
 * A closed pipe (`llm-fleet size ... | head -1`) ends the command quietly; any other write
 * failure (a full disk) is one line on stderr, never a stack trace.
 */
function guardOutput(code: () => number): void {
  process.stdout.on("error", (error: NodeJS.ErrnoException) => {
    if (error.code !== "EPIPE") process.stderr.write(`llm-fleet: cannot write output: ${error.code ?? error.message}\n`);
    process.exit(error.code === "EPIPE" ? code() : 1);
  });
  process.stderr.on("error", () => process.exit(code() || 1));
}

/** Entry point of bin/llm-fleet: never lets a stack trace reach the terminal. */
export async function main(argv: readonly string[]): Promise<number> {
  let output: CommandOutput;
  try {
    output = await run(argv);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    // 4, apart from every command's own codes (plan uses 3 for a failed budget).
    output = { code: 4, stdout: "", stderr: `llm-fleet: internal error: ${message}\nPlease report it with the command line you ran.\n` };
  }
  guardOutput(() => output.code);
  process.stdout.write(output.stdout);
  process.stderr.write(output.stderr);
  return output.code;
}
