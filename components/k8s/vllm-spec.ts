/**
 * What a vLLM server on Kubernetes is, decided from a plan and the nodes it gets: pure
 * functions with no Pulumi import. VllmServer only turns a VllmServerSpec into objects.
 * Cloud-neutral: the nodes are described by their numbers, not by an EC2 type.
 */
import { EFA_RDMA_READ, GIB, INSTANCES, VLLM_IMAGE, familyOf, type InputProblem, type InstanceType, type Plan } from "../../sizing";

/** vLLM's OpenAI-compatible server port. */
export const VLLM_PORT = 8000;
export const MODEL_MOUNT = "/models";
/** The key under which llm-fleet's Secrets keep their value. */
export const SECRET_KEY = "value";

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
  /** Whether those EFA devices support RDMA read (sizing/catalog EFA_RDMA_READ). */
  efaRdmaRead: boolean;
  /** Whether the weights fit on the node's striped local NVMe. */
  localNvmeForWeights: boolean;
  /**
   * A host directory on that NVMe where the cache outlives the pod (a restarted LWS group
   * does not download 700 GB again); null puts the cache in an emptyDir, lost with the pod.
   */
  localCachePath: string | null;
}

/**
 * Where AL2023's nodeadm mounts the striped instance store
 * (https://awslabs.github.io/amazon-eks-ami/nodeadm/doc/api/#localstorageoptions).
 * Bottlerocket mounts its array for its own bind mounts only, so it gets an emptyDir.
 */
export const AL2023_INSTANCE_STORE_MOUNT = "/mnt/k8s-disks/0";

/** A node shape from the AWS catalog, as GpuNodeGroup configures it. */
export function nodeShapeOf(
  instanceType: InstanceType,
  options: { efa: boolean; weightsOnInstanceStore: boolean; amiFamily?: "al2023" | "bottlerocket" },
): NodeShape {
  const spec = INSTANCES[instanceType];
  const al2023 = (options.amiFamily ?? "al2023") === "al2023";
  return {
    gpus: spec.gpuCount,
    vcpu: spec.vcpu,
    memoryGiB: spec.memoryGiB,
    efaInterfaces: options.efa ? spec.efaInterfaces : 0,
    efaRdmaRead: options.efa && EFA_RDMA_READ[familyOf(instanceType)],
    localNvmeForWeights: options.weightsOnInstanceStore,
    localCachePath: options.weightsOnInstanceStore && al2023 ? `${AL2023_INSTANCE_STORE_MOUNT}/llm-fleet-models` : null,
  };
}

/**
 * Planning read and download rates, conservative on purpose: a startup probe that is too
 * short kills a pod half-way through loading.
 * - local NVMe: one instance-store drive streams about 2 GB/s; RAID 0 over several does more.
 * - a gp3 PVC at its 125 MiB/s baseline (https://docs.aws.amazon.com/ebs/latest/userguide/general-purpose.html).
 */
export const READ_MBPS = { "local-nvme": 2000, pvc: 131 } as const;
/**
 * The Hub on a single stream per file; S3 with S3_CONCURRENT_REQUESTS parts in flight, planned
 * at 12.5 MB/s each, well under the 85-90 MB/s per connection S3's performance guide quotes
 * (https://docs.aws.amazon.com/AmazonS3/latest/userguide/optimizing-performance-design-patterns.html).
 */
export const S3_CONCURRENT_REQUESTS = 64;
export const DOWNLOAD_MBPS = { hub: 100, s3: S3_CONCURRENT_REQUESTS * 12.5 } as const;

/**
 * `aws s3 sync` with S3_CONCURRENT_REQUESTS parallel 64 MB parts (the CLI's s3 settings,
 * https://docs.aws.amazon.com/cli/latest/topic/s3-config.html); its arguments follow as "$@".
 */
export const S3_SYNC_SCRIPT =
  `aws configure set default.s3.max_concurrent_requests ${S3_CONCURRENT_REQUESTS} && ` +
  'aws configure set default.s3.multipart_chunksize 64MB && exec aws s3 sync "$@"';
/** Engine start after the weights are in memory: CUDA graph capture, torch.compile, KV allocation. */
export const ENGINE_INIT_SECONDS = 600;
/** Margin on top of the estimate. */
export const STARTUP_SAFETY = 1.5;
export const STARTUP_PERIOD_SECONDS = 10;

export type CacheKind = keyof typeof READ_MBPS;
export type SourceKind = keyof typeof DOWNLOAD_MBPS;

/** Where weights named like this come from: an `s3://` URI, or the Hub. */
export function weightsSourceOf(weights: string | undefined): SourceKind {
  return weights?.startsWith("s3://") ? "s3" : "hub";
}

/**
 * Seconds the vLLM container may take to become healthy: the read from the cache into GPU
 * memory and engine start, plus, for the Hub, the first download that vLLM itself does
 * into an empty cache; with a 50 % margin. An S3 copy happens before, in the init
 * container, and is not counted here.
 */
export function startupBudgetSeconds(checkpointSizeGB: number, cache: CacheKind, source: SourceKind): number {
  const megabytes = checkpointSizeGB * 1000;
  const download = source === "hub" ? megabytes / DOWNLOAD_MBPS.hub : 0;
  const seconds = download + megabytes / READ_MBPS[cache] + ENGINE_INIT_SECONDS;
  return Math.ceil((seconds * STARTUP_SAFETY) / STARTUP_PERIOD_SECONDS) * STARTUP_PERIOD_SECONDS;
}

/** Seconds for the whole rollout of a pod, S3 copy included: how long `pulumi up` waits for it. */
export function rolloutBudgetSeconds(checkpointSizeGB: number, cache: CacheKind, source: SourceKind): number {
  const copy = source === "s3" ? Math.ceil(((checkpointSizeGB * 1000) / DOWNLOAD_MBPS.s3) * STARTUP_SAFETY) : 0;
  // Scheduling, image pull (about 10 GB for the vLLM image) and node start when scaling from zero.
  return copy + startupBudgetSeconds(checkpointSizeGB, cache, source) + 900;
}

/**
 * A managed node group's new node, from the scale-up to Ready: EC2 launch, the GPU AMI's boot
 * and the kubelet joining, 3-5 minutes by AWS's own account
 * (https://docs.aws.amazon.com/eks/latest/userguide/create-managed-node-group.html).
 */
export const NODE_LAUNCH_SECONDS = 240;
/**
 * The vLLM image is about 10 GB compressed; a pull on a fresh node downloads and unpacks it, at
 * a planned 70 MB/s for both together (unpacking one layer at a time is the slow part).
 */
export const IMAGE_PULL_SECONDS = Math.ceil(10_000 / 70);
/**
 * Expected engine start once the weights are read: torch.compile on an empty compile cache, CUDA
 * graph capture and KV allocation take tens of seconds to two minutes in V1 logs (for example
 * "init engine (profile, create kv cache, warmup model) took 52.96 seconds",
 * vllm-project/vllm-ascend#3045). ENGINE_INIT_SECONDS stays the probe's ceiling.
 */
export const ENGINE_INIT_EXPECTED_SECONDS = 120;

/** What a replica's first start on a new node costs, step by step; a prediction, not a budget. */
export interface ColdStart {
  nodeLaunchSeconds: number;
  imagePullSeconds: number;
  /** The copy into an empty cache: by vLLM from the Hub, or by the init container from S3. */
  downloadSeconds: number;
  /** Reading the weights from the cache into GPU memory. */
  loadSeconds: number;
  engineInitSeconds: number;
  totalSeconds: number;
}

/**
 * The time from a scale-up that needs a new node to a replica that answers: what a request
 * held while scaling from zero waits. The node's cache is empty, so the weights are downloaded.
 */
export function coldStart(checkpointSizeGB: number, cache: CacheKind, source: SourceKind, needsNode = true): ColdStart {
  const megabytes = checkpointSizeGB * 1000;
  const parts = {
    nodeLaunchSeconds: needsNode ? NODE_LAUNCH_SECONDS : 0,
    imagePullSeconds: needsNode ? IMAGE_PULL_SECONDS : 0,
    downloadSeconds: Math.ceil(megabytes / DOWNLOAD_MBPS[source]),
    loadSeconds: Math.ceil(megabytes / READ_MBPS[cache]),
    engineInitSeconds: ENGINE_INIT_EXPECTED_SECONDS,
  };
  return { ...parts, totalSeconds: Object.values(parts).reduce((a, b) => a + b, 0) };
}

/** Time to finish a long generation before the pod is killed; a preStop pause first lets the Service stop routing to it. */
export const PRE_STOP_SECONDS = 15;
export const TERMINATION_GRACE_SECONDS = 300;

/**
 * CPU and memory a pod may request: its GPU share of the node, less 10 % and, for memory,
 * 2 GiB more for the kubelet's reservation, eviction threshold and DaemonSets.
 */
export function podRequests(node: NodeShape, gpusPerPod: number): { cpu: string; memory: string } {
  const share = (gpusPerPod / node.gpus) * 0.9;
  return {
    cpu: String(Math.max(1, Math.floor(node.vcpu * share))),
    memory: `${Math.max(1, Math.floor(node.memoryGiB * share) - 2)}Gi`,
  };
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
  /**
   * Read access to an S3 source: an IAM role for the service account, or a bucket policy
   * that grants reads without credentials (to the VPC endpoint, say). Node credentials are
   * out of reach: IMDS allows one hop.
   */
  s3Access?: { roleArn: string } | { bucketPolicy: true } | undefined;
  /** Region for the S3 copy (`AWS_REGION`); required for an S3 source. */
  awsRegion?: string | undefined;
  /** Cache size to use instead of the derived one. */
  cacheSizeGiB?: number | undefined;
  storageClassName?: string | undefined;
  hasHfToken: boolean;
  hasApiKey: boolean;
  requireApiKey: boolean;
  loadBalancer: { enabled: boolean; internal: boolean };
  serviceMonitor: boolean;
  /** The vLLM image; an EFA replica needs one with the aws-ofi-nccl plugin. */
  image: string;
}

export interface ContainerSpec {
  name: string;
  image: string;
  command: string[];
  args: string[];
  env: { name: string; value?: string; valueFrom?: { secretKeyRef: { name: string; key: string } } }[];
  resources: { requests: Record<string, string>; limits: Record<string, string> };
}

/** The weights cache of one pod. */
export type CacheVolume =
  | { type: "hostPath"; path: string }
  | { type: "emptyDir"; sizeGiB: number }
  | { type: "ephemeral"; sizeGiB: number; storageClassName: string };

export interface VllmServerSpec {
  kind: "Deployment" | "LeaderWorkerSet";
  image: string;
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
  cache: { kind: CacheKind; sizeGiB: number; volume: CacheVolume };
  source: { kind: SourceKind; uri: string; modelPath: string };
  /** The init container that fills the cache from S3; null for the Hub (vLLM downloads itself). */
  download: ContainerSpec | null;
  shmSizeGiB: number;
  startupProbe: { periodSeconds: number; failureThreshold: number; budgetSeconds: number };
  /** How long `pulumi up` waits for the workload and its Service. */
  rolloutBudgetSeconds: number;
  /** A replica's predicted first start on a new node, as scaling from zero sees it. */
  coldStart: ColdStart;
  labels: Record<string, string>;
  /**
   * Object names: the API Service must not take the LeaderWorkerSet's name, which LWS gives its
   * headless Service; `entryService` is what clients of a scale-to-zero deployment call.
   */
  names: { workload: string; apiService: string; entryService: string; loadBalancer: string; hfTokenSecret: string; apiKeySecret: string };
  loadBalancer: { internal: boolean } | null;
  serviceMonitor: boolean;
  /** The stock image has no EFA plugin for NCCL: it then falls back to TCP sockets. */
  efaWithoutPlugin: boolean;
}

/** Every problem with the arguments, each with its property path and the fix. */
export function vllmServerProblems(input: VllmServerSpecInput): InputProblem[] {
  const problems: InputProblem[] = [];
  const { plan, node } = input;
  const gpusGiven = node.gpus * plan.nodesPerReplica;
  const gpusUsed = plan.tensorParallelSize * plan.pipelineParallelSize * plan.dataParallelSize;
  if (plan.nodesPerReplica > 1 ? gpusUsed !== gpusGiven : gpusUsed > node.gpus || node.gpus % gpusUsed !== 0) {
    const dp = plan.dataParallelSize > 1 ? ` x DP ${plan.dataParallelSize}` : "";
    problems.push({
      path: "plan",
      message:
        `TP ${plan.tensorParallelSize} x PP ${plan.pipelineParallelSize}${dp} = ${gpusUsed} GPUs per replica, but the replica gets ` +
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
  if (s3 && input.awsRegion === undefined) {
    problems.push({
      path: "cluster",
      message: `copying ${input.weights} needs the cluster and its region: pass cluster: { clusterName, region } (ModelDeployment does)`,
    });
  }
  if (input.s3Access && "roleArn" in input.s3Access && !ROLE_ARN.test(input.s3Access.roleArn)) {
    problems.push({ path: "s3Access.roleArn", message: `"${input.s3Access.roleArn}" is not an IAM role ARN (arn:aws:iam::<account>:role/<name>)` });
  }
  const neededGiB = cacheSizeGiB(plan.checkpoint.sizeOnDiskGB);
  const minimumGiB = Math.ceil((plan.checkpoint.sizeOnDiskGB * 1e9 * 1.1) / GIB);
  // An emptyDir or volume filled past its size gets the pod evicted: keep room for partial files.
  if (input.cacheSizeGiB !== undefined && input.cacheSizeGiB < minimumGiB) {
    problems.push({
      path: "cacheSizeGiB",
      message: `${input.cacheSizeGiB} GiB cannot hold ${plan.checkpoint.repo} (${plan.checkpoint.sizeOnDiskGB} GB) with room for partial files; give at least ${minimumGiB} GiB (${neededGiB} by default) or leave it unset`,
    });
  }
  if (!node.localNvmeForWeights && input.storageClassName === undefined) {
    problems.push({
      path: "storageClassName",
      message: "these nodes have no local NVMe for the weights, so each pod gets a volume: name its storageClassName (gp3 of the EBS CSI driver on EKS)",
    });
  }
  if (input.requireApiKey && !input.hasApiKey) {
    problems.push({
      path: "apiKey",
      message: "this endpoint requires an API key: `pulumi config set --secret <key>` and pass it as apiKey",
    });
  }
  // DNS-1035: Service names start with a letter. "vllm" itself would make Kubernetes inject
  // VLLM_PORT=tcp://... into the pods, which vLLM reads as its own setting.
  if (!/^[a-z]([-a-z0-9]{0,40}[a-z0-9])?$/.test(input.name) || input.name === "vllm") {
    problems.push({
      path: "name",
      message: `"${input.name}" is not a DNS-1035 label of at most 42 characters (a lower-case letter first, then letters, digits, "-"), other than "vllm"`,
    });
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
  const gpusPerPod = multiNode ? node.gpus : plan.tensorParallelSize * plan.pipelineParallelSize * plan.dataParallelSize;
  // EFA interfaces are per node and only carry traffic between nodes: multi-node pods claim them all.
  const efaPerPod = multiNode ? node.efaInterfaces : 0;
  const s3 = weightsSourceOf(input.weights) === "s3";
  const cacheKind: CacheKind = node.localNvmeForWeights ? "local-nvme" : "pvc";
  const modelPath = s3 ? `${MODEL_MOUNT}/${plan.model}` : plan.checkpoint.repo;
  const source = { kind: (s3 ? "s3" : "hub") as SourceKind, uri: input.weights, modelPath };

  // The plan's arguments start with the model; an S3 checkpoint is served from its cache copy.
  const [, ...flags] = plan.vllmArgs;
  // The API key reaches vLLM as VLLM_API_KEY, which it reads in place of --api-key, so the key is
  // on neither the command line nor vLLM's log of its arguments.
  const common = [modelPath, ...flags, "--port", String(VLLM_PORT)];
  // vLLM's LeaderWorkerSet recipe: every pod runs vllm serve; rank and leader come from LWS.
  const multiNodeFlags = ["--nnodes", "$(LWS_GROUP_SIZE)", "--node-rank", "$(LWS_WORKER_INDEX)", "--master-addr", "$(LWS_LEADER_ADDRESS)"];
  const args = multiNode ? { leader: [...common, ...multiNodeFlags], worker: [...common, ...multiNodeFlags, "--headless"] } : { leader: common, worker: null };

  const names = {
    workload: input.name,
    apiService: `${input.name}-api`,
    entryService: `${input.name}-entry`,
    loadBalancer: `${input.name}-lb`,
    hfTokenSecret: `${input.name}-hf-token`,
    apiKeySecret: `${input.name}-api-key`,
  };
  const secretEnv = (name: string, secret: string) => ({ name, valueFrom: { secretKeyRef: { name: secret, key: SECRET_KEY } } });
  const env: ContainerSpec["env"] = [
    // The Hub cache lives on the cache volume, so a restarted pod does not download again.
    { name: "HF_HOME", value: `${MODEL_MOUNT}/hf` },
    ...(input.hasHfToken ? [secretEnv("HF_TOKEN", names.hfTokenSecret)] : []),
    ...(input.hasApiKey ? [secretEnv("VLLM_API_KEY", names.apiKeySecret)] : []),
    ...(efaPerPod > 0
      ? [
          // NCCL over EFA through the aws-ofi-nccl plugin (https://github.com/aws/aws-ofi-nccl).
          { name: "FI_PROVIDER", value: "efa" },
          // Only where the devices have RDMA read: libfabric aborts on those without it (g5, g6, g6e, g7e).
          ...(node.efaRdmaRead ? [{ name: "FI_EFA_USE_DEVICE_RDMA", value: "1" }] : []),
        ]
      : []),
  ];
  const requests = podRequests(node, gpusPerPod);
  const accelerators: Record<string, string> = { "nvidia.com/gpu": String(gpusPerPod), ...(efaPerPod > 0 ? { "vpc.amazonaws.com/efa": String(efaPerPod) } : {}) };
  const budget = startupBudgetSeconds(plan.checkpoint.sizeOnDiskGB, cacheKind, source.kind);
  const anonymous = input.s3Access !== undefined && "bucketPolicy" in input.s3Access;
  const download: ContainerSpec | null = s3
    ? {
        name: "download-weights",
        image: AWS_CLI_IMAGE,
        // Many parts at once: one stream per file would take over an hour for 690 GB.
        command: ["sh", "-c", S3_SYNC_SCRIPT],
        args: ["s3-sync", input.weights, modelPath, "--no-progress", ...(anonymous ? ["--no-sign-request"] : [])],
        env: [{ name: "AWS_REGION", value: input.awsRegion! }],
        resources: { requests: { cpu: "2", memory: "2Gi" }, limits: { memory: "4Gi" } },
      }
    : null;
  const sizeGiB = input.cacheSizeGiB ?? cacheSizeGiB(plan.checkpoint.sizeOnDiskGB);
  const volume: CacheVolume = node.localNvmeForWeights
    ? node.localCachePath
      ? { type: "hostPath", path: node.localCachePath }
      : { type: "emptyDir", sizeGiB }
    : { type: "ephemeral", sizeGiB, storageClassName: input.storageClassName! };
  return {
    spec: {
      kind: multiNode ? "LeaderWorkerSet" : "Deployment",
      image: input.image,
      replicas: plan.replicas,
      groupSize: plan.nodesPerReplica,
      gpusPerPod,
      efaPerPod,
      servedModelName: plan.model,
      args,
      env,
      resources: { requests: { ...requests, ...accelerators }, limits: { ...accelerators } },
      cache: { kind: cacheKind, sizeGiB, volume },
      source,
      download,
      shmSizeGiB: shmSizeGiB(gpusPerPod),
      startupProbe: { periodSeconds: STARTUP_PERIOD_SECONDS, failureThreshold: budget / STARTUP_PERIOD_SECONDS, budgetSeconds: budget },
      rolloutBudgetSeconds: rolloutBudgetSeconds(plan.checkpoint.sizeOnDiskGB, cacheKind, source.kind),
      coldStart: coldStart(plan.checkpoint.sizeOnDiskGB, cacheKind, source.kind),
      labels: { "app.kubernetes.io/name": "vllm", "app.kubernetes.io/instance": input.name, "llm-fleet.dev/model": plan.model },
      names,
      loadBalancer: input.loadBalancer.enabled ? { internal: input.loadBalancer.internal } : null,
      serviceMonitor: input.serviceMonitor,
      efaWithoutPlugin: efaPerPod > 0 && input.image === VLLM_IMAGE,
    },
  };
}
