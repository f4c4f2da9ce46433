import { describe, expect, it } from "vitest";
import {
  nodeShapeOf,
  S3_SYNC_SCRIPT,
  podRequests,
  rolloutBudgetSeconds,
  shmSizeGiB,
  startupBudgetSeconds,
  vllmServerProblems,
  vllmServerSpec,
  type VllmServerSpecInput,
} from "../../../components/k8s/vllm-spec";
import { VLLM_SERVE_FLAGS, planDeployment, type Plan } from "../../../sizing";

const distill = planDeployment({ model: "r1-distill-qwen-7b" }).plan!;
const r1OneNode = planDeployment({ model: "deepseek-r1", gpus: ["h200"] }).plan!;
const r1TwoNodes = planDeployment({ model: "deepseek-r1", gpus: ["h100"] }).plan!;

const input = (plan: Plan, extra: Partial<VllmServerSpecInput> = {}): VllmServerSpecInput => ({
  name: "r1",
  plan,
  node: nodeShapeOf(plan.instanceType, { efa: plan.nodesPerReplica > 1, weightsOnInstanceStore: true }),
  weights: plan.checkpoint.repo,
  awsRegion: "us-east-1",
  hasHfToken: false,
  hasApiKey: false,
  requireApiKey: false,
  loadBalancer: { enabled: false, internal: true },
  serviceMonitor: false,
  image: "vllm/vllm-openai:v0.33.0",
  ...extra,
});
const spec = (i: VllmServerSpecInput) => {
  const r = vllmServerSpec(i);
  if ("problems" in r) throw new Error(JSON.stringify(r.problems));
  return r.spec;
};

describe("startup budget", () => {
  it("covers vLLM's own download from the Hub, the read from the cache and engine start, with 50 % to spare", () => {
    // 688.6 GB: 6,886 s from the Hub at 100 MB/s + 344 s from NVMe at 2 GB/s + 600 s, x 1.5 = 11,745 s -> 11,750.
    expect(startupBudgetSeconds(688.6, "local-nvme", "hub")).toBe(11_750);
    // 141 GB on a gp3 PVC: (1,410 + 1,076 + 600) x 1.5 = 4,629.9 -> 4,630.
    expect(startupBudgetSeconds(141, "pvc", "hub")).toBe(4_630);
  });
  it("leaves an S3 copy to the init container, and counts it in how long pulumi up waits", () => {
    // (344 + 600) x 1.5 = 1,416.5 -> 1,420: the probe starts once the copy is done.
    expect(startupBudgetSeconds(688.6, "local-nvme", "s3")).toBe(1_420);
    // The copy: 688,600 MB at 64 parts x 12.5 MB/s = 861 s, x 1.5 = 1,292 s; plus the probe budget
    // and 900 s for scheduling and the image.
    expect(rolloutBudgetSeconds(688.6, "local-nvme", "s3")).toBe(1_292 + 1_420 + 900);
    expect(rolloutBudgetSeconds(15.2, "local-nvme", "hub")).toBe(1_140 + 900);
  });
  it("becomes the startup probe's failure threshold at a 10 s period", () => {
    expect(spec(input(r1OneNode)).startupProbe).toEqual({ periodSeconds: 10, failureThreshold: 1175, budgetSeconds: 11_750 });
  });
});

describe("resources", () => {
  it("requests the pod's GPU share of the node's CPU and memory, less 10 % and 2 GiB for the kubelet", () => {
    // g6.xlarge: 4 vCPU, 16 GiB, one GPU: floor(3.6) = 3, floor(14.4) - 2 = 12.
    expect(podRequests(nodeShapeOf("g6.xlarge", { efa: false, weightsOnInstanceStore: true }), 1)).toEqual({ cpu: "3", memory: "12Gi" });
    // p5.48xlarge: 192 vCPU, 2048 GiB, all 8 GPUs; half of a g6.12xlarge for a TP-2 replica.
    expect(podRequests(nodeShapeOf("p5.48xlarge", { efa: true, weightsOnInstanceStore: true }), 8)).toEqual({ cpu: "172", memory: "1841Gi" });
    expect(podRequests(nodeShapeOf("g6.12xlarge", { efa: false, weightsOnInstanceStore: true }), 2)).toEqual({ cpu: "21", memory: "84Gi" });
  });
  it("claims EFA only for replicas that span nodes", () => {
    const s = spec(input(r1TwoNodes));
    expect(s.resources.limits).toEqual({ "nvidia.com/gpu": "8", "vpc.amazonaws.com/efa": "32" });
    expect(s.efaPerPod).toBe(32);
    expect(s.efaWithoutPlugin).toBe(true);
    expect(spec(input(r1TwoNodes, { image: "registry.example.com/vllm-efa:0.33.0" })).efaWithoutPlugin).toBe(false);
    // A single-node replica on an EFA node needs no network between nodes.
    expect(spec(input(r1OneNode, { node: nodeShapeOf("p5en.48xlarge", { efa: true, weightsOnInstanceStore: true }) })).resources.limits).toEqual({ "nvidia.com/gpu": "8" });
  });
  it("sizes /dev/shm at 4 GiB per GPU between 8 and 64 GiB", () => {
    expect([1, 4, 8, 32].map(shmSizeGiB)).toEqual([8, 16, 32, 64]);
  });
});

describe("arguments", () => {
  it("one node: the plan's arguments and the port; the API key only in the environment", () => {
    const s = spec(input(distill, { hasApiKey: true }));
    expect(s.args).toEqual({ leader: [...distill.vllmArgs, "--port", "8000"], worker: null });
    expect(s.env).toContainEqual({ name: "VLLM_API_KEY", valueFrom: { secretKeyRef: { name: "r1-api-key", key: "value" } } });
  });
  it("emits only flags of the pinned vLLM release", () => {
    for (const plan of [distill, r1OneNode, r1TwoNodes]) {
      const s = spec(input(plan));
      for (const arg of [...s.args.leader, ...(s.args.worker ?? [])].filter((a) => a.startsWith("--"))) {
        expect(VLLM_SERVE_FLAGS as readonly string[]).toContain(arg);
      }
    }
  });
  it("two nodes: every pod runs vllm serve with its rank from LeaderWorkerSet; workers are headless", () => {
    const s = spec(input(r1TwoNodes));
    const multi = ["--nnodes", "$(LWS_GROUP_SIZE)", "--node-rank", "$(LWS_WORKER_INDEX)", "--master-addr", "$(LWS_LEADER_ADDRESS)"];
    expect(s.kind).toBe("LeaderWorkerSet");
    expect(s.groupSize).toBe(2);
    expect(s.args.leader).toEqual([...r1TwoNodes.vllmArgs, "--port", "8000", ...multi]);
    expect(s.args.worker).toEqual([...r1TwoNodes.vllmArgs, "--port", "8000", ...multi, "--headless"]);
  });
  it("TP 16 over the two nodes' GPUs: the same group of 2, one TP group across them", () => {
    const args = r1TwoNodes.vllmArgs.filter((a, i, all) => a !== "--pipeline-parallel-size" && all[i - 1] !== "--pipeline-parallel-size");
    args[args.indexOf("--tensor-parallel-size") + 1] = "16";
    const tp16: Plan = { ...r1TwoNodes, tensorParallelSize: 16, pipelineParallelSize: 1, vllmArgs: args };
    expect(vllmServerProblems(input(tp16))).toEqual([]);
    const s = spec(input(tp16));
    expect(s.groupSize).toBe(2);
    expect(s.args.leader.slice(0, 5)).toEqual(["deepseek-ai/DeepSeek-R1", "--served-model-name", "deepseek-r1", "--tensor-parallel-size", "16"]);
    expect(s.args.leader).not.toContain("--pipeline-parallel-size");
  });
  it("serves an S3 checkpoint from its cache copy, filled by aws s3 sync", () => {
    const s = spec(input(r1OneNode, { weights: "s3://models-bucket/deepseek-r1/", s3Access: { roleArn: "arn:aws:iam::123456789012:role/weights-reader" } }));
    expect(s.args.leader[0]).toBe("/models/deepseek-r1");
    expect(s.download).toMatchObject({
      image: "amazon/aws-cli:2.34.48",
      command: ["sh", "-c", S3_SYNC_SCRIPT],
      args: ["s3-sync", "s3://models-bucket/deepseek-r1/", "/models/deepseek-r1", "--no-progress"],
      env: [{ name: "AWS_REGION", value: "us-east-1" }],
    });
    expect(S3_SYNC_SCRIPT).toContain("max_concurrent_requests 64");
    const open = spec(input(r1OneNode, { weights: "s3://models-bucket/deepseek-r1/", s3Access: { bucketPolicy: true } }));
    expect(open.download?.args.at(-1)).toBe("--no-sign-request");
  });
  it("sets NCCL over EFA only for multi-node replicas with EFA", () => {
    expect(spec(input(r1TwoNodes)).env.map((e) => e.name)).toEqual(["HF_HOME", "FI_PROVIDER", "FI_EFA_USE_DEVICE_RDMA"]);
  });
  it("asks libfabric for RDMA read only on EFA devices that have it", () => {
    // A g6e.48xlarge pair with EFA: no RDMA read on its devices, so libfabric must not be told to use it.
    const g6e = { ...r1TwoNodes, instanceType: "g6e.48xlarge" as const, gpu: "l40s" as const };
    const env = spec(input(g6e, { node: nodeShapeOf("g6e.48xlarge", { efa: true, weightsOnInstanceStore: true }) })).env;
    expect(env.map((e) => e.name)).toEqual(["HF_HOME", "FI_PROVIDER"]);
    expect(nodeShapeOf("g5.48xlarge", { efa: true, weightsOnInstanceStore: true }).efaRdmaRead).toBe(false);
    expect(nodeShapeOf("p5en.48xlarge", { efa: true, weightsOnInstanceStore: true }).efaRdmaRead).toBe(true);
    expect(nodeShapeOf("p5en.48xlarge", { efa: false, weightsOnInstanceStore: true }).efaRdmaRead).toBe(false);
    expect(spec(input(r1OneNode, { hasHfToken: true })).env).toEqual([
      { name: "HF_HOME", value: "/models/hf" },
      { name: "HF_TOKEN", valueFrom: { secretKeyRef: { name: "r1-hf-token", key: "value" } } },
    ]);
  });
});

describe("cache", () => {
  it("keeps the cache on the NVMe array's host path on AL2023, so a recreated pod finds it", () => {
    expect(spec(input(r1OneNode)).cache).toEqual({
      kind: "local-nvme",
      sizeGiB: Math.ceil((688.6e9 * 1.2) / 2 ** 30),
      volume: { type: "hostPath", path: "/mnt/k8s-disks/0/llm-fleet-models" },
    });
  });
  it("falls back to an emptyDir on Bottlerocket, and to a per-pod volume without local NVMe", () => {
    const rocket = nodeShapeOf("p5en.48xlarge", { efa: false, weightsOnInstanceStore: true, amiFamily: "bottlerocket" });
    expect(spec(input(r1OneNode, { node: rocket })).cache.volume).toEqual({ type: "emptyDir", sizeGiB: 770 });
    const small = nodeShapeOf("g6.xlarge", { efa: false, weightsOnInstanceStore: false });
    expect(spec(input(distill, { node: small, storageClassName: "gp3" })).cache).toEqual({
      kind: "pvc",
      sizeGiB: 17,
      volume: { type: "ephemeral", sizeGiB: 17, storageClassName: "gp3" },
    });
  });
});

describe("names", () => {
  it("keeps the LeaderWorkerSet's name free for the headless Service LWS creates", () => {
    expect(spec(input(r1TwoNodes)).names).toEqual({
      workload: "r1",
      apiService: "r1-api",
      entryService: "r1-entry",
      loadBalancer: "r1-lb",
      hfTokenSecret: "r1-hf-token",
      apiKeySecret: "r1-api-key",
    });
  });
});

describe("validation", () => {
  it("a multi-node plan that needs more GPUs than the nodes have, and a TP that does not divide the node", () => {
    expect(vllmServerProblems(input(r1TwoNodes, { node: nodeShapeOf("p4d.24xlarge", { efa: true, weightsOnInstanceStore: true }) }))).toEqual([]);
    expect(vllmServerProblems(input({ ...r1TwoNodes, pipelineParallelSize: 3 }))[0]?.message).toContain("TP 8 x PP 3 = 24 GPUs per replica, but the replica gets 2 node(s) of 8 GPUs");
    expect(vllmServerProblems(input({ ...distill, tensorParallelSize: 3 }, { node: nodeShapeOf("g6.12xlarge", { efa: false, weightsOnInstanceStore: true }) }))[0]?.path).toBe("plan");
  });
  it("names that are not DNS-1035 labels, or would collide with vLLM's settings", () => {
    expect(vllmServerProblems(input(distill, { name: "7b" }))[0]?.path).toBe("name");
    expect(vllmServerProblems(input(distill, { name: "vllm" }))[0]?.message).toContain('other than "vllm"');
  });
  it("an S3 role that is not a role ARN, and nodes without NVMe but no storage class", () => {
    expect(vllmServerProblems(input(r1OneNode, { weights: "s3://bucket/r1", s3Access: { roleArn: "reader" } }))).toEqual([
      { path: "s3Access.roleArn", message: '"reader" is not an IAM role ARN (arn:aws:iam::<account>:role/<name>)' },
    ]);
    expect(vllmServerProblems(input(r1OneNode, { weights: "s3://bucket/r1", s3Access: { bucketPolicy: true }, awsRegion: undefined }))).toEqual([
      { path: "cluster", message: "copying s3://bucket/r1 needs the cluster and its region: pass cluster: { clusterName, region } (ModelDeployment does)" },
    ]);
    expect(vllmServerProblems(input(distill, { node: nodeShapeOf("g6.xlarge", { efa: false, weightsOnInstanceStore: false }) }))).toEqual([
      {
        path: "storageClassName",
        message: "these nodes have no local NVMe for the weights, so each pod gets a volume: name its storageClassName (gp3 of the EBS CSI driver on EKS)",
      },
    ]);
  });
  it("a plan whose TP x PP does not match the GPUs given", () => {
    expect(vllmServerProblems(input(r1OneNode, { node: nodeShapeOf("g6.12xlarge", { efa: false, weightsOnInstanceStore: true }) }))).toEqual([
      {
        path: "plan",
        message: "TP 8 x PP 1 = 8 GPUs per replica, but the replica gets 1 node(s) of 4 GPUs; plan for these nodes or give the nodes the plan was made for",
      },
    ]);
  });
  it("a weights source that is neither a repo id nor an S3 URI, an S3 source without access, a small cache, a missing API key", () => {
    expect(vllmServerProblems(input(r1OneNode, { weights: "https://example.com/r1", cacheSizeGiB: 642, requireApiKey: true }))).toEqual([
      { path: "weights", message: '"https://example.com/r1" is neither a Hugging Face repo id (org/name) nor an s3://bucket/prefix URI' },
      {
        path: "cacheSizeGiB",
        message: "642 GiB cannot hold deepseek-ai/DeepSeek-R1 (688.6 GB) with room for partial files; give at least 706 GiB (770 by default) or leave it unset",
      },
      { path: "apiKey", message: "this endpoint requires an API key: `pulumi config set --secret <key>` and pass it as apiKey" },
    ]);
    expect(vllmServerProblems(input(r1OneNode, { cacheSizeGiB: 706 }))).toEqual([]);
    expect(vllmServerProblems(input(r1OneNode, { weights: "s3://bucket/r1" }))).toEqual([
      {
        path: "s3Access",
        message: "reading s3://bucket/r1 needs access: give { roleArn } for the service account, or { bucketPolicy: true } if the bucket grants the nodes",
      },
    ]);
  });
});
