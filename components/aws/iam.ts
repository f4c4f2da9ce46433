/** IAM documents and managed policies, as plain data so tests can compare them exactly. */

/** A trust policy letting one AWS service assume the role. */
export function serviceTrustPolicy(service: string, actions: readonly string[] = ["sts:AssumeRole"]): string {
  return JSON.stringify({
    Version: "2012-10-17",
    Statement: [{ Effect: "Allow", Principal: { Service: service }, Action: [...actions] }],
  });
}

/** EKS tags sessions of the cluster role (https://docs.aws.amazon.com/eks/latest/userguide/cluster-iam-role.html). */
export const CLUSTER_TRUST_POLICY = serviceTrustPolicy("eks.amazonaws.com", ["sts:AssumeRole", "sts:TagSession"]);
export const NODE_TRUST_POLICY = serviceTrustPolicy("ec2.amazonaws.com");

export const CLUSTER_MANAGED_POLICIES = ["AmazonEKSClusterPolicy"] as const;

/** Roles pods get through EKS Pod Identity (https://docs.aws.amazon.com/eks/latest/userguide/pod-id-role.html). */
export const POD_IDENTITY_TRUST_POLICY = serviceTrustPolicy("pods.eks.amazonaws.com", ["sts:AssumeRole", "sts:TagSession"]);
/** What the EBS CSI controller needs (https://docs.aws.amazon.com/eks/latest/userguide/ebs-csi.html). */
export const EBS_CSI_MANAGED_POLICY = "service-role/AmazonEBSCSIDriverPolicy";

/**
 * What a worker node needs and nothing more: join the cluster, run the VPC CNI, pull
 * images from ECR (https://docs.aws.amazon.com/eks/latest/userguide/create-node-role.html).
 * SSM Session Manager is opt-in.
 */
export const NODE_MANAGED_POLICIES = [
  "AmazonEKSWorkerNodePolicy",
  "AmazonEKS_CNI_Policy",
  "AmazonEC2ContainerRegistryReadOnly",
] as const;
export const SSM_MANAGED_POLICY = "AmazonSSMManagedInstanceCore";

export const managedPolicyArn = (partition: string, name: string) => `arn:${partition}:iam::aws:policy/${name}`;

/** Full cluster access for the identity that deploys (EKS access policies). */
export const CLUSTER_ADMIN_ACCESS_POLICY = "AmazonEKSClusterAdminPolicy";
export const accessPolicyArn = (partition: string, name: string) => `arn:${partition}:eks::aws:cluster-access-policy/${name}`;

/**
 * The cluster autoscaler's permissions (cluster-autoscaler/cloudprovider/aws/README.md, "IAM
 * Policy"): reads on everything it must see, and resizing only of the Auto Scaling groups of
 * this cluster that llm-fleet marked as autoscaled.
 */
export function clusterAutoscalerPolicy(clusterName: string, autoscaledTag: string): string {
  return JSON.stringify({
    Version: "2012-10-17",
    Statement: [
      {
        Effect: "Allow",
        Action: [
          "autoscaling:DescribeAutoScalingGroups",
          "autoscaling:DescribeAutoScalingInstances",
          "autoscaling:DescribeLaunchConfigurations",
          "autoscaling:DescribeScalingActivities",
          "autoscaling:DescribeTags",
          "ec2:DescribeImages",
          "ec2:DescribeInstanceTypes",
          "ec2:DescribeLaunchTemplateVersions",
          "ec2:GetInstanceTypesFromInstanceRequirements",
          "eks:DescribeNodegroup",
        ],
        Resource: "*",
      },
      {
        Effect: "Allow",
        Action: ["autoscaling:SetDesiredCapacity", "autoscaling:TerminateInstanceInAutoScalingGroup"],
        Resource: "*",
        Condition: {
          StringEquals: {
            [`aws:ResourceTag/k8s.io/cluster-autoscaler/${clusterName}`]: "owned",
            [`aws:ResourceTag/${autoscaledTag}`]: "true",
          },
        },
      },
    ],
  });
}
