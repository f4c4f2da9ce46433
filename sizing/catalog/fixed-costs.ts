/**
 * Hourly prices of the cluster's own parts, beside its GPU nodes. They are us-east-1
 * rates, used as estimates in every region; a stack can override them.
 */
export const FIXED_COSTS = {
  /** One EKS control plane in standard support (https://aws.amazon.com/eks/pricing/). */
  eksClusterUsdPerHour: 0.1,
  /** One NAT gateway, before data charges (https://aws.amazon.com/vpc/pricing/). */
  natGatewayUsdPerHour: 0.045,
  /** m7i.large on demand, the default system node (https://aws.amazon.com/ec2/pricing/on-demand/). */
  systemNodeUsdPerHour: { "m7i.large": 0.1008 } as Readonly<Record<string, number>>,
  /** gp3 storage, and its throughput and IOPS above the included 125 MiB/s and 3,000 (https://aws.amazon.com/ebs/pricing/). */
  ebsGp3: { usdPerGbMonth: 0.08, usdPerMibpsMonth: 0.04, includedMibps: 125, usdPerIopsMonth: 0.005, includedIops: 3000 },
  /** One customer-managed KMS key (https://aws.amazon.com/kms/pricing/). */
  kmsKeyUsdPerMonth: 1,
  /** One public IPv4 address, attached or not (https://aws.amazon.com/vpc/pricing/). */
  publicIpv4UsdPerHour: 0.005,
  /** One Network Load Balancer, before its capacity units (https://aws.amazon.com/elasticloadbalancing/pricing/). */
  nlbUsdPerHour: 0.0225,
  /** CloudWatch Logs ingestion: priced by volume, which depends on API traffic (https://aws.amazon.com/cloudwatch/pricing/). */
  cloudWatchLogsUsdPerGbIngested: 0.5,
  region: "us-east-1",
} as const;
