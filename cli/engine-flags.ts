/** vLLM's engine knobs as `size` and `estimate` take them: one spec, one parser. */
import { DEFAULT_GPU_MEMORY_UTILIZATION, KV_CACHE_DTYPES, type PlanRequestInput } from "../sizing";
import { numberFlag, type FlagSpecs } from "./args";

export const ENGINE_FLAGS = {
  "gpu-memory-utilization": { type: "string", value: "fraction", help: `vLLM's share of GPU memory (default ${DEFAULT_GPU_MEMORY_UTILIZATION})` },
  "kv-cache-dtype": { type: "string", value: KV_CACHE_DTYPES.join("|"), help: "KV-cache precision; fp8 halves the cache (default auto: the model's 16-bit dtype)" },
  "max-num-batched-tokens": {
    type: "string",
    value: "tokens",
    help: "tokens one engine step carries; sizes the activation peak (default: vLLM's, 8192 on GPUs of 70 GiB and more except A100, else 2048)",
  },
  "enforce-eager": { type: "boolean", help: "run without CUDA graphs: their memory goes to the KV cache, small batches decode slower" },
} as const satisfies FlagSpecs;

/** The request field each engine flag sets, for error messages that name the flag. */
export const ENGINE_FLAG_OF = {
  gpuMemoryUtilization: "gpu-memory-utilization",
  kvCacheDtype: "kv-cache-dtype",
  maxNumBatchedTokens: "max-num-batched-tokens",
  enforceEager: "enforce-eager",
} as const;

type EngineFields = Pick<PlanRequestInput, keyof typeof ENGINE_FLAG_OF>;

/** The engine fields of a request from parsed flags; text that is not a number goes on to the schema, which names it. */
export function engineRequest(values: Record<string, string | string[] | boolean | undefined>): EngineFields {
  const raw = (flag: keyof typeof ENGINE_FLAGS) => values[flag] as string | undefined;
  const num = (flag: keyof typeof ENGINE_FLAGS, kind: "integer" | "decimal") => {
    const text = raw(flag);
    return text === undefined ? undefined : (numberFlag(text, kind) as number);
  };
  return {
    gpuMemoryUtilization: num("gpu-memory-utilization", "decimal"),
    kvCacheDtype: raw("kv-cache-dtype") as EngineFields["kvCacheDtype"],
    maxNumBatchedTokens: num("max-num-batched-tokens", "integer"),
    enforceEager: values["enforce-eager"] === true ? true : undefined,
  };
}
