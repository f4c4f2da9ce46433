import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  CAPACITY_TYPES,
  GPUS,
  GPU_IDS,
  INSTANCES,
  INSTANCE_TYPES,
  MODELS,
  MODEL_IDS,
  INSTANCE_FAMILIES,
  PRICE_SHEET,
  familyOf,
  findModelId,
  knownRegions,
  onDemandPrices,
} from "../../sizing";
import { parsePriceSheet } from "../../sizing/catalog/prices";
import { GpuSpecSchema, InstanceSpecSchema, ModelSpecSchema } from "../../sizing/catalog/schema";

const csv = readFileSync(join(__dirname, "../../sizing/catalog/data", PRICE_SHEET.file), "utf8");
const csvRows = csv
  .trim()
  .split("\n")
  .slice(1)
  .map((line) => line.split(","));

describe("catalog entries parse against their schemas", () => {
  it.each(GPU_IDS)("gpu %s", (id) => {
    expect(GpuSpecSchema.parse(GPUS[id])).toEqual(GPUS[id]);
  });
  it.each(MODEL_IDS)("model %s", (id) => {
    expect(ModelSpecSchema.parse(MODELS[id])).toEqual(MODELS[id]);
  });
  it.each(INSTANCE_TYPES)("instance %s", (type) => {
    expect(InstanceSpecSchema.parse(INSTANCES[type])).toEqual(INSTANCES[type]);
  });
});

describe("references resolve", () => {
  it("every instance's GPU is in the GPU catalog", () => {
    for (const type of INSTANCE_TYPES) expect(GPU_IDS).toContain(INSTANCES[type].gpu);
  });

  it("derives each family from the instance type", () => {
    expect(familyOf("p5en.48xlarge")).toBe("p5en");
    expect(familyOf("p6-b200.48xlarge")).toBe("p6-b200");
    expect(INSTANCE_FAMILIES).toEqual(["g5", "g6", "g6e", "g7e", "p4d", "p4de", "p5", "p5e", "p5en", "p6-b200", "p6-b300"]);
  });

  it("every checkpoint runs on at least one catalog GPU, and each model has its native precision", () => {
    const architectures = new Set(GPU_IDS.map((id) => GPUS[id].architecture));
    for (const id of MODEL_IDS) {
      const model = MODELS[id];
      expect(model.checkpoints.map((c) => c.precision)).toContain(model.nativePrecision);
      for (const checkpoint of model.checkpoints) {
        expect(checkpoint.architectures.some((a) => architectures.has(a))).toBe(true);
      }
    }
  });

  it("checkpoint kernels agree with what the GPUs run natively", () => {
    // FP4 and W8A8 FP8 checkpoints that leave Ampere out need the format in the tensor cores.
    for (const id of MODEL_IDS) {
      for (const checkpoint of MODELS[id].checkpoints) {
        const native = checkpoint.precision === "fp4" || (checkpoint.precision === "fp8" && !checkpoint.architectures.includes("ampere"));
        if (!native) continue;
        for (const gpu of GPU_IDS.filter((g) => checkpoint.architectures.includes(GPUS[g].architecture))) {
          expect(GPUS[gpu].nativePrecisions, `${checkpoint.repo} on ${gpu}`).toContain(checkpoint.precision);
        }
      }
    }
  });

  it("checkpoint repos are unique within a model", () => {
    for (const id of MODEL_IDS) {
      const repos = MODELS[id].checkpoints.map((c) => c.repo);
      expect(new Set(repos).size).toBe(repos.length);
    }
  });

  it("every instance sold on demand has a price, and one that is not has none", () => {
    const prices = onDemandPrices();
    for (const type of INSTANCE_TYPES) {
      const priced = Object.keys(prices[type]).length > 0;
      expect(priced, type).toBe(INSTANCES[type].capacityTypes.includes("on-demand"));
    }
    expect(Object.keys(prices["p5e.48xlarge"])).toEqual([]);
  });

  it("Capacity Block regions are set exactly for instances sold as Capacity Blocks", () => {
    for (const type of INSTANCE_TYPES) {
      const spec = INSTANCES[type];
      expect(spec.capacityBlockRegions.length > 0, type).toBe(spec.capacityTypes.includes("capacity-block"));
    }
  });

  it("model ids and hub repo ids are both accepted", () => {
    expect(findModelId("deepseek-ai/DeepSeek-R1")).toBe("deepseek-r1");
    expect(findModelId("DeepSeek-AI/DeepSeek-R1-Distill-Llama-70B")).toBe("r1-distill-llama-70b");
    expect(findModelId("r1-distill-qwen-1.5b")).toBe("r1-distill-qwen-1.5b");
    expect(findModelId("deepseek-r2")).toBeUndefined();
  });
});

describe("every number carries a source", () => {
  const entries = [
    ...GPU_IDS.map((id) => [`gpu ${id}`, GPUS[id].sources] as const),
    ...MODEL_IDS.map((id) => [`model ${id}`, MODELS[id].sources] as const),
    ...MODEL_IDS.flatMap((id) => MODELS[id].checkpoints.map((c) => [`checkpoint ${c.repo}`, c.sources] as const)),
    ...INSTANCE_TYPES.map((type) => [`instance ${type}`, INSTANCES[type].sources] as const),
  ];
  it.each(entries)("%s cites https sources", (_, sources) => {
    expect(sources.length).toBeGreaterThan(0);
    for (const s of sources) expect(s).toMatch(/^https:\/\/[\w.-]+\//);
  });

  it("the price sheet is dated and sourced", () => {
    expect(PRICE_SHEET.asOf).toBe("2026-01-21");
    expect(PRICE_SHEET.source).toContain("instances.vantage.sh");
    expect(PRICE_SHEET.file).toContain(PRICE_SHEET.asOf);
  });
});

describe("instance specs agree with the price sheet they were taken from", () => {
  it("GPU count and vCPU of every priced row match the catalog", () => {
    for (const [type, , gpuCount, , vcpu] of csvRows) {
      const spec = INSTANCES[type as keyof typeof INSTANCES];
      expect(spec, type).toBeDefined();
      expect(spec.gpuCount, type).toBe(Number(gpuCount));
      expect(spec.vcpu, type).toBe(Number(vcpu));
    }
  });

  it("holds every row of the sheet, with its price", () => {
    const prices = onDemandPrices();
    const total = INSTANCE_TYPES.reduce((n, t) => n + Object.keys(prices[t]).length, 0);
    expect(total).toBe(csvRows.length);
    expect(total).toBe(438);
    expect(prices["p5.48xlarge"]["us-east-1"]).toBe(55.04);
    expect(prices["p5en.48xlarge"]["us-west-2"]).toBe(63.296);
    expect(prices["g6.xlarge"]["us-east-1"]).toBe(0.8048);
    expect(prices["p6-b300.48xlarge"]).toEqual({ "us-west-2": 142.416 });
  });

  it("regions are those of the sheet plus Capacity Block regions", () => {
    expect(knownRegions()).toContain("us-east-1");
    expect(knownRegions()).toContain("eu-north-1");
    expect(knownRegions()).not.toContain("af-south-1");
  });

  it("rejects a malformed sheet with the line number", () => {
    const header = "instance_type,gpu,gpu_count,gpu_memory,vcpu,memory,network,storage,region,on_demand_usd_per_hour";
    expect(() => parsePriceSheet(`${header}\nx9.large,a,1,b,4,c,d,e,us-east-1,1`)).toThrow(
      'line 2: instance type "x9.large" is not in the catalog',
    );
    expect(() => parsePriceSheet(`${header}\ng5.xlarge,a,1,b,4,c,d,e,us-east-1,free`)).toThrow('line 2: price "free"');
    expect(() =>
      parsePriceSheet(`${header}\ng5.xlarge,a,1,b,4,c,d,e,us-east-1,1\ng5.xlarge,a,1,b,4,c,d,e,us-east-1,2`),
    ).toThrow("line 3: second price for g5.xlarge in us-east-1");
  });
});

describe("derived catalog numbers", () => {
  it("GPU memory is vLLM's reading where one is published, else nvidia-smi's total less the H100 gap of 0.45 GiB", () => {
    expect(GPUS.h200.memoryGiB).toBe(139.95); // 143771 MiB / 1024 = 140.40 GiB
    expect(GPUS.b200.memoryGiB).toBe(178.61); // 183359 MiB = 179.06 GiB
    expect(GPUS["a100-80gb"].memoryGiB).toBe(79.15); // vLLM's total_gpu_memory (vllm#10533)
    expect(GPUS.h100.memoryGiB).toBe(79.2); // vLLM's, llm-d-benchmark
    expect(GPUS.a10g.memoryGiB).toBe(22.3); // vLLM's, awslabs/ai-on-eks
    // Every GPU sits below nvidia-smi's total, by at most the A100 80GB's 0.85 GiB.
    for (const gpu of Object.values(GPUS)) {
      const smiGiB = gpu.nvidiaSmiMemoryMiB / 1024;
      expect(gpu.memoryGiB).toBeLessThan(smiGiB);
      expect(smiGiB - gpu.memoryGiB).toBeLessThanOrEqual(0.85 + 1e-9);
    }
  });

  it("quantized distill sizes keep embeddings and LM head at 16 bits", () => {
    const qwen15 = MODELS["r1-distill-qwen-1.5b"].checkpoints;
    // 2 x 151936 x 1536 = 0.4668B embedding params at 2 bytes, 1.3132B others at 1 byte.
    expect(qwen15.find((c) => c.precision === "fp8")!.sizeOnDiskGB).toBe(2.25);
    // others at 4.125 bits: 1.3132 x 4.125 / 8 = 0.677 GB, plus 0.934 GB.
    expect(qwen15.find((c) => c.precision === "int4")!.sizeOnDiskGB).toBe(1.61);
    const llama70 = MODELS["r1-distill-llama-70b"].checkpoints;
    expect(llama70.find((c) => c.precision === "fp8")!.sizeOnDiskGB).toBe(72.65); // 2 x 128256 x 8192 = 2.101B at 2 bytes + 68.449B at 1 byte
  });

  it("the 671B models carry no INT8 checkpoint, since vLLM loads none of the published ones", () => {
    for (const id of ["deepseek-r1", "deepseek-r1-0528", "deepseek-v3", "deepseek-v3-0324"] as const) {
      expect(MODELS[id].checkpoints.map((c) => c.precision)).not.toContain("int8");
    }
  });

  it("capacity types are from the closed set", () => {
    for (const type of INSTANCE_TYPES) {
      for (const c of INSTANCES[type].capacityTypes) expect(CAPACITY_TYPES).toContain(c);
    }
  });
});
