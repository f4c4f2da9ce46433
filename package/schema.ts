/**
 * What Pulumi's component schema analyzer leaves out, put back: descriptions of object types and
 * `@default`s (it reads only the JSDoc text, analyzer.ts `analyzeSymbol`; schema.ts drops type
 * descriptions), and references between the package's own components, which it types only for
 * classes of `@pulumi/*` packages (`getResourceType`).
 */
import * as path from "node:path";
import ts from "typescript";

/** Marker interfaces of the package (types.ts) and the component each one stands for. */
export const REFERENCES = { GpuClusterReference: "GpuCluster", ClusterAddonsReference: "ClusterAddons" } as const;

/** The JSDoc the analyzer drops, by component (inputs) and by object type, keyed by property. */
export interface SchemaDocs {
  inputs: Record<string, Record<string, string>>;
  types: Record<string, { description: string | null; defaults: Record<string, string> }>;
}

interface Property {
  type?: string;
  $ref?: string;
  items?: Property;
  additionalProperties?: Property;
  description?: string;
  default?: string | number | boolean;
  [key: string]: unknown;
}
interface Schema {
  name: string;
  resources: Record<string, { inputProperties?: Record<string, Property>; properties?: Record<string, Property> }>;
  types: Record<string, { description?: string; properties?: Record<string, Property>; enum?: unknown[] }>;
  [key: string]: unknown;
}

/** Reads the docs from the TypeScript sources under `root` (its tsconfig.json), as the analyzer reads the types. */
export function schemaDocs(root: string, components: readonly string[]): SchemaDocs {
  const configPath = path.join(root, "tsconfig.json");
  const config = ts.readConfigFile(configPath, ts.sys.readFile);
  const parsed = ts.parseJsonConfigFileContent(config.config, ts.sys, root);
  const program = ts.createProgram({ rootNames: parsed.fileNames.filter((f) => f.startsWith(path.join(root, "package") + path.sep)), options: parsed.options });
  const checker = program.getTypeChecker();
  const docs: SchemaDocs = { inputs: {}, types: {} };

  const defaultsOf = (symbols: ts.Symbol[]) =>
    Object.fromEntries(
      symbols.flatMap((symbol) => {
        const tag = symbol.valueDeclaration ? ts.getJSDocTags(symbol.valueDeclaration).find((t) => t.tagName.text === "default") : undefined;
        const text = tag ? ts.getTextOfJSDocComment(tag.comment)?.trim() : undefined;
        return text ? [[symbol.name, text]] : [];
      }),
    );
  const seen = new Set<ts.Type>();
  const visit = (type: ts.Type): void => {
    if (seen.has(type)) return;
    seen.add(type);
    if (type.isUnion()) return type.types.forEach(visit);
    // Output<T> is OutputInstance<T> & Lifted<T>; the lifted half only mirrors T.
    if (type.isIntersection()) return type.types.filter((t) => isReference(t, "OutputInstance")).forEach(visit);
    if (checker.isArrayType(type) || isReference(type, "Promise") || isReference(type, "OutputInstance")) {
      return checker.getTypeArguments(type as ts.TypeReference).forEach(visit);
    }
    const index = checker.getIndexInfoOfType(type, ts.IndexKind.String);
    if (index) return visit(index.type);
    const symbol = type.getSymbol();
    if (!type.isClassOrInterface() || !symbol || symbol.name in docs.types || symbol.name in REFERENCES) return;
    const properties = type.getProperties();
    const description = ts.displayPartsToString(symbol.getDocumentationComment(checker)).trim();
    docs.types[symbol.name] = { description: description === "" ? null : description, defaults: defaultsOf(properties) };
    properties.forEach((p) => visit(checker.getTypeOfSymbolAtLocation(p, p.valueDeclaration!)));
  };

  for (const source of program.getSourceFiles()) {
    if (source.isDeclarationFile) continue;
    source.forEachChild((node) => {
      if (!ts.isClassDeclaration(node) || !node.name || !components.includes(node.name.text)) return;
      const constructor = node.members.find(ts.isConstructorDeclaration);
      const args = constructor?.parameters.find((p) => ts.isIdentifier(p.name) && p.name.text === "args");
      if (!args?.type) return;
      const properties = checker.getTypeAtLocation(args.type).getProperties();
      docs.inputs[node.name.text] = defaultsOf(properties);
      properties.forEach((p) => visit(checker.getTypeOfSymbolAtLocation(p, p.valueDeclaration!)));
      node.members.filter(ts.isPropertyDeclaration).forEach((member) => visit(checker.getTypeAtLocation(member)));
    });
  }
  return docs;
}

function isReference(type: ts.Type, name: string): boolean {
  return (type.flags & ts.TypeFlags.Object) !== 0 && type.getSymbol()?.name === name;
}

/** A `@default` as the schema's `default` when it is a literal of the property's own type. */
function literalDefault(property: Property, text: string): string | number | boolean | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  const kind = property.type === "integer" ? "number" : property.type;
  return typeof value === kind && (kind === "string" || kind === "number" || kind === "boolean") ? (value as string | number | boolean) : undefined;
}

function documented(properties: Record<string, Property> | undefined, defaults: Record<string, string>): void {
  for (const [name, property] of Object.entries(properties ?? {})) {
    const text = defaults[name];
    if (text === undefined) continue;
    property.description = `${property.description ? `${property.description}\n\n` : ""}Default: ${text}.`.replace(/\.\.$/, ".");
    const value = literalDefault(property, text);
    if (value !== undefined) property.default = value;
  }
}

/** Replaces each marker type with the component it stands for, everywhere it is used. */
function referencing(schema: Schema): void {
  const retarget = (property: Property | undefined): void => {
    if (!property) return;
    for (const [marker, component] of Object.entries(REFERENCES)) {
      if (property.$ref === `#/types/${schema.name}:index:${marker}`) property.$ref = `#/resources/${schema.name}:index:${component}`;
    }
    retarget(property.items);
    retarget(property.additionalProperties);
  };
  const all = [...Object.values(schema.resources).flatMap((r) => [r.inputProperties, r.properties]), ...Object.values(schema.types).map((t) => t.properties)];
  for (const properties of all) Object.values(properties ?? {}).forEach(retarget);
  for (const marker of Object.keys(REFERENCES)) delete schema.types[`${schema.name}:index:${marker}`];
}

/** The analyzer's schema with the docs and references put back. */
export function completedSchema(text: string, docs: SchemaDocs): string {
  const schema = JSON.parse(text) as Schema;
  for (const [component, defaults] of Object.entries(docs.inputs)) {
    documented(schema.resources[`${schema.name}:index:${component}`]?.inputProperties, defaults);
  }
  for (const [name, doc] of Object.entries(docs.types)) {
    const type = schema.types[`${schema.name}:index:${name}`];
    if (!type) continue;
    if (doc.description) type.description = doc.description;
    documented(type.properties, doc.defaults);
  }
  referencing(schema);
  return JSON.stringify(schema);
}
