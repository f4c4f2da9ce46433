/**
 * Calls the package's component provider the way Pulumi's engine does for a program in another
 * language: the inputs as the wire carries them (plain JSON, resource references by URN),
 * deserialized by the provider server's own code, then `construct`.
 */
import * as pulumi from "@pulumi/pulumi";
import { LlmFleetProvider } from "../../package/provider";
import { valueOf } from "./pulumi";

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { deserializeInputs } = require("@pulumi/pulumi/provider/server") as {
  deserializeInputs(struct: unknown, dependencies: Map<string, { getUrnsList(): string[] }>): Promise<Record<string, unknown>>;
};
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { Struct } = require("google-protobuf/google/protobuf/struct_pb") as { Struct: { fromJavaScript(value: unknown): unknown } };

/** A resource reference as a program in another language sends it. */
export interface WireReference {
  reference: string;
}
export const reference = (urn: string): WireReference => ({ reference: urn });

/**
 * A value the engine sends as an output value: one that depends on `dependencies`, unknown when
 * `value` is absent (a preview, before the resource it comes from exists).
 */
export interface WireOutput {
  output: { value?: Wire; dependencies: string[] };
}
export const outputValue = (dependencies: string[], value?: Wire): WireOutput => ({ output: { ...(value === undefined ? {} : { value }), dependencies } });

/** A secret as the wire carries it. */
export interface WireSecret {
  secret: Wire;
}
export const secret = (value: Wire): WireSecret => ({ secret: value });

type Wire = string | number | boolean | null | WireReference | WireOutput | WireSecret | Wire[] | { [key: string]: Wire };

const SIG = "4dabf18193072939515e22adb298388d";
const RESOURCE_SIG = { [SIG]: "5cf8f73096256a8f31e491e813e4eb8e" };
const OUTPUT_SIG = { [SIG]: "d0e6a833031e9bbcd3f4e8bde6ca49a4" };
const SECRET_SIG = { [SIG]: "1b47061264138c4ac30d75fd1eb44270" };

function encode(value: Wire, urns: string[]): unknown {
  if (Array.isArray(value)) return value.map((v) => encode(v, urns));
  if (value !== null && typeof value === "object") {
    if ("reference" in value && typeof value.reference === "string") {
      urns.push(value.reference);
      return { ...RESOURCE_SIG, urn: value.reference };
    }
    if ("secret" in value && Object.keys(value).length === 1) return { ...SECRET_SIG, value: encode(value.secret as Wire, urns) };
    if ("output" in value && typeof value.output === "object" && value.output !== null && "dependencies" in value.output) {
      const { value: inner, dependencies } = value.output as WireOutput["output"];
      urns.push(...dependencies);
      return { ...OUTPUT_SIG, ...(inner === undefined ? {} : { value: encode(inner, []) }), dependencies };
    }
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, encode(v as Wire, urns)]));
  }
  return value;
}

export const provider = new LlmFleetProvider();

/** Constructs one component from wire inputs; returns its URN and its outputs, resolved. */
export async function construct(type: string, name: string, inputs: Record<string, Wire>): Promise<{ urn: string; state: Record<string, unknown> }> {
  const dependencies = new Map<string, { getUrnsList(): string[] }>();
  const encoded: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(inputs)) {
    const urns: string[] = [];
    encoded[key] = encode(value, urns);
    if (urns.length > 0) dependencies.set(key, { getUrnsList: () => urns });
  }
  const deserialized = await deserializeInputs(Struct.fromJavaScript(encoded), dependencies);
  const result = await provider.construct(name, type, deserialized, {});
  const urn = await valueOf(pulumi.output(result.urn));
  const state = Object.fromEntries(await Promise.all(Object.entries(result.state).map(async ([key, value]) => [key, await valueOf(pulumi.output(value))] as const)));
  return { urn, state };
}
