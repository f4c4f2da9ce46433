import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import { describe, expect, it } from "vitest";
// eslint-disable-next-line @typescript-eslint/no-require-imports
const analyzerrpc = require("@pulumi/pulumi/proto/analyzer_grpc_pb");
// eslint-disable-next-line @typescript-eslint/no-require-imports
const emptyproto = require("google-protobuf/google/protobuf/empty_pb");

/** Starts the pack with Pulumi's own policy-pack runner and asks it what it serves, over its own gRPC port. */
async function startPack(): Promise<{ name: string; version: string; policies: string[] }> {
  // The runner the Pulumi CLI's nodejs policy host starts: `run-policy-pack <engine> <pack dir>`, from the pack's folder.
  const runner = join(__dirname, "../../node_modules/@pulumi/pulumi/cmd/run-policy-pack");
  const child = spawn(process.execPath, [runner, "127.0.0.1:1", "."], { cwd: join(__dirname, "../../policy"), stdio: ["ignore", "pipe", "pipe"] });
  try {
    const port = await new Promise<string>((resolve, reject) => {
      let out = "";
      let err = "";
      child.stdout.on("data", (d) => {
        out += d;
        const line = out.split("\n")[0]!.trim();
        if (/^\d+$/.test(line) && out.includes("\n")) resolve(line);
      });
      child.stderr.on("data", (d) => (err += d));
      child.on("exit", (code) => reject(new Error(`the pack exited ${code} before serving: ${err.trim()}`)));
    });
    const client = new analyzerrpc.AnalyzerClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    const info = await new Promise<{ getName(): string; getVersion(): string; getPoliciesList(): { getName(): string }[] }>((resolve, reject) =>
      client.getAnalyzerInfo(new emptyproto.Empty(), (error: Error | null, response: never) => (error ? reject(error) : resolve(response))),
    );
    client.close();
    return { name: info.getName(), version: info.getVersion(), policies: info.getPoliciesList().map((p) => p.getName()) };
  } finally {
    child.kill();
  }
}

describe("the policy pack as `pulumi preview --policy-pack policy` starts it", () => {
  it("serves its twelve policies under the version in policy/package.json", async () => {
    const info = await startPack();
    const pkg = JSON.parse(readFileSync(join(__dirname, "../../policy/package.json"), "utf8"));
    expect(pkg.version).toBe(JSON.parse(readFileSync(join(__dirname, "../../package.json"), "utf8")).version);
    expect(info).toMatchObject({ name: "llm-fleet", version: pkg.version });
    expect(info.policies).toHaveLength(12);
    expect(info.policies).toContain("monthly-budget");
  }, 120_000);
});
