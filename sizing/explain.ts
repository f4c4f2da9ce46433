import { MODELS } from "./catalog";
import type { PlanResult, Relaxation } from "./planner";

const usd = (n: number) => `$${n.toFixed(2)}`;

/** A relaxation in request terms: `precisions: fp8,int4` or `gpus: any`. */
export function describeRelaxation(x: Relaxation): string {
  return `${x.field}: ${x.value} gives ${x.plan.nodes} x ${x.plan.instanceType} (${x.plan.precision}, ${usd(x.plan.usdPerHour)}/hour)`;
}

/** The planner's explanation of an empty result, as one paragraph for an error message. */
export function explainNoFit(result: PlanResult): string {
  const r = result.request;
  const parts = [`nothing fits ${MODELS[r.model].displayName} at max_model_len ${r.maxModelLen} for ${r.concurrency} sequence(s) in ${r.region} (${r.capacityType})`];
  const miss = result.closestMiss;
  if (miss) parts.push(`closest: ${miss.nodes} x ${miss.instanceType} with ${miss.checkpoint}: ${miss.reason}`);
  parts.push(
    result.relaxations.length > 0
      ? `change one of: ${result.relaxations.map(describeRelaxation).join("; ")}`
      : "no single change to the request gives a plan",
  );
  return parts.join(". ");
}
