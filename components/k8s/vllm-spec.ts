/**
 * What a vLLM server on Kubernetes is, decided from a plan and the nodes it gets: pure
 * functions with no Pulumi import. VllmServer only turns a VllmServerSpec into objects.
 * Cloud-neutral: the nodes are described by their numbers, not by an EC2 type.
 */
import { GIB, INSTANCES, type InputProblem, type InstanceType, type Plan } from "../../sizing";

/** vLLM's OpenAI-compatible server port. */
export const VLLM_PORT = 8000;
export const MODEL_MOUNT = "/models";

/**
 * Image used to copy weights from S3 into the cache: the AWS CLI, pinned to a released tag.
 * `aws s3 sync` resumes an interrupted copy and skips files already present.
 */
export const AWS_CLI_IMAGE = "amazon/aws-cli:2.34.48";

/** The node a replica's pods run on. */
export interface NodeShape {
  gpus: number;
  vcpu: number;
  memoryGiB: number;
  /** EFA interfaces the pod may claim (`vpc.amazonaws.com/efa`); 0 without EFA. */
  efaInterfaces: number;
  /** Whether the weights fit on the node's striped local NVMe (an emptyDir lands there). */
  localNvmeForWeights: boolean;
}

/** A node shape from the AWS catalog, as GpuNodeGroup configures it. */
export function nodeShapeOf(instanceType: InstanceType, options: { efa: boolean; weightsOnInstanceStore: boolean }): NodeShape {
  const spec = INSTANCES[instanceType];
  return {
    gpus: spec.gpuCount,
    vcpu: spec.vcpu,
    memoryGiB: spec.memoryGiB,
    efaInterfaces: options.efa ? spec.efaInterfaces : 0,
    localNvmeForWeights: options.weightsOnInstanceStore,
  };
}

/**
 * Planning read and download rates, conservative on purpose: a startup probe that is too
 * short kills a pod half-way through loading.
 * - local NVMe: one instance-store drive streams about 2 GB/s; RAID 0 over several does more.
 * - a gp3 PVC at its 125 MiB/s baseline (https://docs.aws.amazon.com/ebs/latest/userguide/general-purpose.html).
 * - Hugging Face Hub and S3 downloads on a single stream per file.
 */
export const READ_MBPS = { "local-nvme": 2000, pvc: 131 } as const;
export const DOWNLOAD_MBPS = { hub: 100, s3: 200 } as const;
/** Engine start after the weights are in memory: CUDA graph capture, torch.compile, KV allocation. */
export const ENGINE_INIT_SECONDS = 600;
/** Margin on top of the estimate. */
export const STARTUP_SAFETY = 1.5;
export const STARTUP_PERIOD_SECONDS = 10;

export type CacheKind = keyof typeof READ_MBPS;
export type SourceKind = keyof typeof DOWNLOAD_MBPS;

/**
 * Seconds a pod may take to become healthy: the first download into an empty cache, the
 * read from the cache into GPU memory, and engine start, with a 50 % margin.
 */
export function startupBudgetSeconds(checkpointSizeGB: number, cache: CacheKind, source: SourceKind): number {
  const megabytes = checkpointSizeGB * 1000;
  const seconds = megabytes / DOWNLOAD_MBPS[source] + megabytes / READ_MBPS[cache] + ENGINE_INIT_SECONDS;
  return Math.ceil((seconds * STARTUP_SAFETY) / STARTUP_PERIOD_SECONDS) * STARTUP_PERIOD_SECONDS;
}

/** Time to finish a long generation before the pod is killed; a preStop pause first lets the Service stop routing to it. */
export const PRE_STOP_SECONDS = 15;
export const TERMINATION_GRACE_SECONDS = 300;

/** CPU and memory a pod may request: its GPU share of the node, less 10 % for the kubelet and system daemons. */
export function podRequests(node: NodeShape, gpusPerPod: number): { cpu: string; memory: string } {
  const share = (gpusPerPod / node.gpus) * 0.9;
  return { cpu: String(Math.max(1, Math.floor(node.vcpu * share))), memory: `${Math.max(1, Math.floor(node.memoryGiB * share))}Gi` };
}

/** `/dev/shm` for NCCL and PyTorch worker IPC: 4 GiB per GPU, 8 to 64 GiB. */
export function shmSizeGiB(gpusPerPod: number): number {
  return Math.min(64, Math.max(8, 4 * gpusPerPod));
}

const HUB_REPO = /^[A-Za-z0-9][\w.-]*\/[\w.-]+$/;
const S3_URI = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(\/[^\s]*)?$/;
const ROLE_ARN = /^arn:aws[a-z-]*:iam::\d{12}:role\/.+$/;

export interface VllmServerSpecInput {
  name: string;
  plan: Plan;
  node: NodeShape;
  /** A Hugging Face repo id (default: the plan's checkpoint) or an `s3://bucket/prefix` URI. */
  weights: string;
  /** Read access to an S3 source: an IAM role for the service account, or a bucket that grants the nodes. */
  s3Access?: { roleArn: string } | { bucketPolicy: true } | undefined;
  /** Cache size to use instead of the derived one. */
  cacheSizeGiB?: number | undefined;
  storageClassName?: string | undefined;
  hasHfToken: boolean;
  hasApiKey: boolean;
  requireApiKey: boolean;
  loadBalancer: { enabled: boolean; internal: boolean };
  serviceMonitor: boolean;
}

export interface ContainerSpec {
  name: string;
  image: string;
  command: string[];
  args: string[];
  env: { name: string; value?: string; valueFrom?: { secretKeyRef: { name: string; key: string } } }[];
  resources: { requests: Record<string, string>; limits: Record<string, string> };
}

export interface VllmServerSpec {
  kind: "Deployment" | "LeaderWorkerSet";
  replicas: number;
  /** Pods of one replica (LWS group size). */
  groupSize: number;
  gpusPerPod: number;
  efaPerPod: number;
  servedModelName: string;
  /** `vllm serve` arguments per role; `worker` only for a LeaderWorkerSet. */
  args: { leader: string[]; worker: string[] | null };
  env: ContainerSpec["env"];
  resources: ContainerSpec["resources"];
  cache: { kind: CacheKind; sizeGiB: number };
  source: { kind: SourceKind; uri: string; modelPath: string };
  /** The init container that fills the cache from S3; null for the Hub (vLLM downloads itself). */
  download: ContainerSpec | null;
  shmSizeGiB: number;
  startupProbe: { periodSeconds: number; failureThreshold: number; budgetSeconds: number };
  labels: Record<string, string>;
}

/** Every problem with the arguments, each with its property path and the fix. */
export function vllmServerProblems(input: VllmServerSpecInput): InputProblem[] {
  const problems: InputProblem[] = [];
  const { plan, node } = input;
  const gpusGiven = node.gpus * plan.nodesPerReplica;
  const gpusUsed = plan.tensorParallelSize * plan.pipelineParallelSize;
  if (plan.nodesPerReplica > 1 ? gpusUsed !== gpusGiven : gpusUsed > node.gpus || node.gpus % gpusUsed !== 0) {
    problems.push({
      path: "plan",
      message:
        `TP ${plan.tensorParallelSize} x PP ${plan.pipelineParallelSize} = ${gpusUsed} GPUs per replica, but the replica gets ` +
        `${plan.nodesPerReplica} node(s) of ${node.gpus} GPUs; plan for these nodes or give the nodes the plan was made for`,
    });
  }
  const s3 = S3_URI.exec(input.weights);
  if (!s3 && !HUB_REPO.test(input.weights)) {
    problems.push({
      path: "weights",
      message: `"${input.weights}" is neither a Hugging Face repo id (org/name) nor an s3://bucket/prefix URI`,
    });
  }
  if (s3 && input.s3Access === undefined) {
    problems.push({
      path: "s3Access",
      message: `reading ${input.weights} needs access: give { roleArn } for the service account, or { bucketPolicy: true } if the bucket grants the nodes`,
    });
  }
  if (input.s3Access && "roleArn" in input.s3Access && !ROLE_ARN.test(input.s3Access.roleArn)) {
    problems.push({ path: "s3Access.roleArn", message: `"${input.s3Access.roleArn}" is not an IAM role ARN (arn:aws:iam::<account>:role/<name>)` });
  }
  const neededGiB = cacheSizeGiB(plan.checkpoint.sizeOnDiskGB);
  if (input.cacheSizeGiB !== undefined && input.cacheSizeGiB * GIB < plan.checkpoint.sizeOnDiskGB * 1e9) {
    problems.push({
      path: "cacheSizeGiB",
      message: `${input.cacheSizeGiB} GiB cannot hold ${plan.checkpoint.repo} (${plan.checkpoint.sizeOnDiskGB} GB); give at least ${neededGiB} GiB or leave it unset`,
    });
  }
  if (input.requireApiKey && !input.hasApiKey) {
    problems.push({
      path: "apiKey",
      message: "this endpoint requires an API key: `pulumi config set --secret <key>` and pass it as apiKey",
    });
  }
  if (!/^[a-z0-9]([-a-z0-9]{0,40}[a-z0-9])?$/.test(input.name)) {
    problems.push({ path: "name", message: `"${input.name}" is not a DNS label of at most 42 characters (lower-case letters, digits, "-")` });
  }
  return problems;
}

/** Cache size for a checkpoint: the files and 20 % for partial downloads and tokenizer files. */
export function cacheSizeGiB(checkpointSizeGB: number): number {
  return Math.ceil((checkpointSizeGB * 1e9 * 1.2) / GIB);
}

export function vllmServerSpec(input: VllmServerSpecInput): { spec: VllmServerSpec } | { problems: InputProblem[] } {
  const problems = vllmServerProblems(input);
  if (problems.length > 0) return { problems };
  const { plan, node } = input;
  const multiNode = plan.nodesPerReplica > 1;
  const gpusPerPod = multiNode ? node.gpus : plan.tensorParallelSize * plan.pipelineParallelSize;
  // EFA interfaces are per node: only a pod that has the whole node claims them.
  const efaPerPod = gpusPerPod === node.gpus ? node.efaInterfaces : 0;
  const s3 = input.weights.startsWith("s3://");
  const cacheKind: CacheKind = node.localNvmeForWeights ? "local-nvme" : "pvc";
  const modelPath = s3 ? `${MODEL_MOUNT}/${plan.model}` : plan.checkpoint.repo;
  const source = { kind: (s3 ? "s3" : "hub") as SourceKind, uri: input.weights, modelPath };

  // The plan's arguments start with the model; an S3 checkpoint is served from its cache copy.
  const [, ...flags] = plan.vllmArgs;
  const common = [modelPath, ...flags, "--port", String(VLLM_PORT), ...(input.hasApiKey ? ["--api-key", "$(VLLM_API_KEY)"] : [])];
  // vLLM's LeaderWorkerSet recipe: every pod runs vllm serve; rank and leader come from LWS.
  const multiNodeFlags = ["--nnodes", "$(LWS_GROUP_SIZE)", "--node-rank", "$(LWS_WORKER_INDEX)", "--master-addr", "$(LWS_LEADER_ADDRESS)"];
  const args = multiNode ? { leader: [...common, ...multiNodeFlags], worker: [...common, ...multiNodeFlags, "--headless"] } : { leader: common, worker: null };

  const secretEnv = (name: string, secret: string) => ({ name, valueFrom: { secretKeyRef: { name: secret, key: "value" } } });
  const env: ContainerSpec["env"] = [
    // The Hub cache lives on the cache volume, so a restarted pod does not download again.
    { name: "HF_HOME", value: `${MODEL_MOUNT}/hf` },
    ...(input.hasHfToken ? [secretEnv("HF_TOKEN", `${input.name}-hf-token`)] : []),
    ...(input.hasApiKey ? [secretEnv("VLLM_API_KEY", `${input.name}-api-key`)] : []),
    ...(node.efaInterfaces > 0 && multiNode
      ? [
          // NCCL over EFA through the aws-ofi-nccl plugin in the image (https://github.com/aws/aws-ofi-nccl).
          { name: "FI_PROVIDER", value: "efa" },
          { name: "FI_EFA_USE_DEVICE_RDMA", value: "1" },
          { name: "NCCL_PROTO", value: "simple" },
        ]
      : []),
  ];
  const requests = podRequests(node, gpusPerPod);
  const accelerators: Record<string, string> = { "nvidia.com/gpu": String(gpusPerPod), ...(efaPerPod > 0 ? { "vpc.amazonaws.com/efa": String(efaPerPod) } : {}) };
  const budget = startupBudgetSeconds(plan.checkpoint.sizeOnDiskGB, cacheKind, source.kind);
  const download: ContainerSpec | null = s3
    ? {
        name: "download-weights",
        image: AWS_CLI_IMAGE,
        command: ["aws", "s3", "sync"],
        args: [input.weights, modelPath, "--no-progress"],
        env: [],
        resources: { requests: { cpu: "2", memory: "2Gi" }, limits: { memory: "4Gi" } },
      }
    : null;
  return {
    spec: {
      kind: multiNode ? "LeaderWorkerSet" : "Deployment",
      replicas: plan.replicas,
      groupSize: plan.nodesPerReplica,
      gpusPerPod,
      efaPerPod,
      servedModelName: plan.model,
      args,
      env,
      resources: { requests: { ...requests, ...accelerators }, limits: { ...accelerators } },
      cache: { kind: cacheKind, sizeGiB: input.cacheSizeGiB ?? cacheSizeGiB(plan.checkpoint.sizeOnDiskGB) },
      source,
      download,
      shmSizeGiB: shmSizeGiB(gpusPerPod),
      startupProbe: { periodSeconds: STARTUP_PERIOD_SECONDS, failureThreshold: budget / STARTUP_PERIOD_SECONDS, budgetSeconds: budget },
      labels: { "app.kubernetes.io/name": "vllm", "app.kubernetes.io/instance": input.name, "llm-fleet.dev/model": plan.model },
    },
  };
}
