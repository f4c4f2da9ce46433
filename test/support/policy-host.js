// Starts the CrossGuard pack the way Pulumi's policy host does for `pulumi preview --policy-pack
// policy`: node in the pack's own folder, TypeScript through ts-node without the project's
// tsconfig (PulumiPolicy.yaml `typescript: true`), then the pack's entry. PolicyPack reads its
// version from ./package.json there and prints the port of the gRPC server it starts.
"use strict";
const path = require("node:path");
process.chdir(path.join(__dirname, "..", "..", "policy"));
require("ts-node").register({
  skipProject: true,
  transpileOnly: false,
  compilerOptions: { target: "ES2020", module: "nodenext", moduleResolution: "nodenext" },
});
require(path.join(process.cwd(), "index.ts"));
