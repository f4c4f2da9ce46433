import { readFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { policyConfigFor, previewStack } from "../../cli/plan";
import { parsePolicyConfig } from "../../policy/config";
import { POLICIES, costPreview } from "../../policy/policies";
import { policyResources, runPolicies, type ResourceRecord } from "../../policy/run";
import YAML from "yaml";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";

const STACKS = join(__dirname, "../../stacks");
const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

let dev: ResourceRecord[];
let staging: ResourceRecord[];
let prod: ResourceRecord[];
let prodConfig: ReturnType<typeof policyConfigFor>;
const devConfig = JSON.parse(readFileSync(join(__dirname, "../../policy/config.dev.json"), "utf8"));

beforeAll(async () => {
  dev = (await previewStack("dev", join(STACKS, "Pulumi.dev.yaml"))).resources;
  staging = (await previewStack("staging", join(STACKS, "Pulumi.staging.yaml"))).resources;
  const prodFile = join(mkdtempSync(join(tmpdir(), "llm-fleet-policy-")), "Pulumi.prod.yaml");
  const prodYaml = YAML.parse(readFileSync(join(STACKS, "Pulumi.prod.yaml"), "utf8"));
  writeFileSync(prodFile, YAML.stringify({ config: { ...prodYaml.config, "llm-fleet:apiKey": { secure: "v1:x" } } }));
  prod = (await previewStack("prod", prodFile)).resources;
  prodConfig = JSON.parse(readFileSync(join(__dirname, "../../policy/config.prod.json"), "utf8"));
}, 60_000);

/** The named policy's violations after `mutate` changes one resource. */
function after(records: ResourceRecord[], config: object, policy: string, name: string, mutate: (props: any) => void) {
  const changed = clone(records);
  const target = changed.find((r) => r.name === name);
  if (!target) throw new Error(`no resource ${name}`);
  mutate(target.inputs);
  return runPolicies(changed, config).filter((v) => v.policy === policy).map((v) => v.message);
}

describe("the shipped stacks pass every policy", () => {
  it("dev, staging and prod have no violation", () => {
    expect(runPolicies(dev, devConfig)).toEqual([]);
    expect(runPolicies(staging, JSON.parse(readFileSync(join(__dirname, "../../policy/config.staging.json"), "utf8")))).toEqual([]);
    expect(runPolicies(prod, prodConfig)).toEqual([]);
  });
  it("each policy has a kebab-case name, a description and a default enforcement level", () => {
    for (const p of POLICIES) {
      expect(p.name).toMatch(/^[a-z0-9]+(-[a-z0-9]+)+$/);
      expect(p.description.length).toBeGreaterThan(20);
      expect(["advisory", "mandatory", "disabled"]).toContain(p.enforcementLevel);
    }
  });
});

describe("every preset passes the policies of the environments it is meant for", () => {
  it.each(["reasoning-r1", "chat-v3", "r1-on-a-budget", "analysis-70b", "distill-32b", "distill-14b", "assistant-7b", "edge-1.5b"])("%s in prod", async (preset) => {
    const file = join(mkdtempSync(join(tmpdir(), "llm-fleet-preset-")), "Pulumi.prod.yaml");
    const config = {
      "aws:region": "us-east-1",
      "llm-fleet:environment": "prod",
      "llm-fleet:budgetUsdPerMonth": 10_000_000,
      "llm-fleet:apiKey": { secure: "v1:x" },
      "llm-fleet:deployments": [{ name: "x", preset }],
    };
    writeFileSync(file, YAML.stringify({ config }));
    const doc = await previewStack("prod", file);
    expect(doc.policy).toEqual({ passed: true, violations: [], configFile: "policy/config.prod.json" });
  }, 30_000);
});

describe("one mutation per rule makes it fire, with the numbers and the fix", () => {
  it("monthly-budget: a dev group grown to 40 nodes", () => {
    expect(after(dev, devConfig, "monthly-budget", "assistant-gpu-node-group", (p) => (p.scalingConfig = { minSize: 0, desiredSize: 40, maxSize: 40 }))).toEqual([
      // 40 x $1.006 x 730 h = $29,375; with 40 volumes and the cluster's own parts $29,987; three system nodes at most.
      "dev: 40 x g5.xlarge costs $29,375/month, $29,961 in all ($30,038 at maximum scale), over the $5,000 budget; lower the nodes or choose a smaller preset",
    ]);
  });
  it("allowed-instance-types: a p5 in dev", () => {
    expect(after(dev, devConfig, "allowed-instance-types", "assistant-gpu-node-group", (p) => (p.instanceTypes = ["p5.48xlarge"]))).toEqual([
      "assistant-gpu-node-group: p5.48xlarge (family p5) is not allowed here; allowed families: g5, g6, g6e, g7e; choose one of them or change allowedFamilies",
    ]);
  });
  it("dev-capacity: on demand and no scale to zero", () => {
    expect(
      after(dev, devConfig, "dev-capacity", "assistant-gpu-node-group", (p) => {
        p.capacityType = "ON_DEMAND";
        p.scalingConfig.minSize = 1;
      }),
    ).toEqual(["assistant-gpu-node-group runs ON_DEMAND with minSize 1; in dev use Spot (placement.capacityType: spot) or minNodes: 0"]);
  });
  it("parallelism-matches-gpus: --tensor-parallel-size edited by hand", () => {
    expect(
      after(prod, prodConfig, "parallelism-matches-gpus", "reasoning-vllm-deployment", (p) => {
        const args = p.spec.template.spec.containers[0].args;
        args[args.indexOf("--tensor-parallel-size") + 1] = "4";
      }),
    ).toEqual(["reasoning-vllm-deployment: TP 4 x PP 1 = 4 GPUs, but a replica gets 8 (1 pod(s)); make them equal, or re-plan with llm-fleet size"]);
  });
  it("checkpoint-fits-gpus: the node group swapped to H100s under R1", () => {
    expect(after(prod, prodConfig, "checkpoint-fits-gpus", "reasoning-gpu-node-group", (p) => (p.labels["llm-fleet.dev/gpu"] = "h100"))).toEqual([
      "reasoning-vllm-deployment: deepseek-ai/DeepSeek-R1-0528 needs 79.6 GiB weights + 7.6 GiB activations per GPU; h100 leaves 71.3 GiB; re-plan with llm-fleet size",
    ]);
  });
  it("pinned-vllm-image: an unpinned image", () => {
    expect(after(dev, devConfig, "pinned-vllm-image", "assistant-vllm-deployment", (p) => (p.spec.template.spec.containers[0].image = "vllm/vllm-openai:latest"))).toEqual([
      "assistant-vllm-deployment runs vllm/vllm-openai:latest; use vllm/vllm-openai:v0.33.0 or add the image to allowedImages",
    ]);
  });
  it("imdsv2-required: IMDSv1 and two hops", () => {
    expect(after(dev, devConfig, "imdsv2-required", "assistant-gpu-launch-template", (p) => (p.metadataOptions = { httpTokens: "optional", httpPutResponseHopLimit: 2 }))).toEqual([
      'assistant-gpu-launch-template: metadataOptions.httpTokens is optional; set it to "required" (IMDSv2)',
      "assistant-gpu-launch-template: hop limit 2 lets pods reach node credentials; set httpPutResponseHopLimit to 1",
    ]);
  });
  it("encrypted-volumes: an unencrypted root and no secrets encryption", () => {
    expect(after(dev, devConfig, "encrypted-volumes", "assistant-gpu-launch-template", (p) => (p.blockDeviceMappings[0].ebs.encrypted = "false"))).toEqual([
      'assistant-gpu-launch-template: volume /dev/xvda is not encrypted; set ebs.encrypted: "true"',
    ]);
    expect(after(dev, devConfig, "encrypted-volumes", "cluster-cluster", (p) => delete p.encryptionConfig)).toEqual([
      'cluster-cluster: Kubernetes secrets are not encrypted with a KMS key; set encryptionConfig { resources: ["secrets"] }',
    ]);
  });
  it("no-public-load-balancer: prod's load balancer made internet-facing", () => {
    expect(
      after(prod, prodConfig, "no-public-load-balancer", "reasoning-vllm-load-balancer", (p) => (p.metadata.annotations["service.beta.kubernetes.io/aws-load-balancer-internal"] = "false")),
    ).toEqual(["reasoning-vllm-load-balancer is an internet-facing load balancer; make it internal (loadBalancer.internal: true) or set allowPublic"]);
  });
  it("no-secret-in-plain-env: a token pasted into the environment", () => {
    expect(
      after(dev, devConfig, "no-secret-in-plain-env", "assistant-vllm-deployment", (p) => p.spec.template.spec.containers[0].env.push({ name: "HF_TOKEN", value: "hf_plain" })),
    ).toEqual(["assistant-vllm-deployment: container vllm has HF_TOKEN in plain text; take it from a Secret (valueFrom.secretKeyRef)"]);
  });
  it("no-privileged-containers: a privileged container", () => {
    expect(
      after(dev, devConfig, "no-privileged-containers", "assistant-vllm-deployment", (p) => (p.spec.template.spec.containers[0].securityContext = { privileged: true })),
    ).toEqual(["assistant-vllm-deployment: container vllm is privileged; set privileged: false and allowPrivilegeEscalation: false"]);
  });
  it("api-key-required: prod without its key", () => {
    expect(
      after(prod, prodConfig, "api-key-required", "reasoning-vllm-deployment", (p) => {
        const c = p.spec.template.spec.containers[0];
        c.env = c.env.filter((e: { name: string }) => e.name !== "VLLM_API_KEY");
      }),
    ).toEqual(["reasoning-vllm-deployment serves without an API key; set llm-fleet:apiKey with `pulumi config set --secret`"]);
  });
});

describe("enforcement levels and the cost preview", () => {
  it("config can make a policy advisory or disable it", () => {
    const big = clone(dev);
    big.find((r) => r.name === "assistant-gpu-node-group")!.inputs.instanceTypes = ["p5.48xlarge"];
    const levels = (config: object) => runPolicies(big, config).filter((v) => v.policy === "allowed-instance-types").map((v) => v.level);
    expect(levels(devConfig)).toEqual(["mandatory"]);
    expect(levels({ ...devConfig, "allowed-instance-types": { ...devConfig["allowed-instance-types"], enforcementLevel: "advisory" } })).toEqual(["advisory"]);
    expect(levels({ ...devConfig, "allowed-instance-types": "disabled" })).toEqual([]);
  });
  it("prices every node group and its volumes, the control plane, NAT, public IPv4, the KMS key and the logs, at desired and maximum scale", () => {
    const cost = costPreview(policyResources(dev), { region: "us-east-1", environment: "dev" });
    expect([...cost.items.map((i) => i.what)].sort()).toEqual(
      [
        "1 x g5.xlarge at the planned load (spot), 0 when idle, up to 2",
        "0 x g5.xlarge (on-demand fallback of assistant-gpu), up to 2 within its maximum",
        "2 x m7i.large (on-demand), up to 3",
        "CloudWatch Logs: $0.50 per GB ingested, not in the total",
        "EBS: 100 GiB gp3 per node",
        "EBS: 50 GiB gp3 per node",
        "EKS control plane",
        "KMS key",
        "NAT gateway, before data",
        "public IPv4 address",
      ].sort(),
    );
    const gp3 = (gib: number) => (gib * 0.08) / 730;
    // The dev GPU group scales to zero: created empty, it costs nothing until a request comes.
    expect(cost.desiredUsdPerHour).toBeCloseTo(0.1 + 0.045 + 0.2016 + 2 * gp3(50) + 0.005 + 1 / 730, 9);
    // Busy, it runs the plan's one node: what the budget is checked at.
    expect(cost.activeUsdPerHour - cost.desiredUsdPerHour).toBeCloseTo(1.006 + gp3(100), 9);
    expect(cost.maxUsdPerHour).toBeCloseTo(2 * 1.006 + 0.1 + 0.045 + 0.3024 + 2 * gp3(100) + 3 * gp3(50) + 0.005 + 1 / 730, 9);
  });

  it("prices a load balancer: internal ones an NLB, internet-facing ones a public IPv4 in each zone too", () => {
    const lb = (internal: boolean) => [
      ...policyResources(dev),
      {
        type: "kubernetes:core/v1:Service",
        name: "x-lb",
        urn: "urn:x-lb",
        props: { spec: { type: "LoadBalancer" }, metadata: { annotations: internal ? { "service.beta.kubernetes.io/aws-load-balancer-internal": "true" } : {} } },
      },
    ];
    const base = costPreview(policyResources(dev), { region: "us-east-1", environment: "dev" }).desiredUsdPerHour;
    expect(costPreview(lb(true) as never, { region: "us-east-1", environment: "dev" }).desiredUsdPerHour - base).toBeCloseTo(0.0225, 9);
    // dev's cluster has two zones of public subnets.
    expect(costPreview(lb(false) as never, { region: "us-east-1", environment: "dev" }).desiredUsdPerHour - base).toBeCloseTo(0.0225 + 2 * 0.005, 9);
  });

  it("the pack's cost and the plan's are the same figure", async () => {
    for (const [records, stack] of [[dev, "dev"], [staging, "staging"], [prod, "prod"]] as const) {
      const pack = costPreview(policyResources(records), { region: "us-east-1", environment: stack });
      const file = stack === "prod" ? undefined : join(STACKS, `Pulumi.${stack}.yaml`);
      if (!file) continue;
      const plan = await previewStack(stack, file);
      expect(pack.desiredUsdPerHour).toBeCloseTo(plan.cost.usdPerHour, 9);
      expect(pack.maxUsdPerHour).toBeCloseTo(plan.cost.maxUsdPerHour, 9);
    }
  });
});

describe("policy config", () => {
  it("accepts the shipped files", () => {
    for (const env of ["dev", "staging", "prod"]) {
      expect("config" in parsePolicyConfig(JSON.parse(readFileSync(join(__dirname, `../../policy/config.${env}.json`), "utf8")))).toBe(true);
    }
  });
  it("names an unknown policy, level, setting, family and a bad budget", () => {
    const result = parsePolicyConfig({
      "monthly-budjet": "mandatory",
      "dev-capacity": "strict",
      "monthly-budget": { budgetUsdPerMonth: -5 },
      "allowed-instance-types": { allowedFamilies: ["p9"], allowedGPUs: [] },
    });
    expect("problems" in result && result.problems).toEqual([
      { path: "monthly-budjet", message: expect.stringContaining('unknown policy "monthly-budjet"; did you mean "monthly-budget"?') },
      { path: "dev-capacity", message: expect.stringContaining('unknown enforcement level "strict". Valid: advisory, mandatory, remediate, disabled') },
      { path: "monthly-budget.budgetUsdPerMonth", message: "-5 is not a positive budget in USD per month" },
      { path: "allowed-instance-types.allowedFamilies.0", message: expect.stringContaining('unknown instance family "p9"') },
      { path: "allowed-instance-types", message: expect.stringContaining('unknown setting "allowedGPUs"; did you mean "allowedGpus"?') },
    ]);
  });
  it("the shipped budgets agree with the stacks' own", () => {
    for (const env of ["dev", "staging", "prod"]) {
      const file = JSON.parse(readFileSync(join(__dirname, `../../policy/config.${env}.json`), "utf8"));
      const stack = YAML.parse(readFileSync(join(STACKS, `Pulumi.${env}.yaml`), "utf8")).config;
      expect(file["monthly-budget"].budgetUsdPerMonth).toBe(stack["llm-fleet:budgetUsdPerMonth"]);
    }
  });
});
