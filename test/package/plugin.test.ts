/**
 * The plugin as `pulumi package add` and a program's `pulumi up` start it: Pulumi's nodejs
 * runner (run-plugin, ts-node type-checking) requires the repository root from another
 * directory, the entry prints its port, and the provider answers over gRPC.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import YAML from "yaml";
import { provider } from "../support/package";
import { cli } from "../support/cli";

const ROOT = join(__dirname, "../..");
// eslint-disable-next-line @typescript-eslint/no-require-imports
const grpc = require("@grpc/grpc-js") as typeof import("@grpc/grpc-js");
// eslint-disable-next-line @typescript-eslint/no-require-imports
const services = require("@pulumi/pulumi/proto/provider_grpc_pb") as {
  ResourceProviderClient: new (address: string, credentials: unknown) => {
    getSchema(request: unknown, callback: (error: Error | null, response: { getSchema(): string }) => void): void;
    close(): void;
  };
};
// eslint-disable-next-line @typescript-eslint/no-require-imports
const messages = require("@pulumi/pulumi/proto/provider_pb") as { GetSchemaRequest: new () => unknown };

let plugin: ChildProcess | undefined;
afterAll(() => plugin?.kill());

/** Starts the plugin; resolves with the port it prints, or rejects with what it printed on stderr. */
function start(): Promise<number> {
  return new Promise((resolve, reject) => {
    plugin = spawn(process.execPath, [join(ROOT, "node_modules/@pulumi/pulumi/cmd/run-plugin"), ROOT], {
      cwd: mkdtempSync(join(tmpdir(), "llm-fleet-program-")),
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    plugin.stdout!.on("data", (chunk) => {
      stdout += chunk;
      const port = /^(\d+)\n/.exec(stdout);
      if (port) resolve(Number(port[1]));
    });
    plugin.stderr!.on("data", (chunk) => (stderr += chunk));
    plugin.on("exit", (code) => reject(new Error(`the plugin exited with ${code}: ${stderr}`)));
  });
}

describe("the plugin", () => {
  it("is declared as a nodejs plugin whose entry is package.json's main", () => {
    expect(YAML.parse(readFileSync(join(ROOT, "PulumiPlugin.yaml"), "utf8"))).toEqual({ runtime: "nodejs" });
    expect(JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8"))).toMatchObject({ name: "llm-fleet", main: "package/host.ts" });
  });

  it("starts under Pulumi's runner from a program's directory and serves the schema over gRPC", async () => {
    const port = await start();
    const client = new services.ResourceProviderClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    const served = await new Promise<string>((resolve, reject) =>
      client.getSchema(new messages.GetSchemaRequest(), (error, response) => (error ? reject(error) : resolve(response.getSchema()))),
    );
    client.close();
    expect(served).toBe(await provider.getSchema());
  }, 180_000);

  it("llm-fleet schema prints that schema, indented, or exactly with --compact", async () => {
    const indented = cli("schema");
    expect(indented.stderr).toBe("");
    expect(indented.code).toBe(0);
    const text = await provider.getSchema();
    expect(indented.stdout).toBe(JSON.stringify(JSON.parse(text), null, 2) + "\n");
    expect(cli("schema", "--compact").stdout).toBe(text + "\n");
    expect(cli("schema", "extra")).toMatchObject({ code: 1, stdout: "", stderr: 'llm-fleet schema: unexpected argument "extra": schema takes no arguments\n' });
  }, 120_000);
});
