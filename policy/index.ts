// The CrossGuard pack's entry: `pulumi preview --policy-pack policy --policy-pack-config policy/config.dev.json`.
// Constructing a PolicyPack starts its gRPC server, so nothing else imports this file.
import { PolicyPack } from "@pulumi/policy";
import { POLICIES } from "./policies";

new PolicyPack("llm-fleet", {
  description: "Budgets, allowed instances and safety for llm-fleet stacks",
  policies: [...POLICIES],
});
