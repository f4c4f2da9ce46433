import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import YAML from "yaml";

const ROOT = join(__dirname, "../..");
const WORKFLOW = join(ROOT, ".github/workflows/llm-fleet-plan.yml");
const SCRIPT = join(ROOT, "ci/llm-fleet-plan.sh");

interface Step {
  name?: string;
  id?: string;
  uses?: string;
  run?: string;
  if?: string;
  with?: Record<string, unknown>;
  env?: Record<string, string>;
}

describe("the workflow .github/workflows/llm-fleet-plan.yml", () => {
  const workflow = YAML.parse(readFileSync(WORKFLOW, "utf8"));
  const job = workflow.jobs.plan;
  const steps: Step[] = job.steps;
  const indexOf = (match: (s: Step) => boolean) => {
    const i = steps.findIndex(match);
    expect(i).toBeGreaterThanOrEqual(0);
    return i;
  };

  it("runs on pull requests that touch the stacks, the policy pack, the sizing model, the components or the charts", () => {
    expect(Object.keys(workflow.on)).toEqual(["pull_request"]);
    expect(workflow.on.pull_request.paths).toEqual(expect.arrayContaining(["stacks/**", "policy/**", "sizing/**", "charts/**", "components/**"]));
  });

  it("may write pull-request comments and read the repository, nothing more, and has no cloud credentials", () => {
    expect(workflow.permissions).toEqual({ contents: "read", "pull-requests": "write" });
    expect(job.permissions).toBeUndefined();
    const text = readFileSync(WORKFLOW, "utf8");
    expect(text).not.toMatch(/secrets\.|AWS_|PULUMI_ACCESS_TOKEN|id-token/);
  });

  it("checks out the whole history, sets up Node 20 with the npm cache and installs with npm ci", () => {
    const checkout = steps[indexOf((s) => s.uses === "actions/checkout@v4")]!;
    expect(checkout.with?.["fetch-depth"]).toBe(0);
    const node = steps[indexOf((s) => s.uses === "actions/setup-node@v4")]!;
    expect(node.with).toMatchObject({ "node-version": 20, cache: "npm" });
    const install = indexOf((s) => s.run?.trim() === "npm ci --no-audit --no-fund");
    const plan = indexOf((s) => s.id === "plan");
    expect(install).toBeGreaterThan(indexOf((s) => s.uses === "actions/setup-node@v4"));
    expect(plan).toBeGreaterThan(install);
  });

  it("pins every action to a major version", () => {
    for (const s of steps.filter((s) => s.uses !== undefined)) expect(s.uses).toMatch(/^actions\/[a-z-]+@v\d+$/);
  });

  it("runs the script against the base branch and keeps its exit code for later", () => {
    const plan = steps[indexOf((s) => s.id === "plan")]!;
    expect(plan.env?.BASE_REF).toBe("${{ github.base_ref }}");
    expect(plan.run).toContain('ci/llm-fleet-plan.sh "origin/$BASE_REF" llm-fleet-plan-out || code=$?');
    expect(plan.run).toContain('echo "exit-code=$code" >> "$GITHUB_OUTPUT"');
  });

  it("posts or updates one comment per stack, found by its hidden marker", () => {
    const post = steps[indexOf((s) => s.uses === "actions/github-script@v7")]!;
    expect(post.env?.OUT_DIR).toBe("llm-fleet-plan-out");
    const script = String(post.with?.script);
    expect(script).toContain("const marker = `<!-- llm-fleet-plan:${stack} -->`;");
    expect(script).toContain(".startsWith(marker)");
    expect(script).toContain("github.rest.issues.updateComment");
    expect(script).toContain("github.rest.issues.createComment");
    expect(script).toContain("github.paginate(github.rest.issues.listComments");
    // The script is run by github-script as the body of an async function: it has to parse.
    expect(() => new Function(`return (async () => {\n${script}\n});`)).not.toThrow();
  });

  it("marks the comment of a stack this push no longer affects, so it does not go on showing an old plan", () => {
    const post = workflow.jobs.plan.steps.find((s: { uses?: string }) => String(s.uses ?? "").startsWith("actions/github-script"));
    expect(post.with.script).toContain("not affected by this pull request any more; no plan to show.");
    expect(post.with.script).toMatch(/stacks\.includes\(stale\[1\]\)/);
  });

  it("fails the job on any non-zero plan exit, after the comments are posted", () => {
    const post = indexOf((s) => s.uses === "actions/github-script@v7");
    const fail = indexOf((s) => s.if === "${{ steps.plan.outputs.exit-code != '0' }}");
    expect(fail).toBeGreaterThan(post);
    expect(steps[fail]!.run).toContain('exit "$CODE"');
    expect(steps[post]!.if).toContain("!cancelled()");
  });
});

// A stand-in for bin/llm-fleet: records its arguments, prints a verdict line and a table (or,
// for exit 1 and 4, only an error, as the real command does) and exits with the code FAKE_CODES
// gives its stack ("prod=3 staging=1"). FAKE_NEW names a stack whose --diff says the base has no
// such file; FAKE_HUGE makes the comment pass GitHub's limit.
const FAKE = `#!/bin/sh
printf '%s\\n' "$*" >> "$FAKE_LOG"
config=""; prev=""
for a in "$@"; do [ "$prev" = "--config" ] && config="$a"; prev="$a"; done
stack=\${config#stacks/Pulumi.}; stack=\${stack%.yaml}
case " $* " in *" --diff "*) diff=yes ;; *) diff=no ;; esac
if [ "$diff" = yes ] && [ "$FAKE_NEW" = "$stack" ]; then
  echo "llm-fleet plan: --diff: no stack file $config at the base" >&2; exit 1
fi
code=0
for pair in $FAKE_CODES; do [ "\${pair%%=*}" = "$stack" ] && code=\${pair#*=}; done
if [ "$code" = 1 ] || [ "$code" = 4 ]; then echo "llm-fleet plan: $stack broke (exit $code)" >&2; exit "$code"; fi
echo "**$stack** verdict: $*"
echo
echo "| deployment | change |"
if [ "$FAKE_HUGE" = "$stack" ]; then i=0; while [ $i -lt 800 ]; do printf '| row %s | %0100d |\\n' $i 0; i=$((i + 1)); done; fi
echo "warning: from $stack" >&2
exit "$code"
`;

const GIT_ENV = {
  GIT_AUTHOR_NAME: "t",
  GIT_AUTHOR_EMAIL: "t@example.com",
  GIT_COMMITTER_NAME: "t",
  GIT_COMMITTER_EMAIL: "t@example.com",
  // The user's own git config (signing, hooks, default branch) must not change the outcome.
  GIT_CONFIG_GLOBAL: "/dev/null",
  GIT_CONFIG_NOSYSTEM: "1",
};

const STACK = (env: string, model = "assistant-7b") =>
  `config:\n  llm-fleet:environment: ${env}\n  llm-fleet:deployments:\n    - name: assistant\n      preset: ${model}\n`;

/** A repository with three stacks and a policy and sizing file on main, checked out on a branch. */
function repository() {
  const dir = mkdtempSync(join(tmpdir(), "llm-fleet-ci-"));
  const git = (...args: string[]) => {
    const r = spawnSync("git", args, { cwd: dir, encoding: "utf8", env: { ...process.env, ...GIT_ENV } });
    if (r.status !== 0) throw new Error(`git ${args.join(" ")}: ${r.stderr}`);
    return r.stdout.trim();
  };
  const write = (path: string, text: string) => {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  };
  const commit = (message: string) => {
    git("add", "-A");
    git("commit", "-q", "-m", message);
    return git("rev-parse", "HEAD");
  };
  git("init", "-q", "-b", "main");
  for (const env of ["dev", "staging", "prod"]) write(`stacks/Pulumi.${env}.yaml`, STACK(env));
  write("policy/config.prod.json", "{}\n");
  write("sizing/catalog/gpus.ts", "export const GPUS = [];\n");
  write("README.md", "# fleet\n");
  const base = commit("base");
  git("checkout", "-q", "-b", "change");

  const tools = mkdtempSync(join(tmpdir(), "llm-fleet-ci-fake-"));
  const fake = join(tools, "llm-fleet");
  writeFileSync(fake, FAKE);
  chmodSync(fake, 0o755);
  const log = join(tools, "calls.log");

  const run = (env: Record<string, string> = {}, ...args: string[]) => {
    writeFileSync(log, "");
    const r = spawnSync(SCRIPT, args.length > 0 ? args : ["main", "out"], {
      cwd: dir,
      encoding: "utf8",
      env: { ...process.env, ...GIT_ENV, LLM_FLEET: fake, FAKE_LOG: log, FAKE_CODES: "", FAKE_NEW: "", FAKE_HUGE: "", ...env },
    });
    if (r.error) throw r.error;
    const calls = readFileSync(log, "utf8").split("\n").filter(Boolean);
    return { code: r.status, stdout: r.stdout, stderr: r.stderr, calls };
  };
  const out = (name: string) => readFileSync(join(dir, "out", name), "utf8");
  const outFiles = () => (existsSync(join(dir, "out")) ? readdirSync(join(dir, "out")).sort() : []);
  return { dir, git, write, commit, base, run, out, outFiles };
}

const diffCall = (stack: string, base: string) => `plan --config stacks/Pulumi.${stack}.yaml --diff git:${base} --format markdown`;
const plainCall = (stack: string) => `plan --config stacks/Pulumi.${stack}.yaml --format markdown`;

describe("ci/llm-fleet-plan.sh against a fake llm-fleet", () => {
  it("is executable", () => {
    expect(statSync(SCRIPT).mode & 0o111).toBe(0o111);
  });

  it("plans only the stack whose file changed, against the merge base, and writes its comment and exit code", () => {
    const r = repository();
    r.write("stacks/Pulumi.prod.yaml", STACK("prod", "analysis-70b"));
    r.commit("prod: the 70B distill");
    const { code, stdout, calls } = r.run();
    expect(code).toBe(0);
    expect(calls).toEqual([diffCall("prod", r.base)]);
    expect(r.outFiles()).toEqual(["prod.exit", "prod.md", "prod.stderr"]);
    expect(r.out("prod.md")).toBe(`<!-- llm-fleet-plan:prod -->\n**prod** verdict: ${diffCall("prod", r.base)}\n\n| deployment | change |\n`);
    expect(r.out("prod.exit")).toBe("0\n");
    expect(r.out("prod.stderr")).toBe("warning: from prod\n");
    expect(stdout).toContain(`llm-fleet-plan: 1 stack(s) against main (merge base ${r.base.slice(0, 12)}), comments in out/\n`);
    expect(stdout).toMatch(/\n {2}prod +exit 0 {2}policy passed \(diff against [0-9a-f]{12}\)\n$/);
  });

  it("plans every stack, in name order, when the policy pack, the sizing model, a component or a chart changed", () => {
    for (const path of ["policy/config.prod.json", "sizing/catalog/gpus.ts", "components/model-deployment.ts", "charts/index.ts", "stacks/presets/index.ts", "stacks/presets/Pulumi.x.yaml"]) {
      const r = repository();
      r.write(path, "// changed\n");
      r.commit(`change ${path}`);
      const { code, calls } = r.run();
      expect(code, path).toBe(0);
      expect(calls, path).toEqual(["dev", "prod", "staging"].map((s) => diffCall(s, r.base)));
    }
  });

  it("compares with the merge base, so a change that landed on main since is not shown as the branch's", () => {
    const r = repository();
    r.write("stacks/Pulumi.prod.yaml", STACK("prod", "analysis-70b"));
    r.commit("prod on the branch");
    r.git("checkout", "-q", "main");
    r.write("stacks/Pulumi.dev.yaml", STACK("dev", "assistant-14b"));
    const mainTip = r.commit("dev on main");
    r.git("checkout", "-q", "change");
    const { calls } = r.run();
    expect(mainTip).not.toBe(r.base);
    expect(calls).toEqual([diffCall("prod", r.base)]);
  });

  it("exits 3 when one stack breaks a mandatory policy, after planning and writing every stack", () => {
    const r = repository();
    r.write("sizing/catalog/gpus.ts", "// changed\n");
    r.commit("sizing");
    const { code, stdout, calls } = r.run({ FAKE_CODES: "prod=3" });
    expect(code).toBe(3);
    expect(calls).toHaveLength(3);
    expect(r.outFiles()).toEqual(["dev", "prod", "staging"].flatMap((s) => [`${s}.exit`, `${s}.md`, `${s}.stderr`]));
    expect(r.out("prod.exit")).toBe("3\n");
    expect(r.out("dev.exit")).toBe("0\n");
    expect(r.out("prod.md").split("\n")[0]).toBe("<!-- llm-fleet-plan:prod -->");
    expect(stdout).toMatch(/\n {2}prod +exit 3 {2}a mandatory policy failed /);
  });

  it("ranks a plan that could not be made above a breach: 4 over 1 over 2 over 3", () => {
    const r = repository();
    r.write("policy/config.prod.json", "{ }\n");
    r.commit("policy");
    expect(r.run({ FAKE_CODES: "prod=3 staging=1" }).code).toBe(1);
    expect(r.run({ FAKE_CODES: "dev=2 prod=3" }).code).toBe(2);
    expect(r.run({ FAKE_CODES: "dev=4 prod=3 staging=1" }).code).toBe(4);
    expect(r.run({ FAKE_CODES: "dev=1 staging=2" }).code).toBe(1);
  });

  it("says in the comment why there is no plan when the command printed only an error", () => {
    const r = repository();
    r.write("stacks/Pulumi.staging.yaml", "config: [\n");
    r.commit("broken staging");
    const { code } = r.run({ FAKE_CODES: "staging=1" });
    expect(code).toBe(1);
    expect(r.out("staging.md")).toBe(
      "<!-- llm-fleet-plan:staging -->\n**llm-fleet plan failed for stack `staging`** (exit 1: bad config or base)\n\n```text\nllm-fleet plan: staging broke (exit 1)\n```\n",
    );
    expect(r.out("staging.exit")).toBe("1\n");
  });

  it("plans a new stack on its own, without a diff", () => {
    const r = repository();
    r.write("stacks/Pulumi.eu.yaml", STACK("prod"));
    r.commit("a new stack");
    const { code, stdout, calls } = r.run();
    expect(code).toBe(0);
    expect(calls).toEqual([plainCall("eu")]);
    expect(r.out("eu.md").split("\n").slice(0, 2)).toEqual(["<!-- llm-fleet-plan:eu -->", `**eu** verdict: ${plainCall("eu")}`]);
    expect(stdout).toMatch(/\n {2}eu +exit 0 {2}policy passed \(new stack\)\n/);
  });

  it("falls back to the plain plan when the command says the base has no such stack file", () => {
    const r = repository();
    r.write("stacks/Pulumi.dev.yaml", STACK("dev", "assistant-14b"));
    r.commit("dev");
    const { code, calls } = r.run({ FAKE_NEW: "dev" });
    expect(code).toBe(0);
    expect(calls).toEqual([diffCall("dev", r.base), plainCall("dev")]);
    expect(r.out("dev.exit")).toBe("0\n");
  });

  it("skips a removed stack and plans nothing when no watched path changed", () => {
    const r = repository();
    r.git("rm", "-q", "stacks/Pulumi.staging.yaml");
    r.write("README.md", "# fleet, again\n");
    r.commit("drop staging");
    const { code, stdout, calls } = r.run();
    expect(code).toBe(0);
    expect(calls).toEqual([]);
    expect(stdout).toBe(`llm-fleet-plan: no stack is affected by the changes since main (merge base ${r.base.slice(0, 12)})\n`);
  });

  it("counts uncommitted and new files, as the plan's head is the working tree", () => {
    const r = repository();
    r.write("stacks/Pulumi.dev.yaml", STACK("dev", "assistant-14b"));
    r.write("stacks/Pulumi.local.yaml", STACK("dev"));
    expect(r.run().calls).toEqual([diffCall("dev", r.base), plainCall("local")]);
  });

  it("removes the comments of an earlier run from the output folder", () => {
    const r = repository();
    r.write("stacks/Pulumi.prod.yaml", STACK("prod", "analysis-70b"));
    r.commit("prod");
    mkdirSync(join(r.dir, "out"));
    writeFileSync(join(r.dir, "out/gone.md"), "old\n");
    writeFileSync(join(r.dir, "out/gone.exit"), "3\n");
    r.run();
    expect(r.outFiles()).toEqual(["prod.exit", "prod.md", "prod.stderr"]);
  });

  it("keeps a comment under GitHub's limit: the verdict, and the full text beside it", () => {
    const r = repository();
    r.write("stacks/Pulumi.prod.yaml", STACK("prod", "analysis-70b"));
    r.commit("prod");
    const { code } = r.run({ FAKE_HUGE: "prod" });
    expect(code).toBe(0);
    const body = r.out("prod.md");
    expect(body.length).toBeLessThan(65_536);
    expect(body.split("\n").slice(0, 2)).toEqual(["<!-- llm-fleet-plan:prod -->", `**prod** verdict: ${diffCall("prod", r.base)}`]);
    expect(body).toContain("over GitHub's comment limit");
    expect(r.out("prod.full.md").length).toBeGreaterThan(65_536);
  });

  it("exits 1 and says what to fetch when the base ref is missing", () => {
    const r = repository();
    const { code, stderr, calls } = r.run({}, "origin/main", "out");
    expect(code).toBe(1);
    expect(calls).toEqual([]);
    expect(stderr).toContain("llm-fleet-plan: no merge base between origin/main and HEAD");
    expect(stderr).toContain("fetch-depth: 0");
  });

  it("defaults to origin/$GITHUB_BASE_REF and llm-fleet-plan-out", () => {
    const r = repository();
    r.git("update-ref", "refs/remotes/origin/release", r.base);
    r.write("stacks/Pulumi.dev.yaml", STACK("dev", "assistant-14b"));
    r.commit("dev");
    const { code, stdout } = r.run({ GITHUB_BASE_REF: "release" }, "");
    expect(code).toBe(0);
    expect(stdout).toContain("against origin/release");
    expect(readFileSync(join(r.dir, "llm-fleet-plan-out/dev.exit"), "utf8")).toBe("0\n");
  });
});
