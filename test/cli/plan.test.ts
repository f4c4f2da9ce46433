import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import YAML from "yaml";
import { cli } from "../support/cli";
import { validate } from "../support/models";
import { stackNameOf } from "../../cli/plan";

const DEPLOYER_CIDR_WARNING =
  "warning: [runtime] llm-fleet:cluster.publicAccessCidrs: give the address of the machine that runs pulumi up, as a /32 (curl -s https://checkip.amazonaws.com), so the run can reach the API it creates: pulumi config set --path 'llm-fleet:cluster.publicAccessCidrs[0]' <address>/32; pulumi up stops here until it is set\n";

const noStackTrace = (text: string) => expect(text).not.toMatch(/\n\s+at .+:\d+:\d+/);

describe("llm-fleet plan (the dev stack by default)", () => {
  const { code, stdout, stderr } = cli("plan");
  it("prints the plan, the resource tree, the cost and the budget verdict", () => {
    expect(code).toBe(0);
    // The shipped dev file leaves the deployer's address to the operator: the preview warns.
    expect(stderr).toBe(DEPLOYER_CIDR_WARNING);
    expect(stdout.split("\n")[0]).toBe("Stack dev · prices of 2026-01-21 · offline preview under Pulumi mocks");
    expect(stdout).toContain("assistant: DeepSeek-R1-Distill-Qwen-7B, 1 x g5.xlarge (1 x a10g), deepseek-ai/DeepSeek-R1-Distill-Qwen-7B (bf16), TP 1 x PP 1, 1 replica(s)");
    expect(stdout).toMatch(
      /\n {2}predicted at 16 sequence\(s\) per replica \(mean 1,024\/1,024 tokens\): TPOT [\d.]+ ms, TTFT \d+ ms, [\d,]+ output tokens\/s, \$[\d.]+ per million output tokens \[extrapolated\]\n/,
    );
    expect(stdout).toMatch(/\n {2}llm-fleet:index:ModelDeployment {2}assistant\n {4}llm-fleet:index:GpuNodeGroup {2}assistant-gpu\n/);
    // Each chart with its pinned version, what it does and where it runs, so what it costs.
    expect(stdout).toContain("\nAdd-ons (pinned Helm charts):\n  nvidia-device-plugin 0.20.0: ");
    expect(stdout).toContain("\n  keda-add-ons-http 0.15.0: holds requests to a deployment at zero replicas until one is ready (the interceptor), and reports them to KEDA; runs on the system nodes (interceptor, external scaler, operator; priced with the cluster)\n");
    expect(stdout).toContain("\n  cluster-autoscaler 9.59.0: ");
    expect(stdout).not.toContain("kube-prometheus-stack 88.5.3");
    // Idle, the GPU group is at zero: the control plane ($0.10), NAT ($0.045), two system nodes
    // ($0.2016), 2 x 50 GiB of gp3 at $0.08/GB-month, the NAT's public IPv4 ($0.005) and the KMS
    // key ($1/month): $0.3639/hour. Busy, one g5.xlarge at $1.006/hour (the Spot ceiling) and its
    // 100 GiB root volume: $1.3809/hour. At most 2 GPU and 3 system nodes.
    expect(stdout).toMatch(
      /assistant-gpu +0 x g5\.xlarge \(spot, priced at the on-demand ceiling\), autoscaled: 0 when idle, 1 at the planned load, up to 2 +\$0\.0000 +\$0 +\$2\.0120 +\$1,469/,
    );
    expect(stdout).toMatch(/assistant-gpu +EBS: 100 GiB gp3 per node +\$0\.0000 +\$0 +\$0\.0219 +\$16/);
    // The on-demand fallback costs nothing more: it runs only in place of Spot, within the same 2 nodes.
    expect(stdout).toMatch(/assistant-gpu-on-demand +0 x g5\.xlarge \(on-demand fallback when Spot cannot launch\), within assistant-gpu's 2 nodes +\$0\.0000 +\$0 +\$0\.0000 +\$0\n/);
    expect(stdout).toContain(
      "  autoscaling: 0-2 replicas (nodes follow, Spot first, then assistant-gpu-on-demand on demand), target 18 sequence(s) per replica, on requests held at the interceptor\n" +
        "  scale to zero after 15 min idle; the first request then waits about 11 min [extrapolated]: node 4.0 min, image 2.4 min, weights download 2.5 min, load 0.1 min, engine start 2.0 min; held up to 17 min\n" +
        "  monitoring: off\n",
    );
    expect(stdout).toMatch(/cluster +KMS key for Kubernetes secrets +\$0\.0014 +\$1 /);
    expect(stdout).toMatch(/cluster +1 public IPv4 address\(es\) of the NAT gateway\(s\) +\$0\.0050 +\$4 /);
    expect(stdout).toContain("CloudWatch Logs for the control plane: $0.50 per GB ingested, not in the total");
    expect(stdout).toMatch(/total +\$0\.3639 +\$266 +\$2\.5041 +\$1,828\n {2}When busy at the planned load \(autoscaled groups at the plan's nodes\): \$1\.3809\/hour, \$1,008 for a month of it\n/);
    expect(stdout).toContain(
      "Budget: dev: $1,008/month busy at the planned load is within the $5,000 budget ($266/month idle at desired size, $1,828 at maximum size)\nPolicies (12, config policy/config.dev.json): passed\n",
    );
  });
});

describe("llm-fleet plan --json and --out", () => {
  const dir = mkdtempSync(join(tmpdir(), "llm-fleet-plan-"));
  const { code, stdout } = cli("plan", "--stack", "staging", "--json", "--out", dir);
  const doc = JSON.parse(stdout);
  it("prints { stack, deployments, resources, cost, operations, policy, outputs }", () => {
    expect(code).toBe(0);
    expect(Object.keys(doc)).toEqual(["stack", "deployments", "resources", "cost", "operations", "policy", "outputs"]);
    expect(doc.stack).toBe("staging");
    expect(doc.deployments.map((d: { name: string }) => d.name)).toEqual(["analysis"]);
    expect(doc.deployments[0].plan).toMatchObject({ model: "r1-distill-llama-70b", instanceType: "p4d.24xlarge", nodes: 1 });
    expect(doc.deployments[0].plan.performance).toMatchObject({ confidence: "extrapolated", bottleneck: expect.any(String) });
    expect(doc.deployments[0].plan.performance.outputTokensPerSecond).toBeGreaterThanOrEqual(500);
    expect(doc.resources.find((r: { name: string }) => r.name === "analysis-gpu")).toMatchObject({ type: "llm-fleet:index:GpuNodeGroup", parent: "analysis" });
    // The node, the control plane, NAT and system nodes; 100 + 2 x 50 GiB gp3 and Prometheus's 50 GiB, one public IPv4, a KMS key.
    expect(doc.cost.usdPerMonth).toBeCloseTo((21.957642 + 0.1 + 0.045 + 0.2016 + 0.005) * 730 + 250 * 0.08 + 1, 6);
    expect(doc.operations).toEqual({ autoscaling: true, monitoring: true });
    expect(doc.deployments[0].scaling).toMatchObject({ mode: "autoscaled", minReplicas: 1, maxReplicas: 2, scaleToZero: false, triggers: { prometheus: true, requests: false } });
    expect(doc.policy).toEqual({ passed: true, violations: [], configFile: "policy/config.staging.json" });
  });
  it("writes each deployment's Kubernetes objects as YAML that validates", () => {
    const docs = YAML.parseAllDocuments(readFileSync(join(dir, "analysis.yaml"), "utf8")).map((d) => d.toJSON());
    // Monitoring and autoscaling come along: the dashboard, scraping, alert rules and the ScaledObject.
    expect(docs.map((d) => d.kind)).toEqual(["Namespace", "ServiceAccount", "ConfigMap", "PodDisruptionBudget", "Deployment", "Service", "ServiceMonitor", "PrometheusRule", "ScaledObject"]);
    expect(docs.find((d) => d.kind === "Deployment").spec.template.spec.containers[0].resources.limits["nvidia.com/gpu"]).toBe("8");
    expect(docs.find((d) => d.kind === "ConfigMap").metadata.labels.grafana_dashboard).toBe("1");
    for (const d of docs) expect(() => validate(d)).not.toThrow();
  });
});

describe("llm-fleet plan --out for a replica over several nodes", () => {
  const dir = mkdtempSync(join(tmpdir(), "llm-fleet-plan-"));
  const stack = join(mkdtempSync(join(tmpdir(), "llm-fleet-stack-")), "Pulumi.staging.yaml");
  writeFileSync(
    stack,
    YAML.stringify({
      config: {
        "aws:region": "us-east-1",
        "llm-fleet:environment": "staging",
        "llm-fleet:cluster": { mode: "new", endpointPublicAccess: true, publicAccessCidrs: ["34.200.10.7/32"] },
        "llm-fleet:deployments": [{ name: "analysis", model: "r1-distill-llama-70b", placement: { gpus: ["l4"], nodesPerReplica: 3 } }],
      },
    }),
  );
  const { code } = cli("plan", "--config", stack, "--out", dir);
  it("writes a LeaderWorkerSet of one pod per node", () => {
    expect(code).toBe(0);
    const docs = YAML.parseAllDocuments(readFileSync(join(dir, "analysis.yaml"), "utf8")).map((d) => d.toJSON());
    expect(docs.map((d) => d.kind)).toEqual(["Namespace", "ServiceAccount", "ConfigMap", "PodDisruptionBudget", "LeaderWorkerSet", "Service", "ServiceMonitor", "PrometheusRule"]);
    expect(docs.find((d) => d.kind === "LeaderWorkerSet").spec.leaderWorkerTemplate.size).toBe(3);
    for (const d of docs.filter((d) => d.kind !== "LeaderWorkerSet")) expect(() => validate(d)).not.toThrow();
  });
});

describe("llm-fleet plan, failures", () => {
  const stackFile = (config: Record<string, unknown>) => {
    const path = join(mkdtempSync(join(tmpdir(), "llm-fleet-stack-")), "Pulumi.test.yaml");
    writeFileSync(path, YAML.stringify({ config }));
    return path;
  };
  const base = { "aws:region": "us-east-1", "llm-fleet:environment": "dev", "llm-fleet:cluster": { mode: "new", publicAccessCidrs: ["34.200.10.7/32"] } };

  it("one verdict: a stack's own larger budget does not outvote the platform's limit in policy/config.<env>.json", () => {
    // Three g7e.24xlarge in dev when busy: $49.72/hour at the Spot ceiling, $36,293/month, under the
    // stack's own $40,000 but over the $5,000 that policy/config.dev.json gives the pack.
    const file = stackFile({ ...base, "llm-fleet:budgetUsdPerMonth": 40_000, "llm-fleet:deployments": [{ name: "r1", model: "deepseek-r1", placement: { gpus: ["rtx-pro-6000"] } }] });
    const { code, stdout } = cli("plan", "--config", file);
    expect(code).toBe(3);
    expect(stdout).toContain("Budget: dev: $36,583/month busy at the planned load is within the $40,000 budget");
    expect(stdout).toContain("Policies (12, config policy/config.dev.json): FAILED:\n");
    expect(stdout).toMatch(/\[mandatory\] monthly-budget: dev: 3 x g7e\.24xlarge at the planned load costs \$36,293\/month, \$36,583 in all .* over the \$5,000 budget/);
  });

  it("exits 3 when a mandatory policy fails: the budget and the allowed instance families", () => {
    const file = stackFile({ ...base, "llm-fleet:budgetUsdPerMonth": 5000, "llm-fleet:deployments": [{ name: "big", model: "deepseek-r1", placement: { gpus: ["h100"], capacityType: "on-demand" } }] });
    const { code, stdout } = cli("plan", "--config", file);
    expect(code).toBe(3);
    // 2 x $55.04 x 730 = $80,358; with the volumes and the cluster's own parts $80,640.
    expect(stdout).toContain("Policies (12, config policy/config.dev.json): FAILED:\n");
    expect(stdout).toContain(
      "  [mandatory] monthly-budget: dev: 2 x p5.48xlarge at the planned load costs $80,358/month, $80,640 in all ($80,718 at maximum scale, $266 idle), over the $5,000 budget; lower the nodes or choose a smaller preset\n",
    );
    expect(stdout).toContain("  [mandatory] allowed-instance-types: big-gpu-node-group: p5.48xlarge (family p5) is not allowed here; allowed families: g5, g6, g6e, g7e");
    const json = JSON.parse(cli("plan", "--config", file, "--json").stdout);
    expect(json.policy.passed).toBe(false);
    expect(json.policy.violations.map((v: { policy: string }) => v.policy)).toEqual(["monthly-budget", "allowed-instance-types"]);
  });
  it("labels the figures the stack's own benchmark calibrated, and says by what", () => {
    const calibration = [{ model: "r1-distill-qwen-7b", gpu: "a10g", tpotFactor: 0.9, ttftFactor: 1.2, measuredAt: "2026-11-02T14:05:12", runs: 1 }];
    const plain = cli("plan", "--config", stackFile({ ...base, "llm-fleet:deployments": [{ name: "a", preset: "assistant-7b" }] }), "--json");
    const measured = cli("plan", "--config", stackFile({ ...base, "llm-fleet:calibration": calibration, "llm-fleet:deployments": [{ name: "a", preset: "assistant-7b" }] }));
    const before = JSON.parse(plain.stdout).deployments[0].plan.performance;
    expect(measured.code).toBe(0);
    expect(measured.stdout).toContain(`TPOT ${(before.tpotMs * 0.9).toFixed(1)} ms`);
    expect(measured.stdout).toMatch(/per million output tokens \[measured\]\n {2}measured on a10g \(llm-fleet:calibration, 1 benchmark run of 2026-11-02T14:05:12\): the model's TPOT x 0\.9, TTFT x 1\.2\n/);
  });
  it("exits 2 when nothing fits, with the planner's explanation", () => {
    const file = stackFile({ ...base, "llm-fleet:deployments": [{ name: "r1", model: "deepseek-r1", placement: { gpus: ["a100-80gb"] } }] });
    const { code, stderr } = cli("plan", "--config", file);
    expect(code).toBe(2);
    expect(stderr).toContain("llm-fleet plan: llm-fleet:deployments.0.model: nothing fits DeepSeek-R1");
    noStackTrace(stderr);
  });
  it("exits 1 on bad config, with every problem", () => {
    const file = stackFile({ ...base, "llm-fleet:deployment": [{ name: "x", preset: "edge-1.5b" }] });
    const { code, stdout, stderr } = cli("plan", "--config", file);
    expect(code).toBe(1);
    expect(stdout).toBe("");
    expect(stderr).toContain('llm-fleet plan: llm-fleet:deployment: unknown key "deployment"; did you mean "deployments"?');
    noStackTrace(stderr);
  });
  it("exits 1 on a stack that is not there, or an unknown flag", () => {
    expect(cli("plan", "--stack", "qa").stderr).toBe('llm-fleet plan: --stack: "qa" is not one of dev, staging, prod; use --config for a stack file of your own\n');
    expect(cli("plan", "--config", "/nonexistent.yaml").code).toBe(1);
    expect(cli("plan", "--jsn").stderr).toContain('unknown flag "--jsn"; did you mean "--json"?');
  });
  it("keeps deployments apart whose names share a prefix, and never writes a Secret's value", () => {
    const dir = mkdtempSync(join(tmpdir(), "llm-fleet-out-"));
    const file = stackFile({ ...base, "llm-fleet:apiKey": { secure: "v1:x" }, "llm-fleet:deployments": [{ name: "a", preset: "edge-1.5b" }, { name: "a-b", preset: "edge-1.5b" }] });
    const { code, stdout } = cli("plan", "--config", file, "--out", dir);
    expect(code).toBe(0);
    expect(stdout).toMatch(/\n {2}llm-fleet:index:ModelDeployment {2}a-b\n/);
    const a = YAML.parseAllDocuments(readFileSync(join(dir, "a.yaml"), "utf8")).map((d) => d.toJSON());
    expect(a.every((o) => o.metadata.name.startsWith("a-vllm"))).toBe(true);
    // No Secret manifest: applied, a placeholder would become the API key.
    expect(a.map((o) => o.kind)).not.toContain("Secret");
    const command = 'kubectl -n a-vllm create secret generic a-vllm-api-key --from-literal=value="$A_VLLM_API_KEY"';
    expect(readFileSync(join(dir, "a.yaml"), "utf8").split("\n").slice(0, 2)).toEqual([
      "# Create these Secrets first; their values are never written here:",
      `#   ${command}`,
    ]);
    expect(stdout).toContain(`Secrets are not written; create them before kubectl apply:\n  ${command}\n`);
    expect(readFileSync(join(dir, "a.yaml"), "utf8")).not.toContain("v1:x");
    // dev scales to zero: the interceptor's route, the entry Service and the ScaledObject are written too.
    expect(a.map((o) => o.kind)).toEqual(["Namespace", "ServiceAccount", "PodDisruptionBudget", "Deployment", "Service", "Service", "HTTPScaledObject", "ScaledObject"]);
    expect(a.find((o) => o.kind === "Deployment").spec.replicas).toBe(0);
    expect(a.filter((o) => o.kind === "Service").map((o) => o.spec.type).sort()).toEqual(["ClusterIP", "ExternalName"]);
    for (const o of a) expect(() => validate(o)).not.toThrow();
  });

  it("prod without its API key previews whole and fails the mandatory check (exit 3); with it, passes", () => {
    const { code, stdout, stderr } = cli("plan", "--stack", "prod");
    expect(code).toBe(3);
    expect(stdout).toContain("reasoning: DeepSeek-R1-0528, 1 x p5en.48xlarge (8 x h200)");
    expect(stdout).toContain(
      "Policies (12, config policy/config.prod.json): FAILED:\n  [mandatory] api-key-required: reasoning-vllm-deployment serves without an API key; set llm-fleet:apiKey with `pulumi config set --secret`\n",
    );
    expect(stderr).toBe(
      DEPLOYER_CIDR_WARNING +
        "warning: [runtime] llm-fleet:apiKey: prod requires an API key on every endpoint: `pulumi config set --secret llm-fleet:apiKey <key>`; pulumi up stops here until it is set\n",
    );
    // What `pulumi config set --secret` leaves in the stack file: a ciphertext the preview need not read.
    const prod = YAML.parse(readFileSync(join(__dirname, "../../stacks/Pulumi.prod.yaml"), "utf8"));
    const withKey = stackFile({ ...prod.config, "llm-fleet:apiKey": { secure: "v1:ciphertext" } });
    const preview = cli("plan", "--stack", "prod", "--config", withKey);
    expect(preview.code).toBe(0);
    expect(preview.stdout).toContain("reasoning: DeepSeek-R1-0528, 1 x p5en.48xlarge (8 x h200)");
    expect(preview.stdout).toContain("Budget: prod: $46,573/month at desired size is within the $150,000 budget ($92,865/month at maximum size)");
    expect(preview.stdout).toContain("Policies (12, config policy/config.prod.json): passed");
  });
});

describe("llm-fleet plan --config names the stack as Pulumi would", () => {
  it("from Pulumi.<name>.yaml, else from llm-fleet:environment", () => {
    const dir = mkdtempSync(join(tmpdir(), "llm-fleet-name-"));
    const prod = readFileSync(join(__dirname, "../../stacks/Pulumi.prod.yaml"), "utf8");
    writeFileSync(join(dir, "prod.yaml"), prod);
    const { stdout } = cli("plan", "--config", join(dir, "prod.yaml"), "--json");
    const doc = JSON.parse(stdout);
    expect(doc.stack).toBe("prod");
    expect(doc.resources.find((r: { name: string }) => r.name === "cluster-cluster").inputs.name).toBe("llm-fleet-prod");
    expect(stackNameOf(join(__dirname, "../../stacks/Pulumi.staging.yaml"))).toBe("staging");
  });
});


