/**
 * Runs the real Pulumi program in-process under Pulumi's mocks (pulumi.runtime.setMocks):
 * no CLI, no engine, no credentials. Every resource registration is recorded with its
 * inputs; cloud lookups get placeholder answers, marked as such.
 */
import { readFileSync } from "node:fs";
import * as pulumi from "@pulumi/pulumi";
import YAML from "yaml";
import { InputError } from "../sizing";

export interface RecordedResource {
  type: string;
  name: string;
  /** Name of the component the resource belongs to; null at the top of the program. */
  parent: string | null;
  /** Names of the resources it waits for (`dependsOn`, and those its inputs come from). */
  dependsOn: string[];
  inputs: Record<string, unknown>;
}

/** Placeholder answers for the program's lookups. */
const OFFLINE_ACCOUNT = "000000000000";
const OFFLINE_ZONES = ["a", "b", "c", "d", "e", "f"];

function lookup(token: string, inputs: Record<string, any>, region: string): Record<string, unknown> {
  switch (token) {
    case "aws:index/getPartition:getPartition":
      return { partition: "aws" };
    case "aws:index/getAvailabilityZones:getAvailabilityZones":
      return { names: OFFLINE_ZONES.map((z) => `${region}${z}`) };
    case "aws:index/getCallerIdentity:getCallerIdentity":
      return { accountId: OFFLINE_ACCOUNT, arn: `arn:aws:sts::${OFFLINE_ACCOUNT}:assumed-role/offline-deployer/plan` };
    case "aws:iam/getSessionContext:getSessionContext":
      return { issuerArn: `arn:aws:iam::${OFFLINE_ACCOUNT}:role/offline-deployer` };
    case "aws:eks/getCluster:getCluster":
      return {
        name: inputs.name,
        // Unknown offline: the newest version llm-fleet creates clusters with stands in for it.
        version: "1.35",
        endpoint: "https://offline.invalid",
        certificateAuthorities: [{ data: "" }],
        vpcConfig: { subnetIds: ["subnet-offline-a", "subnet-offline-b"], vpcId: "vpc-offline", clusterSecurityGroupId: "sg-offline" },
      };
    case "aws:ec2/getSubnet:getSubnet":
      return { id: inputs.id, availabilityZone: `${region}${String(inputs.id).endsWith("b") ? "b" : "a"}` };
    default:
      throw new Error(`the offline preview has no answer for ${token}`);
  }
}

/** Outputs a provider would compute that the program reads back. */
function computed(type: string, name: string, inputs: Record<string, any>): Record<string, unknown> {
  switch (type) {
    case "aws:iam/role:Role":
      return { arn: `arn:aws:iam::${OFFLINE_ACCOUNT}:role/${name}`, name };
    case "aws:eks/cluster:Cluster":
      return { endpoint: "https://offline.invalid", certificateAuthority: { data: "" }, vpcConfig: { ...inputs.vpcConfig, clusterSecurityGroupId: `sg-${name}` } };
    case "aws:ec2/launchTemplate:LaunchTemplate":
      return { latestVersion: 1 };
    case "aws:eks/nodeGroup:NodeGroup":
      // EKS names the group's Auto Scaling group; a Capacity Block's schedule acts on it.
      return { nodeGroupName: name, resources: [{ autoscalingGroups: [{ name: `eks-${name}-asg` }] }] };
    case "aws:ec2/placementGroup:PlacementGroup":
      return { name };
    default:
      return {};
  }
}

/**
 * Flattens a stack file's `config:` as the Pulumi engine passes it to a program: strings as
 * they are, structured values as JSON. `secure:` values cannot be decrypted offline: they
 * become a placeholder, and their keys are marked secret.
 */
export function readStackFile(path: string): { config: Record<string, string>; secretKeys: string[] } {
  let doc: unknown;
  try {
    doc = YAML.parse(readFileSync(path, "utf8"));
  } catch (error) {
    const reason = error instanceof Error ? error.message.split("\n")[0] : String(error);
    throw new InputError(`stack file ${path}`, [{ path: "", message: `cannot be read: ${reason}` }]);
  }
  const entries = (doc as { config?: Record<string, unknown> } | null)?.config;
  if (!entries || typeof entries !== "object") {
    throw new InputError(`stack file ${path}`, [{ path: "config", message: "is missing: a stack file has a top-level config: map" }]);
  }
  const config: Record<string, string> = {};
  const secretKeys: string[] = [];
  for (const [key, value] of Object.entries(entries)) {
    if (value && typeof value === "object" && "secure" in value) {
      config[key] = "[secret]";
      secretKeys.push(key);
    } else {
      config[key] = typeof value === "string" ? value : JSON.stringify(value);
    }
  }
  return { config, secretKeys };
}

export interface OfflineRun<T> {
  outputs: T;
  resources: RecordedResource[];
}

/**
 * Runs `program` with the given config under mocks, waits for every registration, and
 * returns the outputs and the recorded resources with their parents.
 */
export async function runOffline<T>(
  stack: string,
  config: Record<string, string>,
  secretKeys: readonly string[],
  program: () => T,
): Promise<OfflineRun<T>> {
  const recorded: Omit<RecordedResource, "parent" | "dependsOn">[] = [];
  const region = config["aws:region"] ?? "us-east-1";
  pulumi.runtime.setAllConfig(config, [...secretKeys]);
  await pulumi.runtime.setMocks(
    {
      newResource(args) {
        recorded.push({ type: args.type, name: args.name, inputs: args.inputs });
        return { id: `${args.name}-id`, state: { ...args.inputs, ...computed(args.type, args.name, args.inputs) } };
      },
      call(args) {
        return lookup(args.token, args.inputs, region);
      },
    },
    "llm-fleet",
    stack,
    true,
  );
  // The mocks see a resource's type, name and inputs, not its parent: read the parent off the
  // registration request the monitor receives.
  const parents = new Map<string, string | null>();
  const dependencies = new Map<string, string[]>();
  const monitor = pulumi.runtime.getMonitor() as unknown as {
    registerResource(req: { getType(): string; getName(): string; getParent(): string; getDependenciesList(): string[] }, callback: unknown): unknown;
  };
  const register = monitor.registerResource.bind(monitor);
  const nameOf = (urn: string) => urn.split("::").pop() ?? urn;
  monitor.registerResource = (req, callback) => {
    const parent = req.getParent();
    const key = `${req.getType()}::${req.getName()}`;
    parents.set(key, parent ? nameOf(parent) : null);
    dependencies.set(key, req.getDependenciesList().map(nameOf));
    return register(req, callback);
  };
  const outputs = program();
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const settings = require("@pulumi/pulumi/runtime/settings") as { waitForRPCs(): Promise<void> };
  await settings.waitForRPCs();
  return {
    outputs,
    resources: recorded.map((r) => {
      const key = `${r.type}::${r.name}`;
      return { ...r, parent: parents.get(key) ?? null, dependsOn: dependencies.get(key) ?? [] };
    }),
  };
}

/** Output values as plain data: resolves Pulumi outputs (unknown ones as null). */
export async function resolveOutputs(value: unknown): Promise<unknown> {
  if (pulumi.Output.isInstance(value)) {
    return new Promise((resolve) => (value as pulumi.Output<unknown>).apply((v) => resolve(resolveOutputs(v))));
  }
  if (Array.isArray(value)) return Promise.all(value.map(resolveOutputs));
  if (value && typeof value === "object") {
    const entries = await Promise.all(Object.entries(value).map(async ([k, v]) => [k, await resolveOutputs(v)] as const));
    return Object.fromEntries(entries);
  }
  return value;
}
