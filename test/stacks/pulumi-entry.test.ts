import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

describe("the program as `pulumi up` loads it", () => {
  it("type-checks and runs stacks/index.ts through ts-node with the project's tsconfig", () => {
    const result = spawnSync(process.execPath, [join(__dirname, "../support/pulumi-host.js"), "dev"], { encoding: "utf8" });
    expect(result.stderr).toBe("");
    expect(result.status).toBe(0);
    const out = JSON.parse(result.stdout);
    expect(out.resources).toBe(48);
    expect(out.outputs.deployments.assistant.endpoint).toBe("http://assistant-vllm-api.assistant-vllm.svc.cluster.local:8000/v1");
    expect(out.outputs.budget.passed).toBe(true);
  }, 120_000);
});
