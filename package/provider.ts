import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import type { ConstructResult } from "@pulumi/pulumi/provider";
import { ComponentProvider } from "@pulumi/pulumi/provider/experimental";
import { InputError, type InputProblem } from "../sizing";
import { ClusterAddons } from "./cluster-addons";
import { GpuCluster } from "./gpu-cluster";
import { GpuNodeGroup } from "./gpu-node-group";
import { ModelDeployment } from "./model-deployment";
import { completedSchema, schemaDocs } from "./schema";
import { VllmServer } from "./vllm-server";

/** The package name programs add (`pulumi package add`): the SDKs' `llm-fleet` / `pulumi_llm_fleet`. */
export const PACKAGE_NAME = "llm-fleet";
export const PACKAGE_COMPONENTS = [ModelDeployment, GpuCluster, GpuNodeGroup, VllmServer, ClusterAddons];
/** Where package.json and tsconfig.json are, which the schema is read from. */
const ROOT = path.join(__dirname, "..");

/**
 * Pulumi's component provider for the package's components, serving the schema with the docs and
 * references its analyzer leaves out (schema.ts); construct is Pulumi's own.
 */
export class LlmFleetProvider extends ComponentProvider {
  private completed: string | undefined;

  constructor() {
    super({ components: PACKAGE_COMPONENTS, name: PACKAGE_NAME, dirname: ROOT });
  }

  override async construct(name: string, type: string, inputs: pulumi.Inputs, options: pulumi.ComponentResourceOptions): Promise<ConstructResult> {
    const component = type.split(":")[2] ?? type;
    const declared = (JSON.parse(await this.getSchema()) as { resources: Record<string, { inputProperties?: Record<string, { plain?: boolean }> }> }).resources[type];
    const plain = Object.entries(declared?.inputProperties ?? {}).flatMap(([key, p]) => (p.plain ? [key] : []));
    return super.construct(name, type, await awaitedPlainInputs(`${component} "${name}"`, inputs, plain), options);
  }

  override async getSchema(): Promise<string> {
    this.completed ??= completedSchema(
      await super.getSchema(),
      schemaDocs(
        ROOT,
        PACKAGE_COMPONENTS.map((c) => c.name),
      ),
    );
    return this.completed;
  }
}

/** What Pulumi's own provider server awaits of an output (provider/server.ts); not in the SDK's types. */
interface AwaitableOutput {
  isKnown: Promise<boolean>;
  promise(): Promise<unknown>;
}

/**
 * The engine may send an input that depends on another resource (a reference, another output) as an
 * output value. Plain inputs are planned from when the component is constructed, so their values are
 * awaited; one not known until the deployment runs cannot be planned from, and says so.
 */
export async function awaitedPlainInputs(subject: string, inputs: pulumi.Inputs, plain: readonly string[]): Promise<pulumi.Inputs> {
  const unknown: InputProblem[] = [];
  const known = async (value: unknown, at: string): Promise<unknown> => {
    if (pulumi.Output.isInstance(value)) {
      const output = value as unknown as AwaitableOutput;
      if (await output.isKnown) return known(await output.promise(), at);
      unknown.push({ path: at, message: "is not known until the deployment runs, and the plan is made from it: give a value known at preview" });
      return undefined;
    }
    if (Array.isArray(value)) return Promise.all(value.map((v, i) => known(v, `${at}[${i}]`)));
    if (value !== null && typeof value === "object" && !pulumi.Resource.isInstance(value)) {
      const entries = await Promise.all(Object.entries(value).map(async ([k, v]) => [k, await known(v, `${at}.${k}`)] as const));
      return Object.fromEntries(entries);
    }
    return value;
  };
  const result: pulumi.Inputs = { ...inputs };
  for (const key of plain) if (key in result) result[key] = await known(result[key], key);
  if (unknown.length > 0) throw new InputError(subject, unknown);
  return result;
}
