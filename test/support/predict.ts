import { estimatePerformance, MODELS, type Plan } from "../../sizing";

/**
 * The performance model asked directly, with a plan's checkpoint, layout and memory, at another
 * workload: what a benchmark of that plan is compared with, computed independently of the code
 * under test (which goes through the planner).
 */
export function predictedFor(plan: Plan, promptTokens: number, outputTokens: number, sequences: number) {
  const model = MODELS[plan.model];
  return estimatePerformance({
    model,
    checkpoint: model.checkpoints.find((c) => c.repo === plan.checkpoint.repo)!,
    instanceType: plan.instanceType,
    tensorParallelSize: plan.tensorParallelSize,
    pipelineParallelSize: plan.pipelineParallelSize,
    dataParallelSize: plan.dataParallelSize,
    nodesPerReplica: plan.nodesPerReplica,
    concurrency: sequences,
    promptTokens,
    outputTokens,
    kvCacheDtype: "auto",
    maxNumBatchedTokens: plan.memory.maxNumBatchedTokens,
    kvCacheTokens: plan.memory.kvCacheTokens,
    maxNumSeqs: plan.memory.maxNumSeqs,
  });
}
