import * as path from "node:path";
import { ComponentProvider } from "@pulumi/pulumi/provider/experimental";
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
