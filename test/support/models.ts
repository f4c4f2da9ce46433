/**
 * Validates a Kubernetes object against its schema: the typed models of kubernetes-models and
 * @kubernetes-models/* where they exist, and for the KEDA HTTP add-on's HTTPScaledObject (which
 * has no published model) a strict schema written from its CRD type
 * (kedacore/http-add-on operator/apis/http/v1alpha1/httpscaledobject_types.go, v0.15.0).
 */
import { ScaledObject } from "@kubernetes-models/keda/keda.sh/v1alpha1/ScaledObject";
import { PrometheusRule } from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule";
import { ServiceMonitor } from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor";
import { Deployment } from "kubernetes-models/apps/v1";
import { Job } from "kubernetes-models/batch/v1";
import { PodDisruptionBudget } from "kubernetes-models/policy/v1";
import { ConfigMap, Namespace, Secret, Service, ServiceAccount } from "kubernetes-models/v1";
import { z } from "zod";

const duration = z.string().regex(/^\d+(ms|s|m|h)$/);
const HttpScaledObjectSchema = z
  .object({
    apiVersion: z.literal("http.keda.sh/v1alpha1"),
    kind: z.literal("HTTPScaledObject"),
    metadata: z.object({ name: z.string().min(1), namespace: z.string().min(1).optional(), labels: z.record(z.string(), z.string()).optional(), annotations: z.record(z.string(), z.string()).optional() }).strict(),
    spec: z
      .object({
        hosts: z.array(z.string().min(1)).optional(),
        pathPrefixes: z.array(z.string()).optional(),
        scaleTargetRef: z
          .object({ name: z.string().min(1), kind: z.string().optional(), apiVersion: z.string().optional(), service: z.string().min(1), port: z.number().int().positive().optional(), portName: z.string().optional() })
          .strict()
          .refine((ref) => (ref.port === undefined) !== (ref.portName === undefined), { error: "exactly one of port and portName" }),
        replicas: z.object({ min: z.number().int().nonnegative().optional(), max: z.number().int().positive().optional() }).strict().optional(),
        scalingMetric: z
          .object({
            concurrency: z.object({ targetValue: z.number().int().positive() }).strict().optional(),
            requestRate: z.object({ targetValue: z.number().int().positive(), window: duration.optional(), granularity: duration.optional() }).strict().optional(),
          })
          .strict()
          .refine((m) => !(m.concurrency && m.requestRate), { error: "concurrency and requestRate exclude each other" })
          .optional(),
        scaledownPeriod: z.number().int().nonnegative().optional(),
        initialCooldownPeriod: z.number().int().nonnegative().optional(),
        // Both required when timeouts is given (no omitempty in the CRD type).
        timeouts: z.object({ conditionWait: duration, responseHeader: duration }).strict().optional(),
      })
      .strict(),
  })
  .strict();

const MODELS: Record<string, new (o: any) => { validate(): void }> = {
  Deployment,
  Namespace,
  Secret,
  Service,
  ServiceAccount,
  PodDisruptionBudget,
  ConfigMap,
  Job,
  ScaledObject,
  ServiceMonitor,
  PrometheusRule,
};

/** Throws on an object its schema refuses, or of a kind without a schema here. */
export function validate(o: { kind: string }): void {
  if (o.kind === "HTTPScaledObject") {
    const parsed = HttpScaledObjectSchema.safeParse(o);
    if (!parsed.success) throw new Error(`HTTPScaledObject: ${parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`);
    return;
  }
  const Model = MODELS[o.kind];
  if (!Model) throw new Error(`no model for ${o.kind}`);
  new Model(o).validate();
}
