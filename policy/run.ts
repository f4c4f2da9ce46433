/**
 * Runs the pack's policies over recorded resources, the way CrossGuard does during
 * `pulumi preview`: each resource policy on each resource, each stack policy once, at the
 * configured enforcement level.
 */
import type { PolicyResource, PolicyResourceOptions } from "@pulumi/policy";
import type { EnforcementLevel, PolicyConfig } from "./config";
import { POLICIES } from "./policies";

export interface Violation {
  policy: string;
  level: "advisory" | "mandatory";
  message: string;
  resource?: string;
}

/** What `llm-fleet plan` records of a resource. */
export interface ResourceRecord {
  type: string;
  name: string;
  parent: string | null;
  inputs: Record<string, unknown>;
}

const OPTIONS: PolicyResourceOptions = {
  protect: false,
  ignoreChanges: [],
  aliases: [],
  customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 },
  additionalSecretOutputs: [],
};

/** Recorded resources as CrossGuard's PolicyResource, parents linked. */
export function policyResources(records: readonly ResourceRecord[]): PolicyResource[] {
  const byName = new Map<string, PolicyResource>();
  const resources = records.map((r) => {
    const resource: PolicyResource = {
      type: r.type,
      name: r.name,
      props: r.inputs,
      urn: `urn:pulumi:offline::llm-fleet::${r.type}::${r.name}`,
      opts: { ...OPTIONS },
      dependencies: [],
      propertyDependencies: {},
      isType: () => false,
      asType: () => undefined,
    };
    if (r.type.startsWith("llm-fleet:")) byName.set(r.name, resource);
    return resource;
  });
  records.forEach((r, i) => {
    const parent = r.parent === null ? undefined : byName.get(r.parent);
    if (parent) resources[i]!.parent = parent;
  });
  return resources;
}

function settingsOf(config: PolicyConfig, name: string, defaults: Record<string, unknown>): { level: EnforcementLevel | undefined; settings: Record<string, unknown> } {
  const entry = config[name as keyof PolicyConfig];
  if (typeof entry === "string") return { level: entry, settings: defaults };
  const { enforcementLevel, ...rest } = entry ?? {};
  return { level: enforcementLevel, settings: { ...defaults, ...rest } };
}

function defaultsOf(schema: { properties: Record<string, { default?: unknown }> } | undefined): Record<string, unknown> {
  return Object.fromEntries(Object.entries(schema?.properties ?? {}).flatMap(([k, v]) => (v.default === undefined ? [] : [[k, v.default]])));
}

export function runPolicies(records: readonly ResourceRecord[], config: PolicyConfig): Violation[] {
  const resources = policyResources(records);
  const violations: Violation[] = [];
  for (const policy of POLICIES) {
    const { level: configured, settings } = settingsOf(config, policy.name, defaultsOf(policy.configSchema as never));
    const level = configured ?? policy.enforcementLevel ?? "advisory";
    if (level === "disabled") continue;
    const reported = level === "mandatory" || level === "remediate" ? "mandatory" : "advisory";
    const getConfig = <T extends object>() => settings as T;
    const notApplicable = (): never => {
      throw new NotApplicable();
    };
    const stackTags = new Map<string, string>();
    if ("validateStack" in policy) {
      try {
        policy.validateStack({ resources, getConfig, notApplicable, stackTags }, (message) => violations.push({ policy: policy.name, level: reported, message }));
      } catch (error) {
        if (!(error instanceof NotApplicable)) throw error;
      }
    } else {
      const validate = [policy.validateResource].flat().filter((v) => v !== undefined);
      for (const r of resources) {
        const args = { ...r, opts: r.opts, getConfig, notApplicable, stackTags, isType: () => false, asType: () => undefined };
        for (const v of validate) {
          try {
            void v(args, (message) => violations.push({ policy: policy.name, level: reported, message, resource: r.name }));
          } catch (error) {
            if (!(error instanceof NotApplicable)) throw error;
          }
        }
      }
    }
  }
  return violations;
}

class NotApplicable extends Error {}
