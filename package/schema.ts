/**
 * What Pulumi's component schema analyzer leaves out, put back: descriptions of object types,
 * `@default`s and `@secret`s (it reads only the JSDoc text, analyzer.ts `analyzeSymbol`; schema.ts
 * drops type descriptions), and references between the package's own components, which it types
 * only for classes of `@pulumi/*` packages (`getResourceType`).
 *
 * A default goes into the description, never into the schema's `default`: the generated SDKs send
 * a schema default as if the program had set it, and presence matters here (a new cluster's
 * options on an existing one are an error; the default prompt length follows maxModelLen).
 */
import * as path from "node:path";
import ts from "typescript";

/** Marker interfaces of the package (types.ts) and the component each one stands for. */
export const REFERENCES = { GpuClusterReference: "GpuCluster", ClusterAddonsReference: "ClusterAddons" } as const;

/** A property's JSDoc tags the analyzer drops. */
export interface PropertyDocs {
  /** The `@default` text. */
  default?: string;
  /** Tagged `@secret`: the SDKs send a plain value given to it as a secret. */
  secret?: boolean;
}

/** The JSDoc the analyzer drops, by component (inputs) and by object type, keyed by property. */
export interface SchemaDocs {
  inputs: Record<string, Record<string, PropertyDocs>>;
  types: Record<string, { description: string | null; properties: Record<string, PropertyDocs> }>;
}

/** A property of the package schema (https://www.pulumi.com/docs/iac/using-pulumi/extending-pulumi/schema/#property), as far as llm-fleet reads it. */
export interface SchemaProperty {
  type?: string;
  $ref?: string;
  items?: SchemaProperty;
  additionalProperties?: SchemaProperty;
  description?: string;
  /** A value the SDK must send as is: known when the component is constructed. */
  plain?: boolean;
  /** The analyzer's mark for what `requiredInputs` leaves out. */
  optional?: boolean;
  secret?: boolean;
}

/** The package schema as the provider serves it, as far as llm-fleet reads it. */
export interface PackageSchema {
  name: string;
  resources: Record<string, { inputProperties?: Record<string, SchemaProperty>; properties?: Record<string, SchemaProperty> }>;
  types: Record<string, { description?: string; properties?: Record<string, SchemaProperty>; enum?: unknown[] }>;
}

/** Reads the docs from the TypeScript sources under `root` (its tsconfig.json), as the analyzer reads the types. */
export function schemaDocs(root: string, components: readonly string[]): SchemaDocs {
  const configPath = path.join(root, "tsconfig.json");
  const config = ts.readConfigFile(configPath, ts.sys.readFile);
  const parsed = ts.parseJsonConfigFileContent(config.config, ts.sys, root);
  const program = ts.createProgram({ rootNames: parsed.fileNames.filter((f) => f.startsWith(path.join(root, "package") + path.sep)), options: parsed.options });
  const checker = program.getTypeChecker();
  const docs: SchemaDocs = { inputs: {}, types: {} };

  const tagsOf = (symbols: ts.Symbol[]): Record<string, PropertyDocs> =>
    Object.fromEntries(
      symbols.flatMap((symbol) => {
        const tags = symbol.valueDeclaration ? ts.getJSDocTags(symbol.valueDeclaration) : [];
        const tag = tags.find((t) => t.tagName.text === "default");
        const text = tag ? ts.getTextOfJSDocComment(tag.comment)?.trim() : undefined;
        const docs: PropertyDocs = { ...(text ? { default: text } : {}), ...(tags.some((t) => t.tagName.text === "secret") ? { secret: true } : {}) };
        return Object.keys(docs).length > 0 ? [[symbol.name, docs]] : [];
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
    docs.types[symbol.name] = { description: description === "" ? null : description, properties: tagsOf(properties) };
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
      docs.inputs[node.name.text] = tagsOf(properties);
      properties.forEach((p) => visit(checker.getTypeOfSymbolAtLocation(p, p.valueDeclaration!)));
      node.members.filter(ts.isPropertyDeclaration).forEach((member) => visit(checker.getTypeAtLocation(member)));
    });
  }
  return docs;
}

function isReference(type: ts.Type, name: string): boolean {
  return (type.flags & ts.TypeFlags.Object) !== 0 && type.getSymbol()?.name === name;
}

function documented(properties: Record<string, SchemaProperty> | undefined, docs: Record<string, PropertyDocs>): void {
  for (const [name, property] of Object.entries(properties ?? {})) {
    const doc = docs[name];
    if (doc?.default !== undefined) property.description = `${property.description ? `${property.description}\n\n` : ""}Default: ${doc.default}.`.replace(/\.\.$/, ".");
    if (doc?.secret) property.secret = true;
  }
}

/** Replaces each marker type with the component it stands for, everywhere it is used. */
function referencing(schema: PackageSchema): void {
  const retarget = (property: SchemaProperty | undefined): void => {
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
  const schema = JSON.parse(text) as PackageSchema;
  for (const [component, properties] of Object.entries(docs.inputs)) {
    documented(schema.resources[`${schema.name}:index:${component}`]?.inputProperties, properties);
  }
  for (const [name, doc] of Object.entries(docs.types)) {
    const type = schema.types[`${schema.name}:index:${name}`];
    if (!type) continue;
    if (doc.description) type.description = doc.description;
    documented(type.properties, doc.properties);
  }
  referencing(schema);
  return JSON.stringify(schema);
}
