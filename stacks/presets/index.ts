/**
 * Platform presets, named for what teams do with them. A preset is a model, a workload and
 * a placement; a deployment names one and overrides what it must.
 */
import type { Placement, Workload } from "../../components/deployment-spec";

export interface Preset {
  /** What teams use it for. */
  purpose: string;
  model: string;
  workload: Workload;
  placement: Placement;
}

export const PRESET_IDS = [
  "reasoning-r1",
  "chat-v3",
  "r1-on-a-budget",
  "analysis-70b",
  "distill-32b",
  "distill-14b",
  "assistant-7b",
  "edge-1.5b",
] as const;
export type PresetId = (typeof PRESET_IDS)[number];

// Hopper and datacenter Blackwell: the GPUs vLLM's DeepSeek kernels are most proven on.
const PROVEN_FOR_DEEPSEEK = ["h100", "h200", "b200", "b300"];

export const PRESETS: { readonly [id in PresetId]: Preset } = {
  "reasoning-r1": {
    purpose: "precision-critical reasoning: medical, finance, research, code audit (full DeepSeek-R1-0528, native FP8)",
    model: "deepseek-r1-0528",
    workload: { maxModelLen: 32768, concurrency: 8 },
    placement: { gpus: PROVEN_FOR_DEEPSEEK },
  },
  "chat-v3": {
    purpose: "general chat, question answering, writing (full DeepSeek-V3-0324, native FP8)",
    model: "deepseek-v3-0324",
    workload: { maxModelLen: 16384, concurrency: 16 },
    placement: { gpus: PROVEN_FOR_DEEPSEEK },
  },
  "r1-on-a-budget": {
    purpose: "the full R1 on one 8 x A100 80GB or 8 x H100 node, 4-bit",
    model: "deepseek-r1",
    workload: { maxModelLen: 32768, concurrency: 4, precisions: ["int4"] },
    placement: { gpus: ["a100-80gb", "h100"], nodesPerReplica: 1 },
  },
  "analysis-70b": {
    purpose: "medium tasks such as case or contract analysis (R1-Distill-Llama-70B)",
    model: "r1-distill-llama-70b",
    workload: { maxModelLen: 32768, concurrency: 4 },
    placement: {},
  },
  "distill-32b": {
    purpose: "reasoning at a mid-size budget (R1-Distill-Qwen-32B)",
    model: "r1-distill-qwen-32b",
    workload: { maxModelLen: 32768, concurrency: 4 },
    placement: {},
  },
  "distill-14b": {
    purpose: "light reasoning, summaries, extraction (R1-Distill-Qwen-14B)",
    model: "r1-distill-qwen-14b",
    workload: { maxModelLen: 16384, concurrency: 8 },
    placement: {},
  },
  "assistant-7b": {
    purpose: "assistants and customer-service bots (R1-Distill-Qwen-7B)",
    model: "r1-distill-qwen-7b",
    workload: { maxModelLen: 8192, concurrency: 16 },
    placement: {},
  },
  "edge-1.5b": {
    purpose: "development and edge use (R1-Distill-Qwen-1.5B)",
    model: "r1-distill-qwen-1.5b",
    workload: { maxModelLen: 8192, concurrency: 4 },
    placement: {},
  },
};
