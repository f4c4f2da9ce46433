import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Job } from "kubernetes-models/batch/v1/Job";
import { describe, expect, it } from "vitest";
import YAML from "yaml";
import { BIN, cli } from "../support/cli";

const bad = (...args: string[]) => {
  const r = cli("bench", ...args);
  expect(r.code).toBe(1);
  expect(r.stdout).toBe("");
  expect(r.stderr).not.toMatch(/\n\s+at .+:\d+:\d+/);
  return r.stderr;
};

const tmp = () => mkdtempSync(join(tmpdir(), "llm-fleet-bench-"));

/** A stack file of our own: the namespace's keys, with `secure:` for the secrets named. */
function stackFile(config: Record<string, unknown>, secrets: string[] = []): string {
  const file = join(tmp(), "stack.yaml");
  const entries: Record<string, unknown> = { "aws:region": "us-east-1", ...config };
  for (const key of secrets) entries[key] = { secure: "AAABAHsecretciphertext" };
  writeFileSync(file, YAML.stringify({ config: entries }));
  return file;
}

/** The dev assistant allowed to scale to zero: no GPU node while idle. */
const ZERO = stackFile({
  "llm-fleet:environment": "dev",
  "llm-fleet:cluster": { mode: "new" },
  "llm-fleet:deployments": [{ name: "assistant", preset: "assistant-7b", placement: { minNodes: 0, maxNodes: 2 } }],
});
/** A staging chat deployment of a fixed size, with an API key and an HF token. */
const FIXED = stackFile(
  {
    "llm-fleet:environment": "staging",
    "llm-fleet:cluster": { mode: "existing", clusterName: "shared-gpu" },
    "llm-fleet:deployments": [{ name: "edge", preset: "edge-1.5b" }, { name: "assistant", preset: "assistant-7b" }],
  },
  ["llm-fleet:apiKey", "llm-fleet:hfToken"],
);

type JobDoc = ConstructorParameters<typeof Job>[0] & { spec: { template: { spec: { containers: { args: string[]; env: unknown[] }[]; nodeSelector?: unknown } } } };
const argOf = (job: JobDoc, name: string) => {
  const args = job.spec.template.spec.containers[0]!.args;
  return args[args.indexOf(name) + 1];
};

describe("llm-fleet bench", () => {
  it("writes the Job for a scale-to-zero deployment, called through its entry Service, and prints what to run", () => {
    const out = tmp();
    const { code, stdout, stderr } = cli("bench", "--config", ZERO, "--deployment", "assistant", "--out", out);
    expect(stderr).toBe("");
    expect(code).toBe(0);
    const path = join(out, "assistant-bench.yaml");
    const job = YAML.parse(readFileSync(path, "utf8")) as JobDoc;
    expect(() => new Job(job).validate()).not.toThrow();
    expect(argOf(job, "--base-url")).toBe("http://assistant-vllm-entry.assistant-vllm.svc.cluster.local:8080");
    expect(argOf(job, "--model")).toBe("r1-distill-qwen-7b");
    expect(argOf(job, "--tokenizer")).toBe("deepseek-ai/DeepSeek-R1-Distill-Qwen-7B");
    expect([argOf(job, "--random-input-len"), argOf(job, "--random-output-len"), argOf(job, "--max-concurrency"), argOf(job, "--num-prompts")]).toEqual(["1024", "1024", "16", "64"]);
    expect(job.spec.template.spec.nodeSelector).toEqual({ "llm-fleet.dev/node-group": "system" });
    expect(job.spec.template.spec.containers[0]!.env).toEqual([{ name: "HF_HOME", value: "/cache/hf" }]);
    const deadline = job.spec!.activeDeadlineSeconds!;
    const hold = Number(argOf(job, "--ready-check-timeout-sec"));
    expect(hold).toBeGreaterThan(600);
    expect(stdout).toContain(`The deployment scales to zero: the first request waits up to ${hold} s for a replica to start.\n`);
    expect(stdout).toContain(
      [
        "Run it, wait for it and fetch its result (the Job's last log line):",
        `  kubectl apply -f ${path}`,
        `  kubectl -n assistant-vllm wait --for=condition=complete job/assistant-bench --timeout=${deadline}s`,
        "  kubectl -n assistant-vllm logs job/assistant-bench --tail=1 > assistant-result.json",
        "Then compare it with the plan:",
        `  llm-fleet calibrate --config ${ZERO} --deployment assistant assistant-result.json`,
        "",
      ].join("\n"),
    );
  });

  it("calls a fixed deployment on its API Service, with the stack's API key and HF token from the server's Secrets", () => {
    const { code, stdout } = cli("bench", "--config", FIXED, "--deployment", "assistant", "--json");
    expect(code).toBe(0);
    const job = JSON.parse(stdout) as JobDoc;
    expect(() => new Job(job).validate()).not.toThrow();
    expect(argOf(job, "--base-url")).toBe("http://assistant-vllm-api.assistant-vllm.svc.cluster.local:8000");
    expect(argOf(job, "--ready-check-timeout-sec")).toBe("600");
    expect(job.spec.template.spec.containers[0]!.env).toEqual([
      { name: "HF_HOME", value: "/cache/hf" },
      { name: "OPENAI_API_KEY", valueFrom: { secretKeyRef: { name: "assistant-vllm-api-key", key: "value" } } },
      { name: "HF_TOKEN", valueFrom: { secretKeyRef: { name: "assistant-vllm-hf-token", key: "value" } } },
    ]);
    // An existing cluster has no llm-fleet system group: any node without the GPU taint.
    expect(job.spec.template.spec).not.toHaveProperty("nodeSelector");
    const edge = JSON.parse(cli("bench", "--config", FIXED, "--deployment", "edge", "--json", "--num-prompts", "10").stdout) as JobDoc;
    expect([argOf(edge, "--model"), argOf(edge, "--max-concurrency"), argOf(edge, "--num-prompts")]).toEqual(["r1-distill-qwen-1.5b", "4", "10"]);
  });

  it("says that the Job sends no API key when the stack requires one and the file has none", () => {
    const prod = stackFile({
      "llm-fleet:environment": "prod",
      "llm-fleet:cluster": { mode: "existing", clusterName: "shared-gpu" },
      "llm-fleet:deployments": [{ name: "edge", preset: "edge-1.5b" }],
    });
    const r = cli("bench", "--config", prod, "--deployment", "edge", "--out", tmp());
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(
      "  The Job sends no API key: prod requires an API key on every endpoint: `pulumi config set --secret llm-fleet:apiKey <key>`; then run llm-fleet bench again.\n",
    );
    const withKey = cli("bench", "--config", stackFile(
      {
        "llm-fleet:environment": "prod",
        "llm-fleet:cluster": { mode: "existing", clusterName: "shared-gpu" },
        "llm-fleet:deployments": [{ name: "edge", preset: "edge-1.5b" }],
      },
      ["llm-fleet:apiKey"],
    ), "--deployment", "edge", "--out", tmp());
    expect(withKey.code).toBe(0);
    expect(withKey.stdout).not.toContain("sends no API key");
  });

  it("writes into the current directory by default, and not at all for --json alone", () => {
    const dir = tmp();
    const run = (...args: string[]) => spawnSync(BIN, ["bench", "--stack", "dev", "--deployment", "assistant", ...args], { cwd: dir, encoding: "utf8" });
    expect(run("--json").status).toBe(0);
    expect(existsSync(join(dir, "assistant-bench.yaml"))).toBe(false);
    const r = run();
    expect(r.status).toBe(0);
    expect(r.stdout.split("\n")[0]).toMatch(/^Wrote assistant-bench\.yaml: Job assistant-bench in assistant-vllm, vllm\/vllm-openai:v/);
    expect(existsSync(join(dir, "assistant-bench.yaml"))).toBe(true);
    expect(r.stdout).toContain("  llm-fleet calibrate --stack dev --deployment assistant assistant-result.json\n");
  });

  it("refuses bad input with exit 1, naming the flag, the value and what is allowed", () => {
    expect(bad("--config", ZERO, "--deployment", "asistant")).toBe(
      `llm-fleet bench: --deployment: unknown deployment "asistant"; did you mean "assistant"? Valid: assistant (in ${ZERO})\n`,
    );
    expect(bad("--config", FIXED)).toBe(`llm-fleet bench: --deployment is required: one of edge, assistant (in ${FIXED})\n`);
    expect(bad("--stack", "dev", "--deployment", "assistant", "--num-prompts", "0")).toBe(
      'llm-fleet bench: --num-prompts: "0" is not a whole number of requests of at least 1; give one such as 64, or leave it out\n',
    );
    expect(bad("--stack", "dev", "--deployment", "assistant", "--num-prompts", "lots")).toContain('--num-prompts: "lots" is not a whole number');
    expect(bad("--stack", "qa", "--deployment", "assistant")).toBe('llm-fleet bench: --stack: "qa" is not one of dev, staging, prod; use --config for a stack file of your own\n');
    expect(bad("--config", "/nonexistent/stack.yaml", "--deployment", "assistant")).toBe("llm-fleet bench: --config: no stack file at /nonexistent/stack.yaml\n");
    const notADir = join(tmp(), "file");
    writeFileSync(notADir, "");
    expect(bad("--stack", "dev", "--deployment", "assistant", "--out", join(notADir, "sub"))).toBe(
      `llm-fleet bench: --out: cannot write ${join(notADir, "sub", "assistant-bench.yaml")}: ENOTDIR\n`,
    );
    expect(bad("--stack", "dev", "--deploymnt", "assistant")).toContain('unknown flag "--deploymnt"; did you mean "--deployment"?');
  });

  it("reports a bad stack file by key, not with a trace", () => {
    const broken = stackFile({
      "llm-fleet:environment": "dev",
      "llm-fleet:deployments": [{ name: "assistant", preset: "assistant-7b" }],
      "llm-fleet:calibration": [{ model: "r1-distill-qwen-7b", gpu: "a10g", tpotFactor: 9, ttftFactor: 1, measuredAt: "2026-11-02", runs: 1 }],
    });
    expect(bad("--config", broken, "--deployment", "assistant")).toMatch(
      new RegExp(`^llm-fleet bench: ${broken.replace(/[.]/g, "\\.")}: llm-fleet:calibration\\.0\\.tpotFactor: 9 is outside 0\\.2-5: tpotFactor is measured / predicted`),
    );
  });

  it("--help lists the flags and exits 0", () => {
    const { code, stdout } = cli("bench", "--help");
    expect(code).toBe(0);
    expect(stdout).toMatch(/^Usage: llm-fleet bench --deployment <name> \[--stack <env> \| --config <file>\] \[options\]/);
    for (const flag of ["--stack", "--config", "--deployment", "--out", "--num-prompts", "--json"]) expect(stdout).toContain(flag);
    const usage = cli("--help").stdout;
    expect(usage).toContain("  bench --deployment <name>\n");
    expect(usage).toContain("  calibrate --deployment <name> <result.json>...\n");
  });
});
