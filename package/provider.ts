import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import type { ConstructResult } from "@pulumi/pulumi/provider";
import { ComponentProvider } from "@pulumi/pulumi/provider/experimental";
import { InputError, type InputProblem } from "../sizing";
import { ClusterAddons } from "./cluster-addons";
import { GpuCluster } from "./gpu-cluster";
import { GpuNodeGroup } from "./gpu-node-group";
import { ModelDeployment } from "./model-deployment";
import { completedSchema, schemaDocs, type PackageSchema, type SchemaProperty } from "./schema";
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
  private parsed: PackageSchema | undefined;

  constructor() {
    super({ components: PACKAGE_COMPONENTS, name: PACKAGE_NAME, dirname: ROOT });
  }

  override async construct(name: string, type: string, inputs: pulumi.Inputs, options: pulumi.ComponentResourceOptions): Promise<ConstructResult> {
    const component = type.split(":")[2] ?? type;
    this.parsed ??= JSON.parse(await this.getSchema()) as PackageSchema;
    return super.construct(name, type, await awaitedPlainInputs(`${component} "${name}"`, inputs, this.parsed, type), options);
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
 * output value. What the schema marks plain is planned from when the component is constructed, so
 * it is awaited; one not known until the deployment runs cannot be planned from, and says so. The
 * rest (secrets, selectors) stays an output, with its secrecy and dependencies.
 */
export async function awaitedPlainInputs(subject: string, inputs: pulumi.Inputs, schema: Pick<PackageSchema, "resources" | "types">, type: string): Promise<pulumi.Inputs> {
  const unknown: InputProblem[] = [];
  const known = async (value: unknown, at: string, property: SchemaProperty | undefined): Promise<unknown> => {
    if (!property?.plain) return value;
    if (pulumi.Output.isInstance(value)) {
      const output = value as unknown as AwaitableOutput;
      if (await output.isKnown) return known(await output.promise(), at, property);
      unknown.push({ path: at, message: "is not known until the deployment runs, and the plan is made from it: give a value known at preview" });
      return undefined;
    }
    if (Array.isArray(value)) return Promise.all(value.map((v, i) => known(v, `${at}[${i}]`, property.items)));
    if (value === null || typeof value !== "object" || pulumi.Resource.isInstance(value)) return value;
    const object = property.$ref?.startsWith("#/types/") ? schema.types[property.$ref.slice("#/types/".length)] : undefined;
    const of = (key: string) => (object ? object.properties?.[key] : property.additionalProperties);
    const entries = await Promise.all(Object.entries(value).map(async ([k, v]) => [k, await known(v, `${at}.${k}`, of(k))] as const));
    return Object.fromEntries(entries);
  };
  const declared = schema.resources[type]?.inputProperties ?? {};
  const result: pulumi.Inputs = { ...inputs };
  for (const key of Object.keys(result)) result[key] = await known(result[key], key, declared[key]);
  if (unknown.length > 0) throw new InputError(subject, unknown);
  return result;
}
