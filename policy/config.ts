/**
 * The policy pack's configuration (`--policy-pack-config`): for each policy an enforcement
 * level, or an object with one and the policy's own settings. Checked here so that a typo
 * or a bad value is an error that names the key, not a policy that silently does nothing.
 */
import { z } from "zod";
import { GPU_IDS, INSTANCE_FAMILIES, PriceOverrideSchema, unknownIdMessage, type InputProblem } from "../sizing";
import { POLICIES, type PolicyName } from "./policies";

export const ENFORCEMENT_LEVELS = ["advisory", "mandatory", "remediate", "disabled"] as const;
export type EnforcementLevel = (typeof ENFORCEMENT_LEVELS)[number];

const level = z.enum(ENFORCEMENT_LEVELS, { error: (issue) => unknownIdMessage("enforcement level", String(issue.input), ENFORCEMENT_LEVELS) });
const settings = <T extends z.ZodRawShape>(shape: T) => z.object({ enforcementLevel: level.optional(), ...shape }).strict();
const listOf = (kind: string, values: readonly string[]) =>
  z.array(z.string().refine((v) => values.includes(v), { error: (issue) => unknownIdMessage(kind, String(issue.input), values) }));

/** Each policy's settings; the keys are exactly the policy names. */
export const POLICY_SETTINGS: { readonly [name in PolicyName]: z.ZodObject } = {
  "monthly-budget": settings({
    budgetUsdPerMonth: z
      .number({ error: (issue) => `${JSON.stringify(issue.input)} is not a budget in USD per month` })
      .positive({ error: (issue) => `${JSON.stringify(issue.input)} is not a positive budget in USD per month` })
      .optional(),
    region: z.string().optional(),
    environment: z.string().optional(),
    priceOverrides: z.array(PriceOverrideSchema).optional(),
  }),
  "allowed-instance-types": settings({ allowedFamilies: listOf("instance family", INSTANCE_FAMILIES).optional(), allowedGpus: listOf("gpu", GPU_IDS).optional() }),
  "dev-capacity": settings({}),
  "parallelism-matches-gpus": settings({}),
  "checkpoint-fits-gpus": settings({}),
  "pinned-vllm-image": settings({ allowedImages: z.array(z.string()).optional() }),
  "imdsv2-required": settings({ maxHopLimit: z.number().int().min(1).optional() }),
  "encrypted-volumes": settings({}),
  "no-public-load-balancer": settings({ allowPublic: z.boolean().optional() }),
  "no-secret-in-plain-env": settings({}),
  "no-privileged-containers": settings({}),
  "api-key-required": settings({}),
};

export type PolicyConfig = Partial<Record<PolicyName, EnforcementLevel | ({ enforcementLevel?: EnforcementLevel } & Record<string, unknown>)>>;

export function parsePolicyConfig(input: unknown): { config: PolicyConfig } | { problems: InputProblem[] } {
  const problems: InputProblem[] = [];
  if (typeof input !== "object" || input === null || Array.isArray(input)) {
    return { problems: [{ path: "", message: "the policy config is a JSON object of policy names" }] };
  }
  const names = POLICIES.map((p) => p.name) as string[];
  for (const [name, value] of Object.entries(input)) {
    if (!names.includes(name)) {
      problems.push({ path: name, message: unknownIdMessage("policy", name, names) });
      continue;
    }
    const own = POLICY_SETTINGS[name as PolicyName]!;
    const parsed = (typeof value === "string" ? level : own).safeParse(value);
    if (!parsed.success) {
      for (const issue of parsed.error.issues) {
        const message =
          issue.code === "unrecognized_keys"
            ? issue.keys.map((k) => unknownIdMessage("setting", k, Object.keys(own.shape))).join("; ")
            : issue.message;
        problems.push({ path: [name, ...issue.path.map(String)].join("."), message });
      }
    }
  }
  return problems.length > 0 ? { problems } : { config: input as PolicyConfig };
}
