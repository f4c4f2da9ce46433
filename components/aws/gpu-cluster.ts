import * as aws from "@pulumi/aws";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { InputError, type InputProblem } from "../../sizing";
import {
  EBS_STORAGE_CLASS,
  SYSTEM_ROOT_GIB,
  deployerCidrProblem,
  endpointAccess,
  kubeconfig,
  kubeconfigAuthFromConfig,
  newClusterProblems,
  nodeSubnets,
  normalizeNewCluster,
  subnetPlan,
  type KubeconfigAuth,
  type NewClusterOptions,
} from "./cluster-spec";
import {
  CLUSTER_ADMIN_ACCESS_POLICY,
  CLUSTER_MANAGED_POLICIES,
  CLUSTER_TRUST_POLICY,
  EBS_CSI_MANAGED_POLICY,
  clusterAutoscalerPolicy,
  NODE_MANAGED_POLICIES,
  NODE_TRUST_POLICY,
  POD_IDENTITY_TRUST_POLICY,
  accessPolicyArn,
  managedPolicyArn,
} from "./iam";
import { COMPONENT_TYPES, componentOptions } from "../component-types";
import { AUTOSCALED_TAG, METADATA_OPTIONS, NODE_LABELS } from "./node-group-spec";

/** What a GpuNodeGroup needs of the cluster it joins; a GpuCluster provides it. */
export interface GpuClusterRef {
  clusterName: pulumi.Output<string>;
  region: string;
  vpcId: pulumi.Output<string>;
  /** Private subnets nodes go in, with their availability zones. */
  privateSubnets: pulumi.Output<{ id: string; availabilityZone: string }[]>;
  /** The security group EKS created for the cluster; nodes with custom interfaces must carry it. */
  clusterSecurityGroupId: pulumi.Output<string>;
}

/** The cluster autoscaler's service account, which the chart creates (charts/index.ts). */
export const CLUSTER_AUTOSCALER_SERVICE_ACCOUNT = { namespace: "kube-system", name: "cluster-autoscaler" } as const;

export interface NodeAutoscalerOption {
  /**
   * An IAM role for the cluster autoscaler, given to its service account through EKS Pod
   * Identity, allowed to resize only the node groups llm-fleet marks as autoscaled.
   * @default false
   */
  nodeAutoscaler?: boolean;
}

export interface NewGpuClusterArgs extends NewClusterOptions, NodeAutoscalerOption {
  mode?: "new";
}

/** What an existing cluster's attachment can be given, besides its name. */
export interface ExistingClusterOptions {
  /**
   * Subnets for the node groups, used as given.
   * @default the cluster's own subnets that give instances no public IP; an error when there are none
   */
  subnetIds?: string[];
  /**
   * Kubeconfig for the Kubernetes provider, as a secret.
   * @default one built from the cluster that authenticates with `aws eks get-token`
   * @secret
   */
  kubeconfig?: pulumi.Input<string>;
}

export interface ExistingGpuClusterArgs extends ExistingClusterOptions, NodeAutoscalerOption {
  mode: "existing";
  /** Name of the EKS cluster to attach node groups to. */
  clusterName: string;
  /**
   * The AWS region of the cluster.
   * @default the `aws:region` stack config
   */
  region?: string;
}

export type GpuClusterArgs = NewGpuClusterArgs | ExistingGpuClusterArgs;

/** What a GpuCluster gives the components that deploy onto it. */
export interface GpuClusterParts extends GpuClusterRef {
  readonly clusterName: pulumi.Output<string>;
  readonly region: string;
  readonly vpcId: pulumi.Output<string>;
  readonly privateSubnets: pulumi.Output<{ id: string; availabilityZone: string }[]>;
  readonly clusterSecurityGroupId: pulumi.Output<string>;
  readonly endpoint: pulumi.Output<string>;
  readonly kubeconfig: pulumi.Output<string>;
  /** Kubernetes provider for the cluster, for the components that deploy onto it. */
  readonly provider: k8s.Provider;
  /**
   * What cluster controllers need running before they can start: the system node group of a new
   * cluster (empty for an existing one, whose nodes are already there). Helm releases wait for it.
   */
  readonly systemNodes: pulumi.Resource[];
  /** The EBS CSI driver and its StorageClass when `ebsCsiDriver` is on; what volume caches wait for. */
  readonly storage: pulumi.Resource[];
  /** The identity the kubeconfig's token command uses: the stack's `aws:profile` and assumed role. */
  readonly kubeconfigAuth: KubeconfigAuth;
  /** The cluster's name as given, for chart values that must be plain text. */
  readonly clusterNameText: string;
  /** Kubernetes version of the control plane: the cluster autoscaler's release follows its minor. */
  readonly kubernetesVersion: pulumi.Output<string>;
  /** The autoscaler's Pod Identity association when `nodeAutoscaler` is on; its release waits for it. */
  readonly nodeAutoscaler: pulumi.Resource[];
}

/** What the resources are made from once the arguments are checked. */
export interface CheckedGpuCluster {
  region: string;
  /** A new cluster's options with every default filled in; null for an existing cluster. */
  normalized: ReturnType<typeof normalizeNewCluster> | null;
}

/** Every problem of the arguments, before anything is created. */
export function checkedGpuCluster(name: string, args: GpuClusterArgs): CheckedGpuCluster {
  const region = args.region ?? new pulumi.Config("aws").get("region");
  const normalized = args.mode === "existing" ? null : normalizeNewCluster(name, args);
  const problems: InputProblem[] = [];
  if (!region) problems.push({ path: "region", message: "no region: set region, or `pulumi config set aws:region us-east-1`" });
  if (normalized) problems.push(...newClusterProblems(normalized));
  // `up` must reach the API it creates; a preview reaches nothing yet, so it only warns.
  const cidr = normalized ? deployerCidrProblem(normalized) : null;
  if (cidr && !pulumi.runtime.isDryRun()) problems.push(cidr);
  if (args.mode === "existing" && args.clusterName.trim() === "") {
    problems.push({ path: "clusterName", message: "name the existing EKS cluster to attach to" });
  }
  if (problems.length > 0) throw new InputError(`GpuCluster "${name}"`, problems);
  return { region: region!, normalized };
}

/** The resources of a checked cluster, children of `parent`: what the TypeScript class and the package's form both create. */
export function gpuClusterResources(parent: pulumi.ComponentResource, name: string, args: GpuClusterArgs, checked: CheckedGpuCluster): GpuClusterParts {
  const { region, normalized } = checked;
  const auth = kubeconfigAuthFromConfig(pulumi.runtime.allConfig());
  const connection = args.mode === "existing" ? existingCluster(parent, name, args, region, auth) : createCluster(parent, name, normalized!, region, auth);
  // Kubernetes calls need the admin access in place first, and must be deleted before it goes.
  const provider = new k8s.Provider(`${name}-k8s`, { kubeconfig: connection.kubeconfig }, { parent, dependsOn: connection.associations });
  const clusterNameText = args.mode === "existing" ? args.clusterName : normalized!.clusterName;
  const nodeAutoscaler = args.nodeAutoscaler ? [nodeAutoscalerIdentity(parent, name, connection.clusterName, clusterNameText, normalized?.tags ?? {})] : [];
  const storage =
    connection.ebsCsi.length === 0
      ? []
      : [
          new k8s.storage.v1.StorageClass(
            `${name}-gp3`,
            {
              metadata: { name: EBS_STORAGE_CLASS },
              provisioner: "ebs.csi.aws.com",
              parameters: { type: "gp3", encrypted: "true" },
              // Bound in the pod's zone, where its GPU node is.
              volumeBindingMode: "WaitForFirstConsumer",
              reclaimPolicy: "Delete",
            },
            { parent, provider, dependsOn: connection.ebsCsi },
          ),
        ];
  return {
    clusterName: connection.clusterName,
    region,
    vpcId: connection.vpcId,
    privateSubnets: connection.privateSubnets,
    clusterSecurityGroupId: connection.clusterSecurityGroupId,
    endpoint: connection.endpoint,
    kubeconfig: connection.kubeconfig,
    provider,
    systemNodes: connection.systemNodes,
    storage,
    kubeconfigAuth: auth,
    clusterNameText,
    kubernetesVersion: connection.kubernetesVersion,
    nodeAutoscaler,
  };
}

/** An existing cluster, read: nothing is created for it. */
function existingCluster(parent: pulumi.ComponentResource, name: string, args: ExistingGpuClusterArgs, region: string, auth: KubeconfigAuth) {
  const cluster = aws.eks.getClusterOutput({ name: args.clusterName }, { parent });
  const subnetIds = args.subnetIds ? pulumi.output(args.subnetIds) : cluster.vpcConfig.subnetIds;
  const given = args.subnetIds !== undefined;
  return {
    associations: [] as pulumi.Resource[],
    systemNodes: [] as pulumi.Resource[],
    ebsCsi: [] as pulumi.Resource[],
    clusterName: cluster.name,
    vpcId: cluster.vpcConfig.vpcId,
    clusterSecurityGroupId: cluster.vpcConfig.clusterSecurityGroupId,
    endpoint: cluster.endpoint,
    kubernetesVersion: cluster.version,
    // GPU nodes go in private subnets only: of the cluster's own, those that give no public IP.
    privateSubnets: subnetIds.apply(async (ids) => {
      const subnets = await Promise.all(ids.map((id) => aws.ec2.getSubnet({ id }, { parent })));
      const result = nodeSubnets(args.clusterName, subnets, given);
      if ("problem" in result) throw new Error(`GpuCluster "${name}": ${result.problem}`);
      return result.subnets;
    }),
    kubeconfig: args.kubeconfig
      ? pulumi.secret(args.kubeconfig)
      : pulumi
          .all([cluster.name, cluster.endpoint, cluster.certificateAuthorities])
          .apply(([clusterName, endpoint, cas]) => kubeconfig({ name: clusterName, endpoint, certificateAuthority: cas[0]?.data ?? "", region }, auth)),
  };
}

/** Two small untainted nodes across the zones, with the same IMDS and disk rules as GPU nodes. */
function createSystemNodes(
  parent: pulumi.ComponentResource,
  name: string,
  nodes: { instanceType: string; count: number },
  cluster: aws.eks.Cluster,
  subnets: aws.ec2.Subnet[],
  partition: pulumi.Output<string>,
  tags: Record<string, string>,
): aws.eks.NodeGroup {
  const child = { parent };
  const role = new aws.iam.Role(`${name}-system-role`, { assumeRolePolicy: NODE_TRUST_POLICY, tags }, child);
  const attachments = NODE_MANAGED_POLICIES.map(
    (policy) =>
      new aws.iam.RolePolicyAttachment(
        `${name}-system-${policy}`,
        { role: role.name, policyArn: partition.apply((p) => managedPolicyArn(p, policy)) },
        child,
      ),
  );
  const launchTemplate = new aws.ec2.LaunchTemplate(
    `${name}-system-launch-template`,
    {
      updateDefaultVersion: true,
      metadataOptions: { ...METADATA_OPTIONS },
      blockDeviceMappings: [
        { deviceName: "/dev/xvda", ebs: { volumeSize: SYSTEM_ROOT_GIB, volumeType: "gp3", encrypted: "true", deleteOnTermination: "true" } },
      ],
      tagSpecifications: [
        { resourceType: "instance", tags },
        { resourceType: "volume", tags },
      ],
      tags,
    },
    child,
  );
  return new aws.eks.NodeGroup(
    `${name}-system-node-group`,
    {
      clusterName: cluster.name,
      nodeRoleArn: role.arn,
      subnetIds: subnets.map((s) => s.id),
      amiType: "AL2023_x86_64_STANDARD",
      instanceTypes: [nodes.instanceType],
      capacityType: "ON_DEMAND",
      // One spare for rolling updates; clusterCost prices the same maximum.
      scalingConfig: { minSize: nodes.count, desiredSize: nodes.count, maxSize: nodes.count + 1 },
      updateConfig: { maxUnavailable: 1 },
      launchTemplate: { id: launchTemplate.id, version: launchTemplate.latestVersion.apply(String) },
      labels: { [NODE_LABELS.nodeGroup]: "system" },
      tags,
    },
    { parent, dependsOn: attachments },
  );
}

/** The cluster autoscaler's role and its Pod Identity association. */
function nodeAutoscalerIdentity(
  parent: pulumi.ComponentResource,
  name: string,
  cluster: pulumi.Output<string>,
  clusterName: string,
  tags: Record<string, string>,
): pulumi.Resource {
  const child = { parent };
  const role = new aws.iam.Role(`${name}-cluster-autoscaler-role`, { assumeRolePolicy: POD_IDENTITY_TRUST_POLICY, tags }, child);
  const policy = new aws.iam.RolePolicy(
    `${name}-cluster-autoscaler`,
    { role: role.name, policy: clusterAutoscalerPolicy(clusterName, AUTOSCALED_TAG) },
    child,
  );
  return new aws.eks.PodIdentityAssociation(
    `${name}-cluster-autoscaler`,
    {
      clusterName: cluster,
      namespace: CLUSTER_AUTOSCALER_SERVICE_ACCOUNT.namespace,
      serviceAccount: CLUSTER_AUTOSCALER_SERVICE_ACCOUNT.name,
      roleArn: role.arn,
      tags,
    },
    { parent, dependsOn: [policy] },
  );
}

/**
 * The EBS CSI driver as the EKS-managed add-on, its controller on a Pod Identity role with
 * AWS's managed policy, once the system nodes it runs on exist.
 */
function createEbsCsiDriver(
  parent: pulumi.ComponentResource,
  name: string,
  cluster: aws.eks.Cluster,
  partition: pulumi.Output<string>,
  agent: aws.eks.Addon,
  systemNodes: pulumi.Resource[],
  tags: Record<string, string>,
): pulumi.Resource[] {
  const child = { parent };
  const role = new aws.iam.Role(`${name}-ebs-csi-role`, { assumeRolePolicy: POD_IDENTITY_TRUST_POLICY, tags }, child);
  const attachment = new aws.iam.RolePolicyAttachment(
    `${name}-ebs-csi-${EBS_CSI_MANAGED_POLICY.split("/").pop()}`,
    { role: role.name, policyArn: partition.apply((p) => managedPolicyArn(p, EBS_CSI_MANAGED_POLICY)) },
    child,
  );
  const addon = new aws.eks.Addon(
    `${name}-ebs-csi-driver`,
    {
      clusterName: cluster.name,
      addonName: "aws-ebs-csi-driver",
      podIdentityAssociations: [{ roleArn: role.arn, serviceAccount: "ebs-csi-controller-sa" }],
      tags,
    },
    { parent, dependsOn: [agent, attachment, ...systemNodes] },
  );
  return [addon];
}

function createCluster(parent: pulumi.ComponentResource, name: string, input: ReturnType<typeof normalizeNewCluster>, region: string, auth: KubeconfigAuth) {
  const child = { parent };
  const tags = { ...input.tags, "llm-fleet.dev/cluster": input.clusterName };
  const partition = aws.getPartitionOutput({}, child).partition;
  const zones = aws
    .getAvailabilityZonesOutput({ state: "available", filters: [{ name: "opt-in-status", values: ["opt-in-not-required"] }] }, child)
    .names.apply((names) => {
      if (names.length < input.availabilityZoneCount) {
        throw new Error(`${region} has ${names.length} availability zones; availabilityZoneCount asks for ${input.availabilityZoneCount}`);
      }
      return names.slice(0, input.availabilityZoneCount);
    });
  const plan = subnetPlan(input.vpcCidr, input.availabilityZoneCount);
  const clusterTag = `kubernetes.io/cluster/${input.clusterName}`;

  const vpc = new aws.ec2.Vpc(
    `${name}-vpc`,
    { cidrBlock: input.vpcCidr, enableDnsHostnames: true, enableDnsSupport: true, tags: { ...tags, Name: `${input.clusterName}-vpc` } },
    child,
  );
  const igw = new aws.ec2.InternetGateway(`${name}-igw`, { vpcId: vpc.id, tags }, child);
  const publicRoutes = new aws.ec2.RouteTable(
    `${name}-public-rt`,
    { vpcId: vpc.id, routes: [{ cidrBlock: "0.0.0.0/0", gatewayId: igw.id }], tags: { ...tags, Name: `${input.clusterName}-public` } },
    child,
  );
  const publicSubnets = plan.public.map((cidrBlock, i) => {
    const subnet = new aws.ec2.Subnet(
      `${name}-public-${i}`,
      {
        vpcId: vpc.id,
        cidrBlock,
        availabilityZone: zones.apply((z) => z[i]!),
        // Only NAT gateways and internet-facing load balancers live here; nodes never get public IPs.
        mapPublicIpOnLaunch: false,
        tags: { ...tags, Name: `${input.clusterName}-public-${i}`, "kubernetes.io/role/elb": "1", [clusterTag]: "shared" },
      },
      child,
    );
    new aws.ec2.RouteTableAssociation(`${name}-public-${i}`, { subnetId: subnet.id, routeTableId: publicRoutes.id }, child);
    return subnet;
  });
  const natCount = input.natGateways === "per-az" ? input.availabilityZoneCount : 1;
  const nats = Array.from({ length: natCount }, (_, i) => {
    const eip = new aws.ec2.Eip(`${name}-nat-${i}`, { domain: "vpc", tags }, child);
    return new aws.ec2.NatGateway(
      `${name}-nat-${i}`,
      { allocationId: eip.id, subnetId: publicSubnets[i]!.id, tags: { ...tags, Name: `${input.clusterName}-nat-${i}` } },
      { parent, dependsOn: [igw] },
    );
  });
  const privateRouteTables: aws.ec2.RouteTable[] = [];
  const privateSubnets = plan.private.map((cidrBlock, i) => {
    const subnet = new aws.ec2.Subnet(
      `${name}-private-${i}`,
      {
        vpcId: vpc.id,
        cidrBlock,
        availabilityZone: zones.apply((z) => z[i]!),
        mapPublicIpOnLaunch: false,
        tags: { ...tags, Name: `${input.clusterName}-private-${i}`, "kubernetes.io/role/internal-elb": "1", [clusterTag]: "shared" },
      },
      child,
    );
    const routes = new aws.ec2.RouteTable(
      `${name}-private-${i}`,
      {
        vpcId: vpc.id,
        routes: [{ cidrBlock: "0.0.0.0/0", natGatewayId: nats[Math.min(i, natCount - 1)]!.id }],
        tags: { ...tags, Name: `${input.clusterName}-private-${i}` },
      },
      child,
    );
    new aws.ec2.RouteTableAssociation(`${name}-private-${i}`, { subnetId: subnet.id, routeTableId: routes.id }, child);
    privateRouteTables.push(routes);
    return subnet;
  });

  // Checkpoints and image layers come from S3: a gateway endpoint keeps them off the NAT
  // gateways, which charge per GB (https://aws.amazon.com/vpc/pricing/).
  new aws.ec2.VpcEndpoint(
    `${name}-s3`,
    { vpcId: vpc.id, serviceName: `com.amazonaws.${region}.s3`, vpcEndpointType: "Gateway", routeTableIds: privateRouteTables.map((r) => r.id), tags },
    child,
  );

  const role = new aws.iam.Role(`${name}-cluster-role`, { assumeRolePolicy: CLUSTER_TRUST_POLICY, tags }, child);
  const attachments = CLUSTER_MANAGED_POLICIES.map(
    (policy) =>
      new aws.iam.RolePolicyAttachment(
        `${name}-cluster-${policy}`,
        { role: role.name, policyArn: partition.apply((p) => managedPolicyArn(p, policy)) },
        child,
      ),
  );
  const key = new aws.kms.Key(
    `${name}-secrets-key`,
    { description: `EKS secrets encryption for ${input.clusterName}`, enableKeyRotation: true, deletionWindowInDays: 30, tags },
    child,
  );
  // EKS writes to this group; created first so that it has a retention period, not "never expire".
  const logGroup = new aws.cloudwatch.LogGroup(
    `${name}-control-plane-logs`,
    { name: `/aws/eks/${input.clusterName}/cluster`, retentionInDays: input.logRetentionDays, tags },
    child,
  );
  const cluster = new aws.eks.Cluster(
    `${name}-cluster`,
    {
      name: input.clusterName,
      version: input.kubernetesVersion,
      roleArn: role.arn,
      vpcConfig: { subnetIds: privateSubnets.map((s) => s.id), ...endpointAccess(input) },
      encryptionConfig: { resources: ["secrets"], provider: { keyArn: key.arn } },
      // Access is granted by the explicit entries below, not by the creator's implicit admin.
      accessConfig: { authenticationMode: "API", bootstrapClusterCreatorAdminPermissions: false },
      enabledClusterLogTypes: ["api", "audit", "authenticator"],
      tags,
    },
    { parent, dependsOn: [...attachments, logGroup] },
  );

  // `pulumi up` may run under an assumed role: EKS wants the role's ARN, not the session's.
  const deployer =
    input.deployerPrincipalArn ??
    aws.iam.getSessionContextOutput({ arn: aws.getCallerIdentityOutput({}, child).arn }, child).issuerArn;
  const admins: pulumi.Input<string>[] = [deployer, ...input.adminPrincipalArns];
  const associations = admins.map((principalArn, i) => {
    const entry = new aws.eks.AccessEntry(`${name}-admin-${i}`, { clusterName: cluster.name, principalArn, type: "STANDARD" }, child);
    return new aws.eks.AccessPolicyAssociation(
      `${name}-admin-${i}`,
      {
        clusterName: cluster.name,
        principalArn,
        policyArn: partition.apply((p) => accessPolicyArn(p, CLUSTER_ADMIN_ACCESS_POLICY)),
        accessScope: { type: "cluster" },
      },
      { parent, dependsOn: [entry] },
    );
  });
  const systemNodes = input.systemNodes ? [createSystemNodes(parent, name, input.systemNodes, cluster, privateSubnets, partition, tags)] : [];
  // Pods get AWS credentials (the S3 weights bucket, say) through EKS Pod Identity, never the node role.
  const podIdentityAgent = new aws.eks.Addon(`${name}-pod-identity-agent`, { clusterName: cluster.name, addonName: "eks-pod-identity-agent" }, child);
  const ebsCsi = input.ebsCsiDriver ? createEbsCsiDriver(parent, name, cluster, partition, podIdentityAgent, systemNodes, tags) : [];

  return {
    associations,
    systemNodes,
    ebsCsi,
    clusterName: cluster.name,
    kubernetesVersion: pulumi.output(input.kubernetesVersion),
    vpcId: vpc.id,
    clusterSecurityGroupId: cluster.vpcConfig.clusterSecurityGroupId,
    endpoint: cluster.endpoint,
    privateSubnets: pulumi
      .all(privateSubnets.map((s) => pulumi.all([s.id, s.availabilityZone])))
      .apply((pairs) => pairs.map(([id, availabilityZone]) => ({ id, availabilityZone }))),
    kubeconfig: pulumi
      .all([cluster.name, cluster.endpoint, cluster.certificateAuthority])
      .apply(([clusterName, endpoint, ca]) =>
        kubeconfig({ name: clusterName, endpoint, certificateAuthority: ca.data ?? "", region }, auth),
      ),
  };
}

export interface GpuCluster extends GpuClusterParts {}

/**
 * Where GPU node groups go: a new EKS cluster in its own VPC (private subnets, secrets
 * encrypted with a KMS key, the deploying identity as admin, the Pod Identity agent), or
 * an existing cluster, for which nothing is created.
 */
export class GpuCluster extends pulumi.ComponentResource {
  constructor(name: string, args: GpuClusterArgs = {}, opts?: pulumi.ComponentResourceOptions) {
    const checked = checkedGpuCluster(name, args);
    super(COMPONENT_TYPES.GpuCluster, name, {}, componentOptions("GpuCluster", opts));
    Object.assign(this, gpuClusterResources(this, name, args, checked));
    this.registerOutputs({
      clusterName: this.clusterName,
      vpcId: this.vpcId,
      privateSubnets: this.privateSubnets,
      clusterSecurityGroupId: this.clusterSecurityGroupId,
      endpoint: this.endpoint,
      kubeconfig: this.kubeconfig,
    });
  }
}
