/**
 * References between the package's own components. A program in another language passes a
 * GpuCluster to a ModelDeployment as a resource reference (a URN); the engine sends both
 * constructs to this one provider process, the GpuCluster's first, so the reference resolves to
 * the instance constructed here and its TypeScript parts (provider, region, system nodes).
 */
import * as pulumi from "@pulumi/pulumi";
import type { GpuClusterParts } from "../components/aws/gpu-cluster";
import type { ClusterAddonsParts } from "../components/k8s/cluster-addons";
import { InputError, type InputProblem } from "../sizing";

interface PartsOf {
  GpuCluster: GpuClusterParts;
  ClusterAddons: ClusterAddonsParts;
}
type Referenced = keyof PartsOf;

const partsByResource = new WeakMap<pulumi.Resource, { component: Referenced; parts: PartsOf[Referenced] }>();
const resourcesByUrn = new Map<string, pulumi.Resource>();

/** Makes `resource` what references to its URN resolve to. */
export function remember<C extends Referenced>(resource: pulumi.ComponentResource, component: C, parts: PartsOf[C]): void {
  partsByResource.set(resource, { component, parts });
  resource.urn.apply((urn) => resourcesByUrn.set(urn, resource));
}

/**
 * The parts of a referenced component, or the problem with the reference: not a resource, another
 * kind of component, or one this process did not construct (a stack reference, another package).
 */
export function referenced<C extends Referenced>(component: C, path: string, value: unknown): { parts: PartsOf[C] } | { problem: InputProblem } {
  if (!pulumi.Resource.isInstance(value)) {
    return { problem: { path, message: `${JSON.stringify(value) ?? String(value)} is not a resource: pass the ${component} itself` } };
  }
  const entry = partsByResource.get(value);
  if (entry?.component === component) return { parts: entry.parts as PartsOf[C] };
  const what = entry ? `a ${entry.component}` : "a resource this program did not create through the llm-fleet package";
  return { problem: { path, message: `is ${what}: pass a ${component} of the llm-fleet package created in the same program` } };
}

/** The cluster and the add-ons (when given) a deployment goes onto; throws their problems with `others`. */
export function deploymentTargets(
  subject: string,
  cluster: unknown,
  addons: unknown,
  others: InputProblem[],
): { cluster: GpuClusterParts; addons: ClusterAddonsParts | undefined } {
  const onto = referenced("GpuCluster", "cluster", cluster);
  const shared = addons === undefined ? undefined : referenced("ClusterAddons", "addons", addons);
  const problems = [...("problem" in onto ? [onto.problem] : []), ...(shared && "problem" in shared ? [shared.problem] : []), ...others];
  if (problems.length > 0 || "problem" in onto || (shared && "problem" in shared)) throw new InputError(subject, problems);
  return { cluster: onto.parts, addons: shared?.parts };
}

// Without a module for the package, a reference would arrive as its URN string.
pulumi.runtime.registerResourceModule("llm-fleet", "index", {
  construct: (_name: string, _type: string, urn: string) => resourcesByUrn.get(urn) ?? new pulumi.DependencyResource(urn),
});
