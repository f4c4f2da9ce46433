/**
 * What a new GpuCluster's network and control plane look like, decided from its arguments:
 * pure functions, tested without mocks.
 */
import { FIXED_COSTS, HOURS_PER_MONTH, gp3UsdPerHour, type InputProblem } from "../../sizing";

export const NatGatewayMode = {
  /** One NAT gateway for the VPC. */
  Single: "single",
  /** One per zone, so that a zone outage keeps egress. */
  PerAz: "per-az",
} as const;
export type NatGatewayMode = (typeof NatGatewayMode)[keyof typeof NatGatewayMode];
export const NAT_GATEWAY_MODES: readonly NatGatewayMode[] = Object.values(NatGatewayMode);

/** A new GpuCluster's own arguments, as its users write them. */
/** A new cluster's options that the multi-language package takes as they are (package/gpu-cluster.ts). */
export interface ClusterOptions {
  /**
   * Kubernetes minor version of the control plane.
   * @default "1.35"
   */
  kubernetesVersion?: string;
  /**
   * The VPC's address range; private /19s and public /24s are cut from it.
   * @default "10.0.0.0/16"
   */
  vpcCidr?: string;
  /**
   * Availability zones with a private and a public subnet each.
   * @default 2
   */
  availabilityZoneCount?: number;
  /**
   * One NAT gateway for the VPC, or one per zone so that a zone outage keeps egress.
   * @default "single"
   */
  natGateways?: NatGatewayMode;
  /**
   * Whether the Kubernetes API is reachable from outside the VPC, limited to publicAccessCidrs.
   * A new cluster needs it: the same run installs add-ons and vLLM through that API, from
   * wherever `pulumi up` runs, which cannot be inside a VPC the run is creating. The private
   * endpoint is always on; turn this off after the first deployment if you like.
   * @default true
   */
  endpointPublicAccess?: boolean;
  /**
   * Source ranges allowed to reach the public endpoint: the address of the machine that runs
   * `pulumi up` (`curl -s https://checkip.amazonaws.com`), as a /32, and your office or VPN.
   * @default none; required with a public endpoint
   * @example ["198.51.100.7/32"]
   */
  publicAccessCidrs?: string[];
  /**
   * The IAM role or user that runs `pulumi up`, made cluster admin. Name it when CI and
   * people both deploy, so the access entry does not follow whoever ran last.
   * @default the role of the current AWS session
   */
  deployerPrincipalArn?: string;
  /**
   * More IAM roles or users given cluster-admin.
   * @default []
   */
  adminPrincipalArns?: string[];
  /**
   * Days CloudWatch keeps the control plane's api, audit and authenticator logs.
   * @default 90
   */
  logRetentionDays?: number;
  /**
   * Install the EBS CSI driver (the EKS add-on, with its controller's Pod Identity role) and an
   * encrypted gp3 StorageClass `EBS_STORAGE_CLASS`: what a weights cache on a volume needs,
   * for nodes whose local NVMe cannot hold the checkpoint.
   * @default false
   */
  ebsCsiDriver?: boolean;
  /**
   * The AWS region of the cluster.
   * @default the `aws:region` stack config
   */
  region?: string;
  /**
   * Tags for every AWS resource.
   * @default {}
   */
  tags?: Record<string, string>;
}

export interface NewClusterOptions extends ClusterOptions {
  /**
   * EKS cluster name.
   * @default the component's name
   */
  clusterName?: string;
  /**
   * Untainted nodes for cluster services (CoreDNS, controllers), which do not tolerate the
   * GPU taint; `false` when something else provides them.
   * @default { instanceType: "m7i.large", count: 2 }
   */
  systemNodes?: { instanceType?: string; count?: number } | false;
}

export interface NewClusterInput {
  /** EKS cluster name: 1-100 characters, starting with a letter or digit. */
  clusterName: string;
  kubernetesVersion: string;
  vpcCidr: string;
  /** How many availability zones get a private and a public subnet. */
  availabilityZoneCount: number;
  natGateways: NatGatewayMode;
  endpointPublicAccess: boolean;
  publicAccessCidrs: readonly string[];
  /** Plain ARN when given; undefined means the current session's role. */
  deployerPrincipalArn?: string | undefined;
  adminPrincipalArns: readonly string[];
  /** Null when the caller provides system nodes some other way. */
  systemNodes: { instanceType: string; count: number } | null;
  logRetentionDays: number;
  ebsCsiDriver?: boolean;
}

/** The retention periods CloudWatch Logs accepts (PutRetentionPolicy). */
export const LOG_RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653] as const;
const INSTANCE_TYPE = /^[a-z][a-z0-9-]*\.[a-z0-9]+$/;

export interface SubnetPlan {
  /** One /19 per zone for nodes and pods (the VPC CNI gives every pod a VPC address). */
  private: string[];
  /** One /24 per zone, for NAT gateways and internet-facing load balancers only. */
  public: string[];
}

const CIDR16 = /^(\d{1,3})\.(\d{1,3})\.0\.0\/16$/;
const CIDR = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/;
const CLUSTER_NAME = /^[0-9A-Za-z][A-Za-z0-9_-]{0,99}$/;
const K8S_VERSION = /^1\.\d{2}$/;
const PRINCIPAL_ARN = /^arn:aws[a-z-]*:iam::\d{12}:(role|user)\/.+$/;

/** The most zones a /16 holds at a /19 per zone, leaving the top /19 for the public /24s. */
export const MAX_AVAILABILITY_ZONES = 6;

/** Private /19s from the bottom of the /16, public /24s from its top /19. */
export function subnetPlan(vpcCidr: string, zones: number): SubnetPlan {
  const match = CIDR16.exec(vpcCidr);
  if (!match) throw new Error(`vpcCidr ${vpcCidr} is not a /16`);
  const [, a, b] = match;
  return {
    private: Array.from({ length: zones }, (_, i) => `${a}.${b}.${i * 32}.0/19`),
    public: Array.from({ length: zones }, (_, i) => `${a}.${b}.${224 + i}.0/24`),
  };
}

/** Root volume of each system node. */
export const SYSTEM_ROOT_GIB = 50;

/** The StorageClass a new cluster gets with its EBS CSI driver: gp3, encrypted, bound where the pod lands. */
export const EBS_STORAGE_CLASS = "llm-fleet-gp3";

/** RFC 5737's documentation ranges: placeholders, never a real deployer. */
const DOCUMENTATION_RANGES = ["192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24"];

/**
 * The deployer's range, missing: a preview can go on without it (nothing is reached yet);
 * `pulumi up` cannot, since it calls the new cluster's API. Separate from newClusterProblems
 * so that a preview reports it as pending instead of failing.
 */
export function deployerCidrProblem(input: { endpointPublicAccess: boolean; publicAccessCidrs: readonly string[] }): InputProblem | null {
  if (!input.endpointPublicAccess || input.publicAccessCidrs.length > 0) return null;
  return {
    path: "publicAccessCidrs",
    message:
      "give the address of the machine that runs pulumi up, as a /32 (curl -s https://checkip.amazonaws.com), so the run can reach the API it creates: " +
      "pulumi config set --path 'llm-fleet:cluster.publicAccessCidrs[0]' <address>/32",
  };
}

function validCidr(cidr: string): boolean {
  const m = CIDR.exec(cidr);
  return !!m && m.slice(1, 5).every((o) => Number(o) <= 255) && Number(m[5]) <= 32;
}

export function newClusterProblems(input: NewClusterInput): InputProblem[] {
  const problems: InputProblem[] = [];
  if (!CLUSTER_NAME.test(input.clusterName)) {
    problems.push({
      path: "clusterName",
      message: `"${input.clusterName}" is not an EKS cluster name: 1-100 letters, digits, "-" or "_", starting with a letter or digit`,
    });
  }
  if (!K8S_VERSION.test(input.kubernetesVersion)) {
    problems.push({ path: "kubernetesVersion", message: `"${input.kubernetesVersion}" is not a Kubernetes minor version such as 1.33` });
  }
  const cidr = CIDR16.exec(input.vpcCidr);
  if (!cidr || Number(cidr[1]) > 255 || Number(cidr[2]) > 255) {
    problems.push({ path: "vpcCidr", message: `"${input.vpcCidr}" is not a /16 such as 10.0.0.0/16; the subnet plan splits a /16` });
  }
  const zones = input.availabilityZoneCount;
  if (!Number.isInteger(zones) || zones < 2 || zones > MAX_AVAILABILITY_ZONES) {
    problems.push({
      path: "availabilityZoneCount",
      message: `${zones} zones: EKS needs at least 2, and a /16 holds at most ${MAX_AVAILABILITY_ZONES}; give 2 to ${MAX_AVAILABILITY_ZONES}`,
    });
  }
  input.publicAccessCidrs.forEach((c, i) => {
    if (!validCidr(c)) problems.push({ path: `publicAccessCidrs.${i}`, message: `"${c}" is not a CIDR block such as 203.0.113.0/24` });
  });
  input.publicAccessCidrs.forEach((c, i) => {
    if (validCidr(c) && DOCUMENTATION_RANGES.some((range) => c === range || c.startsWith(range.replace(/0\/24$/, "")))) {
      problems.push({
        path: `publicAccessCidrs.${i}`,
        message: `"${c}" is a documentation-only range (RFC 5737): no deployer is there; give the address of the machine that runs pulumi up as a /32 (curl -s https://checkip.amazonaws.com)`,
      });
    }
  });
  if (!input.endpointPublicAccess) {
    problems.push({
      path: "endpointPublicAccess",
      message:
        "false leaves the API reachable only inside the VPC this run creates, so the Kubernetes provider and Helm releases time out from wherever pulumi up runs; " +
        "keep it true with publicAccessCidrs for the deployer (and turn it off after the first deployment), or deploy into an existing cluster from a runner inside its VPC (mode: existing)",
    });
  }
  if (!input.endpointPublicAccess && input.publicAccessCidrs.length > 0) {
    problems.push({
      path: "publicAccessCidrs",
      message: "publicAccessCidrs only apply to a public endpoint; set endpointPublicAccess: true or drop them",
    });
  }
  if (input.endpointPublicAccess && input.publicAccessCidrs.includes("0.0.0.0/0")) {
    problems.push({
      path: "publicAccessCidrs",
      message: "0.0.0.0/0 opens the Kubernetes API to the internet; list your office or VPN ranges instead",
    });
  }
  input.adminPrincipalArns.forEach((arn, i) => {
    if (!PRINCIPAL_ARN.test(arn)) {
      problems.push({ path: `adminPrincipalArns.${i}`, message: `"${arn}" is not an IAM role or user ARN (arn:aws:iam::<account>:role/<name>)` });
    }
    if (arn === input.deployerPrincipalArn) {
      problems.push({
        path: `adminPrincipalArns.${i}`,
        message: `${arn} is the deployer, which is an admin already; a second access entry for it is refused by EKS, so drop it here`,
      });
    }
  });
  const deployer = input.deployerPrincipalArn;
  if (deployer !== undefined && !PRINCIPAL_ARN.test(deployer)) {
    problems.push({ path: "deployerPrincipalArn", message: `"${deployer}" is not an IAM role or user ARN (arn:aws:iam::<account>:role/<name>)` });
  }
  if (input.systemNodes) {
    const { instanceType, count } = input.systemNodes;
    if (!INSTANCE_TYPE.test(instanceType)) {
      problems.push({ path: "systemNodes.instanceType", message: `"${instanceType}" is not an EC2 instance type such as m7i.large` });
    }
    if (!Number.isInteger(count) || count < 1) {
      problems.push({ path: "systemNodes.count", message: `${count} is not a whole number of nodes >= 1; use systemNodes: false for none` });
    }
  }
  if (!(LOG_RETENTION_DAYS as readonly number[]).includes(input.logRetentionDays)) {
    problems.push({ path: "logRetentionDays", message: `${input.logRetentionDays} is not a CloudWatch retention; use one of ${LOG_RETENTION_DAYS.join(", ")}` });
  }
  return problems;
}

/** The Kubernetes API endpoint settings. The public endpoint, when on, is limited to the given ranges. */
export function endpointAccess(input: Pick<NewClusterInput, "endpointPublicAccess" | "publicAccessCidrs">) {
  return {
    endpointPrivateAccess: true,
    endpointPublicAccess: input.endpointPublicAccess,
    publicAccessCidrs: input.endpointPublicAccess ? [...input.publicAccessCidrs] : undefined,
  };
}

/** Who `aws eks get-token` authenticates as: the stack's AWS profile and the role it assumes. */
export interface KubeconfigAuth {
  /** `AWS_PROFILE` for the token command (the provider's `aws:profile`). */
  profile?: string | undefined;
  /** A role the token command assumes (`--role-arn`; the last role of the provider's `aws:assumeRoles` chain). */
  roleArn?: string | undefined;
}

/**
 * The token command's identity from the AWS provider's stack config, so that the Kubernetes
 * provider talks to the cluster as the same identity that created it, not as whatever the
 * ambient `aws` CLI would use (https://www.pulumi.com/registry/packages/aws/installation-configuration/).
 */
export function kubeconfigAuthFromConfig(config: Readonly<Record<string, string>>): KubeconfigAuth {
  const parse = (key: string): unknown => {
    const raw = config[key];
    if (raw === undefined) return undefined;
    try {
      return JSON.parse(raw);
    } catch {
      return raw;
    }
  };
  const roles = parse("aws:assumeRoles");
  const single = parse("aws:assumeRole");
  // A chain ends in the role the provider acts as, which the cluster's admin access entry names.
  const last = Array.isArray(roles) ? roles[roles.length - 1] : single;
  const roleArn = last && typeof last === "object" ? (last as { roleArn?: unknown }).roleArn : undefined;
  const profile = config["aws:profile"];
  return { profile: profile || undefined, roleArn: typeof roleArn === "string" ? roleArn : undefined };
}

/**
 * A kubeconfig that authenticates with `aws eks get-token`, so no credential is stored in
 * it (https://docs.aws.amazon.com/eks/latest/userguide/create-kubeconfig.html); as the given
 * profile and role when the stack's AWS provider uses them.
 */
export function kubeconfig(cluster: { name: string; endpoint: string; certificateAuthority: string; region: string }, auth: KubeconfigAuth = {}): string {
  return JSON.stringify({
    apiVersion: "v1",
    kind: "Config",
    clusters: [{ name: cluster.name, cluster: { server: cluster.endpoint, "certificate-authority-data": cluster.certificateAuthority } }],
    contexts: [{ name: cluster.name, context: { cluster: cluster.name, user: cluster.name } }],
    "current-context": cluster.name,
    users: [
      {
        name: cluster.name,
        user: {
          exec: {
            apiVersion: "client.authentication.k8s.io/v1beta1",
            command: "aws",
            args: [
              "eks",
              "get-token",
              "--cluster-name",
              cluster.name,
              "--region",
              cluster.region,
              ...(auth.roleArn ? ["--role-arn", auth.roleArn] : []),
              "--output",
              "json",
            ],
            ...(auth.profile ? { env: [{ name: "AWS_PROFILE", value: auth.profile }] } : {}),
          },
        },
      },
    ],
  });
}

/** The defaults of a new cluster's arguments, in one place for the component and the cost preview. */
export function normalizeNewCluster(
  name: string,
  args: NewClusterOptions,
) {
  return {
    clusterName: args.clusterName ?? name,
    kubernetesVersion: args.kubernetesVersion ?? "1.35",
    vpcCidr: args.vpcCidr ?? "10.0.0.0/16",
    availabilityZoneCount: args.availabilityZoneCount ?? 2,
    natGateways: args.natGateways ?? "single",
    endpointPublicAccess: args.endpointPublicAccess ?? true,
    publicAccessCidrs: args.publicAccessCidrs ?? [],
    deployerPrincipalArn: args.deployerPrincipalArn,
    adminPrincipalArns: args.adminPrincipalArns ?? [],
    systemNodes:
      args.systemNodes === false ? null : { instanceType: args.systemNodes?.instanceType ?? "m7i.large", count: args.systemNodes?.count ?? 2 },
    logRetentionDays: args.logRetentionDays ?? 90,
    ebsCsiDriver: args.ebsCsiDriver ?? false,
    tags: args.tags ?? {},
  } satisfies NewClusterInput & { tags: Record<string, string> };
}

export interface ClusterCostItem {
  summary: string;
  what: string;
  desiredUsdPerHour: number;
  maxUsdPerHour: number;
}

/**
 * The hourly cost of a new cluster's own parts: the control plane, its NAT gateways and its
 * system nodes (whose group may grow by one). GPU node groups are priced by their own spec.
 */
export function clusterCost(input: ReturnType<typeof normalizeNewCluster>): ClusterCostItem[] {
  const nats = input.natGateways === "per-az" ? input.availabilityZoneCount : 1;
  const items: ClusterCostItem[] = [
    { summary: "the EKS control plane", what: "EKS control plane", desiredUsdPerHour: FIXED_COSTS.eksClusterUsdPerHour, maxUsdPerHour: FIXED_COSTS.eksClusterUsdPerHour },
    {
      summary: `${nats} NAT gateway(s)`,
      what: `${nats} NAT gateway(s), before data`,
      desiredUsdPerHour: nats * FIXED_COSTS.natGatewayUsdPerHour,
      maxUsdPerHour: nats * FIXED_COSTS.natGatewayUsdPerHour,
    },
  ];
  if (input.systemNodes) {
    const { instanceType, count } = input.systemNodes;
    const each = FIXED_COSTS.systemNodeUsdPerHour[instanceType];
    items.push({
      summary: `${count} x ${instanceType}`,
      what: `${count} x ${instanceType} system nodes${each === undefined ? " (no price in the catalog)" : ""}`,
      desiredUsdPerHour: count * (each ?? 0),
      maxUsdPerHour: (count + 1) * (each ?? 0),
    });
    const volume = gp3UsdPerHour(SYSTEM_ROOT_GIB);
    items.push({ summary: `${count} system volumes`, what: `EBS: ${SYSTEM_ROOT_GIB} GiB gp3 per system node`, desiredUsdPerHour: count * volume, maxUsdPerHour: (count + 1) * volume });
  }
  const ipv4 = nats * FIXED_COSTS.publicIpv4UsdPerHour;
  items.push({ summary: `${nats} public IPv4`, what: `${nats} public IPv4 address(es) of the NAT gateway(s)`, desiredUsdPerHour: ipv4, maxUsdPerHour: ipv4 });
  const kms = FIXED_COSTS.kmsKeyUsdPerMonth / HOURS_PER_MONTH;
  items.push({ summary: "a KMS key", what: "KMS key for Kubernetes secrets", desiredUsdPerHour: kms, maxUsdPerHour: kms });
  // Logs are priced by the gigabyte the API server writes, which no plan knows: shown, not summed.
  items.push({
    summary: "control-plane logs",
    what: `CloudWatch Logs for the control plane: $${FIXED_COSTS.cloudWatchLogsUsdPerGbIngested.toFixed(2)} per GB ingested, not in the total`,
    desiredUsdPerHour: 0,
    maxUsdPerHour: 0,
  });
  return items;
}

/**
 * The subnets of an existing cluster GPU nodes may use: those given, as given; else the
 * cluster's own that give instances no public IP. A message that names the key when none is left.
 */
export function nodeSubnets(
  clusterName: string,
  subnets: readonly { id: string; availabilityZone: string; mapPublicIpOnLaunch?: boolean }[],
  given: boolean,
): { subnets: { id: string; availabilityZone: string }[] } | { problem: string } {
  const usable = given ? subnets : subnets.filter((s) => !s.mapPublicIpOnLaunch);
  if (usable.length === 0) {
    return {
      problem: `every subnet of ${clusterName} gives instances public IPs; GPU nodes belong in private subnets: name them with subnetIds (stack key llm-fleet:cluster.subnetIds)`,
    };
  }
  return { subnets: usable.map((s) => ({ id: s.id, availabilityZone: s.availabilityZone })) };
}
