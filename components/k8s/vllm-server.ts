import * as aws from "@pulumi/aws";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { InputError, VLLM_IMAGE, type InputProblem, type Plan } from "../../sizing";
import { HTTP_ADDON, entryServiceManifest, httpScaledObjectManifest, scaledObjectManifest, type ReplicaScaling, type ScalingObjects } from "./autoscaling-spec";
import { COMPONENT_TYPES, componentOptions } from "../component-types";
import type { ClusterAddonsParts } from "./cluster-addons";
import {
  MODEL_MOUNT,
  PRE_STOP_SECONDS,
  SECRET_KEY,
  TERMINATION_GRACE_SECONDS,
  VLLM_PORT,
  vllmServerSpec,
  type NodeShape,
  type VllmServerSpecInput,
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
  nodeSelector: pulumi.Input<Record<string, string>>;
  /** Tolerations for the node group's taints. */
  tolerations: pulumi.Input<{ key: string; operator: "Equal" | "Exists"; value?: string; effect: "NoSchedule" | "NoExecute" | "PreferNoSchedule" }[]>;
  /**
   * Namespace for every object.
   * @default the component's name
   */
  namespace?: string;
  /**
   * Create the namespace; false when it exists already.
   * @default true
   */
  createNamespace?: boolean;
  /**
   * Where the weights come from: a Hugging Face repo id, or an `s3://bucket/prefix` URI.
   * @default the plan's checkpoint repo
   */
  weights?: string;
  /**
   * Read access for an S3 source: an IAM role the service account gets through an EKS Pod
   * Identity association (the role must trust `pods.eks.amazonaws.com` with `sts:AssumeRole`
   * and `sts:TagSession`), or a bucket policy that grants reads without credentials.
   * @default none; required for an S3 source
   */
  s3Access?: { roleArn: string } | { bucketPolicy: true };
  /**
   * The EKS cluster and AWS region the server runs in: the Pod Identity association of an S3
   * role is made on this cluster, and the S3 copy gets `AWS_REGION` (pods cannot read the
   * region from instance metadata: IMDS allows one hop).
   * @default none; required for an S3 source
   */
  cluster?: { clusterName: pulumi.Input<string>; region: string };
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
   * Hugging Face token for gated or private repos, from secret config.
   * @default none
   */
  hfToken?: pulumi.Input<string>;
  /**
   * API key clients must send, from secret config.
   * @default none
   */
  apiKey?: pulumi.Input<string>;
  /**
   * Refuse to deploy without an API key (prod).
   * @default false
   */
  requireApiKey?: boolean;
  /**
   * A load balancer in front of the API; internal unless `internal: false`.
   * @default { enabled: false, internal: true }
   */
  loadBalancer?: { enabled?: boolean; internal?: boolean };
  /**
   * A Prometheus Operator ServiceMonitor for vLLM's /metrics.
   * @default false
   */
  serviceMonitor?: boolean;
  /**
   * The vLLM image. For EFA between nodes it must carry the aws-ofi-nccl plugin; the stock
   * image makes NCCL fall back to TCP.
   * @default "vllm/vllm-openai:v0.33.0"
   */
  image?: string;
  /**
   * The add-ons the pods need first (device plugins, the LeaderWorkerSet controller).
   * @default none
   */
  addons?: ClusterAddonsParts;
  /**
   * Other resources the workload itself waits for, and outlives on destroy (the node group, the
   * cluster's StorageClass and CSI driver, so cache volumes are deleted before their driver).
   * @default []
   */
  waitFor?: pulumi.Resource[];
  /**
   * How the replicas follow the load (ModelDeployment decides it from the plan): fixed at the
   * plan's count, or a KEDA ScaledObject between two counts, with the HTTP add-on's interceptor
   * in front when the minimum is 0. Needs `addons` with KEDA (and the HTTP add-on).
   * @default { mode: "fixed", replicas: plan.replicas }
   */
  scaling?: ReplicaScaling;
  /**
   * Whether `pulumi up` waits for the pods to be ready. False for nodes that do not exist yet
   * (a Capacity Block that starts later): the rollout happens when the block starts.
   * @default true
   */
  awaitPods?: boolean;
}

/** The arguments as the pure spec takes them, with every default filled in; ModelDeployment checks the same input before it creates anything. */
export function vllmServerSpecInput(
  name: string,
  args: Pick<
    VllmServerArgs,
    "plan" | "node" | "weights" | "s3Access" | "cacheSizeGiB" | "storageClassName" | "hfToken" | "apiKey" | "requireApiKey" | "loadBalancer" | "serviceMonitor" | "image"
  > & { cluster?: { region: string } | undefined },
): VllmServerSpecInput {
  return {
    name,
    plan: args.plan,
    node: args.node,
    weights: args.weights ?? args.plan.checkpoint.repo,
    s3Access: args.s3Access,
    awsRegion: args.cluster?.region,
    cacheSizeGiB: args.cacheSizeGiB,
    storageClassName: args.storageClassName,
    hasHfToken: args.hfToken !== undefined,
    hasApiKey: args.apiKey !== undefined,
    requireApiKey: args.requireApiKey ?? false,
    loadBalancer: { enabled: args.loadBalancer?.enabled ?? false, internal: args.loadBalancer?.internal ?? true },
    serviceMonitor: args.serviceMonitor ?? false,
    image: args.image ?? VLLM_IMAGE,
  };
}

/** What a VllmServer exposes. */
export interface VllmServerParts {
  /** In-cluster base URL of the OpenAI-compatible API. */
  readonly endpoint: pulumi.Output<string>;
  readonly servedModelName: string;
  readonly namespace: pulumi.Output<string>;
  /** The namespace's name as given, known before it exists. */
  readonly namespaceName: string;
  readonly serviceAccountName: pulumi.Output<string>;
  readonly spec: VllmServerSpec;
}

/** The server's spec from the arguments, or every problem of them, before anything is created. */
export function checkedVllmServer(name: string, args: VllmServerArgs): VllmServerSpec {
  const result = vllmServerSpec(vllmServerSpecInput(name, args));
  if ("problems" in result) throw new InputError(`VllmServer "${name}"`, result.problems);
  const missing = scalingAddonProblem(args.scaling, args.addons);
  if (missing) throw new InputError(`VllmServer "${name}"`, [missing]);
  return result.spec;
}

/** The objects of a checked server, children of `parent`: what the TypeScript class and the package's form both create. */
export function vllmServerResources(parent: pulumi.ComponentResource, name: string, args: VllmServerArgs, spec: VllmServerSpec): VllmServerParts {
  const options = { parent, provider: args.provider };
  // `pulumi up` waits for the pods to be ready: as long as the weights take to load.
  const rollout = { customTimeouts: { create: `${spec.rolloutBudgetSeconds}s`, update: `${spec.rolloutBudgetSeconds}s` } };
  const labels = spec.labels;
  if (spec.efaWithoutPlugin) {
    pulumi.log.warn(`VllmServer "${name}": ${spec.image} has no aws-ofi-nccl plugin, so NCCL between nodes uses TCP, not EFA; pass an EFA-enabled image`, parent);
  }

  const namespaceName = args.namespace ?? name;
  const namespace =
    args.createNamespace === false
      ? pulumi.output(namespaceName)
      : new k8s.core.v1.Namespace(`${name}-namespace`, { metadata: { name: namespaceName, labels } }, options).metadata.name;
  const meta = (objectName: string, extra: Record<string, string> = {}) => ({ name: objectName, namespace, labels: { ...labels, ...extra } });

  const roleArn = args.s3Access && "roleArn" in args.s3Access ? args.s3Access.roleArn : undefined;
  const serviceAccount = new k8s.core.v1.ServiceAccount(`${name}-service-account`, { metadata: meta(name), automountServiceAccountToken: false }, options);
  // The S3 role reaches the pods through EKS Pod Identity (the cluster runs its agent); the
  // association must exist before the pods start, or the copy has no credentials.
  const podIdentity =
    roleArn && args.cluster
      ? [
          new aws.eks.PodIdentityAssociation(
            `${name}-pod-identity`,
            { clusterName: args.cluster.clusterName, namespace, serviceAccount: serviceAccount.metadata.name, roleArn },
            { parent },
          ),
        ]
      : [];
  const secret = (resource: string, objectName: string, value: pulumi.Input<string>) =>
    new k8s.core.v1.Secret(resource, { metadata: meta(objectName), type: "Opaque", stringData: { [SECRET_KEY]: pulumi.secret(value) } }, options);
  const secrets = [
    ...(args.hfToken !== undefined ? [secret(`${name}-hf-token`, spec.names.hfTokenSecret, args.hfToken)] : []),
    ...(args.apiKey !== undefined ? [secret(`${name}-api-key`, spec.names.apiKeySecret, args.apiKey)] : []),
  ];
  const dependsOn = [...secrets, ...podIdentity, ...(args.addons?.releases ?? []), ...(args.waitFor ?? [])];
  // `pulumi.com/skipAwait` lets the provider create the workload without waiting for its pods.
  const workloadMeta = (objectName: string) =>
    args.awaitPods === false ? { ...meta(objectName), annotations: { "pulumi.com/skipAwait": "true" } } : meta(objectName);

  const pod = (role: Role) => podSpec(spec, role, args, serviceAccount.metadata.name, roleArn !== undefined);
  const scaling: ReplicaScaling = args.scaling ?? { mode: "fixed", replicas: spec.replicas, reason: "fixed by the plan" };
  const autoscaled = scaling.mode === "autoscaled" ? scaling : null;
  const replicas = scaling.mode === "autoscaled" ? scaling.initialReplicas : scaling.replicas;
  // KEDA owns the count of an autoscaled workload; a later `pulumi up` must not reset it.
  const ownedCount = autoscaled ? { ignoreChanges: ["spec.replicas"] } : {};
  const workload =
    spec.kind === "Deployment"
      ? new k8s.apps.v1.Deployment(
          `${name}-deployment`,
          {
            metadata: workloadMeta(spec.names.workload),
            spec: {
              replicas,
              selector: { matchLabels: labels },
              // Never two copies of the weights loading at once on one node's GPUs.
              strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: 0, maxUnavailable: 1 } },
              template: { metadata: { labels: { ...labels, [ROLE_LABEL]: "leader" } }, spec: pod("leader") },
            },
          },
          { ...options, ...rollout, ...ownedCount, dependsOn },
        )
      : new k8s.apiextensions.CustomResource(
          `${name}-leader-worker-set`,
          {
            apiVersion: "leaderworkerset.x-k8s.io/v1",
            kind: "LeaderWorkerSet",
            metadata: workloadMeta(spec.names.workload),
            spec: {
              replicas,
              leaderWorkerTemplate: {
                size: spec.groupSize,
                // One lost pod breaks the NCCL group: restart all of it.
                restartPolicy: "RecreateGroupOnPodRestart",
                leaderTemplate: { metadata: { labels: { ...labels, [ROLE_LABEL]: "leader" } }, spec: pod("leader") },
                workerTemplate: { metadata: { labels: { ...labels, [ROLE_LABEL]: "worker" } }, spec: pod("worker") },
              },
            },
          },
          { ...options, ...ownedCount, dependsOn },
        );

  // Only pods that serve HTTP are behind the Services: every pod of a Deployment, LWS leaders.
  const serving = { ...labels, [ROLE_LABEL]: "leader" };
  const port = { name: PORT_NAME, port: VLLM_PORT, targetPort: PORT_NAME, protocol: "TCP" };
  // At zero replicas the Service has no endpoints, which `pulumi up` would wait for in vain.
  const apiMeta = meta(spec.names.apiService, { [SERVICE_LABEL]: "api" });
  const service = new k8s.core.v1.Service(
    `${name}-service`,
    {
      metadata: replicas === 0 ? { ...apiMeta, annotations: { "pulumi.com/skipAwait": "true" } } : apiMeta,
      spec: { type: "ClusterIP", selector: serving, ports: [port] },
    },
    { ...options, ...rollout, dependsOn: [workload] },
  );
  let entry: k8s.core.v1.Service | undefined;
  if (autoscaled) {
    const objects: ScalingObjects = {
      namespace: namespaceName,
      modelName: spec.servedModelName,
      target:
        spec.kind === "Deployment"
          ? { apiVersion: "apps/v1", kind: "Deployment", name: spec.names.workload }
          : { apiVersion: "leaderworkerset.x-k8s.io/v1", kind: "LeaderWorkerSet", name: spec.names.workload },
      apiService: spec.names.apiService,
      apiPort: VLLM_PORT,
      entryService: spec.names.entryService,
      labels,
    };
    const keda = args.addons!.release("keda")!;
    const httpAddon = args.addons!.release("keda-add-ons-http");
    const crd = (resource: string, manifest: { apiVersion: string; kind: string; metadata: object; spec: object }, after: pulumi.Resource[]) =>
      new k8s.apiextensions.CustomResource(
        resource,
        { ...manifest, metadata: { ...manifest.metadata, namespace } },
        { ...options, dependsOn: [workload, ...after] },
      );
    if (autoscaled.scaleToZero) {
      crd(`${name}-http-scaled-object`, httpScaledObjectManifest(autoscaled, objects), [httpAddon!, service]);
      const manifest = entryServiceManifest(objects);
      entry = new k8s.core.v1.Service(
        `${name}-entry`,
        { metadata: { ...manifest.metadata, namespace, annotations: { "pulumi.com/skipAwait": "true" } }, spec: manifest.spec },
        { ...options, dependsOn: [httpAddon!] },
      );
    }
    crd(`${name}-scaled-object`, scaledObjectManifest(autoscaled, objects), [keda, ...(httpAddon ? [httpAddon] : [])]);
  }
  if (spec.loadBalancer) {
    new k8s.core.v1.Service(
      `${name}-load-balancer`,
      {
        metadata: {
          ...meta(spec.names.loadBalancer, { [SERVICE_LABEL]: "load-balancer" }),
          // In-tree AWS annotations: no load-balancer controller needed. Internal unless asked.
          annotations: {
            "service.beta.kubernetes.io/aws-load-balancer-type": "nlb",
            "service.beta.kubernetes.io/aws-load-balancer-internal": String(spec.loadBalancer.internal),
          },
        },
        spec: { type: "LoadBalancer", selector: serving, ports: [port] },
      },
      { ...options, ...rollout, dependsOn: [workload] },
    );
  }
  new k8s.policy.v1.PodDisruptionBudget(
    `${name}-pdb`,
    // Voluntary evictions (node drains, upgrades) take one pod of the set at a time.
    { metadata: meta(name), spec: { maxUnavailable: 1, selector: { matchLabels: labels } } },
    options,
  );
  if (spec.serviceMonitor) {
    new k8s.apiextensions.CustomResource(
      `${name}-service-monitor`,
      {
        apiVersion: "monitoring.coreos.com/v1",
        kind: "ServiceMonitor",
        metadata: meta(name),
        spec: { selector: { matchLabels: { ...labels, [SERVICE_LABEL]: "api" } }, endpoints: [{ port: PORT_NAME, path: "/metrics", interval: "15s" }] },
      },
      // Its CRD comes with kube-prometheus-stack when the add-ons install it.
      { ...options, dependsOn: args.addons?.release("kube-prometheus-stack") ?? [] },
    );
  }

  // A deployment that scales to zero is called through the interceptor, which holds the request.
  const endpoint = entry
    ? pulumi.interpolate`http://${entry.metadata.name}.${namespace}.svc.cluster.local:${HTTP_ADDON.interceptorPort}/v1`
    : pulumi.interpolate`http://${service.metadata.name}.${namespace}.svc.cluster.local:${VLLM_PORT}/v1`;
  return { endpoint, servedModelName: spec.servedModelName, namespace, namespaceName, serviceAccountName: serviceAccount.metadata.name, spec };
}

export interface VllmServer extends VllmServerParts {}

/**
 * vLLM serving one plan: a Deployment when a replica fits one node, a LeaderWorkerSet when
 * it spans nodes; a weights cache, probes sized to the load time, a disruption budget and
 * a Service on the OpenAI-compatible port.
 */
export class VllmServer extends pulumi.ComponentResource {
  constructor(name: string, args: VllmServerArgs, opts?: pulumi.ComponentResourceOptions) {
    const spec = checkedVllmServer(name, args);
    super(COMPONENT_TYPES.VllmServer, name, {}, componentOptions("VllmServer", opts));
    Object.assign(this, vllmServerResources(this, name, args, spec));
    this.registerOutputs({ endpoint: this.endpoint, servedModelName: this.servedModelName, namespace: this.namespace });
  }
}

/** An autoscaled server without the controllers its objects need. */
export function scalingAddonProblem(scaling: ReplicaScaling | undefined, addons: Pick<ClusterAddonsParts, "installed"> | undefined): InputProblem | null {
  if (scaling?.mode !== "autoscaled") return null;
  const needed = scaling.scaleToZero ? (["keda", "keda-add-ons-http"] as const) : (["keda"] as const);
  const absent = needed.filter((id) => !addons?.installed.includes(id));
  if (absent.length === 0) return null;
  return {
    path: "addons",
    message: `an autoscaled server needs ClusterAddons with ${absent.join(" and ")}: give addons whose needs include replicaAutoscaler${scaling.scaleToZero ? " and requestHolder" : ""}`,
  };
}

type Role = "leader" | "worker";
const ROLE_LABEL = "llm-fleet.dev/role";
const SERVICE_LABEL = "llm-fleet.dev/service";
const PORT_NAME = "http";

function cacheVolume(volume: VllmServerSpec["cache"]["volume"]) {
  switch (volume.type) {
    case "hostPath":
      return { name: "models", hostPath: { path: volume.path, type: "DirectoryOrCreate" } };
    case "emptyDir":
      return { name: "models", emptyDir: { sizeLimit: `${volume.sizeGiB}Gi` } };
    case "ephemeral":
      return {
        name: "models",
        ephemeral: {
          volumeClaimTemplate: {
            spec: {
              accessModes: ["ReadWriteOnce"],
              storageClassName: volume.storageClassName,
              resources: { requests: { storage: `${volume.sizeGiB}Gi` } },
            },
          },
        },
      };
    default: {
      const unreachable: never = volume;
      throw new Error(`unknown cache volume ${JSON.stringify(unreachable)}`);
    }
  }
}

/** The pod spec of one role; LeaderWorkerSet workers serve no HTTP, so they have no port or probes. */
function podSpec(spec: VllmServerSpec, role: Role, args: VllmServerArgs, serviceAccountName: pulumi.Output<string>, assumesRole: boolean) {
  const serves = role === "leader";
  const health = { httpGet: { path: "/health", port: PORT_NAME }, timeoutSeconds: 5 };
  const securityContext = {
    allowPrivilegeEscalation: false,
    privileged: false,
    // EFA registers pinned memory for RDMA.
    capabilities: spec.efaPerPod > 0 ? { drop: ["ALL"], add: ["IPC_LOCK"] } : { drop: ["ALL"] },
  };
  const modelsMount = { name: "models", mountPath: MODEL_MOUNT };
  return {
    serviceAccountName,
    // Only the role's web-identity token is needed, and only to read S3.
    automountServiceAccountToken: assumesRole,
    // A Service named like an environment variable prefix (VLLM_...) would leak into vLLM's settings.
    enableServiceLinks: false,
    nodeSelector: args.nodeSelector,
    tolerations: args.tolerations,
    terminationGracePeriodSeconds: TERMINATION_GRACE_SECONDS,
    initContainers: spec.download ? [{ ...spec.download, volumeMounts: [modelsMount], securityContext }] : undefined,
    containers: [
      {
        name: "vllm",
        image: spec.image,
        command: ["vllm", "serve"],
        args: serves || spec.args.worker === null ? spec.args.leader : spec.args.worker,
        env: spec.env,
        ports: serves ? [{ name: PORT_NAME, containerPort: VLLM_PORT, protocol: "TCP" }] : undefined,
        resources: spec.resources,
        volumeMounts: [modelsMount, { name: "shm", mountPath: "/dev/shm" }],
        securityContext,
        startupProbe: serves
          ? { ...health, periodSeconds: spec.startupProbe.periodSeconds, failureThreshold: spec.startupProbe.failureThreshold }
          : undefined,
        readinessProbe: serves ? { ...health, periodSeconds: 5, failureThreshold: 3 } : undefined,
        livenessProbe: serves ? { ...health, periodSeconds: 10, failureThreshold: 6 } : undefined,
        lifecycle: { preStop: { exec: { command: ["sleep", String(PRE_STOP_SECONDS)] } } },
      },
    ],
    volumes: [cacheVolume(spec.cache.volume), { name: "shm", emptyDir: { medium: "Memory", sizeLimit: `${spec.shmSizeGiB}Gi` } }],
  };
}
