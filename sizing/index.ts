/** The sizing library: catalogs, memory and performance models, rules, planner, cost and vLLM arguments. No Pulumi imports. */
export * from "./calibration";
export * from "./benchmark";
export * from "./catalog";
export * from "./cost";
export * from "./estimate";
export * from "./memory";
export * from "./performance";
export * from "./planner";
export * from "./request";
export * from "./rules";
export * from "./vllm";
export { didYouMean, unknownIdMessage } from "./didyoumean";
export * from "./errors";
export { describeRelaxation, explainNoFit } from "./explain";
