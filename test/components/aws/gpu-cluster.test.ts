import * as pulumi from "@pulumi/pulumi";
import { beforeAll, describe, expect, it } from "vitest";
import { deployerCidrProblem, endpointAccess, kubeconfig, kubeconfigAuthFromConfig, newClusterProblems, nodeSubnets, subnetPlan, type NewClusterInput } from "../../../components/aws/cluster-spec";
import { GpuCluster } from "../../../components/aws/gpu-cluster";
import { DEPLOYER_ROLE_ARN, ZONES, one, ofType, recorded, registeredUrns, settle, valueOf } from "../../support/pulumi";

const CLUSTER_TRUST = {
  Version: "2012-10-17",
  Statement: [{ Effect: "Allow", Principal: { Service: "eks.amazonaws.com" }, Action: ["sts:AssumeRole", "sts:TagSession"] }],
};

describe("network plan", () => {
  it("cuts private /19s from the bottom of the /16 and public /24s from its top", () => {
    expect(subnetPlan("10.0.0.0/16", 3)).toEqual({
      private: ["10.0.0.0/19", "10.0.32.0/19", "10.0.64.0/19"],
      public: ["10.0.224.0/24", "10.0.225.0/24", "10.0.226.0/24"],
    });
  });
  it("keeps the endpoint private unless asked, and then only for the given ranges", () => {
    expect(endpointAccess({ endpointPublicAccess: false, publicAccessCidrs: [] })).toEqual({
      endpointPrivateAccess: true,
      endpointPublicAccess: false,
      publicAccessCidrs: undefined,
    });
    expect(endpointAccess({ endpointPublicAccess: true, publicAccessCidrs: ["203.0.113.0/24"] })).toEqual({
      endpointPrivateAccess: true,
      endpointPublicAccess: true,
      publicAccessCidrs: ["203.0.113.0/24"],
    });
  });
  it("writes a kubeconfig with no stored credential", () => {
    const config = JSON.parse(kubeconfig({ name: "c", endpoint: "https://e", certificateAuthority: "Q0E=", region: "us-west-2" }));
    expect(config.users[0].user).toEqual({
      exec: {
        apiVersion: "client.authentication.k8s.io/v1beta1",
        command: "aws",
        args: ["eks", "get-token", "--cluster-name", "c", "--region", "us-west-2", "--output", "json"],
      },
    });
  });
  it("runs the token command as the stack's AWS profile and assumed role", () => {
    const auth = kubeconfigAuthFromConfig({
      "aws:region": "us-west-2",
      "aws:profile": "platform",
      // A chain: the provider ends up as the last role, which the cluster's admin entry names.
      "aws:assumeRoles": JSON.stringify([{ roleArn: "arn:aws:iam::123456789012:role/hop" }, { roleArn: "arn:aws:iam::123456789012:role/deployer", sessionName: "pulumi" }]),
    });
    expect(auth).toEqual({ profile: "platform", roleArn: "arn:aws:iam::123456789012:role/deployer" });
    const config = JSON.parse(kubeconfig({ name: "c", endpoint: "https://e", certificateAuthority: "Q0E=", region: "us-west-2" }, auth));
    expect(config.users[0].user.exec).toEqual({
      apiVersion: "client.authentication.k8s.io/v1beta1",
      command: "aws",
      args: ["eks", "get-token", "--cluster-name", "c", "--region", "us-west-2", "--role-arn", "arn:aws:iam::123456789012:role/deployer", "--output", "json"],
      env: [{ name: "AWS_PROFILE", value: "platform" }],
    });
    // The older single-role key, and no AWS settings at all.
    expect(kubeconfigAuthFromConfig({ "aws:assumeRole": JSON.stringify({ roleArn: "arn:aws:iam::1:role/r" }) })).toEqual({ profile: undefined, roleArn: "arn:aws:iam::1:role/r" });
    expect(kubeconfigAuthFromConfig({})).toEqual({ profile: undefined, roleArn: undefined });
  });
});

describe("cluster validation", () => {
  const valid: NewClusterInput = {
    clusterName: "fleet",
    kubernetesVersion: "1.35",
    vpcCidr: "10.0.0.0/16",
    availabilityZoneCount: 2,
    natGateways: "single",
    endpointPublicAccess: true,
    publicAccessCidrs: ["34.200.10.7/32"],
    adminPrincipalArns: [],
    systemNodes: { instanceType: "m7i.large", count: 2 },
    logRetentionDays: 90,
  };
  it("accepts the defaults", () => {
    expect(newClusterProblems(valid)).toEqual([]);
  });
  it("names every bad field and the fix", () => {
    expect(
      newClusterProblems({
        ...valid,
        clusterName: "-fleet",
        kubernetesVersion: "latest",
        vpcCidr: "10.0.0.0/20",
        availabilityZoneCount: 1,
        publicAccessCidrs: ["0.0.0.0/0", "300.1.1.1/8"],
        endpointPublicAccess: true,
        adminPrincipalArns: ["alice"],
      }),
    ).toEqual([
      { path: "clusterName", message: '"-fleet" is not an EKS cluster name: 1-100 letters, digits, "-" or "_", starting with a letter or digit' },
      { path: "kubernetesVersion", message: '"latest" is not a Kubernetes minor version such as 1.33' },
      { path: "vpcCidr", message: '"10.0.0.0/20" is not a /16 such as 10.0.0.0/16; the subnet plan splits a /16' },
      { path: "availabilityZoneCount", message: "1 zones: EKS needs at least 2, and a /16 holds at most 6; give 2 to 6" },
      { path: "publicAccessCidrs.1", message: '"300.1.1.1/8" is not a CIDR block such as 203.0.113.0/24' },
      { path: "publicAccessCidrs", message: "0.0.0.0/0 opens the Kubernetes API to the internet; list your office or VPN ranges instead" },
      { path: "adminPrincipalArns.0", message: '"alice" is not an IAM role or user ARN (arn:aws:iam::<account>:role/<name>)' },
    ]);
  });
  it("refuses the deployer listed again, bad system nodes and a retention CloudWatch lacks", () => {
    const deployer = "arn:aws:iam::123456789012:role/ci";
    expect(
      newClusterProblems({ ...valid, deployerPrincipalArn: deployer, adminPrincipalArns: [deployer], systemNodes: { instanceType: "big", count: 0 }, logRetentionDays: 10 }),
    ).toEqual([
      {
        path: "adminPrincipalArns.0",
        message: "arn:aws:iam::123456789012:role/ci is the deployer, which is an admin already; a second access entry for it is refused by EKS, so drop it here",
      },
      { path: "systemNodes.instanceType", message: '"big" is not an EC2 instance type such as m7i.large' },
      { path: "systemNodes.count", message: "0 is not a whole number of nodes >= 1; use systemNodes: false for none" },
      { path: "logRetentionDays", message: expect.stringContaining("10 is not a CloudWatch retention; use one of 1, 3, 5, 7, 14, 30") },
    ]);
  });

  it("refuses a private-only endpoint for a new cluster, and CIDRs for one", () => {
    const problems = newClusterProblems({ ...valid, endpointPublicAccess: false, publicAccessCidrs: ["34.200.10.7/32"] });
    expect(problems.map((p) => p.path)).toEqual(["endpointPublicAccess", "publicAccessCidrs"]);
    expect(problems[0]!.message).toMatch(/^false leaves the API reachable only inside the VPC this run creates, so the Kubernetes provider and Helm releases time out/);
    expect(problems[1]).toEqual({ path: "publicAccessCidrs", message: "publicAccessCidrs only apply to a public endpoint; set endpointPublicAccess: true or drop them" });
  });

  it("refuses documentation-only ranges, which no deployer is in", () => {
    expect(newClusterProblems({ ...valid, publicAccessCidrs: ["34.200.10.7/32", "203.0.113.0/24", "198.51.100.7/32"] })).toEqual([
      {
        path: "publicAccessCidrs.1",
        message: '"203.0.113.0/24" is a documentation-only range (RFC 5737): no deployer is there; give the address of the machine that runs pulumi up as a /32 (curl -s https://checkip.amazonaws.com)',
      },
      {
        path: "publicAccessCidrs.2",
        message: '"198.51.100.7/32" is a documentation-only range (RFC 5737): no deployer is there; give the address of the machine that runs pulumi up as a /32 (curl -s https://checkip.amazonaws.com)',
      },
    ]);
  });

  it("asks for the deployer's address when none is given, separately so a preview can go on", () => {
    expect(newClusterProblems({ ...valid, publicAccessCidrs: [] })).toEqual([]);
    expect(deployerCidrProblem({ endpointPublicAccess: true, publicAccessCidrs: [] })).toEqual({
      path: "publicAccessCidrs",
      message:
        "give the address of the machine that runs pulumi up, as a /32 (curl -s https://checkip.amazonaws.com), so the run can reach the API it creates: " +
        "pulumi config set --path 'llm-fleet:cluster.publicAccessCidrs[0]' <address>/32",
    });
    expect(deployerCidrProblem({ endpointPublicAccess: true, publicAccessCidrs: ["34.200.10.7/32"] })).toBeNull();
  });
});

describe("a new cluster", () => {
  const cluster = new GpuCluster("prod", {
    publicAccessCidrs: ["34.200.10.7/32"],
    availabilityZoneCount: 3,
    natGateways: "per-az",
    adminPrincipalArns: ["arn:aws:iam::123456789012:role/sre"],
    tags: { team: "ml-platform" },
  });
  beforeAll(settle);

  it("lays out a VPC with private and public subnets in three zones", () => {
    expect(one("aws:ec2/vpc:Vpc", "prod-vpc").inputs).toMatchObject({ cidrBlock: "10.0.0.0/16", enableDnsHostnames: true, enableDnsSupport: true });
    const priv = ofType("aws:ec2/subnet:Subnet", "prod-private-");
    expect(priv.map((s) => [s.inputs.cidrBlock, s.inputs.availabilityZone])).toEqual([
      ["10.0.0.0/19", ZONES[0]],
      ["10.0.32.0/19", ZONES[1]],
      ["10.0.64.0/19", ZONES[2]],
    ]);
    expect(priv[0]!.inputs.tags).toEqual({
      team: "ml-platform",
      "llm-fleet.dev/cluster": "prod",
      Name: "prod-private-0",
      "kubernetes.io/role/internal-elb": "1",
      "kubernetes.io/cluster/prod": "shared",
    });
    expect(priv.every((s) => s.inputs.mapPublicIpOnLaunch === false)).toBe(true);
    const pub = ofType("aws:ec2/subnet:Subnet", "prod-public-");
    expect(pub.map((s) => s.inputs.tags["kubernetes.io/role/elb"])).toEqual(["1", "1", "1"]);
  });

  it("routes each private subnet through the NAT gateway of its zone", () => {
    expect(ofType("aws:ec2/natGateway:NatGateway", "prod-").map((n) => n.inputs.subnetId)).toEqual(["prod-public-0-id", "prod-public-1-id", "prod-public-2-id"]);
    const routes = ofType("aws:ec2/routeTable:RouteTable", "prod-private-").map((r) => r.inputs.routes);
    expect(routes).toEqual([0, 1, 2].map((i) => [{ cidrBlock: "0.0.0.0/0", natGatewayId: `prod-nat-${i}-id` }]));
    expect(one("aws:ec2/routeTable:RouteTable", "prod-public-rt").inputs.routes).toEqual([{ cidrBlock: "0.0.0.0/0", gatewayId: "prod-igw-id" }]);
  });

  it("creates the EKS cluster private, with KMS-encrypted secrets and API access entries only", () => {
    const c = one("aws:eks/cluster:Cluster", "prod-cluster").inputs;
    expect(c).toMatchObject({
      name: "prod",
      version: "1.35",
      roleArn: "arn:aws:iam::123456789012:role/prod-cluster-role",
      vpcConfig: {
        subnetIds: ["prod-private-0-id", "prod-private-1-id", "prod-private-2-id"],
        endpointPrivateAccess: true,
        endpointPublicAccess: true,
        publicAccessCidrs: ["34.200.10.7/32"],
      },
      encryptionConfig: { resources: ["secrets"], provider: { keyArn: "arn:aws:kms:us-east-1:123456789012:key/prod-secrets-key-id" } },
      accessConfig: { authenticationMode: "API", bootstrapClusterCreatorAdminPermissions: false },
      enabledClusterLogTypes: ["api", "audit", "authenticator"],
    });
    expect(one("aws:kms/key:Key", "prod-secrets-key").inputs).toMatchObject({ enableKeyRotation: true, deletionWindowInDays: 30 });
  });

  it("trusts only EKS in the cluster role and attaches only the cluster policy", () => {
    expect(JSON.parse(one("aws:iam/role:Role", "prod-cluster-role").inputs.assumeRolePolicy)).toEqual(CLUSTER_TRUST);
    expect(ofType("aws:iam/rolePolicyAttachment:RolePolicyAttachment", "prod-cluster-").map((a) => a.inputs.policyArn)).toEqual([
      "arn:aws:iam::aws:policy/AmazonEKSClusterPolicy",
    ]);
    expect(ofType("aws:iam/rolePolicyAttachment:RolePolicyAttachment", "prod-system-").map((a) => a.inputs.policyArn)).toEqual([
      "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy",
      "arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy",
      "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly",
    ]);
  });

  it("makes the deploying role (not its session) and the listed admins cluster admins", () => {
    const principals = [DEPLOYER_ROLE_ARN, "arn:aws:iam::123456789012:role/sre"];
    expect(ofType("aws:eks/accessEntry:AccessEntry", "prod-")).toHaveLength(2);
    expect(ofType("aws:eks/accessPolicyAssociation:AccessPolicyAssociation", "prod-")).toHaveLength(2);
    principals.forEach((principalArn, i) => {
      expect(one("aws:eks/accessEntry:AccessEntry", `prod-admin-${i}`).inputs).toEqual({ clusterName: "prod", principalArn, type: "STANDARD" });
      expect(one("aws:eks/accessPolicyAssociation:AccessPolicyAssociation", `prod-admin-${i}`).inputs).toEqual({
        clusterName: "prod",
        principalArn,
        policyArn: "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy",
        accessScope: { type: "cluster" },
      });
    });
  });

  it("keeps S3 traffic off the NAT gateways and control-plane logs for 90 days", () => {
    expect(one("aws:ec2/vpcEndpoint:VpcEndpoint", "prod-s3").inputs).toEqual({
      vpcId: "prod-vpc-id",
      serviceName: "com.amazonaws.us-east-1.s3",
      vpcEndpointType: "Gateway",
      routeTableIds: ["prod-private-0-id", "prod-private-1-id", "prod-private-2-id"],
      tags: { team: "ml-platform", "llm-fleet.dev/cluster": "prod" },
    });
    expect(one("aws:cloudwatch/logGroup:LogGroup", "prod-control-plane-logs").inputs).toMatchObject({ name: "/aws/eks/prod/cluster", retentionInDays: 90 });
  });

  it("runs two untainted system nodes for CoreDNS and controllers", () => {
    expect(one("aws:eks/nodeGroup:NodeGroup", "prod-system-node-group").inputs).toEqual({
      clusterName: "prod",
      nodeRoleArn: "arn:aws:iam::123456789012:role/prod-system-role",
      subnetIds: ["prod-private-0-id", "prod-private-1-id", "prod-private-2-id"],
      amiType: "AL2023_x86_64_STANDARD",
      instanceTypes: ["m7i.large"],
      capacityType: "ON_DEMAND",
      scalingConfig: { minSize: 2, desiredSize: 2, maxSize: 3 },
      updateConfig: { maxUnavailable: 1 },
      launchTemplate: { id: "prod-system-launch-template-id", version: "1" },
      labels: { "llm-fleet.dev/node-group": "system" },
      tags: { team: "ml-platform", "llm-fleet.dev/cluster": "prod" },
    });
    expect(one("aws:ec2/launchTemplate:LaunchTemplate", "prod-system-launch-template").inputs.metadataOptions).toEqual({
      httpEndpoint: "enabled",
      httpTokens: "required",
      httpPutResponseHopLimit: 1,
    });
  });

  it("installs the Pod Identity agent and exposes a Kubernetes provider for the cluster", async () => {
    expect(one("aws:eks/addon:Addon", "prod-pod-identity-agent").inputs).toEqual({ clusterName: "prod", addonName: "eks-pod-identity-agent" });
    const provider = one("pulumi:providers:kubernetes", "prod-k8s").inputs;
    expect(JSON.parse(provider.kubeconfig).clusters[0].cluster.server).toBe("https://prod.gr7.us-east-1.eks.amazonaws.com");
    expect(await valueOf(cluster.privateSubnets)).toEqual([
      { id: "prod-private-0-id", availabilityZone: ZONES[0] },
      { id: "prod-private-1-id", availabilityZone: ZONES[1] },
      { id: "prod-private-2-id", availabilityZone: ZONES[2] },
    ]);
  });

  it("fails before registering anything when arguments are bad", async () => {
    await settle();
    const before = recorded.length;
    expect(() => new GpuCluster("bad", { vpcCidr: "192.168.0.0/24", endpointPublicAccess: true, publicAccessCidrs: ["0.0.0.0/0"] })).toThrow(
      [
        'GpuCluster "bad": invalid input',
        '  vpcCidr: "192.168.0.0/24" is not a /16 such as 10.0.0.0/16; the subnet plan splits a /16',
        "  publicAccessCidrs: 0.0.0.0/0 opens the Kubernetes API to the internet; list your office or VPN ranges instead",
      ].join("\n"),
    );
    await settle();
    expect(recorded.length).toBe(before);
    expect(registeredUrns().filter((u) => u.endsWith("::bad") || u.includes("::bad-"))).toEqual([]);
  });

  it("pulumi up stops without the deployer's address, before registering anything", async () => {
    await settle();
    const before = recorded.length;
    expect(() => new GpuCluster("unreachable")).toThrow(
      'GpuCluster "unreachable": invalid input\n  publicAccessCidrs: give the address of the machine that runs pulumi up, as a /32',
    );
    await settle();
    expect(recorded.length).toBe(before);
  });

  it("needs a region", async () => {
    pulumi.runtime.setAllConfig({});
    try {
      expect(() => new GpuCluster("noregion", { publicAccessCidrs: ["34.200.10.7/32"] })).toThrow("region: no region: set region, or `pulumi config set aws:region us-east-1`");
    } finally {
      pulumi.runtime.setAllConfig({ "aws:region": "us-east-1" });
    }
  });

  it("gives the Kubernetes provider a token command that runs as the stack's AWS profile and role", async () => {
    pulumi.runtime.setAllConfig({
      "aws:region": "us-east-1",
      "aws:profile": "platform",
      "aws:assumeRoles": JSON.stringify([{ roleArn: "arn:aws:iam::123456789012:role/deployer" }]),
    });
    try {
      const attached = new GpuCluster("as-profile", { mode: "existing", clusterName: "shared-gpu" });
      expect(attached.kubeconfigAuth).toEqual({ profile: "platform", roleArn: "arn:aws:iam::123456789012:role/deployer" });
      const exec = JSON.parse(await valueOf(attached.kubeconfig)).users[0].user.exec;
      expect(exec.env).toEqual([{ name: "AWS_PROFILE", value: "platform" }]);
      expect(exec.args).toContain("arn:aws:iam::123456789012:role/deployer");
    } finally {
      pulumi.runtime.setAllConfig({ "aws:region": "us-east-1" });
    }
  });

  it("keeps GPU nodes in an existing cluster's private subnets, and says what to set when there are none", () => {
    const subnets = [
      { id: "subnet-a", availabilityZone: "us-east-1a", mapPublicIpOnLaunch: false },
      { id: "subnet-b", availabilityZone: "us-east-1b", mapPublicIpOnLaunch: true },
    ];
    expect(nodeSubnets("shared", subnets, false)).toEqual({ subnets: [{ id: "subnet-a", availabilityZone: "us-east-1a" }] });
    expect(nodeSubnets("shared", subnets, true)).toEqual({ subnets: subnets.map(({ id, availabilityZone }) => ({ id, availabilityZone })) });
    expect(nodeSubnets("shared", [subnets[1]!], false)).toEqual({
      problem: "every subnet of shared gives instances public IPs; GPU nodes belong in private subnets: name them with subnetIds (stack key llm-fleet:cluster.subnetIds)",
    });
  });

  it("needs the existing cluster's name", () => {
    expect(() => new GpuCluster("unnamed", { mode: "existing", clusterName: " " })).toThrow("clusterName: name the existing EKS cluster to attach to");
  });
});
