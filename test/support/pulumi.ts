/**
 * Pulumi's unit-test method (pulumi.runtime.setMocks): the real program runs in-process,
 * every resource registration is recorded with its inputs, and invokes get fixed answers.
 * Call installMocks() before importing any module that creates resources.
 */
import * as pulumi from "@pulumi/pulumi";

export interface RecordedResource {
  type: string;
  name: string;
  inputs: Record<string, any>;
  custom: boolean;
  /** The provider reference (URN::id) of a custom resource given one. */
  provider?: string;
}

export const ACCOUNT_ID = "123456789012";
export const DEPLOYER_ROLE_ARN = `arn:aws:iam::${ACCOUNT_ID}:role/platform-deployer`;
export const ZONES = ["us-east-1a", "us-east-1b", "us-east-1c", "us-east-1d"];

/** An existing cluster the invoke mocks describe. */
export const EXISTING_CLUSTER = {
  name: "shared-gpu",
  version: "1.34",
  endpoint: "https://EXAMPLE.gr7.us-east-1.eks.amazonaws.com",
  certificateAuthorities: [{ data: "LS0tLS1CRUdJTi1leGlzdGluZw==" }],
  vpcConfig: {
    subnetIds: ["subnet-0aaa", "subnet-0bbb", "subnet-0ccc", "subnet-0ddd"],
    vpcId: "vpc-0existing",
    clusterSecurityGroupId: "sg-0cluster",
  },
};
const EXISTING_SUBNET_ZONES: Record<string, string> = {
  "subnet-0aaa": "us-east-1a",
  "subnet-0bbb": "us-east-1b",
  "subnet-0ccc": "us-east-1c",
  "subnet-0ddd": "us-east-1d",
};

export const PUBLIC_EXISTING_SUBNET = "subnet-0ddd";

export const recorded: RecordedResource[] = [];

/** Outputs a real provider would compute, for the types the components read back. */
function computed(args: pulumi.runtime.MockResourceArgs): Record<string, unknown> {
  const id = `${args.name}-id`;
  switch (args.type) {
    case "aws:iam/role:Role":
      return { arn: `arn:aws:iam::${ACCOUNT_ID}:role/${args.name}`, name: args.name };
    case "aws:eks/cluster:Cluster":
      return {
        name: args.inputs.name,
        endpoint: `https://${args.inputs.name}.gr7.us-east-1.eks.amazonaws.com`,
        certificateAuthority: { data: "LS0tLS1CRUdJTi1uZXc=" },
        vpcConfig: { ...args.inputs.vpcConfig, clusterSecurityGroupId: `sg-${args.name}` },
      };
    case "aws:ec2/launchTemplate:LaunchTemplate":
      return { latestVersion: 1 };
    case "aws:eks/nodeGroup:NodeGroup":
      return { nodeGroupName: args.name, resources: [{ autoscalingGroups: [{ name: `eks-${args.name}-asg` }] }] };
    case "aws:ec2/placementGroup:PlacementGroup":
      return { name: args.name };
    case "aws:kms/key:Key":
      return { arn: `arn:aws:kms:us-east-1:${ACCOUNT_ID}:key/${id}` };
    default:
      return {};
  }
}

function call(args: pulumi.runtime.MockCallArgs): Record<string, unknown> {
  switch (args.token) {
    case "aws:index/getPartition:getPartition":
      return { partition: "aws", dnsSuffix: "amazonaws.com" };
    case "aws:index/getAvailabilityZones:getAvailabilityZones":
      return { names: ZONES, zoneIds: ZONES.map((_, i) => `use1-az${i + 1}`) };
    case "aws:index/getCallerIdentity:getCallerIdentity":
      return { accountId: ACCOUNT_ID, arn: `arn:aws:sts::${ACCOUNT_ID}:assumed-role/platform-deployer/ci-session`, userId: "AROA:ci" };
    case "aws:iam/getSessionContext:getSessionContext":
      return { arn: args.inputs.arn, issuerArn: DEPLOYER_ROLE_ARN, issuerName: "platform-deployer" };
    case "aws:eks/getCluster:getCluster":
      if (args.inputs.name !== EXISTING_CLUSTER.name) throw new Error(`no cluster ${args.inputs.name}`);
      return EXISTING_CLUSTER;
    case "aws:ec2/getSubnet:getSubnet":
      // The existing cluster's fourth subnet is a public one, which GPU nodes must not use.
      return { id: args.inputs.id, availabilityZone: EXISTING_SUBNET_ZONES[args.inputs.id], mapPublicIpOnLaunch: args.inputs.id === PUBLIC_EXISTING_SUBNET };
    default:
      throw new Error(`unmocked invoke ${args.token}`);
  }
}

export function installMocks(config: Record<string, string> = { "aws:region": "us-east-1" }): void {
  pulumi.runtime.setAllConfig(config);
  void pulumi.runtime.setMocks(
    {
      newResource(args) {
        recorded.push({ type: args.type, name: args.name, inputs: args.inputs, custom: args.custom ?? false, ...(args.provider ? { provider: args.provider } : {}) });
        return { id: `${args.name}-id`, state: { ...args.inputs, ...computed(args) } };
      },
      call,
    },
    "llm-fleet",
    "test",
    false,
  );
}

/** Resolves an output's value; never use an expect inside an apply. */
export function valueOf<T>(output: pulumi.Output<T>): Promise<T> {
  return new Promise((resolve) => output.apply((value) => resolve(value)));
}

/**
 * Waits until every registration and invoke started so far has been answered: the
 * runtime's own RPC queue drain, which `pulumi up` awaits before it exits.
 */
export async function settle(): Promise<void> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const settings = require("@pulumi/pulumi/runtime/settings") as { waitForRPCs(): Promise<void> };
  await settings.waitForRPCs();
}

export function ofType(type: string, prefix = ""): RecordedResource[] {
  return recorded.filter((r) => r.type === type && r.name.startsWith(prefix));
}

export function one(type: string, name: string): RecordedResource {
  const found = recorded.filter((r) => r.type === type && r.name === name);
  if (found.length !== 1) throw new Error(`${found.length} resources of ${type} named ${name}; recorded: ${recorded.map((r) => `${r.type} ${r.name}`).join(", ")}`);
  return found[0]!;
}

/** URNs of every registered resource; their type part names the parent chain (`Parent$Child`). */
export function registeredUrns(): string[] {
  const monitor = pulumi.runtime.getMonitor() as unknown as { getRegisteredResources(): Map<string, unknown> };
  return [...monitor.getRegisteredResources().keys()];
}

/** Pulumi's marker for a secret value in serialized inputs. */
const SECRET_SIG = "4dabf18193072939515e22adb298388d";
const SECRET_VALUE = "1b47061264138c4ac30d75fd1eb44270";

export function isSecretInput(value: unknown): boolean {
  return typeof value === "object" && value !== null && (value as Record<string, unknown>)[SECRET_SIG] === SECRET_VALUE;
}

/** Inputs with secret wrappers replaced by their values, as the provider would see them. */
export function unwrapSecrets(value: any): any {
  if (isSecretInput(value)) return unwrapSecrets(value.value);
  if (Array.isArray(value)) return value.map(unwrapSecrets);
  if (typeof value === "object" && value !== null) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, unwrapSecrets(v)]));
  return value;
}

export function resetRecorded(): void {
  recorded.length = 0;
}
