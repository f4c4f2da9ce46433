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
    // Interactive: 20 tokens/s per user while a long chain of thought streams, first token within 2 s.
    workload: { maxModelLen: 32768, concurrency: 8, maxTpotMs: 50, maxTtftMs: 2000 },
    placement: { gpus: PROVEN_FOR_DEEPSEEK },
  },
  "chat-v3": {
    purpose: "general chat, question answering, writing (full DeepSeek-V3-0324, native FP8)",
    model: "deepseek-v3-0324",
    // Chat: answers about as long as questions, read as they stream (20 tokens/s), first token within 1 s.
    workload: { maxModelLen: 16384, concurrency: 16, promptTokens: 1024, outputTokens: 1024, maxTpotMs: 50, maxTtftMs: 1000 },
    placement: { gpus: PROVEN_FOR_DEEPSEEK },
  },
  "r1-on-a-budget": {
    purpose: "the full R1 on one 8 x A100 80GB or 8 x H100 node, 4-bit",
    model: "deepseek-r1",
    // A budget: 10 tokens/s per user is still readable.
    workload: { maxModelLen: 32768, concurrency: 4, precisions: ["int4"], maxTpotMs: 100 },
    placement: { gpus: ["a100-80gb", "h100"], nodesPerReplica: 1 },
  },
  "analysis-70b": {
    purpose: "medium tasks such as case or contract analysis (R1-Distill-Llama-70B)",
    model: "r1-distill-llama-70b",
    // An offline job over long documents: a sustained rate, no per-user bound, cheapest per token.
    workload: { maxModelLen: 32768, concurrency: 4, promptTokens: 8192, outputTokens: 2048, outputTokensPerSecond: 500, objective: "throughput" },
    placement: {},
  },
  "distill-32b": {
    purpose: "reasoning at a mid-size budget (R1-Distill-Qwen-32B)",
    model: "r1-distill-qwen-32b",
    workload: { maxModelLen: 32768, concurrency: 4, maxTpotMs: 50 },
    placement: {},
  },
  "distill-14b": {
    purpose: "light reasoning, summaries, extraction (R1-Distill-Qwen-14B)",
    model: "r1-distill-qwen-14b",
    // Summaries and extraction: long inputs, short answers.
    workload: { maxModelLen: 16384, concurrency: 8, promptTokens: 4096, outputTokens: 1024, maxTpotMs: 50 },
    placement: {},
  },
  "assistant-7b": {
    purpose: "assistants and customer-service bots (R1-Distill-Qwen-7B)",
    model: "r1-distill-qwen-7b",
    // Customer-facing bots: fast first token, faster than reading speed.
    workload: { maxModelLen: 8192, concurrency: 16, promptTokens: 1024, outputTokens: 1024, maxTpotMs: 40, maxTtftMs: 1000 },
    placement: {},
  },
  "edge-1.5b": {
    purpose: "development and edge use (R1-Distill-Qwen-1.5B)",
    model: "r1-distill-qwen-1.5b",
    workload: { maxModelLen: 8192, concurrency: 4, promptTokens: 1024, outputTokens: 1024 },
    placement: {},
  },
};
