import { describe, expect, it } from "vitest";
import {
  nodeShapeOf,
  podRequests,
  shmSizeGiB,
  startupBudgetSeconds,
  vllmServerProblems,
  vllmServerSpec,
  type VllmServerSpecInput,
} from "../../../components/k8s/vllm-spec";
import { planDeployment, type Plan } from "../../../sizing";

const distill = planDeployment({ model: "r1-distill-qwen-7b" }).plan!;
const r1OneNode = planDeployment({ model: "deepseek-r1", gpus: ["h200"] }).plan!;
const r1TwoNodes = planDeployment({ model: "deepseek-r1", gpus: ["h100"] }).plan!;

const input = (plan: Plan, extra: Partial<VllmServerSpecInput> = {}): VllmServerSpecInput => ({
  name: "r1",
  plan,
  node: nodeShapeOf(plan.instanceType, { efa: plan.nodesPerReplica > 1, weightsOnInstanceStore: true }),
  weights: plan.checkpoint.repo,
  hasHfToken: false,
  hasApiKey: false,
  requireApiKey: false,
  loadBalancer: { enabled: false, internal: true },
  serviceMonitor: false,
  ...extra,
});
const spec = (i: VllmServerSpecInput) => {
  const r = vllmServerSpec(i);
  if ("problems" in r) throw new Error(JSON.stringify(r.problems));
  return r.spec;
};

describe("startup budget", () => {
  it("covers the first download, the read from the cache and engine start, with 50 % to spare", () => {
    // 688.6 GB: 6,886 s from the Hub at 100 MB/s + 344 s from NVMe at 2 GB/s + 600 s, x 1.5 = 11,745 s -> 11,750.
    expect(startupBudgetSeconds(688.6, "local-nvme", "hub")).toBe(11_750);
    // From S3 at 200 MB/s: (3,443 + 344 + 600) x 1.5 = 6,580.5 -> 6,590.
    expect(startupBudgetSeconds(688.6, "local-nvme", "s3")).toBe(6_590);
    // 141 GB on a gp3 PVC: (1,410 + 1,076 + 600) x 1.5 = 4,629.9 -> 4,630.
    expect(startupBudgetSeconds(141, "pvc", "hub")).toBe(4_630);
  });
  it("becomes the startup probe's failure threshold at a 10 s period", () => {
    expect(spec(input(r1OneNode)).startupProbe).toEqual({ periodSeconds: 10, failureThreshold: 1175, budgetSeconds: 11_750 });
  });
});

describe("resources", () => {
  it("requests the pod's GPU share of the node's CPU and memory, less 10 %", () => {
    // g6.xlarge: 4 vCPU, 16 GiB, one GPU: floor(3.6) = 3, floor(14.4) = 14.
    expect(podRequests(nodeShapeOf("g6.xlarge", { efa: false, weightsOnInstanceStore: true }), 1)).toEqual({ cpu: "3", memory: "14Gi" });
    // p5.48xlarge: 192 vCPU, 2048 GiB, all 8 GPUs.
    expect(podRequests(nodeShapeOf("p5.48xlarge", { efa: true, weightsOnInstanceStore: true }), 8)).toEqual({ cpu: "172", memory: "1843Gi" });
  });
  it("claims EFA only with the whole node", () => {
    const s = spec(input(r1TwoNodes));
    expect(s.resources.limits).toEqual({ "nvidia.com/gpu": "8", "vpc.amazonaws.com/efa": "32" });
    expect(s.efaPerPod).toBe(32);
    expect(spec(input(distill)).resources.limits).toEqual({ "nvidia.com/gpu": "1" });
  });
  it("sizes /dev/shm at 4 GiB per GPU between 8 and 64 GiB", () => {
    expect([1, 4, 8, 32].map(shmSizeGiB)).toEqual([8, 16, 32, 64]);
  });
});

describe("arguments", () => {
  it("one node: the plan's arguments, the port, and the API key from the environment", () => {
    expect(spec(input(distill, { hasApiKey: true })).args).toEqual({
      leader: [...distill.vllmArgs, "--port", "8000", "--api-key", "$(VLLM_API_KEY)"],
      worker: null,
    });
  });
  it("two nodes: every pod runs vllm serve with its rank from LeaderWorkerSet; workers are headless", () => {
    const s = spec(input(r1TwoNodes));
    const multi = ["--nnodes", "$(LWS_GROUP_SIZE)", "--node-rank", "$(LWS_WORKER_INDEX)", "--master-addr", "$(LWS_LEADER_ADDRESS)"];
    expect(s.kind).toBe("LeaderWorkerSet");
    expect(s.groupSize).toBe(2);
    expect(s.args.leader).toEqual([...r1TwoNodes.vllmArgs, "--port", "8000", ...multi]);
    expect(s.args.worker).toEqual([...r1TwoNodes.vllmArgs, "--port", "8000", ...multi, "--headless"]);
  });
  it("serves an S3 checkpoint from its cache copy, filled by aws s3 sync", () => {
    const s = spec(input(r1OneNode, { weights: "s3://models-bucket/deepseek-r1/", s3Access: { roleArn: "arn:aws:iam::123456789012:role/weights-reader" } }));
    expect(s.args.leader[0]).toBe("/models/deepseek-r1");
    expect(s.download).toMatchObject({ image: "amazon/aws-cli:2.34.48", command: ["aws", "s3", "sync"], args: ["s3://models-bucket/deepseek-r1/", "/models/deepseek-r1", "--no-progress"] });
  });
  it("sets NCCL over EFA only for multi-node replicas with EFA", () => {
    expect(spec(input(r1TwoNodes)).env.map((e) => e.name)).toEqual(["HF_HOME", "FI_PROVIDER", "FI_EFA_USE_DEVICE_RDMA", "NCCL_PROTO"]);
    expect(spec(input(r1OneNode, { hasHfToken: true })).env).toEqual([
      { name: "HF_HOME", value: "/models/hf" },
      { name: "HF_TOKEN", valueFrom: { secretKeyRef: { name: "r1-hf-token", key: "value" } } },
    ]);
  });
});

describe("cache", () => {
  it("uses local NVMe where the node holds the weights, else a per-pod volume of the checkpoint plus 20 %", () => {
    expect(spec(input(r1OneNode)).cache).toEqual({ kind: "local-nvme", sizeGiB: Math.ceil((688.6e9 * 1.2) / 2 ** 30) });
    expect(spec(input(distill, { node: { ...nodeShapeOf("g6.xlarge", { efa: false, weightsOnInstanceStore: false }) } })).cache.kind).toBe("pvc");
  });
});

describe("validation", () => {
  it("a plan whose TP x PP does not match the GPUs given", () => {
    expect(vllmServerProblems(input(r1OneNode, { node: nodeShapeOf("g6.12xlarge", { efa: false, weightsOnInstanceStore: true }) }))).toEqual([
      {
        path: "plan",
        message: "TP 8 x PP 1 = 8 GPUs per replica, but the replica gets 1 node(s) of 4 GPUs; plan for these nodes or give the nodes the plan was made for",
      },
    ]);
  });
  it("a weights source that is neither a repo id nor an S3 URI, an S3 source without access, a small cache, a missing API key", () => {
    expect(vllmServerProblems(input(r1OneNode, { weights: "https://example.com/r1", cacheSizeGiB: 100, requireApiKey: true }))).toEqual([
      { path: "weights", message: '"https://example.com/r1" is neither a Hugging Face repo id (org/name) nor an s3://bucket/prefix URI' },
      { path: "cacheSizeGiB", message: "100 GiB cannot hold deepseek-ai/DeepSeek-R1 (688.6 GB); give at least 770 GiB or leave it unset" },
      { path: "apiKey", message: "this endpoint requires an API key: `pulumi config set --secret <key>` and pass it as apiKey" },
    ]);
    expect(vllmServerProblems(input(r1OneNode, { weights: "s3://bucket/r1" }))).toEqual([
      {
        path: "s3Access",
        message: "reading s3://bucket/r1 needs access: give { roleArn } for the service account, or { bucketPolicy: true } if the bucket grants the nodes",
      },
    ]);
  });
});
