import { spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import YAML from "yaml";
import { GITHUB_COMMENT_LIMIT, changedPaths, diffPlans, renderDiffMarkdown, signedUsd } from "../../cli/diff";
import { runPlan, type PlanDocument } from "../../cli/plan";
import { HOURS_PER_MONTH } from "../../sizing";
import { cli } from "../support/cli";

const DEV = join(__dirname, "../../stacks/Pulumi.dev.yaml");
const devConfig = () => YAML.parse(readFileSync(DEV, "utf8")).config as Record<string, unknown>;

/** A stack file of the dev stack with `edit` applied, in a directory of its own. */
function stackFile(edit: (config: Record<string, any>) => void, name = "Pulumi.dev.yaml"): string {
  const config = devConfig();
  edit(config);
  const dir = mkdtempSync(join(tmpdir(), "llm-fleet-diff-"));
  const file = join(dir, name);
  writeFileSync(file, YAML.stringify({ config }));
  return file;
}

async function planJson(file: string): Promise<PlanDocument> {
  const out = await runPlan(["--config", file, "--json"]);
  return JSON.parse(out.stdout) as PlanDocument;
}

async function diffJson(head: string, base: string) {
  const out = await runPlan(["--config", head, "--diff", base, "--json"]);
  return { code: out.code, doc: JSON.parse(out.stdout), stderr: out.stderr };
}

/** The diff's delta, against two separate plan --json runs of the same files. */
async function checkAgainstTwoPlans(head: string, base: string) {
  // One at a time: the offline program runs under Pulumi's process-wide mocks.
  const b = await planJson(base);
  const h = await planJson(head);
  const d = await diffJson(head, base);
  expect(d.doc.delta.usdPerHour).toBeCloseTo(h.cost.usdPerHour - b.cost.usdPerHour, 9);
  expect(d.doc.delta.usdPerMonth).toBeCloseTo(h.cost.usdPerMonth - b.cost.usdPerMonth, 9);
  expect(d.doc.delta.maxUsdPerMonth).toBeCloseTo(h.cost.maxUsdPerMonth - b.cost.maxUsdPerMonth, 9);
  expect(d.doc.delta.activeUsdPerMonth).toBeCloseTo((h.cost.activeUsdPerHour - b.cost.activeUsdPerHour) * HOURS_PER_MONTH, 9);
  expect(d.doc.base.cost).toEqual(b.cost);
  expect(d.doc.head.cost).toEqual(h.cost);
  return { base: b, head: h, diff: d };
}

describe("llm-fleet plan --diff <stack file>", () => {
  it("a model change: the plan's figures, the resources and the cost that move with it", async () => {
    const head = stackFile((c) => (c["llm-fleet:deployments"][0] = { name: "assistant", model: "r1-distill-llama-8b", placement: { maxNodes: 2 } }));
    const { diff, head: h } = await checkAgainstTwoPlans(head, DEV);
    expect(diff.code).toBe(0);
    const [change] = diff.doc.delta.deployments;
    expect(change).toMatchObject({ name: "assistant", change: "changed" });
    expect(change.fields.find((f: { field: string }) => f.field === "model")).toEqual({ field: "model", before: "DeepSeek-R1-Distill-Qwen-7B", after: "DeepSeek-R1-Distill-Llama-8B" });
    expect(change.fields.find((f: { field: string }) => f.field === "instance type")).toEqual({ field: "instance type", before: "g5.xlarge", after: h.deployments[0]!.plan.instanceType });
    expect(diff.doc.delta.resources.added).toEqual([]);
    expect(diff.doc.delta.resources.removed).toEqual([]);
    const group = diff.doc.delta.resources.changed.find((r: { name: string }) => r.name === "assistant-gpu-node-group");
    expect(group.paths).toContain("instanceTypes.0");
  });

  it("a node count: more nodes at maximum, the same at desired size", async () => {
    const head = stackFile((c) => (c["llm-fleet:deployments"][0].placement = { maxNodes: 4 }));
    const { diff } = await checkAgainstTwoPlans(head, DEV);
    expect(diff.doc.delta.usdPerMonth).toBe(0);
    expect(diff.doc.delta.maxUsdPerMonth).toBeCloseTo(2 * (1.006 + (100 * 0.08) / HOURS_PER_MONTH) * HOURS_PER_MONTH, 6);
    expect(diff.doc.delta.deployments).toEqual([]);
    const group = diff.doc.delta.resources.changed.find((r: { name: string }) => r.name === "assistant-gpu-node-group");
    expect(group.paths).toEqual(["scalingConfig.maxSize"]);
  });

  it("a region: another price for the same plan, and every regional input", async () => {
    const head = stackFile((c) => (c["aws:region"] = "us-west-2"));
    const { diff } = await checkAgainstTwoPlans(head, DEV);
    expect(diff.doc.delta.deployments[0].fields.find((f: { field: string }) => f.field === "capacity")).toEqual({ field: "capacity", before: "spot in us-east-1", after: "spot in us-west-2" });
  });

  it("a deployment added, then removed: its resources and its cost, signed each way", async () => {
    const two = stackFile((c) => c["llm-fleet:deployments"].push({ name: "edge", preset: "edge-1.5b" }));
    const added = await checkAgainstTwoPlans(two, DEV);
    expect(added.diff.doc.delta.deployments.map((d: { name: string; change: string }) => [d.name, d.change])).toEqual([["edge", "added"]]);
    expect(added.diff.doc.delta.resources.added.map((r: { name: string }) => r.name)).toContain("edge-vllm-deployment");
    expect(added.diff.doc.delta.resources.removed).toEqual([]);
    const removed = await diffJson(DEV, two);
    expect(removed.doc.delta.deployments.map((d: { name: string; change: string }) => [d.name, d.change])).toEqual([["edge", "removed"]]);
    expect(removed.doc.delta.resources.removed).toEqual(added.diff.doc.delta.resources.added);
    expect(removed.doc.delta.maxUsdPerMonth).toBeCloseTo(-added.diff.doc.delta.maxUsdPerMonth, 9);
  });

  it("a broken policy: exit 3 for the head, the new mandatory violation first, resolved when reverted", async () => {
    const r1 = stackFile((c) => (c["llm-fleet:deployments"][0] = { name: "assistant", model: "deepseek-r1", placement: { gpus: ["h200"] } }));
    const broken = await diffJson(r1, DEV);
    expect(broken.code).toBe(3);
    expect(broken.doc.delta.policy.newViolations[0]).toMatchObject({ policy: "monthly-budget", level: "mandatory" });
    expect(broken.doc.delta.policy.resolvedViolations).toEqual([]);
    const markdown = await runPlan(["--config", r1, "--diff", DEV, "--format", "markdown"]);
    expect(markdown.code).toBe(3);
    expect(markdown.stdout.split("\n")[0]).toMatch(/^\*\*llm-fleet plan `dev`\*\*: \+\$[\d,]+\/month at the planned load .*; policy FAILED: monthly-budget/);
    const reverted = await diffJson(DEV, r1);
    expect(reverted.code).toBe(0);
    expect(reverted.doc.delta.policy.resolvedViolations[0]).toMatchObject({ policy: "monthly-budget" });
  });

  it("never shows a secret: an API key that changes leaves no trace in text, Markdown or JSON", async () => {
    const a = stackFile((c) => (c["llm-fleet:apiKey"] = { secure: "v1:AAAAkeyBeforeAAAA" }));
    const b = stackFile((c) => (c["llm-fleet:apiKey"] = { secure: "v1:BBBBkeyAfterBBBB" }));
    for (const extra of [[], ["--format", "markdown"], ["--json"]]) {
      const out = (await runPlan(["--config", b, "--diff", a, ...extra])).stdout;
      expect(out).not.toContain("keyBefore");
      expect(out).not.toContain("keyAfter");
    }
  });

  it("changed inputs are listed by path, not by value", async () => {
    const a = stackFile((c) => (c["llm-fleet:deployments"][0].serving = { weights: "s3://models-a/qwen7", s3RoleArn: "arn:aws:iam::123456789012:role/read-a" }));
    const b = stackFile((c) => (c["llm-fleet:deployments"][0].serving = { weights: "s3://models-b/qwen7", s3RoleArn: "arn:aws:iam::123456789012:role/read-b" }));
    const text = (await runPlan(["--config", b, "--diff", a])).stdout;
    expect(text).not.toContain("models-a");
    expect(text).not.toContain("read-b");
    expect(text).toMatch(/~ kubernetes:apps\/v1:Deployment {2}assistant-vllm-deployment: .*spec\.template\.spec/);
  });
});

describe("llm-fleet plan --diff git:<ref>", () => {
  const repo = mkdtempSync(join(tmpdir(), "llm-fleet-git-"));
  const git = (...args: string[]) => {
    const r = spawnSync("git", ["-C", repo, ...args], { encoding: "utf8" });
    if (r.status !== 0) throw new Error(r.stderr);
    return r.stdout;
  };
  git("init", "-q", "-b", "main");
  git("config", "user.email", "ci@example.com");
  git("config", "user.name", "ci");
  mkdirSync(join(repo, "stacks"));
  const file = join(repo, "stacks", "Pulumi.dev.yaml");
  copyFileSync(DEV, file);
  git("add", ".");
  git("commit", "-q", "-m", "base");
  const edited = YAML.parse(readFileSync(DEV, "utf8"));
  edited.config["llm-fleet:deployments"][0].placement = { maxNodes: 3 };
  writeFileSync(file, YAML.stringify(edited));

  it("plans the same stack file at the ref as the base", async () => {
    const { code, doc } = await diffJson(file, "git:main");
    expect(code).toBe(0);
    const viaFile = await diffJson(file, DEV);
    expect(doc.delta).toEqual(viaFile.doc.delta);
    expect(doc.delta.resources.changed.find((r: { name: string }) => r.name === "assistant-gpu-node-group").paths).toEqual(["scalingConfig.maxSize"]);
  });

  it("bad bases exit 1 with a message that names them", async () => {
    const bad = async (base: string, head = file) => {
      const out = await runPlan(["--config", head, "--diff", base]);
      expect(out.code).toBe(1);
      expect(out.stdout).toBe("");
      return out.stderr;
    };
    expect(await bad("git:no-such-branch")).toBe(
      `llm-fleet plan: --diff: no git ref no-such-branch in ${spawnSync("git", ["-C", repo, "rev-parse", "--show-toplevel"], { encoding: "utf8" }).stdout.trim()}; fetch it (git fetch origin) or name another, e.g. git:HEAD~1\n`,
    );
    const fresh = join(repo, "stacks", "Pulumi.staging.yaml");
    copyFileSync(join(__dirname, "../../stacks/Pulumi.staging.yaml"), fresh);
    expect(await bad("git:main", fresh)).toBe("llm-fleet plan: --diff: no stack file stacks/Pulumi.staging.yaml at main: the stack is new there; run llm-fleet plan without --diff\n");
    expect(await bad("/no/such/Pulumi.dev.yaml")).toBe("llm-fleet plan: --diff: no stack file at /no/such/Pulumi.dev.yaml; give a stack file or git:<ref>\n");
    expect(await bad(repo)).toBe(`llm-fleet plan: --diff: no stack file at ${repo}; give a stack file or git:<ref>\n`);
    expect(await bad("git:-output")).toBe("llm-fleet plan: --diff: -output is not a git ref; name a branch, tag or commit, e.g. git:origin/main\n");
    const prod = join(__dirname, "../../stacks/Pulumi.prod.yaml");
    expect(await bad(prod)).toBe(`llm-fleet plan: --diff: ${prod} is the prod stack's file, not dev's; --diff compares two versions of one stack\n`);
    expect(await bad("git:")).toBe("llm-fleet plan: --diff: git: needs a ref, e.g. git:origin/main\n");
  });

  it("a git base brings the policy config it had at the ref: a tightened policy shows the violations it adds", async () => {
    // At the ref dev allowed the 4-GPU g6 and a larger budget; today's policy/config.dev.json allows neither for this stack.
    const policyRepo = mkdtempSync(join(tmpdir(), "llm-fleet-git-policy-"));
    const run = (...args: string[]) => spawnSync("git", ["-C", policyRepo, ...args], { encoding: "utf8" });
    run("init", "-q", "-b", "main");
    run("config", "user.email", "ci@example.com");
    run("config", "user.name", "ci");
    mkdirSync(join(policyRepo, "stacks"));
    mkdirSync(join(policyRepo, "policy"));
    const stack = join(policyRepo, "stacks", "Pulumi.dev.yaml");
    const config = devConfig();
    (config["llm-fleet:deployments"] as any[])[0] = { name: "assistant", model: "r1-distill-llama-70b", placement: { gpus: ["h100"] } };
    writeFileSync(stack, YAML.stringify({ config }));
    writeFileSync(
      join(policyRepo, "policy", "config.dev.json"),
      JSON.stringify({ "monthly-budget": { budgetUsdPerMonth: 500000, environment: "dev", region: "us-east-1" }, "allowed-instance-types": { allowedFamilies: ["p5"] }, "dev-capacity": "advisory" }),
    );
    run("add", ".");
    run("commit", "-q", "-m", "base");
    const { code, doc } = await diffJson(stack, "git:main");
    expect(code).toBe(3);
    expect(doc.base.policy.passed).toBe(true);
    expect(doc.delta.policy.newViolations.map((v: { policy: string }) => v.policy)).toEqual(expect.arrayContaining(["monthly-budget", "allowed-instance-types"]));
    expect(doc.delta.policy.newViolations[0].level).toBe("mandatory");
  });

  it("a base that no longer plans shows the head alone, with the head's exit code", async () => {
    const broken = YAML.parse(readFileSync(DEV, "utf8"));
    broken.config["llm-fleet:deployments"][0].preset = "no-such-preset";
    const repoFile = join(repo, "stacks", "Pulumi.dev.yaml");
    const head = readFileSync(repoFile, "utf8");
    writeFileSync(repoFile, YAML.stringify(broken));
    git("commit", "-q", "-am", "a broken main");
    writeFileSync(repoFile, head);
    const out = await runPlan(["--config", repoFile, "--diff", "git:main", "--format", "markdown"]);
    expect(out.code).toBe(0);
    const lines = out.stdout.split("\n");
    expect(lines[0]).toMatch(/^\*\*llm-fleet plan `dev`\*\*: \$1,008\/month at the planned load/);
    expect(lines[2]).toMatch(/^> The base \(git:main\) could not be planned, so this is the head alone: --diff git:main: .*no-such-preset/);
    git("reset", "-q", "--hard", "HEAD~1");
    writeFileSync(repoFile, head);
  });

  it("as a separate process, with the head's exit code", () => {
    const out = cli("plan", "--config", file, "--diff", "git:main", "--format", "markdown");
    expect(out.code).toBe(0);
    expect(out.stdout.split("\n")[0]).toBe("**llm-fleet plan `dev`**: $0/month at the planned load ($1,008 -> $1,008), $0 at desired size, +$742 at maximum; policies passed");
  });
});

describe("the Markdown comment", () => {
  const doc = (usdPerHour: number, violations: PlanDocument["policy"]["violations"], resources = 2): PlanDocument =>
    ({
      stack: "prod",
      deployments: [],
      resources: Array.from({ length: resources }, (_, i) => ({ type: "aws:eks/nodeGroup:NodeGroup", name: `group-${String(i).padStart(5, "0")}`, parent: null, dependsOn: [], inputs: { size: i } })),
      cost: {
        usdPerHour,
        usdPerMonth: usdPerHour * HOURS_PER_MONTH,
        activeUsdPerHour: usdPerHour,
        maxUsdPerHour: usdPerHour,
        maxUsdPerMonth: usdPerHour * HOURS_PER_MONTH,
        pricesAsOf: "2026-01-21",
        items: [{ resource: "r1-gpu", summary: "", what: "1 x p5en.48xlarge", desiredUsdPerHour: usdPerHour, activeUsdPerHour: usdPerHour, maxUsdPerHour: usdPerHour }],
      },
      operations: {} as PlanDocument["operations"],
      policy: { passed: !violations.some((v) => v.level === "mandatory"), violations, configFile: "policy/config.prod.json" },
      outputs: {},
    }) as PlanDocument;

  it("is generated text: verdict, cost table, new violations first, resources collapsed", () => {
    const before = doc(10, [{ policy: "no-public-load-balancer", level: "advisory", message: "old advice" }]);
    const after = doc(20, [
      { policy: "no-public-load-balancer", level: "advisory", message: "new advice" },
      { policy: "monthly-budget", level: "mandatory", message: "prod: over the $10,000 budget" },
    ]);
    after.resources[1]!.inputs = { size: 5 };
    expect(renderDiffMarkdown(diffPlans(before, after))).toBe(
      [
        "**llm-fleet plan `prod`**: +$7,300/month at the planned load ($7,300 -> $14,600), +$7,300 at desired size, +$7,300 at maximum; policy FAILED: monthly-budget",
        "",
        "No change to any deployment's plan.",
        "Cost per month (prices of 2026-01-21) at the planned load, with the deltas at desired size and at maximum:",
        "",
        "| item | before | after | delta | delta at desired | delta at max |",
        "|---|---|---|---|---|---|",
        "| r1-gpu: 1 x p5en.48xlarge | $7,300 | $14,600 | +$7,300 | +$7,300 | +$7,300 |",
        "| **total** | $7,300 | $14,600 | +$7,300 | +$7,300 | +$7,300 |",
        "",
        "Policies: passed -> FAILED (policy/config.prod.json)",
        "- new **[mandatory] monthly-budget**: prod: over the $10,000 budget",
        "- new **[advisory] no-public-load-balancer**: new advice",
        "- resolved [advisory] no-public-load-balancer: old advice",
        "",
        "<details><summary>Resources</summary>",
        "",
        "0 to add, 0 to remove, 1 to change.",
        "",
        "- `~` aws:eks/nodeGroup:NodeGroup `group-00001`: `size`",
        "",
        "</details>",
        "",
      ].join("\n"),
    );
  });

  it(`stays under GitHub's ${GITHUB_COMMENT_LIMIT.toLocaleString("en-US")} characters: the details are cut, never the verdict`, () => {
    const before = doc(10, [], 0);
    const after = doc(10, [], 3000);
    const text = renderDiffMarkdown(diffPlans(before, after));
    // With room for a CI's marker line above it.
    expect(text.length).toBeLessThanOrEqual(GITHUB_COMMENT_LIMIT - 100);
    expect(text.length).toBeGreaterThan(GITHUB_COMMENT_LIMIT - 1000);
    expect(text.split("\n")[0]).toBe("**llm-fleet plan `prod`**: $0/month at the planned load ($7,300 -> $7,300), $0 at desired size, $0 at maximum; policies passed");
    expect(text).toContain("... cut to stay under GitHub's comment limit; run llm-fleet plan --diff for the rest");
    expect(text.trimEnd().endsWith("</details>")).toBe(true);
    const small = renderDiffMarkdown(diffPlans(before, doc(10, [], 10)));
    expect(small).not.toContain("cut to stay under");
  });

  it("lists changed inputs by leaf path, and signs amounts", () => {
    expect(changedPaths({ a: { b: 1, c: [1, 2] }, d: "x" }, { a: { b: 2, c: [1, 3] }, d: "x", e: true })).toEqual(["a.b", "a.c.1", "e"]);
    expect(signedUsd(1234.4)).toBe("+$1,234");
    expect(signedUsd(-56)).toBe("-$56");
    expect(signedUsd(0.2)).toBe("$0");
  });
});

describe("llm-fleet plan --format markdown", () => {
  it("one plan as a comment: verdict, a table per deployment, the cost, the resources collapsed", async () => {
    const out = await runPlan(["--stack", "dev", "--format", "markdown"]);
    expect(out.code).toBe(0);
    const lines = out.stdout.split("\n");
    expect(lines[0]).toBe("**llm-fleet plan `dev`**: $1,008/month at the planned load, $266 at desired size, $1,828 at maximum; policies passed");
    expect(out.stdout).toContain("| `assistant` | DeepSeek-R1-Distill-Qwen-7B | deepseek-ai/DeepSeek-R1-Distill-Qwen-7B (bf16) | 1 x g5.xlarge | TP 1 x PP 1 | 1 |");
    expect(out.stdout).toContain("| **total** | $1,008 | $266 | $1,828 |");
    expect(out.stdout).toContain("<details><summary>Resources</summary>");
    expect(out.stdout).not.toMatch(/\[secret/);
  });

  it("refuses flags that choose another output", async () => {
    expect(await runPlan(["--format", "markdown", "--json"])).toEqual({ code: 1, stdout: "", stderr: "llm-fleet plan: --format markdown and --json each choose the output; give one\n" });
    expect(await runPlan(["--format", "html"])).toEqual({ code: 1, stdout: "", stderr: 'llm-fleet plan: --format: "html" is not text or markdown\n' });
    expect(await runPlan(["--diff", DEV, "--out", "/tmp/x"])).toEqual({ code: 1, stdout: "", stderr: "llm-fleet plan: --out writes one plan's manifests; run it without --diff\n" });
  });
});
