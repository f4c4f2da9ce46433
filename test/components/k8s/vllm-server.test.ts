import * as k8s from "@pulumi/kubernetes";
import { Deployment } from "kubernetes-models/apps/v1";
import { Namespace, Secret, Service, ServiceAccount } from "kubernetes-models/v1";
import { PodDisruptionBudget } from "kubernetes-models/policy/v1";
import { Pod } from "kubernetes-models/v1";
import { beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { CHARTS } from "../../../charts";
import { GPU_TAINT, NODE_LABELS } from "../../../components/aws/node-group-spec";
import { ClusterAddons, chartsFor } from "../../../components/k8s/cluster-addons";
import { VllmServer } from "../../../components/k8s/vllm-server";
import { nodeShapeOf } from "../../../components/k8s/vllm-spec";
import { planDeployment } from "../../../sizing";
import { isSecretInput, one, recorded, settle, unwrapSecrets, valueOf } from "../../support/pulumi";

const provider = new k8s.Provider("cluster", { kubeconfig: "{}" });
const selector = (group: string) => ({ [NODE_LABELS.nodeGroup]: group });
const tolerations = [{ key: "nvidia.com/gpu", operator: "Equal" as const, value: "true", effect: "NoSchedule" as const }];
const LABELS = (instance: string, model: string) => ({ "app.kubernetes.io/name": "vllm", "app.kubernetes.io/instance": instance, "llm-fleet.dev/model": model });

/** kubernetes-models checks field types and required fields of core objects, offline. */
function validCore(type: string, name: string) {
  const inputs = unwrapSecrets(one(type, name).inputs);
  const models: Record<string, (o: any) => { validate(): void }> = {
    "kubernetes:apps/v1:Deployment": (o) => new Deployment(o),
    "kubernetes:core/v1:Service": (o) => new Service(o),
    "kubernetes:core/v1:Secret": (o) => new Secret(o),
    "kubernetes:core/v1:Namespace": (o) => new Namespace(o),
    "kubernetes:core/v1:ServiceAccount": (o) => new ServiceAccount(o),
    "kubernetes:policy/v1:PodDisruptionBudget": (o) => new PodDisruptionBudget(o),
  };
  expect(() => models[type]!(inputs).validate()).not.toThrow();
  return inputs;
}

/** The LeaderWorkerSet fields llm-fleet writes (leaderworkerset.x-k8s.io/v1 API). */
const PodTemplateSchema = z.object({ metadata: z.object({ labels: z.record(z.string(), z.string()) }), spec: z.record(z.string(), z.unknown()) });
const LwsSchema = z
  .object({
    apiVersion: z.literal("leaderworkerset.x-k8s.io/v1"),
    kind: z.literal("LeaderWorkerSet"),
    metadata: z.object({ name: z.string(), namespace: z.string(), labels: z.record(z.string(), z.string()) }),
    spec: z
      .object({
        replicas: z.number().int().positive(),
        leaderWorkerTemplate: z
          .object({
            size: z.number().int().min(2),
            restartPolicy: z.enum(["RecreateGroupOnPodRestart", "None"]),
            leaderTemplate: PodTemplateSchema,
            workerTemplate: PodTemplateSchema,
          })
          .strict(),
      })
      .strict(),
  })
  .strict();

describe("R1-Distill-Qwen-7B on one L4", () => {
  const plan = planDeployment({ model: "r1-distill-qwen-7b" }).plan!;
  const server = new VllmServer("qwen7b", {
    provider,
    plan,
    node: nodeShapeOf(plan.instanceType, { efa: false, weightsOnInstanceStore: true }),
    nodeSelector: selector("dev"),
    tolerations,
    hfToken: "hf_example_token",
    apiKey: "sk-example",
  });
  beforeAll(settle);

  it("runs a Deployment of the pinned image with the plan's arguments and the API key from a Secret", () => {
    const d = validCore("kubernetes:apps/v1:Deployment", "qwen7b-deployment");
    expect(d.metadata.name).toBe("qwen7b");
    expect(d.spec.replicas).toBe(1);
    expect(d.spec.selector).toEqual({ matchLabels: LABELS("qwen7b", "r1-distill-qwen-7b") });
    expect(d.spec.template.metadata.labels).toEqual({ ...LABELS("qwen7b", "r1-distill-qwen-7b"), "llm-fleet.dev/role": "leader" });
    expect(d.spec.strategy).toEqual({ type: "RollingUpdate", rollingUpdate: { maxSurge: 0, maxUnavailable: 1 } });
    const pod = d.spec.template.spec;
    const [c] = pod.containers;
    expect(c.image).toBe("vllm/vllm-openai:v0.33.0");
    expect(c.command).toEqual(["vllm", "serve"]);
    expect(c.args).toEqual([...plan.vllmArgs, "--port", "8000"]);
    expect(c.env).toEqual([
      { name: "HF_HOME", value: "/models/hf" },
      { name: "HF_TOKEN", valueFrom: { secretKeyRef: { name: "qwen7b-hf-token", key: "value" } } },
      { name: "VLLM_API_KEY", valueFrom: { secretKeyRef: { name: "qwen7b-api-key", key: "value" } } },
    ]);
    expect(c.resources).toEqual({ requests: { cpu: "3", memory: "12Gi", "nvidia.com/gpu": "1" }, limits: { "nvidia.com/gpu": "1" } });
    expect(pod.enableServiceLinks).toBe(false);
    expect(pod.automountServiceAccountToken).toBe(false);
    expect(() => new Pod({ metadata: { name: "p" }, spec: pod }).validate()).not.toThrow();
  });

  it("caches weights on the node's NVMe array, gives /dev/shm from memory, and lands on the node group", () => {
    const pod = one("kubernetes:apps/v1:Deployment", "qwen7b-deployment").inputs.spec.template.spec;
    expect(pod.volumes).toEqual([
      { name: "models", hostPath: { path: "/mnt/k8s-disks/0/llm-fleet-models", type: "DirectoryOrCreate" } },
      { name: "shm", emptyDir: { medium: "Memory", sizeLimit: "8Gi" } },
    ]);
    expect(pod.containers[0].volumeMounts).toEqual([
      { name: "models", mountPath: "/models" },
      { name: "shm", mountPath: "/dev/shm" },
    ]);
    expect(pod.nodeSelector).toEqual({ "llm-fleet.dev/node-group": "dev" });
    expect(pod.tolerations).toEqual(tolerations);
    expect(pod.containers[0].securityContext).toEqual({ allowPrivilegeEscalation: false, privileged: false, capabilities: { drop: ["ALL"] } });
  });

  it("probes /health with a startup budget for the weights, and drains before it stops", () => {
    const pod = one("kubernetes:apps/v1:Deployment", "qwen7b-deployment").inputs.spec.template.spec;
    const c = pod.containers[0];
    // 15.2 GB: (152 + 7.6 + 600) x 1.5 = 1,139.4 s -> 1,140 s = 114 x 10 s.
    const health = { httpGet: { path: "/health", port: "http" }, timeoutSeconds: 5 };
    expect(c.startupProbe).toEqual({ ...health, periodSeconds: 10, failureThreshold: 114 });
    expect(c.readinessProbe).toEqual({ ...health, periodSeconds: 5, failureThreshold: 3 });
    expect(c.livenessProbe).toEqual({ ...health, periodSeconds: 10, failureThreshold: 6 });
    expect(c.lifecycle).toEqual({ preStop: { exec: { command: ["sleep", "15"] } } });
    expect(pod.terminationGracePeriodSeconds).toBe(300);
  });

  it("keeps the tokens in Secrets, exposes a ClusterIP Service and a disruption budget", async () => {
    expect(validCore("kubernetes:core/v1:Secret", "qwen7b-hf-token").stringData).toEqual({ value: "hf_example_token" });
    expect(isSecretInput(one("kubernetes:core/v1:Secret", "qwen7b-hf-token").inputs.stringData)).toBe(true);
    expect(isSecretInput(one("kubernetes:core/v1:Secret", "qwen7b-api-key").inputs.stringData)).toBe(true);
    validCore("kubernetes:core/v1:Secret", "qwen7b-api-key");
    validCore("kubernetes:core/v1:Namespace", "qwen7b-namespace");
    validCore("kubernetes:core/v1:ServiceAccount", "qwen7b-service-account");
    const service = validCore("kubernetes:core/v1:Service", "qwen7b-service");
    expect(service.metadata.name).toBe("qwen7b-api");
    expect(service.spec).toEqual({
      type: "ClusterIP",
      selector: { ...LABELS("qwen7b", "r1-distill-qwen-7b"), "llm-fleet.dev/role": "leader" },
      ports: [{ name: "http", port: 8000, targetPort: "http", protocol: "TCP" }],
    });
    const pdb = validCore("kubernetes:policy/v1:PodDisruptionBudget", "qwen7b-pdb");
    expect(pdb.spec).toEqual({ maxUnavailable: 1, selector: { matchLabels: LABELS("qwen7b", "r1-distill-qwen-7b") } });
    expect(await valueOf(server.endpoint)).toBe("http://qwen7b-api.qwen7b.svc.cluster.local:8000/v1");
    expect(server.servedModelName).toBe("r1-distill-qwen-7b");
  });
});

describe("DeepSeek-R1 on one 8 x H200 node, weights from S3", () => {
  const plan = planDeployment({ model: "deepseek-r1", gpus: ["h200"] }).plan!;
  new VllmServer("r1", {
    provider,
    plan,
    node: nodeShapeOf(plan.instanceType, { efa: false, weightsOnInstanceStore: true }),
    nodeSelector: selector("r1"),
    tolerations,
    weights: "s3://models-bucket/deepseek-r1/",
    s3Access: { roleArn: "arn:aws:iam::123456789012:role/weights-reader" },
    cluster: { clusterName: "gpu-cluster", region: "us-east-1" },
    loadBalancer: { enabled: true },
    serviceMonitor: true,
  });
  beforeAll(settle);

  it("takes all 8 GPUs in one pod and fills the cache from S3 first", () => {
    const pod = validCore("kubernetes:apps/v1:Deployment", "r1-deployment").spec.template.spec;
    expect(pod.containers[0].resources.limits).toEqual({ "nvidia.com/gpu": "8" });
    expect(pod.containers[0].args.slice(0, 1)).toEqual(["/models/deepseek-r1"]);
    expect(pod.initContainers).toEqual([
      {
        name: "download-weights",
        image: "amazon/aws-cli:2.34.48",
        command: [
          "sh",
          "-c",
          'aws configure set default.s3.max_concurrent_requests 64 && aws configure set default.s3.multipart_chunksize 64MB && exec aws s3 sync "$@"',
        ],
        args: ["s3-sync", "s3://models-bucket/deepseek-r1/", "/models/deepseek-r1", "--no-progress"],
        // IMDS allows one hop, so the pod cannot ask instance metadata for its region.
        env: [{ name: "AWS_REGION", value: "us-east-1" }],
        resources: { requests: { cpu: "2", memory: "2Gi" }, limits: { memory: "4Gi" } },
        volumeMounts: [{ name: "models", mountPath: "/models" }],
        securityContext: { allowPrivilegeEscalation: false, privileged: false, capabilities: { drop: ["ALL"] } },
      },
    ]);
    // The copy is the init container's; the probe covers the read from NVMe and engine start: 1,420 s.
    expect(pod.containers[0].startupProbe.failureThreshold).toBe(142);
    expect(pod.volumes[1]).toEqual({ name: "shm", emptyDir: { medium: "Memory", sizeLimit: "32Gi" } });
  });

  it("reads S3 through an EKS Pod Identity association of the service account, made before the pods start", () => {
    // No IRSA annotation: the cluster has no OIDC provider; the Pod Identity agent hands out the role.
    expect(validCore("kubernetes:core/v1:ServiceAccount", "r1-service-account").metadata.annotations).toBeUndefined();
    expect(one("aws:eks/podIdentityAssociation:PodIdentityAssociation", "r1-pod-identity").inputs).toEqual({
      clusterName: "gpu-cluster",
      namespace: "r1",
      serviceAccount: "r1",
      roleArn: "arn:aws:iam::123456789012:role/weights-reader",
    });
  });

  it("puts an internal load balancer in front when asked, and a ServiceMonitor on /metrics", () => {
    const lb = validCore("kubernetes:core/v1:Service", "r1-load-balancer");
    expect(lb.metadata.name).toBe("r1-lb");
    expect(lb.metadata.annotations).toEqual({
      "service.beta.kubernetes.io/aws-load-balancer-type": "nlb",
      "service.beta.kubernetes.io/aws-load-balancer-internal": "true",
    });
    expect(lb.spec.type).toBe("LoadBalancer");
    const monitor = one("kubernetes:monitoring.coreos.com/v1:ServiceMonitor", "r1-service-monitor").inputs.spec;
    expect(monitor.endpoints).toEqual([{ port: "http", path: "/metrics", interval: "15s" }]);
    // Only the ClusterIP Service carries the label it selects, so pods are scraped once.
    expect(monitor.selector.matchLabels["llm-fleet.dev/service"]).toBe("api");
    expect(one("kubernetes:core/v1:Service", "r1-service").inputs.metadata.labels["llm-fleet.dev/service"]).toBe("api");
    expect(lb.metadata.labels["llm-fleet.dev/service"]).toBe("load-balancer");
  });
});

describe("DeepSeek-R1 on two 8 x H100 nodes with EFA", () => {
  const plan = planDeployment({ model: "deepseek-r1", gpus: ["h100"] }).plan!;
  new VllmServer("r1x2", {
    provider,
    plan,
    node: nodeShapeOf(plan.instanceType, { efa: true, weightsOnInstanceStore: true }),
    nodeSelector: selector("r1x2"),
    tolerations,
  });
  beforeAll(settle);

  it("runs a LeaderWorkerSet of groups of 2 that restarts as a group", () => {
    const lws = LwsSchema.parse(one("kubernetes:leaderworkerset.x-k8s.io/v1:LeaderWorkerSet", "r1x2-leader-worker-set").inputs);
    expect(lws.spec.replicas).toBe(1);
    expect(lws.spec.leaderWorkerTemplate).toMatchObject({ size: 2, restartPolicy: "RecreateGroupOnPodRestart" });
  });

  it("splits leader and workers: the leader serves and is probed, workers are headless", () => {
    const t = one("kubernetes:leaderworkerset.x-k8s.io/v1:LeaderWorkerSet", "r1x2-leader-worker-set").inputs.spec.leaderWorkerTemplate;
    const leader = t.leaderTemplate.spec.containers[0];
    const worker = t.workerTemplate.spec.containers[0];
    const multi = ["--nnodes", "$(LWS_GROUP_SIZE)", "--node-rank", "$(LWS_WORKER_INDEX)", "--master-addr", "$(LWS_LEADER_ADDRESS)"];
    expect(leader.args).toEqual([...plan.vllmArgs, "--port", "8000", ...multi]);
    expect(worker.args).toEqual([...plan.vllmArgs, "--port", "8000", ...multi, "--headless"]);
    expect(leader.startupProbe.failureThreshold).toBe(1175);
    expect(worker.startupProbe).toBeUndefined();
    expect(worker.ports).toBeUndefined();
    for (const spec of [t.leaderTemplate.spec, t.workerTemplate.spec]) {
      expect(() => new Pod({ metadata: { name: "p" }, spec }).validate()).not.toThrow();
      expect(spec.nodeSelector).toEqual({ "llm-fleet.dev/node-group": "r1x2" });
      expect(spec.tolerations).toEqual(tolerations);
      expect(spec.volumes[0]).toEqual({ name: "models", hostPath: { path: "/mnt/k8s-disks/0/llm-fleet-models", type: "DirectoryOrCreate" } });
      expect(spec.containers[0].lifecycle).toEqual({ preStop: { exec: { command: ["sleep", "15"] } } });
    }
  });

  it("claims the node's GPUs and 32 EFA interfaces, with NCCL over EFA and locked memory", () => {
    const leader = one("kubernetes:leaderworkerset.x-k8s.io/v1:LeaderWorkerSet", "r1x2-leader-worker-set").inputs.spec.leaderWorkerTemplate.leaderTemplate.spec.containers[0];
    expect(leader.resources.limits).toEqual({ "nvidia.com/gpu": "8", "vpc.amazonaws.com/efa": "32" });
    expect(leader.env).toEqual([
      { name: "HF_HOME", value: "/models/hf" },
      { name: "FI_PROVIDER", value: "efa" },
      { name: "FI_EFA_USE_DEVICE_RDMA", value: "1" },
    ]);
    expect(leader.securityContext.capabilities).toEqual({ drop: ["ALL"], add: ["IPC_LOCK"] });
  });

  it("routes the Service to the leaders only, under a name LWS leaves free, and budgets every pod of the set", () => {
    const service = validCore("kubernetes:core/v1:Service", "r1x2-service");
    const t = one("kubernetes:leaderworkerset.x-k8s.io/v1:LeaderWorkerSet", "r1x2-leader-worker-set").inputs.spec.leaderWorkerTemplate;
    const matches = (selector: Record<string, string>, labels: Record<string, string>) => Object.entries(selector).every(([k, v]) => labels[k] === v);
    expect(matches(service.spec.selector, t.leaderTemplate.metadata.labels)).toBe(true);
    expect(matches(service.spec.selector, t.workerTemplate.metadata.labels)).toBe(false);
    expect(service.metadata.name).not.toBe(one("kubernetes:leaderworkerset.x-k8s.io/v1:LeaderWorkerSet", "r1x2-leader-worker-set").inputs.metadata.name);
    const pdb = validCore("kubernetes:policy/v1:PodDisruptionBudget", "r1x2-pdb").spec.selector.matchLabels;
    expect(matches(pdb, t.leaderTemplate.metadata.labels) && matches(pdb, t.workerTemplate.metadata.labels)).toBe(true);
  });
});

describe("a distill on nodes without NVMe for the weights, in an existing namespace, behind a public load balancer", () => {
  const plan = planDeployment({ model: "r1-distill-qwen-7b" }).plan!;
  new VllmServer("pvc", {
    provider,
    plan,
    node: nodeShapeOf(plan.instanceType, { efa: false, weightsOnInstanceStore: false }),
    nodeSelector: selector("dev"),
    tolerations,
    namespace: "serving",
    createNamespace: false,
    storageClassName: "gp3",
    loadBalancer: { enabled: true, internal: false },
  });
  beforeAll(settle);

  it("gives each pod its own gp3 volume of the checkpoint plus 20 %", () => {
    const pod = validCore("kubernetes:apps/v1:Deployment", "pvc-deployment").spec.template.spec;
    expect(pod.volumes[0]).toEqual({
      name: "models",
      ephemeral: { volumeClaimTemplate: { spec: { accessModes: ["ReadWriteOnce"], storageClassName: "gp3", resources: { requests: { storage: "17Gi" } } } } },
    });
    expect(() => new Pod({ metadata: { name: "p" }, spec: pod }).validate()).not.toThrow();
  });

  it("uses the namespace given, and makes the load balancer internet-facing only because it was asked", () => {
    expect(recorded.filter((r) => r.name === "pvc-namespace")).toEqual([]);
    expect(one("kubernetes:apps/v1:Deployment", "pvc-deployment").inputs.metadata.namespace).toBe("serving");
    expect(one("kubernetes:core/v1:Service", "pvc-load-balancer").inputs.metadata.annotations["service.beta.kubernetes.io/aws-load-balancer-internal"]).toBe("false");
  });
});

describe("bad arguments fail before anything is registered", () => {
  it("reports every problem with its path", async () => {
    await settle();
    const before = recorded.length;
    const plan = planDeployment({ model: "deepseek-r1", gpus: ["h200"] }).plan!;
    expect(
      () =>
        new VllmServer("bad", {
          provider,
          plan,
          node: nodeShapeOf("g6.12xlarge", { efa: false, weightsOnInstanceStore: true }),
          nodeSelector: {},
          tolerations: [],
          weights: "s3://bucket/r1",
          requireApiKey: true,
        }),
    ).toThrow(
      [
        'VllmServer "bad": invalid input',
        "  plan: TP 8 x PP 1 = 8 GPUs per replica, but the replica gets 1 node(s) of 4 GPUs; plan for these nodes or give the nodes the plan was made for",
        "  s3Access: reading s3://bucket/r1 needs access: give { roleArn } for the service account, or { bucketPolicy: true } if the bucket grants the nodes",
        "  cluster: copying s3://bucket/r1 needs the cluster and its region: pass cluster: { clusterName, region } (ModelDeployment does)",
        "  apiKey: this endpoint requires an API key: `pulumi config set --secret <key>` and pass it as apiKey",
      ].join("\n"),
    );
    await settle();
    expect(recorded.length).toBe(before);
  });
});

const NONE = { nvidiaDevicePlugin: false, leaderWorkerSet: false, efaDevicePlugin: false, replicaAutoscaler: false, requestHolder: false, nodeAutoscaler: false, monitoring: false };

describe("cluster add-ons", () => {
  const marks = { taint: { key: GPU_TAINT.key, effect: GPU_TAINT.effect }, labelKey: NODE_LABELS.gpu };
  it("installs only what the deployments need", () => {
    expect(chartsFor({ ...NONE, nvidiaDevicePlugin: true })).toEqual(["nvidia-device-plugin"]);
    expect(chartsFor({ ...NONE, leaderWorkerSet: true, efaDevicePlugin: true })).toEqual(["lws", "aws-efa-k8s-device-plugin"]);
    expect(chartsFor(NONE)).toEqual([]);
    // Scaling on load needs KEDA; scaling to zero its HTTP add-on too; nodes the cluster autoscaler.
    expect(chartsFor({ ...NONE, replicaAutoscaler: true, nodeAutoscaler: true })).toEqual(["keda", "cluster-autoscaler"]);
    expect(chartsFor({ ...NONE, replicaAutoscaler: true, requestHolder: true, nodeAutoscaler: true })).toEqual(["keda", "keda-add-ons-http", "cluster-autoscaler"]);
    expect(chartsFor({ ...NONE, monitoring: true })).toEqual(["kube-prometheus-stack", "dcgm-exporter"]);
  });

  const addons = new ClusterAddons("addons", { provider, needs: { ...NONE, nvidiaDevicePlugin: true, leaderWorkerSet: true, efaDevicePlugin: true }, gpuNodes: marks });
  beforeAll(settle);

  it("pins each chart's version and repository, and sends the device plugins to the tainted GPU nodes", () => {
    expect(addons.installed).toEqual(["nvidia-device-plugin", "lws", "aws-efa-k8s-device-plugin"]);
    const nvidia = one("kubernetes:helm.sh/v3:Release", "addons-nvidia-device-plugin").inputs;
    expect(nvidia).toMatchObject({
      name: "nvidia-device-plugin",
      chart: "nvidia-device-plugin",
      version: "0.20.0",
      repositoryOpts: { repo: "https://nvidia.github.io/k8s-device-plugin" },
      namespace: "kube-system",
      createNamespace: false,
    });
    expect(nvidia.values).toEqual({
      tolerations: [{ key: "nvidia.com/gpu", operator: "Exists", effect: "NoSchedule" }],
      affinity: {
        nodeAffinity: {
          requiredDuringSchedulingIgnoredDuringExecution: {
            nodeSelectorTerms: [{ matchExpressions: [{ key: "llm-fleet.dev/gpu", operator: "Exists" }] }],
          },
        },
      },
    });
    const lws = one("kubernetes:helm.sh/v3:Release", "addons-lws").inputs;
    expect(lws).toMatchObject({ chart: "oci://registry.k8s.io/lws/charts/lws", version: "0.10.0", namespace: "lws-system", createNamespace: true });
    expect(lws.repositoryOpts).toBeUndefined();
    const efa = one("kubernetes:helm.sh/v3:Release", "addons-aws-efa-k8s-device-plugin").inputs;
    expect(efa).toMatchObject({ chart: "aws-efa-k8s-device-plugin", version: "v0.5.30", repositoryOpts: { repo: "https://aws.github.io/eks-charts" } });
    // The EFA chart picks its nodes from its own instance-type list; it only has to tolerate the taint.
    expect(efa.values).toEqual({ tolerations: [{ key: "nvidia.com/gpu", operator: "Exists", effect: "NoSchedule" }] });
  });

  it("refuses a cluster autoscaler without the cluster or its credentials, before creating anything", () => {
    expect(() => new ClusterAddons("bare", { provider, needs: { ...NONE, nodeAutoscaler: true }, gpuNodes: marks })).toThrow(
      [
        'ClusterAddons "bare": invalid input',
        "  cluster: the cluster autoscaler needs the cluster's name, region and Kubernetes version: pass cluster (GpuCluster has them)",
        "  nodeAutoscalerIdentity: the cluster autoscaler needs AWS credentials to resize node groups: create the GpuCluster with nodeAutoscaler: true and pass its nodeAutoscaler here",
      ].join("\n"),
    );
    expect(
      () =>
        new ClusterAddons("old", {
          provider,
          needs: { ...NONE, nodeAutoscaler: true },
          gpuNodes: marks,
          cluster: { clusterName: "c", region: "us-east-1", kubernetesVersion: "1.29", autoscaledTag: "llm-fleet.dev/autoscaled", fallbackGroupPattern: ".*-on-demand-node-group-.*" },
          nodeAutoscalerIdentity: [provider],
        }),
    ).toThrow("cluster.kubernetesVersion: no cluster autoscaler release is pinned for Kubernetes 1.29");
  });

  it("refuses a chart version that is not pinned, or values that fail the schema", async () => {
    const saved = { ...CHARTS.lws };
    Object.assign(CHARTS.lws, { version: "latest", values: () => ({ replicaCount: "two" }) });
    try {
      expect(() => new ClusterAddons("loose", { provider, needs: { ...NONE, leaderWorkerSet: true }, gpuNodes: marks })).toThrow(
        [
          'ClusterAddons "loose": invalid input',
          '  charts.lws.version: "latest" is not a pinned version such as 0.20.0; pin an exact release',
          '  charts.lws.values: Unrecognized key: "replicaCount"',
        ].join("\n"),
      );
    } finally {
      Object.assign(CHARTS.lws, saved);
    }
  });
});
