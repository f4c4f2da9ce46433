/**
 * Node user data. EKS managed node groups merge what is given here with their own
 * bootstrap settings when the launch template names no AMI
 * (https://docs.aws.amazon.com/eks/latest/userguide/launch-templates.html).
 */

const MIME_BOUNDARY = "//";

/**
 * AL2023: a nodeadm NodeConfig. With instance-store NVMe, `localStorage.strategy: RAID0`
 * stripes the drives and moves the kubelet and containerd directories onto them, so images
 * and emptyDir weight caches land on local NVMe
 * (https://awslabs.github.io/amazon-eks-ami/nodeadm/doc/api/#localstorageoptions).
 */
export function al2023UserData(options: { raidInstanceStore: boolean }): string {
  const nodeConfig = [
    "---",
    "apiVersion: node.eks.aws/v1alpha1",
    "kind: NodeConfig",
    "spec:",
    ...(options.raidInstanceStore
      ? ["  instance:", "    localStorage:", "      strategy: RAID0"]
      : ["  instance: {}"]),
  ];
  return [
    "MIME-Version: 1.0",
    `Content-Type: multipart/mixed; boundary="${MIME_BOUNDARY}"`,
    "",
    `--${MIME_BOUNDARY}`,
    "Content-Type: application/node.eks.aws",
    "",
    ...nodeConfig,
    "",
    `--${MIME_BOUNDARY}--`,
    "",
  ].join("\n");
}

/**
 * Bottlerocket: settings TOML. The bootstrap command RAIDs the instance store and binds
 * the container and kubelet directories onto it, as Karpenter does for `RAID0`
 * (https://bottlerocket.dev/en/os/1.22.x/concepts/bootstrap-commands/).
 */
export function bottlerocketUserData(options: { raidInstanceStore: boolean }): string {
  if (!options.raidInstanceStore) return "";
  return [
    "[settings.bootstrap-commands.000-mount-instance-storage]",
    'commands = [["apiclient", "ephemeral-storage", "init"], ["apiclient", "ephemeral-storage", "bind", "--dirs", "/var/lib/containerd", "/var/lib/kubelet", "/var/log/pods"]]',
    "essential = true",
    'mode = "always"',
    "",
  ].join("\n");
}
