/**
 * Argument and output types of the llm-fleet package that the TypeScript components do not
 * share: every one a named interface of plain values, the only object types Pulumi's schema
 * analyzer accepts (analyzer.ts in @pulumi/pulumi/provider/experimental).
 */
import type * as pulumi from "@pulumi/pulumi";
import { weightsSourceOf } from "../components/k8s/vllm-spec";
import type { Serving as TypeScriptServing } from "../components/model-deployment";
import type { CapacityType, InputProblem, InstanceType, Precision, PriceOverride as SizingPriceOverride } from "../sizing";

/** A GpuCluster of this package, passed as the resource itself. */
export interface GpuClusterReference {}

/** A ClusterAddons of this package, passed as the resource itself. */
export interface ClusterAddonsReference {}

/** Untainted nodes for cluster services (CoreDNS, controllers), which do not tolerate the GPU taint. */
export interface SystemNodes {
  /**
   * EC2 instance type of the system nodes.
   * @default "m7i.large"
   */
  instanceType?: string;
  /**
   * 0 when something else provides such nodes.
   * @default 2
   */
  count?: number;
}

/** A Kubernetes toleration, as a pod spec carries it. */
export interface Toleration {
  /** The taint's key, e.g. `nvidia.com/gpu`. */
  key: string;
  /** `Equal` or `Exists`. */
  operator: string;
  /**
   * The taint's value, with `Equal`.
   * @default none
   */
  value?: string;
  /** `NoSchedule`, `NoExecute` or `PreferNoSchedule`. */
  effect: string;
}

/** A load balancer in front of the OpenAI-compatible API. */
export interface LoadBalancer {
  /**
   * Create it.
   * @default false
   */
  enabled?: boolean;
  /**
   * Reachable only from inside the VPC.
   * @default true
   */
  internal?: boolean;
}

/** How vLLM is run: where the weights come from, its secrets, its load balancer and image. */
export interface Serving {
  /**
   * A Hugging Face repo id, or an `s3://bucket/prefix` URI.
   * @default the plan's checkpoint repo
   */
  weights?: string;
  /**
   * An IAM role the server's service account gets through EKS Pod Identity to read an S3 source; it
   * must trust `pods.eks.amazonaws.com` with `sts:AssumeRole` and `sts:TagSession`.
   * @default none; an S3 source needs it or s3BucketPolicy
   */
  s3RoleArn?: string;
  /**
   * The S3 source's bucket policy grants reads without credentials.
   * @default false
   */
  s3BucketPolicy?: boolean;
  /**
   * Size of the weights cache.
   * @default the checkpoint size plus 20 %
   */
  cacheSizeGiB?: number;
  /**
   * Storage class of the per-pod cache volume, for nodes without local NVMe for the weights.
   * @default none; required for such nodes
   */
  storageClassName?: string;
  /**
   * Hugging Face token for gated or private repos, as a secret.
   * @default none
   * @secret
   */
  hfToken?: pulumi.Input<string>;
  /**
   * API key clients must send, as a secret.
   * @default none
   * @secret
   */
  apiKey?: pulumi.Input<string>;
  /**
   * Refuse to deploy without an API key (prod).
   * @default false
   */
  requireApiKey?: boolean;
  /**
   * A load balancer in front of the API.
   * @default { enabled: false, internal: true }
   */
  loadBalancer?: LoadBalancer;
  /**
   * A Prometheus Operator ServiceMonitor for vLLM's /metrics.
   * @default the deployment's monitoring
   */
  serviceMonitor?: boolean;
  /**
   * The vLLM image. For EFA between nodes it must carry the aws-ofi-nccl plugin.
   * @default "vllm/vllm-openai:v0.33.0"
   */
  image?: string;
}

/** One measured model on one GPU, as `llm-fleet calibrate` proposes it. */
export interface Calibration {
  /** Catalog model id. */
  model: string;
  /** Catalog GPU id, e.g. `h100`. */
  gpu: string;
  /** Measured / predicted time per output token. */
  tpotFactor: number;
  /** Measured / predicted time to first token. */
  ttftFactor: number;
  /** When the benchmark ran, ISO 8601. */
  measuredAt: string;
  /** Benchmark runs the factors average over. */
  runs: number;
}

/** What the deployments on a cluster need of it; each one installs its charts. */
export interface AddonSelection {
  /** The NVIDIA device plugin, for AL2023 NVIDIA nodes. @default false */
  nvidiaDevicePlugin?: boolean;
  /** The LeaderWorkerSet controller, for replicas that span nodes. @default false */
  leaderWorkerSet?: boolean;
  /** The EFA device plugin, for node groups with EFA. @default false */
  efaDevicePlugin?: boolean;
  /** KEDA, which scales replicas. @default false */
  replicaAutoscaler?: boolean;
  /** KEDA's HTTP add-on, which holds requests while a replica scales from zero. @default false */
  requestHolder?: boolean;
  /** The cluster autoscaler; the GpuCluster needs `nodeAutoscaler`. @default false */
  nodeAutoscaler?: boolean;
  /** kube-prometheus-stack and the DCGM exporter. @default false */
  monitoring?: boolean;
}

/** The plan a ModelDeployment deploys, as `llm-fleet plan` shows it. */
export interface PlanSummary {
  /** EC2 instance type of the GPU nodes. */
  instanceType: string;
  /** Nodes at the planned load. */
  nodes: number;
  /** vLLM replicas at the planned load. */
  replicas: number;
  /** Hub repo of the checkpoint served. */
  checkpoint: string;
  /** The checkpoint's precision. */
  precision: Precision;
  /** vLLM's `--tensor-parallel-size`. */
  tensorParallelSize: number;
  /** vLLM's `--pipeline-parallel-size`. */
  pipelineParallelSize: number;
  /** vLLM's `--data-parallel-size`. */
  dataParallelSize: number;
  /** vLLM's `--max-model-len`: the longest sequence, prompt and output. */
  maxModelLen: number;
  /** Predicted time per output token at the planned load, ms. */
  tpotMs: number;
  /** Predicted time to first token, ms. */
  ttftMs: number;
  /** Predicted output tokens per second of the deployment. */
  outputTokensPerSecond: number;
  /** How the prediction was made: `measured`, `calibrated` or `extrapolated`. */
  confidence: string;
}

/** A negotiated or observed price that replaces the catalog's. */
export interface PriceOverride {
  /** EC2 instance type of the catalog. */
  instanceType: string;
  /**
   * Region it applies to.
   * @default every region
   */
  region?: string;
  /**
   * Capacity type it applies to.
   * @default every capacity type
   */
  capacityType?: CapacityType;
  /** The price of one instance, USD per hour. */
  usdPerHour: number;
}

/**
 * The sizing library's form of price overrides: an instance type outside the catalog gets the
 * planner's own error, which lists the catalog's.
 */
export function priceOverrides(overrides: PriceOverride[] | undefined): SizingPriceOverride[] | undefined {
  return overrides?.map((o) => ({ ...o, instanceType: o.instanceType as InstanceType }));
}

/** The TypeScript components' form of the serving options, and what is wrong with them (the caller throws it). */
export function typeScriptServing(serving: Serving | undefined, at: string): { serving: TypeScriptServing; problems: InputProblem[] } {
  const { s3RoleArn, s3BucketPolicy, ...rest } = serving ?? {};
  const problems: InputProblem[] = [];
  if (s3RoleArn !== undefined && s3BucketPolicy) {
    problems.push({ path: `${at}s3BucketPolicy`, message: "give either s3RoleArn or s3BucketPolicy: the S3 source is read with a role, or its bucket policy allows reads" });
  } else if (weightsSourceOf(rest.weights) === "s3" && s3RoleArn === undefined && !s3BucketPolicy) {
    // The TypeScript check names its own s3Access argument.
    problems.push({ path: `${at}s3RoleArn`, message: `reading ${rest.weights} needs access: give s3RoleArn for the service account, or s3BucketPolicy: true if the bucket grants the nodes` });
  }
  const s3Access = s3RoleArn !== undefined ? { roleArn: s3RoleArn } : s3BucketPolicy ? { bucketPolicy: true as const } : undefined;
  return { serving: { ...rest, ...(s3Access ? { s3Access } : {}) }, problems };
}
