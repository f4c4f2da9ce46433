/**
 * The hardening campaign: random and malformed input in bulk, the whole planner space,
 * determinism, secrets and safe defaults, faults, and the startup budgets.
 */
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import * as pulumi from "@pulumi/pulumi";
import { runOffline, type RecordedResource } from "../../cli/offline";
import { GpuCluster } from "../../components/aws/gpu-cluster";
import { GpuNodeGroup } from "../../components/aws/gpu-node-group";
import { sizeRequest } from "../../cli/size";
import { UsageError } from "../../cli/args";
import { runPlan } from "../../cli/plan";
import { ENGINE_INIT_SECONDS, READ_MBPS, DOWNLOAD_MBPS, startupBudgetSeconds, type CacheKind, type SourceKind } from "../../components/k8s/vllm-spec";
import { parseStackConfig } from "../../stacks/config";
import { planStack } from "../../stacks/plan";
import { runProgram } from "../../stacks/program";
import {
  CAPACITY_TYPES,
  GPUS,
  GPU_IDS,
  InputError,
  MODELS,
  MODEL_IDS,
  PlanInputError,
  knownRegions,
  planDeployment,
  priceQuote,
} from "../../sizing";

const counts: Record<string, number> = {};
afterAll(() => {
  // The campaign's size, for the closing report.
  console.log(`hardening campaign cases: ${JSON.stringify(counts)}`);
});

const flat = (config: Record<string, unknown>) =>
  Object.fromEntries(Object.entries(config).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)]));
const VALID = {
  "aws:region": "us-east-1",
  "llm-fleet:environment": "dev",
  "llm-fleet:cluster": { mode: "new", publicAccessCidrs: ["34.200.10.7/32"] },
  "llm-fleet:deployments": [{ name: "assistant", preset: "assistant-7b" }],
};

/** Wrong types, negative and huge numbers, unicode and very long strings, empty lists. */
const junk = fc.oneof(
  fc.integer({ min: -1e12, max: 1e12 }),
  fc.double({ noNaN: false }),
  fc.constantFrom(-1, 0, 1e308, Number.MAX_SAFE_INTEGER + 2),
  fc.string({ maxLength: 20 }),
  fc.string({ unit: "grapheme", maxLength: 10 }),
  fc.string({ minLength: 300, maxLength: 2000 }),
  fc.constant([]),
  fc.constant({}),
  fc.constant(null),
  fc.boolean(),
  fc.array(fc.string(), { maxLength: 3 }),
);
const KEYS = ["environment", "deployments", "cluster", "budgetUsdPerMonth", "prices", "hfToken", "apiKey", "deploymnets", "clsuter", "zzz"];
const DEPLOYMENT_KEYS = ["name", "preset", "model", "workload", "placement", "serving", "presett"];
const FIELDS = ["maxModelLen", "concurrency", "precisions", "objective", "capacityType", "gpus", "instanceTypes", "nodesPerReplica", "minNodes", "maxNodes", "weights", "image", "nope"];

/** A valid config with one to three things broken at random. */
const brokenConfig = fc
  .record({
    top: fc.array(fc.tuple(fc.constantFrom(...KEYS), junk), { maxLength: 2 }),
    deployment: fc.array(fc.tuple(fc.constantFrom(...DEPLOYMENT_KEYS), junk), { maxLength: 2 }),
    nested: fc.array(fc.tuple(fc.constantFrom("workload", "placement", "serving"), fc.constantFrom(...FIELDS), junk), { maxLength: 2 }),
    duplicate: fc.boolean(),
    preset: fc.constantFrom("assistant-7b", "edge-1.5b", "analysis-70b", "no-such-preset", "reasoning-r1"),
  })
  .map(({ top, deployment, nested, duplicate, preset }) => {
    const d: Record<string, unknown> = { name: "assistant", preset };
    for (const [k, v] of deployment) d[k] = v;
    for (const [group, k, v] of nested) d[group] = { ...(typeof d[group] === "object" && d[group] ? (d[group] as object) : {}), [k]: v };
    const config: Record<string, unknown> = { ...VALID, "llm-fleet:deployments": duplicate ? [d, { ...d }] : [d] };
    for (const [k, v] of top) config[`llm-fleet:${k}`] = v;
    return config;
  });

describe("stack config, random and malformed", () => {
  it("always ends in a plan or in problems that each name a key and say what to do, never a throw", () => {
    fc.assert(
      fc.property(brokenConfig, (config) => {
        counts["stack config"] = (counts["stack config"] ?? 0) + 1;
        const parsed = parseStackConfig(flat(config), ["llm-fleet:hfToken", "llm-fleet:apiKey"]);
        const problems = "problems" in parsed ? parsed.problems : (() => {
          const planned = planStack(parsed.config, "us-east-1", { apiKey: parsed.config.apiKey });
          return "problems" in planned ? planned.problems : [];
        })();
        for (const p of problems) {
          expect(p.path).toMatch(/^(llm-fleet|aws)/);
          expect(p.message.length).toBeGreaterThan(5);
          expect(p.message).not.toMatch(/\n\s+at /);
        }
      }),
      { numRuns: 600 },
    );
  });

  it("registers no resource when the config is bad", async () => {
    const samples = fc.sample(brokenConfig, { numRuns: 25, seed: 7 });
    for (const config of samples) {
      counts["program on bad config"] = (counts["program on bad config"] ?? 0) + 1;
      let resources: RecordedResource[] | undefined;
      let error: unknown;
      try {
        resources = (await runOffline("dev", flat(config), ["llm-fleet:hfToken", "llm-fleet:apiKey"], runProgram)).resources;
      } catch (e) {
        error = e;
      }
      if (error) {
        expect((error as { problems?: unknown[] }).problems?.length).toBeGreaterThan(0);
        const monitor = pulumi.runtime.getMonitor() as unknown as { getRegisteredResources(): Map<string, unknown> };
        expect(monitor.getRegisteredResources().size).toBe(0);
      } else {
        expect(resources!.length).toBeGreaterThan(0);
      }
    }
  });
});

describe("the size command line and price overrides, random and malformed", () => {
  const token = fc.oneof(
    fc.constantFrom("--gpu", "--instance", "--nodes", "--precision", "--max-model-len", "--concurrency", "--region", "--capacity", "--objective", "--price", "--json", "--replicas", "--gpux", "-x", "--"),
    fc.string({ maxLength: 12 }),
    fc.constantFrom("h100", "p5.48xlarge", "-3", "0x10", "1e9", "fp8,int4", "p5e.48xlarge@us-east-2=40", "p5=abc", "", "🚀"),
  );
  it("ends in a request, or one usage or input error, never anything else", () => {
    fc.assert(
      fc.property(fc.constantFrom(...MODEL_IDS, "deepsek-r1"), fc.array(token, { maxLength: 8 }), (model, rest) => {
        counts["size argv"] = (counts["size argv"] ?? 0) + 1;
        try {
          const { request } = sizeRequest([model, ...rest]);
          planDeployment(request, { relaxations: false });
        } catch (error) {
          expect(error instanceof UsageError || error instanceof PlanInputError).toBe(true);
          expect((error as Error).message.length).toBeGreaterThan(5);
        }
      }),
      { numRuns: 800 },
    );
  });

  it("price overrides: positive prices for known types only, named by their path", () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 20 }), fc.constantFrom("p5.48xlarge", "g6.xlarge")), junk, (instanceType, usdPerHour) => {
        counts["price overrides"] = (counts["price overrides"] ?? 0) + 1;
        try {
          planDeployment({ model: "r1-distill-qwen-1.5b", priceOverrides: [{ instanceType, usdPerHour }] }, { relaxations: false });
          expect(typeof usdPerHour === "number" && usdPerHour > 0).toBe(true);
        } catch (error) {
          expect(error).toBeInstanceOf(PlanInputError);
          for (const p of (error as PlanInputError).problems) expect(p.path).toMatch(/^priceOverrides\.0\./);
        }
      }),
      { numRuns: 400 },
    );
  });
});

describe("the plan command line, random and malformed", () => {
  it("ends in exit 0, or 1 with one message per line, never an internal error", async () => {
    const token = fc.oneof(
      fc.constantFrom("--stack", "--config", "--json", "--out", "--help", "--stak", "dev", "staging", "prod", "qa", "/nonexistent.yaml", "-x"),
      fc.string({ maxLength: 10 }),
    );
    const samples = fc.sample(fc.array(token, { maxLength: 4 }), { numRuns: 30, seed: 11 });
    for (const argv of samples) {
      counts["plan argv"] = (counts["plan argv"] ?? 0) + 1;
      const out = await runPlan(argv.filter((a) => a !== "--out"));
      expect([0, 1]).toContain(out.code);
      if (out.code === 1) {
        expect(out.stderr).toMatch(/^llm-fleet plan: /);
        expect(out.stderr).not.toMatch(/\n\s+at /);
      }
    }
  }, 60_000);
});

describe("the planner over the whole catalog", () => {
  it("returns a plan or an explanation for every model x GPU x precision x region x capacity type", () => {
    let plans = 0;
    let explained = 0;
    for (const model of MODEL_IDS) {
      for (const gpu of GPU_IDS) {
        for (const precision of new Set(MODELS[model].checkpoints.map((c) => c.precision))) {
          for (const region of knownRegions()) {
            for (const capacityType of CAPACITY_TYPES) {
              const result = planDeployment({ model, gpus: [gpu], precisions: [precision], region, capacityType }, { relaxations: false });
              if (result.plan) plans++;
              else {
                expect(result.closestMiss?.reason.length).toBeGreaterThan(10);
                explained++;
              }
            }
          }
        }
      }
    }
    counts["planner combinations"] = plans + explained;
    expect(plans + explained).toBe(31_080);
    expect(plans).toBeGreaterThan(5_000);
  });
});

describe("the program is deterministic and keeps secrets secret", () => {
  const config = flat({
    ...VALID,
    "llm-fleet:hfToken": "hf_PLAINTEXT_TOKEN_1234",
    "llm-fleet:apiKey": "sk-PLAINTEXT-KEY-5678",
  });
  const secrets = ["llm-fleet:hfToken", "llm-fleet:apiKey"];

  it("registers the same resources with the same inputs twice", async () => {
    const a = await runOffline("dev", config, secrets, runProgram);
    const b = await runOffline("dev", config, secrets, runProgram);
    const key = (r: RecordedResource) => `${r.type}::${r.name}`;
    const sorted = (rs: RecordedResource[]) => [...rs].sort((x, y) => key(x).localeCompare(key(y)));
    expect(JSON.stringify(sorted(a.resources))).toBe(JSON.stringify(sorted(b.resources)));
  });

  it("never shows the token or the key outside Pulumi secrets, in any resource input or output", async () => {
    const run = await runOffline("dev", config, secrets, runProgram);
    const SIG = "4dabf18193072939515e22adb298388d";
    const strip = (v: unknown): unknown =>
      v && typeof v === "object"
        ? (v as Record<string, unknown>)[SIG] !== undefined
          ? "[secret]"
          : Array.isArray(v)
            ? v.map(strip)
            : Object.fromEntries(Object.entries(v).map(([k, x]) => [k, strip(x)]))
        : v;
    const visible = JSON.stringify(run.resources.map((r) => strip(r.inputs)));
    expect(visible).not.toContain("hf_PLAINTEXT_TOKEN_1234");
    expect(visible).not.toContain("sk-PLAINTEXT-KEY-5678");
    const secretsMade = run.resources.filter((r) => r.type === "kubernetes:core/v1:Secret");
    expect(secretsMade.map((r) => r.name).sort()).toEqual(["assistant-vllm-api-key", "assistant-vllm-hf-token"]);
    for (const s of secretsMade) expect((s.inputs.stringData as Record<string, unknown>)[SIG]).toBeDefined();
  });

  it("defaults are safe: IMDSv2, encrypted volumes, private subnets, an API open only to the deployer, least privilege, no escalation", async () => {
    const run = await runOffline("dev", flat({ ...VALID, "llm-fleet:cluster": { mode: "new", publicAccessCidrs: ["34.200.10.7/32"] } }), [], runProgram);
    const of = (type: string) => run.resources.filter((r) => r.type === type).map((r) => r.inputs as any);
    for (const lt of of("aws:ec2/launchTemplate:LaunchTemplate")) {
      expect(lt.metadataOptions).toMatchObject({ httpTokens: "required", httpPutResponseHopLimit: 1 });
      for (const d of lt.blockDeviceMappings) expect(d.ebs.encrypted).toBe("true");
    }
    expect(of("aws:ec2/subnet:Subnet").every((s) => s.mapPublicIpOnLaunch === false)).toBe(true);
    expect(of("aws:eks/cluster:Cluster")[0].vpcConfig).toMatchObject({ endpointPrivateAccess: true, endpointPublicAccess: true, publicAccessCidrs: ["34.200.10.7/32"] });
    expect(of("aws:eks/cluster:Cluster")[0].encryptionConfig.resources).toEqual(["secrets"]);
    const policies = of("aws:iam/rolePolicyAttachment:RolePolicyAttachment").map((a) => a.policyArn.split("/").pop());
    expect([...new Set(policies)].sort()).toEqual(["AmazonEC2ContainerRegistryReadOnly", "AmazonEKSClusterPolicy", "AmazonEKSWorkerNodePolicy", "AmazonEKS_CNI_Policy"]);
    for (const d of of("kubernetes:apps/v1:Deployment")) {
      for (const c of d.spec.template.spec.containers) expect(c.securityContext).toMatchObject({ allowPrivilegeEscalation: false, privileged: false });
    }
    // Nothing reachable from outside the cluster: ClusterIP, or a cluster DNS name for the interceptor.
    expect(of("kubernetes:core/v1:Service").every((s) => s.spec.type === "ClusterIP" || (s.spec.type === "ExternalName" && s.spec.externalName.endsWith(".svc.cluster.local")))).toBe(true);
    // The cluster autoscaler may resize only groups of this cluster that llm-fleet marked.
    const autoscaler = JSON.parse(of("aws:iam/rolePolicy:RolePolicy")[0].policy);
    expect(autoscaler.Statement.find((st: any) => st.Action.includes("autoscaling:SetDesiredCapacity")).Condition.StringEquals).toEqual({
      "aws:ResourceTag/k8s.io/cluster-autoscaler/llm-fleet-dev": "owned",
      "aws:ResourceTag/llm-fleet.dev/autoscaled": "true",
    });
  });
});

describe("faults", () => {
  it("a region without a price, a type not offered there, a Capacity Block without a reservation: each a clear error", () => {
    expect(priceQuote("p5.48xlarge", "af-south-1", "on-demand")).toEqual({ problem: "no 2026-01-21 price for p5.48xlarge in af-south-1" });
    expect(() => planDeployment({ model: "deepseek-r1", region: "af-south-1" })).toThrow('unknown region "af-south-1"');
    const notOffered = planDeployment({ model: "deepseek-r1", gpus: ["b300"], region: "us-east-1" }, { relaxations: false });
    expect(notOffered.closestMiss?.reason).toBe("p6-b300.48xlarge is not offered in us-east-1 (sold only in us-west-2)");
    const parsed = parseStackConfig(flat({ ...VALID, "llm-fleet:deployments": [{ name: "r1", model: "deepseek-r1", placement: { gpus: ["h200"], capacityType: "capacity-block" } }] }));
    if ("problems" in parsed) throw new Error("config should parse");
    const planned = planStack(parsed.config, "us-east-2", {});
    expect("problems" in planned && planned.problems[0]!.message).toContain("nothing fits DeepSeek-R1");
  });

  it("a preset that no longer fits after a catalog change says what to relax", () => {
    const saved = GPUS.l40s.memoryGiB;
    (GPUS.l40s as { memoryGiB: number }).memoryGiB = 2; // as if the catalog lost most of the L40S
    try {
      const result = planDeployment({ model: "r1-distill-qwen-7b", gpus: ["l40s"] });
      expect(result.plan).toBeNull();
      expect(result.closestMiss?.rule).toBe("memory");
      expect(result.relaxations.map((r) => r.field)).toContain("gpus");
    } finally {
      (GPUS.l40s as { memoryGiB: number }).memoryGiB = saved;
    }
  });

  it("component argument errors are InputErrors, not crashes", () => {
    expect(() => new GpuNodeGroup("x", { cluster: new GpuCluster("c", { publicAccessCidrs: ["34.200.10.7/32"] }), instanceType: "p5.48xlarge", model: "deepseek-r1", checkpointSizeGB: 688.6, capacityType: "capacity-block" })).toThrow(
      InputError,
    );
  });
});

describe("startup budgets cover the load time of every catalog checkpoint on every storage kind", () => {
  it("download (Hub) + read + engine start fit in the budget, with the margin on top", () => {
    let cases = 0;
    for (const model of MODEL_IDS) {
      for (const checkpoint of MODELS[model].checkpoints) {
        for (const cache of Object.keys(READ_MBPS) as CacheKind[]) {
          for (const source of Object.keys(DOWNLOAD_MBPS) as SourceKind[]) {
            const mb = checkpoint.sizeOnDiskGB * 1000;
            const load = (source === "hub" ? mb / DOWNLOAD_MBPS.hub : 0) + mb / READ_MBPS[cache] + ENGINE_INIT_SECONDS;
            const budget = startupBudgetSeconds(checkpoint.sizeOnDiskGB, cache, source);
            expect(budget, `${checkpoint.repo} ${cache} ${source}`).toBeGreaterThanOrEqual(load * 1.5);
            expect(budget % 10).toBe(0);
            cases++;
          }
        }
      }
    }
    counts["startup budgets"] = cases;
    expect(cases).toBe(MODEL_IDS.reduce((n, m) => n + MODELS[m].checkpoints.length, 0) * 4);
  });
});
