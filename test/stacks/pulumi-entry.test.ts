import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

describe("the program as `pulumi up` loads it", () => {
  it("type-checks and runs stacks/index.ts through ts-node with the project's tsconfig", () => {
    const result = spawnSync(process.execPath, [join(__dirname, "../support/pulumi-host.js"), "dev"], { encoding: "utf8" });
    // A preview without the deployer's address only warns; nothing else goes to stderr.
    expect(result.stderr).toBe("warning: [runtime] llm-fleet:cluster.publicAccessCidrs: give the address of the machine that runs pulumi up, as a /32 (curl -s https://checkip.amazonaws.com), so the run can reach the API it creates: pulumi config set --path 'llm-fleet:cluster.publicAccessCidrs[0]' <address>/32; pulumi up stops here until it is set\n");
    expect(result.status).toBe(0);
    const out = JSON.parse(result.stdout);
    expect(out.resources).toBe(74);
    // dev scales to zero: its clients call the interceptor, which holds a request while a replica starts.
    expect(out.outputs.deployments.assistant.endpoint).toBe("http://assistant-vllm-entry.assistant-vllm.svc.cluster.local:8080/v1");
    expect(out.outputs.budget.passed).toBe(true);
  }, 120_000);

  it("compiles the policy module the way the pack's host does, from the policy folder without a tsconfig", () => {
    const script = [
      'require("ts-node").register({ skipProject: true, transpileOnly: false, compilerOptions: { target: "ES2020", module: "nodenext", moduleResolution: "nodenext" } });',
      'const { POLICIES } = require("./policies.ts");',
      "console.log(POLICIES.map((p) => p.name).join(','));",
    ].join("\n");
    const result = spawnSync(process.execPath, ["-e", script], { cwd: join(__dirname, "../../policy"), encoding: "utf8" });
    expect(result.stderr).toBe("");
    expect(result.stdout.trim().split(",")).toHaveLength(12);
  }, 120_000);
});
