import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { alertRulesManifest, dashboardConfigMapManifest, type MonitoredDeployment } from "./monitoring-spec";

export interface ServerMonitoringArgs {
  /** Kubernetes provider of the cluster. */
  provider: k8s.Provider;
  /** The deployment watched: its namespace, served model, the plan's predictions and the workload's targets. */
  deployment: MonitoredDeployment;
  /** The namespace object's name, so the objects are created once it exists (VllmServer `namespace`). */
  namespace: pulumi.Input<string>;
  /**
   * What the objects wait for: the kube-prometheus-stack release (its CRDs and Grafana) and the namespace.
   * @default []
   */
  waitFor?: pulumi.Resource[];
}

/**
 * A deployment's alert rules (a PrometheusRule) and its Grafana dashboard (a ConfigMap the
 * Grafana sidecar loads), both built from the plan so the graphs and alerts compare what is
 * measured with what was predicted and promised.
 */
export class ServerMonitoring extends pulumi.ComponentResource {
  constructor(name: string, args: ServerMonitoringArgs, opts?: pulumi.ComponentResourceOptions) {
    super("llm-fleet:k8s:ServerMonitoring", name, {}, opts);
    const options = { parent: this, provider: args.provider, dependsOn: args.waitFor ?? [] };
    const rules = alertRulesManifest(args.deployment) as { apiVersion: string; kind: string; metadata: object; spec: object };
    new k8s.apiextensions.CustomResource(`${name}-alerts`, { ...rules, metadata: { ...rules.metadata, namespace: args.namespace } }, options);
    const dashboard = dashboardConfigMapManifest(args.deployment) as { metadata: k8s.types.input.meta.v1.ObjectMeta; data: Record<string, string> };
    new k8s.core.v1.ConfigMap(`${name}-dashboard`, { metadata: { ...dashboard.metadata, namespace: args.namespace }, data: dashboard.data }, options);
    this.registerOutputs({});
  }
}
