// Loads stacks/index.ts the way Pulumi's nodejs language host does for `pulumi up`:
// ts-node with the project's tsconfig.json, type-checked, compiler options as in
// @pulumi/pulumi/cmd/run/run.js; the engine is replaced by the offline mocks.
"use strict";
const path = require("node:path");
const root = path.join(__dirname, "..", "..");
process.chdir(root);
require("ts-node").register({
  project: "tsconfig.json",
  transpileOnly: false,
  compilerOptions: { target: "ES2020", module: "nodenext", moduleResolution: "nodenext", sourceMap: "true" },
});
const { readStackFile, runOffline, resolveOutputs } = require("../../cli/offline.ts");
const stack = process.argv[2] ?? "dev";
const { config, secretKeys } = readStackFile(path.join(root, "stacks", `Pulumi.${stack}.yaml`));
runOffline(stack, config, secretKeys, () => require("../../stacks/index.ts"))
  .then(async (run) => {
    console.log(JSON.stringify({ resources: run.resources.length, outputs: await resolveOutputs(run.outputs) }));
  })
  .catch((error) => {
    console.error(error.message);
    process.exitCode = 1;
  });
