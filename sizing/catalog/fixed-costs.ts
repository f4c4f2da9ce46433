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
  region: "us-east-1",
} as const;
