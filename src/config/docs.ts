// The documentation of image.yaml, made from the zod schema so it cannot drift:
// a JSON Schema (for editors: completion, hover text, red squiggles) and the
// reference page docs/image-config.md, which is rendered from that JSON Schema.
// src/config/gen-docs.ts writes both; a unit test fails when they are stale.
import { stringify } from "yaml";
import { z } from "zod";
import { envName } from "./debian-names.js";
import { relativePath } from "./schema/common.js";
import { hook } from "./schema/customize.js";
import { imageSchema } from "./schema/index.js";

export type JsonSchema = z.core.JSONSchema.JSONSchema;

/** Where gen-docs writes, relative to the repository root. */
export const SCHEMA_FILE = "docs/image.schema.json";
export const MARKDOWN_FILE = "docs/image-config.md";

export const SCHEMA_ID = "urn:vmlive:image.yaml";

/** What parseSize accepts as a string: `512K`, `700M`, `4.5G`, `2GiB`, `1048576`. */
export const SIZE_PATTERN = "^\\s*[0-9]+(\\.[0-9]+)?\\s*[KMGTkmgt]?[iI]?[bB]?\\s*$";

/**
 * Refinements zod cannot express in JSON Schema, written as patterns so editors
 * flag them too. Keyed by the zod def, which clones made by .describe() share.
 */
const REFINED_PATTERNS = new Map<unknown, string>([
  // relativePath: not absolute, no `..` segment, no control characters.
  [defOf(relativePath), "^(?![/])(?!(.*[\\\\/])?\\.\\.([\\\\/]|$))[^\\u0000-\\u001f\\u007f]+$"],
  // envName: VMLIVE_ is reserved.
  [defOf(envName), "^(?!VMLIVE_)[A-Za-z_][A-Za-z0-9_]*$"],
]);

interface ZodDefLike {
  type: string;
  in?: { _zod: { def: ZodDefLike } };
  out?: { _zod: { def: ZodDefLike } };
  options?: { _zod: { def: ZodDefLike } }[];
  defaultValue?: unknown;
}

function defOf(s: z.core.$ZodType): ZodDefLike {
  return s._zod.def as unknown as ZodDefLike;
}

/** A size field: a number-or-string union piped into a transform that makes bytes of it. */
function isSizeField(def: ZodDefLike): boolean {
  if (def.type !== "pipe" || def.out?._zod.def.type !== "transform") return false;
  const inner = def.in?._zod.def;
  if (inner?.type !== "union") return false;
  const kinds = (inner.options ?? []).map((o) => o._zod.def.type);
  return kinds.includes("number") && kinds.includes("string");
}

/** Replace the contents of a JSON Schema node in place (other nodes may hold a reference to it). */
function replaceNode(node: JsonSchema, next: JsonSchema): void {
  for (const k of Object.keys(node)) delete node[k];
  Object.assign(node, next);
}

function override(ctx: { zodSchema: z.core.$ZodType; jsonSchema: JsonSchema }): void {
  const def = defOf(ctx.zodSchema);
  const json = ctx.jsonSchema;

  // zod drops the defaults of transforming fields in input mode (the default is
  // an output value); ours are all valid input too, and editors should show them.
  if (def.type === "default" && json.default === undefined)
    json.default = JSON.parse(JSON.stringify(def.defaultValue)) as unknown;

  const pattern = REFINED_PATTERNS.get(def);
  if (pattern !== undefined) json.pattern = pattern;

  if (isSizeField(def)) {
    const names = (defOf(ctx.zodSchema).in?._zod.def.options ?? [])
      .map((o) => o._zod.def as unknown as { type: string; entries?: Record<string, string> })
      .filter((d) => d.type === "enum")
      .flatMap((d) => Object.values(d.entries ?? {}));
    const keep = { description: json.description, default: json.default };
    replaceNode(json, {
      ...(keep.description !== undefined && { description: keep.description }),
      ...(keep.default !== undefined && { default: keep.default }),
      anyOf: [
        ...(names.length ? [{ type: "string" as const, enum: names }] : []),
        { type: "integer", minimum: 0 },
        { type: "string", pattern: SIZE_PATTERN },
      ],
    });
  }

  // A hook is a mapping or, for short, the path alone.
  if (ctx.zodSchema === hook) {
    const asObject = { ...json };
    const pathField = (asObject.properties?.path ?? {}) as JsonSchema;
    replaceNode(json, {
      anyOf: [
        {
          type: "string",
          ...(pathField.minLength !== undefined && { minLength: pathField.minLength }),
          ...(pathField.pattern !== undefined && { pattern: pathField.pattern }),
          description: "Short for {path: STRING, where: chroot}.",
        },
        asObject,
      ],
    });
  }
}

/** Tidy what zod leaves: nested anyOf from nullable unions, safe-integer bounds. */
function tidy(node: unknown): void {
  if (Array.isArray(node)) return node.forEach(tidy);
  if (typeof node !== "object" || node === null) return;
  const s = node as JsonSchema;
  if (s.minimum === Number.MIN_SAFE_INTEGER) delete s.minimum;
  if (s.maximum === Number.MAX_SAFE_INTEGER) delete s.maximum;
  if (Array.isArray(s.anyOf))
    s.anyOf = s.anyOf.flatMap((b) => (Object.keys(b).length === 1 && Array.isArray(b.anyOf) ? b.anyOf : [b]));
  Object.values(s).forEach(tidy);
}

/** The JSON Schema of image.yaml as a user writes it (input types, defaults shown). */
export function imageJsonSchema(): JsonSchema {
  const raw = z.toJSONSchema(imageSchema, {
    target: "draft-2020-12",
    io: "input",
    unrepresentable: "any",
    reused: "inline",
    cycles: "throw",
    override,
  }) as JsonSchema;
  // Deep copy first: zod shares nodes between fields that use the same schema.
  const schema = JSON.parse(JSON.stringify(raw)) as JsonSchema;
  tidy(schema);
  const { $schema, description, ...rest } = schema;
  return {
    $schema,
    $id: SCHEMA_ID,
    title: "vmlive image.yaml",
    description,
    ...rest,
  };
}

export function renderJsonSchema(schema: JsonSchema = imageJsonSchema()): string {
  return JSON.stringify(schema, null, 2) + "\n";
}

// ---------------------------------------------------------------------------
// The reference page.

interface Row {
  name: string;
  type: string;
  default: string;
  description: string;
}

/** The branches of a node: anyOf members, or the node itself. */
function branches(s: JsonSchema): JsonSchema[] {
  if (Array.isArray(s.anyOf)) return s.anyOf;
  if (Array.isArray(s.type)) return s.type.map((t) => ({ ...s, type: t }));
  return [s];
}

/** The mapping with named fields among a node's branches, if any. */
function objectBranch(s: JsonSchema): JsonSchema | undefined {
  return branches(s).find((b) => b.type === "object" && b.properties);
}

function code(v: string): string {
  return "`" + v + "`";
}

/** A type as a person reads it: `string (at most 32 characters)`, `list of string`, `one of a, b`. */
export function describeType(s: JsonSchema): string {
  const parts = branches(s).map((b): string => {
    if (b.enum) return "one of " + b.enum.map((v) => code(String(v))).join(", ");
    switch (b.type) {
      case "string": {
        if (b.pattern === SIZE_PATTERN) return `size (${code("512K")}, ${code("700M")}, ${code("4G")})`;
        const lim: string[] = [];
        if (b.minLength !== undefined && b.minLength > 1) lim.push(`at least ${b.minLength}`);
        if (b.maxLength !== undefined) lim.push(`at most ${b.maxLength}`);
        return lim.length ? `string (${lim.join(", ")} characters)` : "string";
      }
      case "integer":
      case "number": {
        const name = b.type === "integer" ? "integer" : "number";
        if (b.minimum !== undefined && b.maximum !== undefined) return `${name} ${b.minimum}–${b.maximum}`;
        if (b.minimum !== undefined) return `${name} ≥ ${b.minimum}`;
        if (b.maximum !== undefined) return `${name} ≤ ${b.maximum}`;
        return name;
      }
      case "boolean":
        return "boolean";
      case "null":
        return "null";
      case "array": {
        const items = b.items && typeof b.items === "object" && !Array.isArray(b.items) ? b.items : {};
        const inner = describeType(items);
        const list =
          b.minItems === 1 ? "non-empty list" : b.minItems ? `list (at least ${b.minItems})` : "list";
        return `${list} of ${/ or |^one of /.test(inner) ? `(${inner})` : inner}`;
      }
      case "object": {
        if (b.properties) return "mapping";
        const values =
          b.additionalProperties && typeof b.additionalProperties === "object"
            ? describeType(b.additionalProperties)
            : "anything";
        return `mapping of NAME to ${values}`;
      }
      default:
        return "anything";
    }
  });
  return [...new Set(parts)].join(" or ");
}

/** A default value as it would be written in image.yaml. */
export function yamlValue(v: unknown): string {
  return stringify(v, { collectionStyle: "flow", flowCollectionPadding: false, lineWidth: 0 }).trim();
}

function collectRows(name: string, s: JsonSchema, required: boolean, rows: Row[]): void {
  const obj = objectBranch(s);
  rows.push({
    name,
    type: describeType(s),
    default: s.default !== undefined ? code(yamlValue(s.default)) : required ? "*required*" : "",
    description: s.description ?? obj?.description ?? "",
  });
  if (obj) collectFields(name, obj, rows);
  for (const b of branches(s)) {
    if (b.type !== "array" || !b.items || typeof b.items !== "object" || Array.isArray(b.items)) continue;
    const item = objectBranch(b.items);
    if (item) collectFields(`${name}[]`, item, rows);
  }
}

function collectFields(prefix: string, obj: JsonSchema, rows: Row[]): void {
  for (const [key, field] of Object.entries(obj.properties ?? {})) {
    if (typeof field !== "object") continue;
    collectRows(`${prefix}.${key}`, field, obj.required?.includes(key) ?? false, rows);
  }
}

function cell(text: string): string {
  return text.replace(/\|/g, "\\|").replace(/\n/g, " ");
}

/**
 * Values for the example that are not the defaults: the required description and
 * lists that are empty by default, so the example shows their form.
 */
const EXAMPLE_VALUES: Record<string, unknown> = {
  description: "Small bookworm live system with a sudo user",
  packages: ["live-boot", "systemd-sysv", "sudo"],
  hooks: ["show-env.sh", { path: "fix-rootfs.sh", where: "builder" }],
};

/** An image.yaml that sets every key: defaults, except for EXAMPLE_VALUES. */
export function exampleConfig(schema: JsonSchema = imageJsonSchema()): Record<string, unknown> {
  const build = (s: JsonSchema, prefix: string): Record<string, unknown> => {
    const out: Record<string, unknown> = {};
    for (const [key, field] of Object.entries(s.properties ?? {})) {
      if (typeof field !== "object") continue;
      const name = prefix + key;
      const obj = objectBranch(field);
      if (name in EXAMPLE_VALUES) out[key] = EXAMPLE_VALUES[name];
      else if (obj) out[key] = build(obj, name + ".");
      else out[key] = field.default ?? null;
    }
    return out;
  };
  return build(schema, "");
}

export function renderMarkdown(schema: JsonSchema = imageJsonSchema()): string {
  const lines: string[] = [
    "# image.yaml reference",
    "",
    "<!-- Generated by `npm run gen:docs` from src/config/schema/; do not edit by hand. -->",
    "",
    "Each image is a folder `images/NAME/` holding an `image.yaml`: the Debian suite and",
    "architecture, the packages, the hooks and the settings of the live system and its ISO.",
    "Every key but `description` is optional; what is left out takes the default shown below.",
    "`vmlive check NAME` validates an image and reports every problem at once, each with its",
    "file, line and field path; `vmlive config NAME` prints the result with all defaults filled in.",
    "Any field can be changed for one run with `--set FIELD.PATH=VALUE` (the value is read as YAML).",
    "",
    `This page is generated by \`npm run gen:docs\` from the schema in \`src/config/schema/\`, as is`,
    "the JSON Schema [`image.schema.json`](image.schema.json). Editors that speak the YAML language",
    "server protocol complete and check image.yaml with it when the file starts with:",
    "",
    "```yaml",
    "# yaml-language-server: $schema=../../docs/image.schema.json",
    "```",
    "",
    "Sizes are bytes or a number with a binary unit: `512K`, `700M`, `4G`.",
    "",
    "## Example",
    "",
    "Every key, with its default value, except " +
      Object.keys(EXAMPLE_VALUES)
        .map(code)
        .join(", ")
        .replace(/, ([^,]*)$/, " and $1") +
      ":",
    "",
    "```yaml",
    stringify(exampleConfig(schema), { lineWidth: 0 }).trimEnd(),
    "```",
  ];

  for (const [key, field] of Object.entries(schema.properties ?? {})) {
    if (typeof field !== "object") continue;
    const rows: Row[] = [];
    collectRows(key, field, schema.required?.includes(key) ?? false, rows);
    const obj = objectBranch(field);
    lines.push("", `## \`${key}\``, "");
    if (obj && field.description) lines.push(field.description, "");
    // A section documents its fields; its own row would only repeat the paragraph.
    const shown = obj ? rows.slice(1) : rows;
    lines.push("| Field | Type | Default | Description |", "| --- | --- | --- | --- |");
    for (const r of shown)
      lines.push(`| ${cell(code(r.name))} | ${cell(r.type)} | ${cell(r.default)} | ${cell(r.description)} |`);
  }
  return lines.join("\n") + "\n";
}
