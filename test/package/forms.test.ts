import { describe, expect, it } from "vitest";
import { COMPONENT_TYPES, componentOptions } from "../../components/component-types";
import { addonNeeds } from "../../package/cluster-addons";
import { typeScriptGpuClusterArgs } from "../../package/gpu-cluster";
import * as pulumi from "@pulumi/pulumi";
import { awaitedPlainInputs } from "../../package/provider";
import { completedSchema } from "../../package/schema";
import { valueOf } from "../support/pulumi";
import { typeScriptServing } from "../../package/types";

describe("type tokens", () => {
  it("are <package>:index:<Class>, and the 0.1 tokens stay as aliases so existing stacks keep their resources", () => {
    expect(Object.entries(COMPONENT_TYPES).every(([name, token]) => token === `llm-fleet:index:${name}`)).toBe(true);
    expect(componentOptions("GpuCluster", { protect: true })).toEqual({ protect: true, aliases: [{ type: "llm-fleet:aws:GpuCluster" }] });
    expect(componentOptions("VllmServer", { aliases: ["urn:pulumi:dev::llm-fleet::old"] }).aliases).toEqual(["urn:pulumi:dev::llm-fleet::old", { type: "llm-fleet:k8s:VllmServer" }]);
    // ModelDeployment always had its index token.
    expect(componentOptions("ModelDeployment", undefined)).toEqual({});
  });
});

describe("the package's argument forms", () => {
  it("GpuCluster: the flat arguments become the TypeScript union, count 0 meaning no system nodes", () => {
    expect(typeScriptGpuClusterArgs({ publicAccessCidrs: ["34.200.10.7/32"], systemNodes: { count: 0 } })).toEqual({
      args: { mode: "new", publicAccessCidrs: ["34.200.10.7/32"], systemNodes: false },
    });
    expect(typeScriptGpuClusterArgs({ systemNodes: { instanceType: "m7i.xlarge" } })).toEqual({ args: { mode: "new", systemNodes: { instanceType: "m7i.xlarge" } } });
    expect(typeScriptGpuClusterArgs({ mode: "existing", clusterName: "shared-gpu", subnetIds: ["subnet-0abc"], region: "us-west-2", nodeAutoscaler: true })).toEqual({
      args: { mode: "existing", clusterName: "shared-gpu", subnetIds: ["subnet-0abc"], region: "us-west-2", nodeAutoscaler: true },
    });
  });

  it("serving: one S3 access method, named as the package names it", () => {
    expect(typeScriptServing({ weights: "s3://m/x", s3RoleArn: "arn:aws:iam::1:role/r", apiKey: "k" }, "serving.")).toEqual({
      serving: { weights: "s3://m/x", s3Access: { roleArn: "arn:aws:iam::1:role/r" }, apiKey: "k" },
      problems: [],
    });
    expect(typeScriptServing({ weights: "s3://m/x", s3BucketPolicy: true }, "")).toEqual({ serving: { weights: "s3://m/x", s3Access: { bucketPolicy: true } }, problems: [] });
    expect(typeScriptServing(undefined, "")).toEqual({ serving: {}, problems: [] });
    expect(typeScriptServing({ weights: "s3://m/x" }, "").problems).toEqual([
      { path: "s3RoleArn", message: "reading s3://m/x needs access: give s3RoleArn for the service account, or s3BucketPolicy: true if the bucket grants the nodes" },
    ]);
  });

  it("add-on needs: false unless selected", () => {
    expect(addonNeeds({ monitoring: true })).toEqual({
      nvidiaDevicePlugin: false,
      leaderWorkerSet: false,
      efaDevicePlugin: false,
      replicaAutoscaler: false,
      requestHolder: false,
      nodeAutoscaler: false,
      monitoring: true,
    });
  });
});

describe("completedSchema", () => {
  const analyzed = JSON.stringify({
    name: "llm-fleet",
    resources: {
      "llm-fleet:index:ModelDeployment": {
        inputProperties: {
          cluster: { $ref: "#/types/llm-fleet:index:GpuClusterReference", plain: true },
          replicas: { type: "number", plain: true, description: "Replicas." },
          mode: { $ref: "#/types/llm-fleet:index:Mode", plain: true },
          list: { type: "array", items: { $ref: "#/types/llm-fleet:index:ClusterAddonsReference" } },
        },
        properties: {},
      },
    },
    types: {
      "llm-fleet:index:GpuClusterReference": { type: "object", properties: {} },
      "llm-fleet:index:ClusterAddonsReference": { type: "object", properties: {} },
      "llm-fleet:index:Window": { type: "object", properties: { startsAt: { type: "string" } } },
    },
  });
  const completed = JSON.parse(
    completedSchema(analyzed, {
      inputs: { ModelDeployment: { replicas: { default: "1" }, mode: { default: '"fixed"' }, list: { default: "[]", secret: true } } },
      types: { Window: { description: "A window.", properties: { startsAt: { default: '"now"' } } } },
    }),
  );

  it("puts each default in the description only, and marks the secrets", () => {
    const inputs = completed.resources["llm-fleet:index:ModelDeployment"].inputProperties;
    expect(inputs.replicas).toEqual({ type: "number", plain: true, description: "Replicas.\n\nDefault: 1." });
    expect(inputs.mode).toEqual({ $ref: "#/types/llm-fleet:index:Mode", plain: true, description: 'Default: "fixed".' });
    expect(inputs.list).toMatchObject({ description: "Default: [].", secret: true });
    expect(completed.types["llm-fleet:index:Window"]).toEqual({
      type: "object",
      description: "A window.",
      properties: { startsAt: { type: "string", description: 'Default: "now".' } },
    });
  });

  it("references the package's own components where the marker types stood, items included, and drops the markers", () => {
    const inputs = completed.resources["llm-fleet:index:ModelDeployment"].inputProperties;
    expect(inputs.cluster.$ref).toBe("#/resources/llm-fleet:index:GpuCluster");
    expect(inputs.list.items.$ref).toBe("#/resources/llm-fleet:index:ClusterAddons");
    expect(Object.keys(completed.types)).toEqual(["llm-fleet:index:Window"]);
  });
});

describe("awaitedPlainInputs", () => {
  const schema = {
    resources: {
      "llm-fleet:index:ModelDeployment": {
        inputProperties: {
          model: { type: "string", plain: true },
          workload: { $ref: "#/types/llm-fleet:index:Workload", plain: true },
          serving: { $ref: "#/types/llm-fleet:index:Serving", plain: true },
          tags: { type: "object", plain: true, additionalProperties: { type: "string", plain: true } },
        },
      },
    },
    types: {
      "llm-fleet:index:Workload": { properties: { concurrency: { type: "number", plain: true }, precisions: { type: "array", plain: true, items: { type: "string", plain: true } } } },
      "llm-fleet:index:Serving": { properties: { apiKey: { type: "string" }, image: { type: "string", plain: true } } },
    },
  };
  const known = <T>(value: T) => pulumi.output(value);

  it("awaits what the schema marks plain, at any depth, and leaves the rest outputs with their secrecy", async () => {
    const apiKey = pulumi.secret("sk-test");
    const result = await awaitedPlainInputs('ModelDeployment "x"', {
      model: known("r1-distill-qwen-7b"),
      workload: { concurrency: known(16), precisions: [known("bf16")] },
      serving: { apiKey, image: known("vllm/vllm-openai:v0.33.0") },
      tags: { team: known("ml") },
    }, schema, "llm-fleet:index:ModelDeployment");
    expect(result.model).toBe("r1-distill-qwen-7b");
    expect(result.workload).toEqual({ concurrency: 16, precisions: ["bf16"] });
    expect(result.tags).toEqual({ team: "ml" });
    const serving = result.serving as { apiKey: pulumi.Output<string>; image: string };
    expect(serving.image).toBe("vllm/vllm-openai:v0.33.0");
    expect(serving.apiKey).toBe(apiKey);
    expect(await pulumi.isSecret(serving.apiKey)).toBe(true);
    expect(await valueOf(serving.apiKey)).toBe("sk-test");
  });
});
