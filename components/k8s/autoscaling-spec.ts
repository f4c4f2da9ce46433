/**
 * How a deployment's replicas follow its load, decided from the plan: pure functions with no
 * Pulumi import. Replicas scale with KEDA on vLLM's own queue (running + waiting requests per
 * replica, against the sequences the plan says one replica holds within the latency targets)
 * and on KV-cache usage; the GPU nodes follow the pods through the cluster autoscaler. A
 * deployment allowed to reach zero replicas is entered through the KEDA HTTP add-on's
 * interceptor, which holds a request until a replica is ready instead of failing it.
 */
import type { InputProblem, Plan } from "../../sizing";
import type { MetricName } from "./metrics";
import type { ColdStart } from "./vllm-spec";

/**
 * KV-cache usage a replica is kept under: above it vLLM starts preempting sequences, whose
 * recomputation costs more than a replica (vLLM docs, "Preemption":
 * https://docs.vllm.ai/en/latest/configuration/optimization.html#preemption). The alert fires here.
 */
export const KV_CACHE_USAGE_TARGET = 0.9;
/**
 * The KV trigger's target, below the limit: the HPA leaves the count alone while usage is within
 * its 10 % tolerance of the target (https://kubernetes.io/docs/tasks/run-application/horizontal-pod-autoscale/#algorithm-details),
 * so a 0.8 target adds a replica from 0.88 on, before the 0.9 where preemption starts.
 */
export const HPA_TOLERANCE = 0.1;
export const KV_CACHE_SCALING_TARGET = Math.floor((KV_CACHE_USAGE_TARGET / (1 + HPA_TOLERANCE)) * 100) / 100;
/** How often KEDA reads the triggers. */
export const POLLING_SECONDS = 15;
/**
 * A replica costs minutes to start: scale down only after the load has stayed low this long,
 * one replica at a time, so a short lull does not throw away a warm replica.
 */
export const SCALE_DOWN_STABILISATION_SECONDS = 600;
/** Idle time after the last request before the last replica (and then its node) goes. */
export const IDLE_SECONDS_TO_ZERO = 900;
/** A held request waits for the predicted cold start with this margin before it fails. */
export const HOLD_SAFETY = 1.5;

/**
 * KEDA's HTTP add-on, as its chart installs it into the `keda` namespace
 * (https://github.com/kedacore/http-add-on/blob/main/docs/install.md): the interceptor's proxy
 * Service that clients of a scale-to-zero deployment call, and the external scaler KEDA asks.
 */
export const HTTP_ADDON = {
  namespace: "keda",
  interceptorService: "keda-add-ons-http-interceptor-proxy",
  interceptorPort: 8080,
  externalScaler: "keda-add-ons-http-external-scaler.keda:9090",
} as const;

/** Prometheus of kube-prometheus-stack (release `kube-prometheus-stack` in `monitoring`). */
export const PROMETHEUS_URL = "http://kube-prometheus-stack-prometheus.monitoring.svc:9090";

export type ReplicaScaling =
  | { mode: "fixed"; replicas: number; reason: string }
  | {
      mode: "autoscaled";
      minReplicas: number;
      maxReplicas: number;
      /** Replicas `pulumi up` creates: the minimum, since the autoscaler owns the count afterwards. */
      initialReplicas: number;
      /** GPU nodes the group starts with: its minimum. */
      initialNodes: number;
      /** Per-replica target: the sequences one replica holds within the workload's latency targets. */
      sequencesPerReplica: number;
      kvCacheUsageTarget: number;
      scaleToZero: boolean;
      /** Where the load is read: vLLM's metrics through Prometheus, requests held at the interceptor. */
      triggers: { prometheus: boolean; requests: boolean };
      /** How long the interceptor holds a request while a replica starts; null without scale to zero. */
      holdSeconds: number | null;
      coldStart: ColdStart;
      idleSecondsToZero: number;
      scaleDownStabilisationSeconds: number;
      /**
       * How long the interceptor waits for a response to start: vLLM sends headers of a
       * non-streamed completion only when it is done, up to max_model_len tokens later.
       */
      responseHeaderSeconds: number;
    };

export interface ReplicaScalingInput {
  plan: Pick<Plan, "replicas" | "nodes" | "nodesPerReplica" | "replicasPerNode" | "performance" | "maxModelLen">;
  /** The node group's bounds, from the placement. */
  nodes: { min: number; max: number };
  /** Whether the stack runs the autoscalers (KEDA and the cluster autoscaler). */
  enabled: boolean;
  /** A Capacity Block or Capacity Reservation: paid for whether used or not. */
  reservation: boolean;
  /** Requests reach vLLM straight through a load balancer, bypassing the interceptor. */
  loadBalancer: boolean;
  /** Prometheus scrapes vLLM (monitoring is on). */
  prometheus: boolean;
  coldStart: ColdStart;
}

/** Replicas that fit on a number of nodes. */
export function replicasOn(plan: Pick<Plan, "nodesPerReplica" | "replicasPerNode">, nodes: number): number {
  return Math.floor(nodes / plan.nodesPerReplica) * plan.replicasPerNode;
}

/** The replica scaling of a deployment, or why its placement cannot be autoscaled as given. */
export function replicaScaling(input: ReplicaScalingInput): { scaling: ReplicaScaling } | { problems: InputProblem[] } {
  const { plan } = input;
  const fixed = (reason: string) => ({ scaling: { mode: "fixed" as const, replicas: plan.replicas, reason } });
  if (!input.enabled) return fixed("autoscaling is off for the stack");
  if (input.reservation) return fixed("a Capacity Block or Reservation is paid for whether used or not; its nodes keep their schedule");
  const minReplicas = replicasOn(plan, input.nodes.min);
  const maxReplicas = replicasOn(plan, input.nodes.max);
  if (maxReplicas < 1) {
    return {
      problems: [
        { path: "placement.maxNodes", message: `${input.nodes.max} node(s) hold no replica of ${plan.nodesPerReplica} node(s); set maxNodes to ${plan.nodesPerReplica} or more` },
      ],
    };
  }
  if (maxReplicas <= minReplicas) return fixed(`minNodes and maxNodes hold the same ${minReplicas} replica(s); raise maxNodes to scale on load`);
  if (maxReplicas < plan.replicas) {
    return {
      problems: [
        {
          path: "placement.maxNodes",
          message: `${input.nodes.max} node(s) hold ${maxReplicas} replica(s), but the workload needs ${plan.replicas} on ${plan.nodes} node(s); raise maxNodes to ${plan.nodes}, or lower the concurrency or throughput`,
        },
      ],
    };
  }
  const scaleToZero = minReplicas === 0;
  const problems: InputProblem[] = [];
  if (scaleToZero && input.loadBalancer) {
    problems.push({
      path: "placement.minNodes",
      message:
        "0 nodes scales to zero, but a load balancer sends requests straight to vLLM, which cannot hold them while a replica starts; " +
        `keep minNodes at ${plan.nodesPerReplica} or more, or turn the load balancer off`,
    });
  }
  if (!scaleToZero && !input.prometheus) {
    problems.push({
      path: "placement.maxNodes",
      message:
        `scaling between ${minReplicas} and ${maxReplicas} replicas reads vLLM's queue from Prometheus, which this stack does not run; ` +
        "turn monitoring on (llm-fleet:monitoring: true), or set maxNodes to minNodes for a fixed size",
    });
  }
  if (problems.length > 0) return { problems };
  return {
    scaling: {
      mode: "autoscaled",
      minReplicas,
      maxReplicas,
      initialReplicas: minReplicas,
      initialNodes: input.nodes.min,
      sequencesPerReplica: Math.max(1, plan.performance.maxConcurrencyWithinTargets),
      kvCacheUsageTarget: KV_CACHE_SCALING_TARGET,
      scaleToZero,
      triggers: { prometheus: input.prometheus, requests: scaleToZero },
      holdSeconds: scaleToZero ? Math.ceil(input.coldStart.totalSeconds * HOLD_SAFETY) : null,
      coldStart: input.coldStart,
      idleSecondsToZero: IDLE_SECONDS_TO_ZERO,
      scaleDownStabilisationSeconds: SCALE_DOWN_STABILISATION_SECONDS,
      responseHeaderSeconds: Math.ceil(((plan.maxModelLen * plan.performance.tpotMs) / 1000) * HOLD_SAFETY),
    },
  };
}

/** The workload KEDA scales. */
export interface ScaleTarget {
  apiVersion: "apps/v1" | "leaderworkerset.x-k8s.io/v1";
  kind: "Deployment" | "LeaderWorkerSet";
  name: string;
}

/** Names and labels of the deployment's objects, from the server's spec. */
export interface ScalingObjects {
  namespace: string;
  /** The served model name, vLLM's `model_name` label. */
  modelName: string;
  target: ScaleTarget;
  /** The ClusterIP Service in front of the vLLM pods, and its port. */
  apiService: string;
  apiPort: number;
  /** The Service clients of a scale-to-zero deployment call: a name for the interceptor. */
  entryService: string;
  labels: Record<string, string>;
}

/** A vLLM series of this deployment, as Prometheus labels it after the ServiceMonitor's scrape. */
export function vllmSeries(name: MetricName & `vllm:${string}`, objects: Pick<ScalingObjects, "namespace" | "modelName">): string {
  return `${name}{namespace="${objects.namespace}",model_name="${objects.modelName}"}`;
}

/** What each trigger reads: total sequences in flight or queued, and the mean KV-cache usage. */
export function scalingQueries(objects: Pick<ScalingObjects, "namespace" | "modelName">): { sequences: string; kvCacheUsage: string } {
  return {
    sequences: `sum(${vllmSeries("vllm:num_requests_running", objects)}) + sum(${vllmSeries("vllm:num_requests_waiting", objects)})`,
    kvCacheUsage: `avg(${vllmSeries("vllm:kv_cache_usage_perc", objects)})`,
  };
}

/** The host the interceptor routes on: the entry Service's cluster DNS name. */
export function entryHost(objects: Pick<ScalingObjects, "namespace" | "entryService">): string {
  return `${objects.entryService}.${objects.namespace}.svc.cluster.local`;
}

/**
 * Every name a client may call the entry Service by (the interceptor routes on the Host header
 * without its port, and does not resolve short names itself).
 */
export function entryHosts(objects: Pick<ScalingObjects, "namespace" | "entryService">): string[] {
  const { entryService: service, namespace } = objects;
  return [service, `${service}.${namespace}`, `${service}.${namespace}.svc`, entryHost(objects)];
}

/**
 * The KEDA ScaledObject (keda.sh/v1alpha1): replicas = ceil(sequences / per-replica target),
 * more when the mean KV-cache usage passes its target, and from zero when the interceptor holds
 * a request (https://keda.sh/docs/2.17/reference/scaledobject-spec/).
 */
export function scaledObjectManifest(scaling: Extract<ReplicaScaling, { mode: "autoscaled" }>, objects: ScalingObjects) {
  const queries = scalingQueries(objects);
  const triggers: Record<string, unknown>[] = [];
  if (scaling.triggers.prometheus) {
    triggers.push(
      {
        type: "prometheus",
        name: "sequences",
        metricType: "AverageValue",
        metadata: { serverAddress: PROMETHEUS_URL, query: queries.sequences, threshold: String(scaling.sequencesPerReplica), ignoreNullValues: "true" },
      },
      {
        type: "prometheus",
        name: "kv-cache",
        metricType: "Value",
        metadata: { serverAddress: PROMETHEUS_URL, query: queries.kvCacheUsage, threshold: String(scaling.kvCacheUsageTarget), ignoreNullValues: "true" },
      },
    );
  }
  if (scaling.triggers.requests) {
    triggers.push({
      type: "external-push",
      name: "requests",
      metadata: { scalerAddress: HTTP_ADDON.externalScaler, httpScaledObject: objects.target.name },
    });
  }
  return {
    apiVersion: "keda.sh/v1alpha1",
    kind: "ScaledObject",
    metadata: { name: objects.target.name, namespace: objects.namespace, labels: objects.labels },
    spec: {
      scaleTargetRef: { apiVersion: objects.target.apiVersion, kind: objects.target.kind, name: objects.target.name },
      minReplicaCount: scaling.minReplicas,
      maxReplicaCount: scaling.maxReplicas,
      pollingInterval: POLLING_SECONDS,
      cooldownPeriod: scaling.idleSecondsToZero,
      advanced: {
        horizontalPodAutoscalerConfig: {
          behavior: {
            scaleUp: { stabilizationWindowSeconds: 0, policies: [{ type: "Pods", value: 4, periodSeconds: 60 }] },
            scaleDown: {
              stabilizationWindowSeconds: scaling.scaleDownStabilisationSeconds,
              policies: [{ type: "Pods", value: 1, periodSeconds: scaling.scaleDownStabilisationSeconds }],
            },
          },
        },
      },
      triggers,
    },
  };
}

/**
 * The HTTP add-on's HTTPScaledObject (http.keda.sh/v1alpha1) for a scale-to-zero deployment:
 * the interceptor routes the entry host to the API Service and counts requests in flight. The
 * annotation keeps the add-on from creating a ScaledObject of its own, so that the one above,
 * with vLLM's metrics, is the only one scaling the workload.
 */
export function httpScaledObjectManifest(scaling: Extract<ReplicaScaling, { mode: "autoscaled" }>, objects: ScalingObjects) {
  return {
    apiVersion: "http.keda.sh/v1alpha1",
    kind: "HTTPScaledObject",
    metadata: {
      name: objects.target.name,
      namespace: objects.namespace,
      labels: objects.labels,
      annotations: { "httpscaledobject.keda.sh/skip-scaledobject-creation": "true" },
    },
    spec: {
      hosts: entryHosts(objects),
      scaleTargetRef: { apiVersion: objects.target.apiVersion, kind: objects.target.kind, name: objects.target.name, service: objects.apiService, port: objects.apiPort },
      replicas: { min: scaling.minReplicas, max: scaling.maxReplicas },
      scalingMetric: { concurrency: { targetValue: scaling.sequencesPerReplica } },
      scaledownPeriod: scaling.idleSecondsToZero,
      // Per route: this deployment's own cold start, not a cluster-wide guess.
      timeouts: { conditionWait: `${scaling.holdSeconds ?? 0}s`, responseHeader: `${scaling.responseHeaderSeconds}s` },
    },
  };
}

/** The Service a scale-to-zero deployment's clients call: a cluster DNS name for the interceptor. */
export function entryServiceManifest(objects: ScalingObjects) {
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: objects.entryService, namespace: objects.namespace, labels: objects.labels },
    spec: {
      type: "ExternalName",
      externalName: `${HTTP_ADDON.interceptorService}.${HTTP_ADDON.namespace}.svc.cluster.local`,
      ports: [{ name: "http", port: HTTP_ADDON.interceptorPort, targetPort: HTTP_ADDON.interceptorPort, protocol: "TCP" }],
    },
  };
}
