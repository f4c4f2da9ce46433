import { spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { EngineEvent, LocalProgramArgs, LocalWorkspaceOptions, OpType, PreviewOptions } from "@pulumi/pulumi/automation";
import { describe, expect, it } from "vitest";
import { LOCAL_AUTOMATION, findOnPath, previewCall, runPreview, type Automation } from "../../cli/preview";
import { BIN } from "../support/cli";

const ROOT = join(__dirname, "../..");
const noStackTrace = (text: string) => expect(text).not.toMatch(/\n\s+at .+:\d+:\d+/);

const urn = (type: string, name: string, parentType?: string) =>
  `urn:pulumi:dev::llm-fleet::${parentType ? `${parentType}$` : ""}${type}::${name}`;
const STACK_URN = urn("pulumi:pulumi:Stack", "llm-fleet-dev");
const COMPONENT_URN = urn("llm-fleet:index:VllmServer", "assistant-vllm");

const nodeGroupInputs = (desiredSize: number) => ({
  capacityType: "ON_DEMAND",
  clusterName: "llm-fleet-dev",
  instanceTypes: ["g5.xlarge"],
  scalingConfig: { desiredSize, maxSize: 2, minSize: desiredSize },
  tags: { "llm-fleet.dev/node-group": "assistant-gpu" },
});

const VLLM_INPUTS = {
  apiVersion: "apps/v1",
  kind: "Deployment",
  metadata: { name: "assistant-vllm", namespace: "assistant-vllm" },
  spec: {
    replicas: 1,
    template: {
      spec: {
        containers: [
          {
            name: "vllm",
            image: "vllm/vllm-openai:v0.33.0",
            command: ["vllm", "serve"],
            args: ["deepseek-ai/DeepSeek-R1-Distill-Qwen-7B", "--tensor-parallel-size", "1"],
            resources: { limits: { "nvidia.com/gpu": "1" } },
          },
        ],
      },
    },
  },
};

let sequence = 0;
const at = (e: Omit<EngineEvent, "sequence" | "timestamp">): EngineEvent => ({ sequence: sequence++, timestamp: 0, ...e });

function step(op: OpType, type: string, name: string, inputs: { old?: Record<string, unknown>; new?: Record<string, unknown> }, parent = STACK_URN): EngineEvent {
  const u = parent === STACK_URN ? urn(type, name) : urn(type, name, "llm-fleet:index:VllmServer");
  const state = (i: Record<string, unknown>) => ({ type, urn: u, id: "", parent, inputs: i, outputs: {}, provider: "" });
  return at({
    resourcePreEvent: {
      metadata: { op, urn: u, type, provider: "", ...(inputs.old ? { old: state(inputs.old) } : {}), ...(inputs.new ? { new: state(inputs.new) } : {}) },
      planning: true,
    },
  });
}

const prelude = at({ preludeEvent: { config: { "aws:region": "us-east-1", "llm-fleet:environment": "dev" } } });
const summary = at({ summaryEvent: { maybeCorrupt: false, durationSeconds: 3, resourceChanges: {}, policyPacks: { "llm-fleet": "0.1.0" } } });
const stackStep = step("same", "pulumi:pulumi:Stack", "llm-fleet-dev", { old: {}, new: {} }, "");

/** A fresh stack: a node group of one g5.xlarge and the vLLM Deployment under its component. */
const CREATE_EVENTS: EngineEvent[] = [
  prelude,
  stackStep,
  step("create", "aws:eks/nodeGroup:NodeGroup", "assistant-gpu-node-group", { new: nodeGroupInputs(1) }),
  step("create", "llm-fleet:index:VllmServer", "assistant-vllm", { new: {} }),
  step("create", "kubernetes:apps/v1:Deployment", "assistant-vllm-deployment", { new: VLLM_INPUTS }, COMPONENT_URN),
  summary,
];

interface Calls {
  selectStack: [LocalProgramArgs, LocalWorkspaceOptions][];
  preview: PreviewOptions[];
}

/** An Automation API that replays events instead of running the CLI; `fail` is what preview then throws. */
function fakeAutomation(events: EngineEvent[], fail?: Error): { automation: Automation; calls: Calls } {
  const calls: Calls = { selectStack: [], preview: [] };
  const automation: Automation = {
    findCli: () => "/usr/local/bin/pulumi",
    selectStack: async (args, opts) => {
      calls.selectStack.push([args, opts]);
      return {
        preview: async (options) => {
          calls.preview.push(options);
          options.onOutput?.("Previewing update (dev)\n");
          for (const e of events) options.onEvent?.(e);
          if (fail) throw fail;
          return { stdout: "", stderr: "", changeSummary: {} };
        },
      };
    },
  };
  return { automation, calls };
}

/** The error the Automation API throws for a failed `pulumi` run, built as its exec builds it. */
function commandError(stderr: string, code = 255): Error {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { CommandResult } = require("@pulumi/pulumi/automation/cmd") as { CommandResult: new (o: string, e: string, c: number, err?: Error) => unknown };
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { CommandError } = require("@pulumi/pulumi/automation") as unknown as { CommandError: new (r: unknown) => Error };
  return new CommandError(new CommandResult("", stderr, code, code === -2 ? new Error(stderr) : undefined));
}

async function run(argv: string[], automation: Automation) {
  const progress: string[] = [];
  const out = await runPreview(argv, automation, (t) => progress.push(t), ROOT);
  return { ...out, progress: progress.join("") };
}

describe("the Automation API call", () => {
  it("selects the stack at the repository root, with the pack and the environment's pack config", () => {
    const onOutput = () => undefined;
    const onEvent = () => undefined;
    const call = previewCall("staging", "/repo", { onOutput, onEvent });
    // Pulumi.yaml at the root names stacks/index.ts and stackConfigDir stacks: the CLI finds stacks/Pulumi.staging.yaml.
    expect(call.stack).toEqual({ stackName: "staging", workDir: "/repo" });
    expect(call.workspace).toEqual({ workDir: "/repo", envVars: { PULUMI_SKIP_UPDATE_CHECK: "true" } });
    expect(call.options).toEqual({
      policyPacks: ["/repo/policy"],
      policyPackConfigs: ["/repo/policy/config.staging.json"],
      color: "never",
      onOutput,
      onError: onOutput,
      onEvent,
    });
  });

  it("uses this checkout by default, whose Pulumi.yaml, stack file, pack and pack config exist", () => {
    const call = previewCall("prod");
    expect(call.stack).toEqual({ stackName: "prod", workDir: ROOT });
    expect(call.options.policyPacks).toEqual([join(ROOT, "policy")]);
    expect(call.options.policyPackConfigs).toEqual([join(ROOT, "policy", "config.prod.json")]);
  });

  it("passes exactly that call to the Automation API and streams the CLI's output as progress", async () => {
    const { automation, calls } = fakeAutomation(CREATE_EVENTS);
    const { code, progress } = await run(["--stack", "dev"], automation);
    expect(code).toBe(0);
    expect(calls.selectStack).toEqual([[{ stackName: "dev", workDir: ROOT }, { workDir: ROOT, envVars: { PULUMI_SKIP_UPDATE_CHECK: "true" } }]]);
    expect(calls.preview).toHaveLength(1);
    expect(calls.preview[0]).toMatchObject({ policyPacks: [join(ROOT, "policy")], policyPackConfigs: [join(ROOT, "policy", "config.dev.json")], color: "never" });
    expect(progress).toBe("Previewing update (dev)\n");
  });
});

describe("the summary of a preview's engine events", () => {
  it("counts the changes by type and prices the node group the stack will have", async () => {
    const { code, stdout, stderr } = await run(["--stack", "dev"], fakeAutomation(CREATE_EVENTS).automation);
    expect(code).toBe(0);
    expect(stderr).toBe("");
    // One g5.xlarge on demand in us-east-1 at $1.006/hour: $734 a month, $1,469 at its maximum of 2.
    expect(stdout).toBe(
      [
        "Stack dev · prices of 2026-01-21 in us-east-1 · pulumi preview with the policy pack",
        "",
        "Changes: 3 to create, 0 unchanged:",
        "  type                           create",
        "  aws:eks/nodeGroup:NodeGroup         1",
        "  kubernetes:apps/v1:Deployment       1",
        "  llm-fleet:index:VllmServer          1",
        "",
        "Cost after the preview (USD, 3 resources):",
        "  resource                  what                                  /hour  /month  max /hour  max /month",
        "  assistant-gpu-node-group  1 x g5.xlarge (on-demand), up to 2  $1.0060    $734    $2.0120      $1,469",
        "  total                                                         $1.0060    $734    $2.0120      $1,469",
        "",
        "Policies (pack llm-fleet 0.1.0, config policy/config.dev.json): passed",
        "",
      ].join("\n"),
    );
  });

  it("gives the same figures as JSON, with the Deployment under its component", async () => {
    const { code, stdout } = await run(["--stack", "dev", "--json"], fakeAutomation(CREATE_EVENTS).automation);
    expect(code).toBe(0);
    const doc = JSON.parse(stdout);
    expect(doc.changes).toEqual({
      byType: { "aws:eks/nodeGroup:NodeGroup": { create: 1 }, "kubernetes:apps/v1:Deployment": { create: 1 }, "llm-fleet:index:VllmServer": { create: 1 } },
      totals: { create: 3 },
    });
    expect(doc.resources.map((r: { name: string; parent: string | null; op: string }) => [r.name, r.parent, r.op])).toEqual([
      ["assistant-gpu-node-group", null, "create"],
      ["assistant-vllm", null, "create"],
      ["assistant-vllm-deployment", "assistant-vllm", "create"],
    ]);
    expect(doc.cost).toMatchObject({ region: "us-east-1", usdPerHour: 1.006, maxUsdPerHour: 2.012, current: null, unpriced: [] });
    expect(doc.cost.usdPerMonth).toBeCloseTo(734.38, 6);
    expect(doc.cost.maxUsdPerMonth).toBeCloseTo(1468.76, 6);
    expect(doc.policy).toEqual({ passed: true, violations: [], configFile: "policy/config.dev.json", packs: { "llm-fleet": "0.1.0" } });
  });

  it("prices a deployed stack before and after, counting a replacement once and leaving out what is deleted", async () => {
    const old = nodeGroupInputs(1);
    const events = [
      prelude,
      stackStep,
      step("update", "aws:eks/nodeGroup:NodeGroup", "assistant-gpu-node-group", { old, new: nodeGroupInputs(2) }),
      step("same", "llm-fleet:index:VllmServer", "assistant-vllm", { old: {}, new: {} }),
      step("create-replacement", "kubernetes:apps/v1:Deployment", "assistant-vllm-deployment", { old: VLLM_INPUTS, new: VLLM_INPUTS }, COMPONENT_URN),
      step("replace", "kubernetes:apps/v1:Deployment", "assistant-vllm-deployment", { old: VLLM_INPUTS, new: VLLM_INPUTS }, COMPONENT_URN),
      step("delete-replaced", "kubernetes:apps/v1:Deployment", "assistant-vllm-deployment", { old: VLLM_INPUTS }, COMPONENT_URN),
      step("delete", "aws:eks/nodeGroup:NodeGroup", "old-gpu-node-group", { old: { ...old, instanceTypes: ["g6e.xlarge"] } }),
      summary,
    ];
    const { code, stdout } = await run(["--stack", "dev"], fakeAutomation(events).automation);
    expect(code).toBe(0);
    expect(stdout).toContain(
      [
        "Changes: 1 to update, 1 to replace, 1 to delete, 1 unchanged:",
        "  type                           update  replace  delete",
        "  aws:eks/nodeGroup:NodeGroup         1        0       1",
        "  kubernetes:apps/v1:Deployment       0        1       0",
        "",
        "Cost after the preview (USD, 3 resources):",
      ].join("\n"),
    );
    expect(stdout).toMatch(/\n {2}assistant-gpu-node-group +2 x g5\.xlarge \(on-demand\), up to 2 +\$2\.0120 +\$1,469 +\$2\.0120 +\$1,469\n/);
    expect(stdout).not.toMatch(/\n {2}old-gpu-node-group/);
    // Now: one g5.xlarge ($734) and the g6e.xlarge being deleted ($1.861/hour, $1,359); after: two g5.xlarge.
    expect(stdout).toContain("\n  Now: $2,093/month, $4,186 at maximum; the change: -$624/month, -$2,717 at maximum\n\n");
    const json = JSON.parse((await run(["--stack", "dev", "--json"], fakeAutomation(events).automation)).stdout);
    const g6e = json.cost.current.usdPerHour - 1.006;
    expect(g6e).toBeGreaterThan(0);
    expect(json.cost.usdPerHour).toBeCloseTo(2.012, 9);
    expect(json.cost.current.maxUsdPerMonth).toBeCloseTo((2.012 + 2 * g6e) * 730, 6);
  });

  it("takes the verdict from the pack's policy events: a mandatory one fails the preview and exits 3", async () => {
    const failed = [
      ...CREATE_EVENTS.slice(0, -1),
      at({
        policyEvent: {
          resourceUrn: urn("kubernetes:apps/v1:Deployment", "assistant-vllm-deployment", "llm-fleet:index:VllmServer"),
          message: "image vllm/vllm-openai:latest is not pinned",
          color: "never",
          policyName: "pinned-vllm-image",
          policyPackName: "llm-fleet",
          policyPackVersion: "0.1.0",
          policyPackVersionTag: "0.1.0",
          enforcementLevel: "mandatory",
        },
      }),
      at({
        policyEvent: {
          message: "dev: $734/month is within the $5,000 budget",
          color: "never",
          policyName: "monthly-budget",
          policyPackName: "llm-fleet",
          policyPackVersion: "0.1.0",
          policyPackVersionTag: "0.1.0",
          enforcementLevel: "warning",
        },
      }),
      summary,
    ];
    // `pulumi preview` exits non-zero on a mandatory violation; the Automation API throws for it.
    const { automation } = fakeAutomation(failed, commandError("error: preview failed"));
    const { code, stdout, stderr } = await run(["--stack", "dev"], automation);
    expect(code).toBe(3);
    expect(stderr).toBe("");
    expect(stdout).toContain(
      "Policies (pack llm-fleet 0.1.0, config policy/config.dev.json): FAILED:\n" +
        "  [mandatory] pinned-vllm-image: image vllm/vllm-openai:latest is not pinned (assistant-vllm-deployment)\n" +
        "  [advisory] monthly-budget: dev: $734/month is within the $5,000 budget\n",
    );
  });

  it("reports a preview that failed for another reason with the engine's errors, exit 1", async () => {
    const events = [prelude, at({ diagnosticEvent: { message: "error: llm-fleet:deployments.0.preset: \"nope\" is not a preset\n", color: "never", severity: "error" } })];
    const { code, stdout, stderr } = await run(["--stack", "dev"], fakeAutomation(events, commandError("error: an error occurred")).automation);
    expect(code).toBe(1);
    expect(stdout).toBe("");
    expect(stderr).toBe('llm-fleet preview: pulumi preview of stack dev failed:\n  error: llm-fleet:deployments.0.preset: "nope" is not a preset\n');
  });
});

describe("llm-fleet preview without what it needs", () => {
  const FALLBACK = "Without them, `llm-fleet plan --stack dev` previews the stack offline: no CLI, no credentials.\n";
  const CLI_MISSING =
    "llm-fleet preview: needs the Pulumi CLI, and `pulumi` is not on PATH: install it (https://www.pulumi.com/docs/iac/download-install/), then log in with `pulumi login`.\n";

  it("names the flag and its values for a bad or missing --stack, exit 1", async () => {
    const { automation, calls } = fakeAutomation(CREATE_EVENTS);
    expect(await run(["--stack", "qa"], automation)).toMatchObject({
      code: 1,
      stdout: "",
      stderr: 'llm-fleet preview: --stack: "qa" is not one of dev, staging, prod; for a stack file of your own, `llm-fleet plan --config <file>` previews it offline\n',
    });
    expect(await run([], automation)).toMatchObject({ code: 1, stderr: "llm-fleet preview: --stack is required: one of dev, staging, prod\n" });
    expect(await run(["--stack", "dev", "--diff"], automation)).toMatchObject({ code: 1 });
    expect(calls.selectStack).toEqual([]);
  });

  it("finds no CLI on an empty PATH, and stops before the Automation API", async () => {
    const empty = mkdtempSync(join(tmpdir(), "llm-fleet-path-"));
    expect(findOnPath("pulumi", empty)).toBeUndefined();
    expect(findOnPath("pulumi", "")).toBeUndefined();
    const fake = join(empty, "pulumi");
    writeFileSync(fake, "#!/bin/sh\n");
    chmodSync(fake, 0o755);
    expect(findOnPath("pulumi", `/nonexistent:${empty}`)).toBe(fake);

    const path = process.env.PATH;
    process.env.PATH = mkdtempSync(join(tmpdir(), "llm-fleet-path-"));
    let selected = false;
    try {
      const out = await run(["--stack", "dev"], {
        ...LOCAL_AUTOMATION,
        selectStack: () => {
          selected = true;
          throw new Error("not reached");
        },
      });
      expect(out).toMatchObject({ code: 1, stdout: "", stderr: CLI_MISSING + FALLBACK });
    } finally {
      process.env.PATH = path;
    }
    expect(selected).toBe(false);
  });

  it("turns the Automation API's own error for a missing CLI into the same message", async () => {
    const enoent = commandError("Command failed with ENOENT: pulumi version\nspawn pulumi ENOENT", -2);
    expect(enoent.name).toBe("CommandError");
    const { code, stdout, stderr } = await run(["--stack", "dev"], fakeAutomation([], enoent).automation);
    expect({ code, stdout, stderr }).toEqual({ code: 1, stdout: "", stderr: CLI_MISSING + FALLBACK });
  });

  it("names the backend login, the stack, the passphrase or the AWS credentials when one is missing", async () => {
    const cases: [string, string][] = [
      ["error: PULUMI_ACCESS_TOKEN must be set for login during non-interactive CLI sessions", "needs a login to a Pulumi backend: run `pulumi login`"],
      ["error: no stack named 'dev' found", 'needs the stack "dev" in the Pulumi backend you are logged in to'],
      ["error: getting stack configuration: passphrase must be set with PULUMI_CONFIG_PASSPHRASE", "needs the stack's secrets passphrase: set PULUMI_CONFIG_PASSPHRASE"],
      ["error: No valid credential sources found for AWS Provider", "needs AWS credentials for the stack's account"],
    ];
    for (const [said, need] of cases) {
      const { code, stdout, stderr } = await run(["--stack", "dev"], fakeAutomation([], commandError(said)).automation);
      expect({ code, stdout }).toEqual({ code: 1, stdout: "" });
      expect(stderr.startsWith(`llm-fleet preview: ${need}`)).toBe(true);
      expect(stderr.endsWith(FALLBACK)).toBe(true);
      noStackTrace(stderr);
    }
  });

  it("from bin/llm-fleet with no pulumi on PATH: exit 1, the message, no stack trace", () => {
    const result = spawnSync(process.execPath, [BIN, "preview", "--stack", "dev"], {
      encoding: "utf8",
      env: { ...process.env, PATH: mkdtempSync(join(tmpdir(), "llm-fleet-path-")), NO_COLOR: "1" },
    });
    expect(result.status).toBe(1);
    expect(result.stdout).toBe("");
    expect(result.stderr).toBe(CLI_MISSING + FALLBACK);
  });
});
