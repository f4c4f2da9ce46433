import { beforeAll, describe, expect, it } from "vitest";
import { PACKAGE_COMPONENTS } from "../../package/provider";
import { REFERENCES, type SchemaProperty as Property } from "../../package/schema";
import { AMI_FAMILIES } from "../../components/aws/node-group-spec";
import { NAT_GATEWAY_MODES } from "../../components/aws/cluster-spec";
import { CAPACITY_TYPES, KV_CACHE_DTYPES, OBJECTIVES, PRECISIONS } from "../../sizing";
import { provider } from "../support/package";

interface Resource {
  isComponent: boolean;
  description: string;
  inputProperties: Record<string, Property>;
  requiredInputs: string[];
  properties: Record<string, Property>;
  required: string[];
}
interface Schema {
  name: string;
  version: string;
  resources: Record<string, Resource>;
  types: Record<string, { type: string; description?: string; properties?: Record<string, Property>; enum?: { name: string; value: string; description?: string }[] }>;
  dependencies: unknown[];
}

let text: string;
let schema: Schema;
beforeAll(async () => {
  text = await provider.getSchema();
  schema = JSON.parse(text) as Schema;
}, 120_000);

const NAMES = ["ModelDeployment", "GpuCluster", "GpuNodeGroup", "VllmServer", "ClusterAddons"];
const resource = (name: string) => schema.resources[`llm-fleet:index:${name}`]!;

/** Every property of the schema, with where it is. */
function everyProperty(): { at: string; property: Property }[] {
  const all: { at: string; property: Property }[] = [];
  for (const [token, r] of Object.entries(schema.resources)) {
    for (const [name, p] of Object.entries(r.inputProperties)) all.push({ at: `${token} input ${name}`, property: p });
    for (const [name, p] of Object.entries(r.properties)) all.push({ at: `${token} output ${name}`, property: p });
  }
  for (const [token, t] of Object.entries(schema.types)) {
    for (const [name, p] of Object.entries(t.properties ?? {})) all.push({ at: `${token}.${name}`, property: p });
  }
  return all;
}

describe("the package schema", () => {
  it("exposes the five components as components of package llm-fleet at its package.json version", () => {
    expect(schema.name).toBe("llm-fleet");
    expect(schema.version).toBe("0.1.0");
    expect(Object.keys(schema.resources).sort()).toEqual(NAMES.map((n) => `llm-fleet:index:${n}`).sort());
    expect(PACKAGE_COMPONENTS.map((c) => c.name)).toEqual(NAMES);
    for (const name of NAMES) {
      expect(resource(name).isComponent, name).toBe(true);
      expect(resource(name).description.length, name).toBeGreaterThan(40);
    }
  });

  it("gives every input and output a type and a description, and nothing the analyzer could not type", () => {
    const all = everyProperty();
    expect(all.length).toBeGreaterThan(150);
    for (const { at, property } of all) {
      expect(property.type ?? property.$ref, at).toBeDefined();
      expect(property.description?.replace(/\n\nDefault: .*$/s, "").trim().length ?? 0, at).toBeGreaterThan(3);
    }
    expect(text).not.toContain("pulumi.json#/Any");
    for (const [token, t] of Object.entries(schema.types)) {
      if (!t.enum) expect(t.description, token).toBeDefined();
      for (const member of t.enum ?? []) expect(member.description, `${token} ${member.name}`).toBeDefined();
    }
  });

  it("marks the required inputs and nothing else", () => {
    expect(resource("ModelDeployment").requiredInputs).toEqual(["cluster", "model"]);
    expect(resource("GpuCluster").requiredInputs).toEqual([]);
    expect(resource("GpuNodeGroup").requiredInputs).toEqual(["checkpointSizeGB", "cluster", "instanceType", "model"]);
    expect(resource("VllmServer").requiredInputs).toEqual(["cluster", "instanceType", "model", "nodeSelector", "tolerations"]);
    expect(resource("ClusterAddons").requiredInputs).toEqual(["cluster"]);
    expect(schema.types["llm-fleet:index:PriceOverride"]!.properties!.usdPerHour!.optional).toBeUndefined();
    expect(schema.types["llm-fleet:index:PriceOverride"]!.properties!.region!.optional).toBe(true);
    // Known when construct returns: a program can read them without an apply.
    expect(resource("ModelDeployment").required).toEqual(["endpoint", "namespace", "plan", "planSummary", "servedModelName", "usdPerHour", "usdPerMonth"]);
  });

  it("carries each @default into the description, never into a schema default the SDKs would send as if it were set", () => {
    expect(text).not.toMatch(/"default":/);
    const md = resource("ModelDeployment").inputProperties;
    expect(md.autoscaling).toMatchObject({ type: "boolean", plain: true, optional: true });
    expect(md.autoscaling!.description).toMatch(/\n\nDefault: true\.$/);
    expect(md.monitoring!.description).toMatch(/\n\nDefault: false\.$/);
    expect(md.placement!.description).toMatch(/\n\nDefault: the cluster's region, on demand, any GPU\.$/);
    const workload = schema.types["llm-fleet:index:Workload"]!.properties!;
    expect(workload.maxModelLen!.description).toBe("vLLM's `--max-model-len`: the longest sequence, prompt and output, in tokens.\n\nDefault: 32768.");
    expect(workload.concurrency!.description).toBe("Sequences in flight across the deployment.\n\nDefault: 1.");
    expect(workload.promptTokens!.description).toBe("Mean prompt length in tokens.\n\nDefault: 1024, scaled down with outputTokens when both do not fit in maxModelLen.");
    expect(workload.objective).toMatchObject({ $ref: "#/types/llm-fleet:index:Objective" });
    expect(workload.objective!.description).toMatch(/Default: "cost"\.$/);
    const cluster = resource("GpuCluster").inputProperties;
    expect(cluster.kubernetesVersion!.description).toMatch(/Default: "1\.35"\.$/);
    expect(cluster.mode!.description).toMatch(/Default: "new"\.$/);
    // Every input whose JSDoc has a @default says it; those without one are required or have none to say.
    const undescribed = Object.entries(schema.resources).flatMap(([token, r]) =>
      Object.entries(r.inputProperties).flatMap(([name, p]) => (p.optional && !/\n?Default: /.test(p.description ?? "") ? [`${token} ${name}`] : [])),
    );
    expect(undescribed).toEqual([]);
  });

  it("marks the secret inputs, which the SDKs then send as secrets", () => {
    const serving = schema.types["llm-fleet:index:Serving"]!.properties!;
    expect(serving.apiKey).toMatchObject({ type: "string", secret: true });
    expect(serving.hfToken).toMatchObject({ type: "string", secret: true });
    expect(serving.apiKey!.plain).toBeUndefined();
    expect(resource("VllmServer").inputProperties.apiKey).toMatchObject({ secret: true });
    expect(resource("GpuCluster").inputProperties.kubeconfig).toMatchObject({ type: "string", secret: true });
    expect([...text.matchAll(/"secret":true/g)]).toHaveLength(5);
  });

  it("types the references between the package's components as those resources", () => {
    expect(resource("ModelDeployment").inputProperties.cluster).toEqual({
      $ref: "#/resources/llm-fleet:index:GpuCluster",
      plain: true,
      description: "The GpuCluster to deploy onto.",
    });
    expect(resource("ModelDeployment").inputProperties.addons!.$ref).toBe("#/resources/llm-fleet:index:ClusterAddons");
    for (const name of ["GpuNodeGroup", "VllmServer", "ClusterAddons"]) {
      expect(resource(name).inputProperties.cluster!.$ref, name).toBe("#/resources/llm-fleet:index:GpuCluster");
    }
    for (const marker of Object.keys(REFERENCES)) expect(schema.types[`llm-fleet:index:${marker}`]).toBeUndefined();
    // Every reference resolves inside the schema.
    const refs = [...text.matchAll(/"\$ref":"(#\/[^"]+)"/g)].map((m) => m[1]!);
    expect(refs.length).toBeGreaterThan(20);
    for (const ref of refs) {
      const [, section, token] = ref.split("/");
      expect(section === "types" ? schema.types[token!] : schema.resources[token!], ref).toBeDefined();
    }
    expect(schema.dependencies).toEqual([]);
  });

  it("lists each enumeration as the catalogs and the stack config have it", () => {
    // In the order of TypeScript's union, which need not be the declaration's.
    const values = (name: string) => schema.types[`llm-fleet:index:${name}`]!.enum!.map((m) => m.value).sort();
    expect(values("Precision")).toEqual([...PRECISIONS].sort());
    expect(values("CapacityType")).toEqual([...CAPACITY_TYPES].sort());
    expect(values("Objective")).toEqual([...OBJECTIVES].sort());
    expect(values("KvCacheDtype")).toEqual([...KV_CACHE_DTYPES].sort());
    expect(values("AmiFamily")).toEqual([...AMI_FAMILIES].sort());
    expect(values("NatGatewayMode")).toEqual([...NAT_GATEWAY_MODES].sort());
    expect(values("ClusterMode")).toEqual(["existing", "new"]);
    expect(schema.types["llm-fleet:index:CapacityType"]!.enum!.find((m) => m.value === "on-demand")!.name).toBe("OnDemand");
  });

  it("matches the reviewed schema text", async () => {
    await expect(JSON.stringify(schema, null, 2) + "\n").toMatchFileSnapshot("__snapshots__/schema.json");
  });
});
