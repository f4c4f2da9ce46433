import type { CapacityType, InstanceType } from "./ids";
import type { InstanceSpec } from "./schema";

// GPU count, vCPU, RAM and network: instances.vantage.sh data of 2026-01-21 (the price
// sheet in ./data). "Up to N Gbps" sizes are recorded at their burst ceiling N.
const VANTAGE = (type: string) => `https://instances.vantage.sh/aws/ec2/${type}`;
// Instance-store totals and EFA device counts as the EC2 API reports them (Karpenter's
// generated reference). The price sheet's storage column gives one drive's size for
// multi-drive g5/g6/g6e sizes, so it is not used for those.
const KARPENTER =
  "https://github.com/aws/karpenter-provider-aws/blob/main/website/content/en/docs/reference/instance-types.md";
// g7e: EFA on 8xlarge and up (0 below); per-size counts above 8xlarge are not published
// in a source we could find, so 1 is recorded as the proven minimum.
const G7E_EFA = "https://github.com/dstackai/dstack/pull/3752";
// p6-b300: AWS lists 8 x B300 (288 GB each; the price sheet's "262 GB" per GPU is the
// 2.1 TB instance total divided by 8) and 6400 Gbps; the EFA card count is unsourced, so
// 1 is recorded as the proven minimum.
const P6_PAGE = "https://aws.amazon.com/ec2/instance-types/p6/";
// p5e is sold through Capacity Blocks only and so has no on-demand row in the sheet.
const P5_PAGE = "https://aws.amazon.com/ec2/instance-types/p5/";
// Families and regions offered as EC2 Capacity Blocks for ML.
const CAPACITY_BLOCKS = "https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/ec2-capacity-blocks.html";
const SPOT_ADVISOR = "https://aws.amazon.com/ec2/spot/instance-advisor/";
// p6-b200 and p6-b300 Capacity Block regions are recorded as the regions that sell them
// on demand: the Capacity Blocks page lists the family but not its regions.

const OD: CapacityType[] = ["on-demand"];
const OD_SPOT: CapacityType[] = ["on-demand", "spot"];
const OD_CB: CapacityType[] = ["on-demand", "capacity-block"];
const OD_SPOT_CB: CapacityType[] = ["on-demand", "spot", "capacity-block"];
const CB: CapacityType[] = ["capacity-block"];

/** Every size of the GPU families llm-fleet plans on. Prices live in ./prices.ts. */
export const INSTANCES: { readonly [type in InstanceType]: InstanceSpec } = {
  "g5.xlarge": { gpu: "a10g", gpuCount: 1, vcpu: 4, memoryGiB: 16, localNvmeGB: 250, efaInterfaces: 0, networkGbps: 10, capacityTypes: OD_SPOT, capacityBlockRegions: [], sources: [VANTAGE("g5.xlarge"), KARPENTER, SPOT_ADVISOR] },
  "g5.2xlarge": { gpu: "a10g", gpuCount: 1, vcpu: 8, memoryGiB: 32, localNvmeGB: 450, efaInterfaces: 0, networkGbps: 10, capacityTypes: OD_SPOT, capacityBlockRegions: [], sources: [VANTAGE("g5.2xlarge"), KARPENTER, SPOT_ADVISOR] },
  "g5.4xlarge": { gpu: "a10g", gpuCount: 1, vcpu: 16, memoryGiB: 64, localNvmeGB: 600, efaInterfaces: 0, networkGbps: 25, capacityTypes: OD_SPOT, capacityBlockRegions: [], sources: [VANTAGE("g5.4xlarge"), KARPENTER, SPOT_ADVISOR] },
  "g5.8xlarge": { gpu: "a10g", gpuCount: 1, vcpu: 32, memoryGiB: 128, localNvmeGB: 900, efaInterfaces: 1, networkGbps: 25, capacityTypes: OD_SPOT, capacityBlockRegions: [], sources: [VANTAGE("g5.8xlarge"), KARPENTER, SPOT_ADVISOR] },
  "g5.12xlarge": { gpu: "a10g", gpuCount: 4, vcpu: 48, memoryGiB: 192, localNvmeGB: 3800, efaInterfaces: 1, networkGbps: 40, capacityTypes: OD_SPOT, capacityBlockRegions: [], sources: [VANTAGE("g5.12xlarge"), KARPENTER, SPOT_ADVISOR] },
  "g5.16xlarge": { gpu: "a10g", gpuCount: 1, vcpu: 64, memoryGiB: 256, localNvmeGB: 1900, efaInterfaces: 1, networkGbps: 25, capacityTypes: OD_SPOT, capacityBlockRegions: [], sources: [VANTAGE("g5.16xlarge"), KARPENTER, SPOT_ADVISOR] },
  "g5.24xlarge": { gpu: "a10g", gpuCount: 4, vcpu: 96, memoryGiB: 384, localNvmeGB: 3800, efaInterfaces: 1, networkGbps: 50, capacityTypes: OD_SPOT, capacityBlockRegions: [], sources: [VANTAGE("g5.24xlarge"), KARPENTER, SPOT_ADVISOR] },
  "g5.48xlarge": { gpu: "a10g", gpuCount: 8, vcpu: 192, memoryGiB: 768, localNvmeGB: 7600, efaInterfaces: 1, networkGbps: 100, capacityTypes: OD_SPOT, capacityBlockRegions: [], sources: [VANTAGE("g5.48xlarge"), KARPENTER, SPOT_ADVISOR] },
  "g6.xlarge": { gpu: "l4", gpuCount: 1, vcpu: 4, memoryGiB: 16, localNvmeGB: 250, efaInterfaces: 0, networkGbps: 10, capacityTypes: OD_SPOT, capacityBlockRegions: [], sources: [VANTAGE("g6.xlarge"), KARPENTER, SPOT_ADVISOR] },
  "g6.2xlarge": { gpu: "l4", gpuCount: 1, vcpu: 8, memoryGiB: 32, localNvmeGB: 450, efaInterfaces: 0, networkGbps: 10, capacityTypes: OD_SPOT, capacityBlockRegions: [], sources: [VANTAGE("g6.2xlarge"), KARPENTER, SPOT_ADVISOR] },
  "g6.4xlarge": { gpu: "l4", gpuCount: 1, vcpu: 16, memoryGiB: 64, localNvmeGB: 600, efaInterfaces: 0, networkGbps: 25, capacityTypes: OD_SPOT, capacityBlockRegions: [], sources: [VANTAGE("g6.4xlarge"), KARPENTER, SPOT_ADVISOR] },
  "g6.8xlarge": { gpu: "l4", gpuCount: 1, vcpu: 32, memoryGiB: 128, localNvmeGB: 900, efaInterfaces: 1, networkGbps: 25, capacityTypes: OD_SPOT, capacityBlockRegions: [], sources: [VANTAGE("g6.8xlarge"), KARPENTER, SPOT_ADVISOR] },
  "g6.12xlarge": { gpu: "l4", gpuCount: 4, vcpu: 48, memoryGiB: 192, localNvmeGB: 3760, efaInterfaces: 1, networkGbps: 40, capacityTypes: OD_SPOT, capacityBlockRegions: [], sources: [VANTAGE("g6.12xlarge"), KARPENTER, SPOT_ADVISOR] },
  "g6.16xlarge": { gpu: "l4", gpuCount: 1, vcpu: 64, memoryGiB: 256, localNvmeGB: 1880, efaInterfaces: 1, networkGbps: 25, capacityTypes: OD_SPOT, capacityBlockRegions: [], sources: [VANTAGE("g6.16xlarge"), KARPENTER, SPOT_ADVISOR] },
  "g6.24xlarge": { gpu: "l4", gpuCount: 4, vcpu: 96, memoryGiB: 384, localNvmeGB: 3760, efaInterfaces: 1, networkGbps: 50, capacityTypes: OD_SPOT, capacityBlockRegions: [], sources: [VANTAGE("g6.24xlarge"), KARPENTER, SPOT_ADVISOR] },
  "g6.48xlarge": { gpu: "l4", gpuCount: 8, vcpu: 192, memoryGiB: 768, localNvmeGB: 7520, efaInterfaces: 1, networkGbps: 100, capacityTypes: OD_SPOT, capacityBlockRegions: [], sources: [VANTAGE("g6.48xlarge"), KARPENTER, SPOT_ADVISOR] },
  "g6e.xlarge": { gpu: "l40s", gpuCount: 1, vcpu: 4, memoryGiB: 32, localNvmeGB: 250, efaInterfaces: 0, networkGbps: 20, capacityTypes: OD_SPOT, capacityBlockRegions: [], sources: [VANTAGE("g6e.xlarge"), KARPENTER, SPOT_ADVISOR] },
  "g6e.2xlarge": { gpu: "l40s", gpuCount: 1, vcpu: 8, memoryGiB: 64, localNvmeGB: 450, efaInterfaces: 0, networkGbps: 20, capacityTypes: OD_SPOT, capacityBlockRegions: [], sources: [VANTAGE("g6e.2xlarge"), KARPENTER, SPOT_ADVISOR] },
  "g6e.4xlarge": { gpu: "l40s", gpuCount: 1, vcpu: 16, memoryGiB: 128, localNvmeGB: 600, efaInterfaces: 0, networkGbps: 20, capacityTypes: OD_SPOT, capacityBlockRegions: [], sources: [VANTAGE("g6e.4xlarge"), KARPENTER, SPOT_ADVISOR] },
  "g6e.8xlarge": { gpu: "l40s", gpuCount: 1, vcpu: 32, memoryGiB: 256, localNvmeGB: 900, efaInterfaces: 1, networkGbps: 25, capacityTypes: OD_SPOT, capacityBlockRegions: [], sources: [VANTAGE("g6e.8xlarge"), KARPENTER, SPOT_ADVISOR] },
  "g6e.12xlarge": { gpu: "l40s", gpuCount: 4, vcpu: 48, memoryGiB: 384, localNvmeGB: 3800, efaInterfaces: 1, networkGbps: 100, capacityTypes: OD_SPOT, capacityBlockRegions: [], sources: [VANTAGE("g6e.12xlarge"), KARPENTER, SPOT_ADVISOR] },
  "g6e.16xlarge": { gpu: "l40s", gpuCount: 1, vcpu: 64, memoryGiB: 512, localNvmeGB: 1900, efaInterfaces: 1, networkGbps: 35, capacityTypes: OD_SPOT, capacityBlockRegions: [], sources: [VANTAGE("g6e.16xlarge"), KARPENTER, SPOT_ADVISOR] },
  "g6e.24xlarge": { gpu: "l40s", gpuCount: 4, vcpu: 96, memoryGiB: 768, localNvmeGB: 3800, efaInterfaces: 2, networkGbps: 200, capacityTypes: OD_SPOT, capacityBlockRegions: [], sources: [VANTAGE("g6e.24xlarge"), KARPENTER, SPOT_ADVISOR] },
  "g6e.48xlarge": { gpu: "l40s", gpuCount: 8, vcpu: 192, memoryGiB: 1536, localNvmeGB: 7600, efaInterfaces: 4, networkGbps: 400, capacityTypes: OD_SPOT, capacityBlockRegions: [], sources: [VANTAGE("g6e.48xlarge"), KARPENTER, SPOT_ADVISOR] },
  "g7e.2xlarge": { gpu: "rtx-pro-6000", gpuCount: 1, vcpu: 8, memoryGiB: 64, localNvmeGB: 1900, efaInterfaces: 0, networkGbps: 50, capacityTypes: OD_SPOT, capacityBlockRegions: [], sources: [VANTAGE("g7e.2xlarge"), G7E_EFA, SPOT_ADVISOR] },
  "g7e.4xlarge": { gpu: "rtx-pro-6000", gpuCount: 1, vcpu: 16, memoryGiB: 128, localNvmeGB: 1900, efaInterfaces: 0, networkGbps: 50, capacityTypes: OD_SPOT, capacityBlockRegions: [], sources: [VANTAGE("g7e.4xlarge"), G7E_EFA, SPOT_ADVISOR] },
  "g7e.8xlarge": { gpu: "rtx-pro-6000", gpuCount: 1, vcpu: 32, memoryGiB: 256, localNvmeGB: 1900, efaInterfaces: 1, networkGbps: 100, capacityTypes: OD_SPOT, capacityBlockRegions: [], sources: [VANTAGE("g7e.8xlarge"), G7E_EFA, SPOT_ADVISOR] },
  "g7e.12xlarge": { gpu: "rtx-pro-6000", gpuCount: 2, vcpu: 48, memoryGiB: 512, localNvmeGB: 3800, efaInterfaces: 1, networkGbps: 400, capacityTypes: OD_SPOT, capacityBlockRegions: [], sources: [VANTAGE("g7e.12xlarge"), G7E_EFA, SPOT_ADVISOR] },
  "g7e.24xlarge": { gpu: "rtx-pro-6000", gpuCount: 4, vcpu: 96, memoryGiB: 1024, localNvmeGB: 3800, efaInterfaces: 1, networkGbps: 800, capacityTypes: OD_SPOT, capacityBlockRegions: [], sources: [VANTAGE("g7e.24xlarge"), G7E_EFA, SPOT_ADVISOR] },
  "g7e.48xlarge": { gpu: "rtx-pro-6000", gpuCount: 8, vcpu: 192, memoryGiB: 2048, localNvmeGB: 3800, efaInterfaces: 1, networkGbps: 1600, capacityTypes: OD_SPOT, capacityBlockRegions: [], sources: [VANTAGE("g7e.48xlarge"), G7E_EFA, SPOT_ADVISOR] },
  "p4d.24xlarge": { gpu: "a100-40gb", gpuCount: 8, vcpu: 96, memoryGiB: 1152, localNvmeGB: 8000, efaInterfaces: 4, networkGbps: 400, capacityTypes: OD_SPOT_CB, capacityBlockRegions: ["us-east-2", "us-west-2"], sources: [VANTAGE("p4d.24xlarge"), KARPENTER, CAPACITY_BLOCKS, SPOT_ADVISOR] },
  "p4de.24xlarge": { gpu: "a100-80gb", gpuCount: 8, vcpu: 96, memoryGiB: 1152, localNvmeGB: 8000, efaInterfaces: 4, networkGbps: 400, capacityTypes: OD, capacityBlockRegions: [], sources: [VANTAGE("p4de.24xlarge"), KARPENTER] },
  "p5.4xlarge": { gpu: "h100", gpuCount: 1, vcpu: 16, memoryGiB: 256, localNvmeGB: 3800, efaInterfaces: 1, networkGbps: 100, capacityTypes: OD, capacityBlockRegions: [], sources: [VANTAGE("p5.4xlarge"), KARPENTER] },
  "p5.48xlarge": { gpu: "h100", gpuCount: 8, vcpu: 192, memoryGiB: 2048, localNvmeGB: 30400, efaInterfaces: 32, networkGbps: 3200, capacityTypes: OD_SPOT_CB, capacityBlockRegions: ["us-east-1", "us-east-2", "us-west-2", "ap-northeast-1"], sources: [VANTAGE("p5.48xlarge"), KARPENTER, CAPACITY_BLOCKS, SPOT_ADVISOR] },
  "p5e.48xlarge": { gpu: "h200", gpuCount: 8, vcpu: 192, memoryGiB: 2048, localNvmeGB: 30400, efaInterfaces: 32, networkGbps: 3200, capacityTypes: CB, capacityBlockRegions: ["us-east-2"], sources: [P5_PAGE, KARPENTER, CAPACITY_BLOCKS] },
  "p5en.48xlarge": { gpu: "h200", gpuCount: 8, vcpu: 192, memoryGiB: 2048, localNvmeGB: 30400, efaInterfaces: 16, networkGbps: 3200, capacityTypes: OD_SPOT_CB, capacityBlockRegions: ["us-east-2"], sources: [VANTAGE("p5en.48xlarge"), KARPENTER, CAPACITY_BLOCKS, SPOT_ADVISOR] },
  "p6-b200.48xlarge": { gpu: "b200", gpuCount: 8, vcpu: 192, memoryGiB: 2048, localNvmeGB: 30400, efaInterfaces: 8, networkGbps: 3200, capacityTypes: OD_CB, capacityBlockRegions: ["us-east-1", "us-east-2", "us-west-2"], sources: [VANTAGE("p6-b200.48xlarge"), KARPENTER, CAPACITY_BLOCKS] },
  "p6-b300.48xlarge": { gpu: "b300", gpuCount: 8, vcpu: 192, memoryGiB: 4096, localNvmeGB: 3800, efaInterfaces: 1, networkGbps: 6400, capacityTypes: OD_CB, capacityBlockRegions: ["us-west-2"], sources: [VANTAGE("p6-b300.48xlarge"), P6_PAGE, CAPACITY_BLOCKS] },
};
