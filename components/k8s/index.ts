export { ClusterAddons, chartsFor, type AddonNeeds, type ClusterAddonsArgs } from "./cluster-addons";
export { VllmServer, type VllmServerArgs } from "./vllm-server";
export { nodeShapeOf, startupBudgetSeconds, vllmServerProblems, vllmServerSpec, type NodeShape, type VllmServerSpec } from "./vllm-spec";
