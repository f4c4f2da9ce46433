export { GpuCluster, type ExistingGpuClusterArgs, type GpuClusterArgs, type GpuClusterRef, type NewGpuClusterArgs } from "./gpu-cluster";
export { GpuNodeGroup, type GpuNodeGroupArgs } from "./gpu-node-group";
export { nodeGroupSpec, nodeGroupProblems, type NodeGroupSpec, type NodeGroupCost } from "./node-group-spec";
export { newClusterProblems, subnetPlan } from "./cluster-spec";
