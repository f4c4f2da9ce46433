import type * as pulumi from "@pulumi/pulumi";

/**
 * Type tokens of the components the llm-fleet package exposes. A component provider constructs
 * `<package>:index:<Class>` and the component must register exactly that token
 * (https://www.pulumi.com/docs/iac/guides/building-extending/components/build-a-component/), so
 * TypeScript programs and programs in other languages get the same URNs.
 */
export const COMPONENT_TYPES = {
  ModelDeployment: "llm-fleet:index:ModelDeployment",
  GpuCluster: "llm-fleet:index:GpuCluster",
  GpuNodeGroup: "llm-fleet:index:GpuNodeGroup",
  VllmServer: "llm-fleet:index:VllmServer",
  ClusterAddons: "llm-fleet:index:ClusterAddons",
} as const;
export type ComponentName = keyof typeof COMPONENT_TYPES;

/** Tokens of llm-fleet 0.1, kept as aliases so that its stacks keep their resources. */
const FORMER_TYPES: { readonly [c in ComponentName]: string | null } = {
  ModelDeployment: null,
  GpuCluster: "llm-fleet:aws:GpuCluster",
  GpuNodeGroup: "llm-fleet:aws:GpuNodeGroup",
  VllmServer: "llm-fleet:k8s:VllmServer",
  ClusterAddons: "llm-fleet:k8s:ClusterAddons",
};

/** The options a component registers with: the caller's, plus the alias of its former token. */
export function componentOptions(component: ComponentName, opts: pulumi.ComponentResourceOptions | undefined): pulumi.ComponentResourceOptions {
  const former = FORMER_TYPES[component];
  return former === null ? { ...opts } : { ...opts, aliases: [...(opts?.aliases ?? []), { type: former }] };
}
