import * as k8s from "@pulumi/kubernetes";
import { Job } from "kubernetes-models/batch/v1/Job";
import { describe, expect, it } from "vitest";
import { deploymentSpec, type DeploymentSpec } from "../../../components/deployment-spec";
import { HTTP_ADDON, type ReplicaScaling } from "../../../components/k8s/autoscaling-spec";
import { BenchmarkJob } from "../../../components/k8s/benchmark-job";
import {
  DEADLINE_MARGIN,
  READY_CHECK_SECONDS,
  TOKENIZER_DOWNLOAD_SECONDS,
  benchmarkDeadlineSeconds,
  benchmarkJobManifest,
  benchmarkReplicas,
  benchmarkSpec,
  defaultNumPrompts,
  stackServer,
  type BenchmarkJobInput,
} from "../../../components/k8s/benchmark-spec";
import { IMAGE_PULL_SECONDS, nodeShapeOf, vllmServerSpec } from "../../../components/k8s/vllm-spec";
import { InputError, VLLM_IMAGE } from "../../../sizing";
import { one, recorded, registeredUrns, settle } from "../../support/pulumi";

/** The dev stack's assistant as the stack resolves it (preset assistant-7b on Spot), with the node bounds given. */
function assistant(placement: { minNodes?: number; maxNodes?: number }): DeploymentSpec {
  const result = deploymentSpec({
    name: "assistant-gpu",
    model: "r1-distill-qwen-7b",
    workload: { maxModelLen: 8192, concurrency: 16, promptTokens: 1024, outputTokens: 1024, maxTpotMs: 40, maxTtftMs: 1000 },
    placement: { capacityType: "spot", ...placement },
    region: "us-east-1",
    operations: { autoscaling: true, monitoring: true },
  });
  if ("problems" in result) throw new Error(JSON.stringify(result.problems));
  return result.spec;
}

const scaleToZero = assistant({ minNodes: 0, maxNodes: 2 });
const fixed = assistant({});

const input = (spec: DeploymentSpec, extra: Partial<BenchmarkJobInput> = {}): BenchmarkJobInput => ({
  deployment: "assistant",
  plan: spec.plan,
  server: stackServer("assistant", spec.plan),
  concurrency: 16,
  scaling: spec.scaling,
  hasApiKey: false,
  hasHfToken: false,
  ...extra,
});

const flag = (args: readonly string[], name: string) => {
  const i = args.indexOf(name);
  expect(i, `${name} in ${args.join(" ")}`).toBeGreaterThanOrEqual(0);
  return args[i + 1];
};

describe("the benchmark Job of a deployment", () => {
  it("the deployments under test: one scales to zero, one has a fixed replica", () => {
    expect(scaleToZero.scaling).toMatchObject({ mode: "autoscaled", scaleToZero: true, holdSeconds: expect.any(Number) });
    expect(fixed.scaling).toMatchObject({ mode: "fixed", replicas: 1 });
  });

  it("is a valid batch/v1 Job that runs vllm bench serve from the server's image with the plan's workload", () => {
    const m = benchmarkJobManifest(input(fixed));
    expect(() => new Job(m as ConstructorParameters<typeof Job>[0]).validate()).not.toThrow();
    const c = m.spec.template.spec.containers[0]!;
    expect(c.image).toBe(VLLM_IMAGE);
    expect(c.image).toBe(fixed.plan.image);
    expect(c.command).toEqual(["sh", "-c", 'vllm bench serve "$@" && cat /results/assistant.json && echo', "vllm-bench"]);
    expect(c.args).toEqual([
      "--backend", "openai",
      "--base-url", "http://assistant-vllm-api.assistant-vllm.svc.cluster.local:8000",
      "--endpoint", "/v1/completions",
      "--model", "r1-distill-qwen-7b",
      "--tokenizer", "deepseek-ai/DeepSeek-R1-Distill-Qwen-7B",
      "--dataset-name", "random",
      "--random-input-len", "1024",
      "--random-output-len", "1024",
      "--random-range-ratio", "0.25",
      "--ignore-eos",
      "--num-prompts", "64",
      "--max-concurrency", "16",
      "--request-rate", "inf",
      "--percentile-metrics", "ttft,tpot,itl",
      "--metric-percentiles", "50,95,99",
      "--save-result",
      "--result-dir", "/results",
      "--result-filename", "assistant.json",
      "--metadata", "llm_fleet_instance_type=g5.xlarge", "llm_fleet_layout=tp1-pp1-dp1", "llm_fleet_checkpoint=deepseek-ai/DeepSeek-R1-Distill-Qwen-7B",
      "--ready-check-timeout-sec", "600",
    ]);
    expect(m.metadata).toEqual({
      name: "assistant-bench",
      namespace: "assistant-vllm",
      labels: { "app.kubernetes.io/name": "vllm-bench", "app.kubernetes.io/instance": "assistant", "llm-fleet.dev/model": "r1-distill-qwen-7b" },
    });
  });

  it("takes the lengths, concurrency and model from its input, not from constants", () => {
    const plan = { ...fixed.plan, promptTokens: 3000, outputTokens: 700 };
    const args = benchmarkJobManifest(input(fixed, { plan, concurrency: 5 })).spec.template.spec.containers[0]!.args;
    expect(flag(args, "--random-input-len")).toBe("3000");
    expect(flag(args, "--random-output-len")).toBe("700");
    expect(flag(args, "--max-concurrency")).toBe("5");
    // max(4 x 5, 32)
    expect(flag(args, "--num-prompts")).toBe("32");
    expect(flag(args, "--model")).toBe(fixed.plan.model);
  });

  it("calls a scale-to-zero deployment through its entry Service on the interceptor's port, and waits the hold for the first reply", () => {
    const scaling = scaleToZero.scaling as Extract<ReplicaScaling, { mode: "autoscaled" }>;
    const args = benchmarkJobManifest(input(scaleToZero)).spec.template.spec.containers[0]!.args;
    expect(HTTP_ADDON.interceptorPort).toBe(8080);
    expect(flag(args, "--base-url")).toBe("http://assistant-vllm-entry.assistant-vllm.svc.cluster.local:8080");
    expect(flag(args, "--ready-check-timeout-sec")).toBe(String(scaling.holdSeconds));
    expect(scaling.holdSeconds).not.toBe(READY_CHECK_SECONDS);
  });

  it("an autoscaled deployment that keeps a replica is called on its API Service", () => {
    const warm = assistant({ minNodes: 1, maxNodes: 2 });
    expect(warm.scaling).toMatchObject({ mode: "autoscaled", scaleToZero: false });
    const args = benchmarkJobManifest(input(warm)).spec.template.spec.containers[0]!.args;
    expect(flag(args, "--base-url")).toBe("http://assistant-vllm-api.assistant-vllm.svc.cluster.local:8000");
    expect(flag(args, "--ready-check-timeout-sec")).toBe("600");
  });

  it("sends the API key and the HF token from the server's Secrets only when the stack sets them", () => {
    const env = (extra: Partial<BenchmarkJobInput>) => benchmarkJobManifest(input(fixed, extra)).spec.template.spec.containers[0]!.env;
    expect(env({})).toEqual([{ name: "HF_HOME", value: "/cache/hf" }]);
    expect(env({ hasApiKey: true, hasHfToken: true })).toEqual([
      { name: "HF_HOME", value: "/cache/hf" },
      { name: "OPENAI_API_KEY", valueFrom: { secretKeyRef: { name: "assistant-vllm-api-key", key: "value" } } },
      { name: "HF_TOKEN", valueFrom: { secretKeyRef: { name: "assistant-vllm-hf-token", key: "value" } } },
    ]);
  });

  it("uses the server's own names: stackServer agrees with vllmServerSpec for the stack's `<deployment>-vllm`", () => {
    const result = vllmServerSpec({
      name: "assistant-vllm",
      plan: fixed.plan,
      node: nodeShapeOf(fixed.plan.instanceType, { efa: false, weightsOnInstanceStore: true }),
      weights: fixed.plan.checkpoint.repo,
      hasHfToken: true,
      hasApiKey: true,
      requireApiKey: false,
      loadBalancer: { enabled: false, internal: true },
      serviceMonitor: false,
      image: VLLM_IMAGE,
    });
    if ("problems" in result) throw new Error(JSON.stringify(result.problems));
    const server = stackServer("assistant", fixed.plan);
    expect(server.names).toEqual({
      apiService: result.spec.names.apiService,
      entryService: result.spec.names.entryService,
      apiKeySecret: result.spec.names.apiKeySecret,
      hfTokenSecret: result.spec.names.hfTokenSecret,
    });
    expect(server.servedModelName).toBe(result.spec.servedModelName);
    expect(server.namespace).toBe("assistant-vllm");
  });

  it("runs once on the system nodes, without a GPU, unprivileged, and keeps its result a day", () => {
    const m = benchmarkJobManifest(input(fixed));
    expect(m.spec).toMatchObject({ backoffLimit: 0, ttlSecondsAfterFinished: 86_400 });
    const pod = m.spec.template.spec;
    expect(pod.restartPolicy).toBe("Never");
    expect(pod.nodeSelector).toEqual({ "llm-fleet.dev/node-group": "system" });
    expect(pod).not.toHaveProperty("tolerations");
    const c = pod.containers[0]!;
    expect(c.resources).toEqual({ requests: { cpu: "1", memory: "4Gi" }, limits: { memory: "4Gi" } });
    expect(JSON.stringify(c.resources)).not.toContain("nvidia.com/gpu");
    expect(c.securityContext).toEqual({ allowPrivilegeEscalation: false, privileged: false, capabilities: { drop: ["ALL"] } });
    expect(c.volumeMounts).toContainEqual({ name: "results", mountPath: "/results" });
    expect(pod.volumes).toContainEqual({ name: "results", emptyDir: { sizeLimit: "64Mi" } });
    // An existing cluster's nodes carry no llm-fleet label: any node without the GPU taint then.
    expect(benchmarkJobManifest(input(fixed, { nodeSelector: null })).spec.template.spec).not.toHaveProperty("nodeSelector");
  });

  it("stops after the predicted run times the margin, plus the image pull, tokenizer and ready check", () => {
    const p = fixed.plan.performance;
    // 64 requests, 16 at a time: 4 rounds of TTFT + 1024 x TPOT.
    const expected = Math.ceil(IMAGE_PULL_SECONDS + TOKENIZER_DOWNLOAD_SECONDS + 600 + 4 * ((p.ttftMs + 1024 * p.tpotMs) / 1000) * DEADLINE_MARGIN);
    expect(DEADLINE_MARGIN).toBe(5);
    expect(benchmarkJobManifest(input(fixed)).spec.activeDeadlineSeconds).toBe(expected);
    expect(benchmarkDeadlineSeconds({ tpotMs: 40, ttftMs: 500 }, 1000, 10, 3, 0)).toBe(Math.ceil(IMAGE_PULL_SECONDS + TOKENIZER_DOWNLOAD_SECONDS + 4 * 40.5 * 5));
    // The hold is waited as well: a cold start comes before the first reply.
    const held = benchmarkSpec(input(scaleToZero));
    if ("problems" in held) throw new Error("unexpected");
    expect(held.spec.activeDeadlineSeconds).toBeGreaterThan(held.spec.readyCheckSeconds + IMAGE_PULL_SECONDS);
  });

  it("defaults to four rounds per sequence slot, at least 32 requests", () => {
    expect(defaultNumPrompts(1)).toBe(32);
    expect(defaultNumPrompts(8)).toBe(32);
    expect(defaultNumPrompts(16)).toBe(64);
    expect(defaultNumPrompts(100)).toBe(400);
    expect(flag(benchmarkJobManifest(input(fixed, { numPrompts: 10 })).spec.template.spec.containers[0]!.args, "--num-prompts")).toBe("10");
  });

  it("refuses a count that is no whole number, naming it", () => {
    expect(benchmarkSpec(input(fixed, { numPrompts: 0 }))).toEqual({
      problems: [{ path: "numPrompts", message: "0 is not a whole number of requests of at least 1; give one such as 64, or leave it out" }],
    });
    expect(() => benchmarkJobManifest(input(fixed, { concurrency: 2.5 }))).toThrow(InputError);
  });

  it("counts the replicas up when the run starts: a replica added for its load would start only after it", () => {
    expect(benchmarkReplicas(fixed.scaling, 16)).toBe(1);
    const scaling = scaleToZero.scaling as Extract<ReplicaScaling, { mode: "autoscaled" }>;
    const per = scaling.sequencesPerReplica;
    // At zero, the held first request brings one replica.
    expect(benchmarkReplicas(scaling, 1)).toBe(1);
    expect(benchmarkReplicas(scaling, 100 * per)).toBe(1);
    expect(benchmarkReplicas({ ...scaling, minReplicas: 2 }, 100 * per)).toBe(2);
  });
});

describe("BenchmarkJob", () => {
  it("creates the Job as its child, without waiting for the run", async () => {
    const provider = new k8s.Provider("bench-cluster", { kubeconfig: "{}" });
    const job = new BenchmarkJob("assistant-bench", {
      provider,
      deployment: "assistant",
      plan: scaleToZero.plan,
      server: stackServer("assistant", scaleToZero.plan),
      concurrency: 16,
      scaling: scaleToZero.scaling,
      hasApiKey: true,
    });
    await settle();
    const inputs = one("kubernetes:batch/v1:Job", "assistant-bench-job").inputs;
    expect(inputs.metadata).toMatchObject({ name: "assistant-bench", namespace: "assistant-vllm", annotations: { "pulumi.com/skipAwait": "true" } });
    expect(inputs.spec.template.spec.containers[0].args).toEqual(benchmarkJobManifest(input(scaleToZero, { hasApiKey: true })).spec.template.spec.containers[0]!.args);
    expect(registeredUrns().some((u) => u.endsWith("llm-fleet:k8s:BenchmarkJob$kubernetes:batch/v1:Job::assistant-bench-job"))).toBe(true);
    expect(job.namespace).toBe("assistant-vllm");
    expect(recorded.filter((r) => r.type === "llm-fleet:k8s:BenchmarkJob")).toHaveLength(1);
  });

  it("refuses bad input before it registers anything", () => {
    const before = recorded.length;
    expect(
      () =>
        new BenchmarkJob("bad-bench", {
          provider: new k8s.Provider("bad-cluster", { kubeconfig: "{}" }),
          deployment: "assistant",
          plan: fixed.plan,
          server: stackServer("assistant", fixed.plan),
          concurrency: 0,
          scaling: fixed.scaling,
        }),
    ).toThrow(/concurrency: 0 is not a whole number of sequences/);
    // The provider registers; the component and its Job do not.
    expect(recorded.slice(before).filter((r) => r.name.startsWith("bad-bench"))).toEqual([]);
  });
});
