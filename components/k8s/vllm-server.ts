import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { InputError, VLLM_IMAGE, type Plan } from "../../sizing";
import {
  MODEL_MOUNT,
  PRE_STOP_SECONDS,
  TERMINATION_GRACE_SECONDS,
  VLLM_PORT,
  vllmServerSpec,
  type NodeShape,
  type VllmServerSpec,
} from "./vllm-spec";

export interface VllmServerArgs {
  /** Kubernetes provider of the cluster to deploy onto. */
  provider: k8s.Provider;
  /** The sizing plan: checkpoint, parallelism, replicas and `vllm serve` arguments. */
  plan: Plan;
  /** The nodes the pods get, e.g. `nodeShapeOf("p5.48xlarge", ...)`. */
  node: NodeShape;
  /** Node selector of the node group the pods must land on. */
  nodeSelector: Record<string, string>;
  /** Tolerations for the node group's taints. */
  tolerations: { key: string; operator: "Equal" | "Exists"; value?: string; effect: string }[];
  /**
   * Namespace for every object; created unless `createNamespace` is false.
   * @default the component's name
   */
  namespace?: string;
  /**
   * @default true
   */
  createNamespace?: boolean;
  /**
   * Where the weights come from: a Hugging Face repo id, or an `s3://bucket/prefix` URI.
   * @default the plan's checkpoint repo
   */
  weights?: string;
  /**
   * Read access for an S3 source: an IAM role the service account assumes (annotated for
   * IRSA; with EKS Pod Identity, associate the role with `serviceAccountName`), or a
   * bucket policy that already grants the nodes.
   */
  s3Access?: { roleArn: string } | { bucketPolicy: true };
  /**
   * Size of the weights cache.
   * @default the checkpoint size plus 20 %
   */
  cacheSizeGiB?: number;
  /**
   * Storage class of the per-pod cache volume where the nodes have no local NVMe for it.
   * @default the cluster's default storage class
   */
  storageClassName?: string;
  /** Hugging Face token for gated or private repos, from secret config. */
  hfToken?: pulumi.Input<string>;
  /** API key clients must send (`--api-key`), from secret config. */
  apiKey?: pulumi.Input<string>;
  /**
   * Refuse to deploy without an API key (prod).
   * @default false
   */
  requireApiKey?: boolean;
  /**
   * A load balancer in front of the Service; internal unless `internal: false`.
   * @default { enabled: false, internal: true }
   */
  loadBalancer?: { enabled?: boolean; internal?: boolean };
  /**
   * A Prometheus Operator ServiceMonitor for vLLM's /metrics.
   * @default false
   */
  serviceMonitor?: boolean;
}

/**
 * vLLM serving one plan: a Deployment when a replica fits one node, a LeaderWorkerSet when
 * it spans nodes; a weights cache, probes sized to the load time, a disruption budget and
 * a ClusterIP Service on the OpenAI-compatible port.
 */
export class VllmServer extends pulumi.ComponentResource {
  /** In-cluster base URL of the OpenAI-compatible API. */
  readonly endpoint: pulumi.Output<string>;
  readonly servedModelName: string;
  readonly namespace: pulumi.Output<string>;
  readonly serviceAccountName: pulumi.Output<string>;
  readonly spec: VllmServerSpec;

  constructor(name: string, args: VllmServerArgs, opts?: pulumi.ComponentResourceOptions) {
    const result = vllmServerSpec({
      name,
      plan: args.plan,
      node: args.node,
      weights: args.weights ?? args.plan.checkpoint.repo,
      s3Access: args.s3Access,
      cacheSizeGiB: args.cacheSizeGiB,
      storageClassName: args.storageClassName,
      hasHfToken: args.hfToken !== undefined,
      hasApiKey: args.apiKey !== undefined,
      requireApiKey: args.requireApiKey ?? false,
      loadBalancer: { enabled: args.loadBalancer?.enabled ?? false, internal: args.loadBalancer?.internal ?? true },
      serviceMonitor: args.serviceMonitor ?? false,
    });
    if ("problems" in result) throw new InputError(`VllmServer "${name}"`, result.problems);
    super("llm-fleet:k8s:VllmServer", name, {}, opts);
    const spec = result.spec;
    this.spec = spec;
    const options = { parent: this, provider: args.provider };
    const labels = spec.labels;

    const namespaceName = args.namespace ?? name;
    const namespace =
      args.createNamespace === false
        ? pulumi.output(namespaceName)
        : new k8s.core.v1.Namespace(`${name}-namespace`, { metadata: { name: namespaceName, labels } }, options).metadata.name;
    const meta = (suffix: string, extra: Record<string, string> = {}) => ({ name: suffix === "" ? name : `${name}-${suffix}`, namespace, labels: { ...labels, ...extra } });

    const roleArn = args.s3Access && "roleArn" in args.s3Access ? args.s3Access.roleArn : undefined;
    const serviceAccount = new k8s.core.v1.ServiceAccount(
      `${name}-service-account`,
      { metadata: { ...meta(""), annotations: roleArn ? { "eks.amazonaws.com/role-arn": roleArn } : undefined }, automountServiceAccountToken: false },
      options,
    );
    const secret = (suffix: string, value: pulumi.Input<string>) =>
      new k8s.core.v1.Secret(`${name}-${suffix}`, { metadata: meta(suffix), type: "Opaque", stringData: { value: pulumi.secret(value) } }, options);
    const secrets = [
      ...(args.hfToken !== undefined ? [secret("hf-token", args.hfToken)] : []),
      ...(args.apiKey !== undefined ? [secret("api-key", args.apiKey)] : []),
    ];

    const pod = (role: "leader" | "worker") => podTemplate(spec, role, args, serviceAccount.metadata.name);
    const workload =
      spec.kind === "Deployment"
        ? new k8s.apps.v1.Deployment(
            `${name}-deployment`,
            {
              metadata: meta(""),
              spec: {
                replicas: spec.replicas,
                selector: { matchLabels: labels },
                // Never two copies of the weights loading at once on one node's GPUs.
                strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: 0, maxUnavailable: 1 } },
                template: { metadata: { labels }, spec: pod("leader") },
              },
            },
            { ...options, dependsOn: secrets },
          )
        : new k8s.apiextensions.CustomResource(
            `${name}-leader-worker-set`,
            {
              apiVersion: "leaderworkerset.x-k8s.io/v1",
              kind: "LeaderWorkerSet",
              metadata: meta(""),
              spec: {
                replicas: spec.replicas,
                leaderWorkerTemplate: {
                  size: spec.groupSize,
                  // One lost pod breaks the NCCL group: restart all of it.
                  restartPolicy: "RecreateGroupOnPodRestart",
                  leaderTemplate: { metadata: { labels: { ...labels, "llm-fleet.dev/role": "leader" } }, spec: pod("leader") },
                  workerTemplate: { metadata: { labels: { ...labels, "llm-fleet.dev/role": "worker" } }, spec: pod("worker") },
                },
              },
            },
            { ...options, dependsOn: secrets },
          );

    // The Service reaches the pods that serve HTTP: every pod of a Deployment, LWS leaders only.
    const serving = spec.kind === "Deployment" ? labels : { ...labels, "llm-fleet.dev/role": "leader" };
    const port = { name: "http", port: VLLM_PORT, targetPort: "http", protocol: "TCP" };
    const service = new k8s.core.v1.Service(
      `${name}-service`,
      { metadata: meta(""), spec: { type: "ClusterIP", selector: serving, ports: [port] } },
      { ...options, dependsOn: [workload] },
    );
    const loadBalancer = args.loadBalancer?.enabled ?? false;
    if (loadBalancer) {
      const internal = args.loadBalancer?.internal ?? true;
      new k8s.core.v1.Service(
        `${name}-load-balancer`,
        {
          metadata: {
            ...meta("lb"),
            annotations: {
              "service.beta.kubernetes.io/aws-load-balancer-type": "nlb",
              "service.beta.kubernetes.io/aws-load-balancer-internal": String(internal),
            },
          },
          spec: { type: "LoadBalancer", selector: serving, ports: [port] },
        },
        options,
      );
    }
    new k8s.policy.v1.PodDisruptionBudget(
      `${name}-pdb`,
      // Voluntary evictions (node drains, upgrades) take one pod at a time.
      { metadata: meta(""), spec: { maxUnavailable: 1, selector: { matchLabels: serving } } },
      options,
    );
    if (args.serviceMonitor) {
      new k8s.apiextensions.CustomResource(
        `${name}-service-monitor`,
        {
          apiVersion: "monitoring.coreos.com/v1",
          kind: "ServiceMonitor",
          metadata: meta(""),
          spec: { selector: { matchLabels: labels }, endpoints: [{ port: "http", path: "/metrics", interval: "30s" }] },
        },
        options,
      );
    }

    this.namespace = namespace;
    this.serviceAccountName = serviceAccount.metadata.name;
    this.servedModelName = spec.servedModelName;
    this.endpoint = pulumi.interpolate`http://${service.metadata.name}.${namespace}.svc.cluster.local:${VLLM_PORT}/v1`;
    this.registerOutputs({ endpoint: this.endpoint, servedModelName: this.servedModelName, namespace: this.namespace });
  }
}

/** The pod spec of one role; workers of a LeaderWorkerSet serve no HTTP, so they have no probes. */
function podTemplate(spec: VllmServerSpec, role: "leader" | "worker", args: VllmServerArgs, serviceAccountName: pulumi.Output<string>) {
  const leader = role === "leader";
  const health = { httpGet: { path: "/health", port: "http" } };
  const efa = spec.efaPerPod > 0;
  const modelsVolume =
    spec.cache.kind === "local-nvme"
      ? // The kubelet's directory sits on the node's striped NVMe, so an emptyDir does too.
        { name: "models", emptyDir: { sizeLimit: `${spec.cache.sizeGiB}Gi` } }
      : {
          name: "models",
          ephemeral: {
            volumeClaimTemplate: {
              spec: {
                accessModes: ["ReadWriteOnce"],
                storageClassName: args.storageClassName,
                resources: { requests: { storage: `${spec.cache.sizeGiB}Gi` } },
              },
            },
          },
        };
  const mounts = [
    { name: "models", mountPath: MODEL_MOUNT },
    { name: "shm", mountPath: "/dev/shm" },
  ];
  const securityContext = {
    allowPrivilegeEscalation: false,
    privileged: false,
    // EFA registers pinned memory for RDMA.
    capabilities: efa ? { drop: ["ALL"], add: ["IPC_LOCK"] } : { drop: ["ALL"] },
  };
  return {
    serviceAccountName,
    // Neither IRSA nor EKS Pod Identity needs the Kubernetes API token; vLLM never calls the API.
    automountServiceAccountToken: false,
    nodeSelector: args.nodeSelector,
    tolerations: args.tolerations,
    terminationGracePeriodSeconds: TERMINATION_GRACE_SECONDS,
    initContainers: spec.download
      ? [{ ...spec.download, volumeMounts: [{ name: "models", mountPath: MODEL_MOUNT }], securityContext }]
      : undefined,
    containers: [
      {
        name: "vllm",
        image: VLLM_IMAGE,
        command: ["vllm", "serve"],
        args: leader ? spec.args.leader : spec.args.worker!,
        env: spec.env,
        ports: leader ? [{ name: "http", containerPort: VLLM_PORT, protocol: "TCP" }] : undefined,
        resources: spec.resources,
        volumeMounts: mounts,
        securityContext,
        startupProbe: leader
          ? { ...health, periodSeconds: spec.startupProbe.periodSeconds, failureThreshold: spec.startupProbe.failureThreshold }
          : undefined,
        readinessProbe: leader ? { ...health, periodSeconds: 5, failureThreshold: 3 } : undefined,
        livenessProbe: leader ? { ...health, periodSeconds: 10, failureThreshold: 6 } : undefined,
        lifecycle: { preStop: { exec: { command: ["sleep", String(PRE_STOP_SECONDS)] } } },
      },
    ],
    volumes: [modelsVolume, { name: "shm", emptyDir: { medium: "Memory", sizeLimit: `${spec.shmSizeGiB}Gi` } }],
  };
}
