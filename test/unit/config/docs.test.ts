// docs/image.schema.json and docs/image-config.md are generated from the zod
// schema; these tests fail when they are stale, and check that the JSON Schema
// agrees with the images in the repository and with the loader.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { parse as parseYaml } from "yaml";
import { describe, expect, it } from "vitest";
import { exampleConfig, imageJsonSchema, SIZE_PATTERN, type JsonSchema } from "../../../src/config/docs.js";
import { generatedFiles, REPO_ROOT } from "../../../src/config/gen-docs.js";
import { parseImageConfig } from "../../../src/config/load.js";
import { imageSchema } from "../../../src/config/schema/index.js";

/**
 * A small JSON Schema check: enough of the keywords the generated schema uses
 * (type, enum, pattern, lengths, bounds, properties, additionalProperties,
 * required, items, propertyNames, anyOf) to catch a schema that disagrees with
 * the images, without a validator dependency. Returns one line per problem.
 */
function validate(value: unknown, s: JsonSchema, at = "$"): string[] {
  if (s.anyOf) {
    const results = s.anyOf.map((b) => validate(value, b, at));
    return results.some((r) => r.length === 0)
      ? []
      : [`${at}: matches no branch (${results.flat().join("; ")})`];
  }
  const types = s.type === undefined ? undefined : Array.isArray(s.type) ? s.type : [s.type];
  if (types && !types.some((t) => hasType(value, t))) return [`${at}: not ${types.join("|")}`];
  const out: string[] = [];
  if (s.enum && !s.enum.includes(value as never)) out.push(`${at}: not one of ${s.enum.join(", ")}`);
  if (typeof value === "string") {
    if (s.pattern !== undefined && !new RegExp(s.pattern, "u").test(value))
      out.push(`${at}: does not match ${s.pattern}`);
    if (s.minLength !== undefined && value.length < s.minLength) out.push(`${at}: too short`);
    if (s.maxLength !== undefined && value.length > s.maxLength) out.push(`${at}: too long`);
  }
  if (typeof value === "number") {
    if (s.minimum !== undefined && value < s.minimum) out.push(`${at}: below ${s.minimum}`);
    if (s.maximum !== undefined && value > s.maximum) out.push(`${at}: above ${s.maximum}`);
  }
  if (Array.isArray(value)) {
    if (s.minItems !== undefined && value.length < s.minItems) out.push(`${at}: too few items`);
    if (s.items && typeof s.items === "object" && !Array.isArray(s.items)) {
      const items = s.items;
      value.forEach((v, i) => out.push(...validate(v, items, `${at}.${i}`)));
    }
  }
  if (isMapping(value)) {
    for (const r of s.required ?? []) if (!(r in value)) out.push(`${at}.${r}: required`);
    for (const [k, v] of Object.entries(value)) {
      if (s.propertyNames && typeof s.propertyNames === "object")
        out.push(...validate(k, s.propertyNames, `${at}.${k} (key)`));
      const p = s.properties?.[k];
      if (p !== undefined) {
        if (typeof p === "object") out.push(...validate(v, p, `${at}.${k}`));
      } else if (s.additionalProperties === false) out.push(`${at}.${k}: unknown key`);
      else if (typeof s.additionalProperties === "object")
        out.push(...validate(v, s.additionalProperties, `${at}.${k}`));
    }
  }
  return out;
}

function hasType(v: unknown, t: string): boolean {
  switch (t) {
    case "null":
      return v === null;
    case "integer":
      return Number.isInteger(v);
    case "number":
      return typeof v === "number";
    case "array":
      return Array.isArray(v);
    case "object":
      return isMapping(v);
    default:
      return typeof v === t;
  }
}

function isMapping(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Every schema node, with its JSON pointer-ish location. */
function* nodes(s: unknown, at = "#"): Generator<[string, JsonSchema]> {
  if (!isMapping(s)) return;
  yield [at, s as JsonSchema];
  for (const [k, v] of Object.entries(s)) {
    if (Array.isArray(v)) for (const [i, e] of v.entries()) yield* nodes(e, `${at}/${k}/${i}`);
    else yield* nodes(v, `${at}/${k}`);
  }
}

const schema = imageJsonSchema();
const props = schema.properties as Record<string, JsonSchema>;
const imageFiles = readdirSync(path.join(REPO_ROOT, "images"), { withFileTypes: true })
  .filter((d) => d.isDirectory() && existsSync(path.join(REPO_ROOT, "images", d.name, "image.yaml")))
  .map((d) => `images/${d.name}/image.yaml`)
  .sort();

describe("generated docs", () => {
  it.each(generatedFiles().map((g) => [g.file, g.text] as const))("%s is up to date", (file, text) => {
    const target = path.join(REPO_ROOT, file);
    const onDisk = existsSync(target) ? readFileSync(target, "utf8") : "";
    expect(onDisk, `${file} differs from what the schema generates: run npm run gen:docs`).toBe(text);
  });

  it("generates the same text every time", () => {
    expect(generatedFiles()).toEqual(generatedFiles());
  });
});

describe("the JSON Schema", () => {
  it("names itself and describes the input (what a user writes)", () => {
    expect(schema.$schema).toBe("https://json-schema.org/draft/2020-12/schema");
    expect(schema.$id).toMatch(/^[a-z]+:/);
    expect(schema.title).toContain("image.yaml");
    expect(schema.required).toEqual(["description"]);
    expect(Object.keys(props)).toEqual(Object.keys(imageSchema.shape));
  });

  it("rejects unknown keys at the top and in every section", () => {
    expect(schema.additionalProperties).toBe(false);
    for (const [at, node] of nodes(schema))
      if (node.type === "object" && node.properties) expect(node.additionalProperties, at).toBe(false);
  });

  it("shows size fields as an integer or a size string, with their defaults", () => {
    const squashfs = props.squashfs!.properties!.block_size as JsonSchema;
    expect(squashfs.default).toBe(131072);
    expect(squashfs.anyOf).toEqual([
      { type: "integer", minimum: 0 },
      { type: "string", pattern: SIZE_PATTERN },
    ]);
    const maxSize = props.iso!.properties!.max_size as JsonSchema;
    expect(maxSize.anyOf!.map((b) => b.enum ?? b.type)).toEqual([
      ["cd", "dvd", "dvd-dl"],
      "integer",
      "string",
      "null",
    ]);
    for (const ok of ["700M", "4G", "1.5G", "512 KiB", "1048576"])
      expect(new RegExp(SIZE_PATTERN, "u").test(ok), ok).toBe(true);
    expect(new RegExp(SIZE_PATTERN, "u").test("lots")).toBe(false);
  });

  it("keeps the defaults zod drops for fields that transform", () => {
    expect((props.mirror!.properties!.build as JsonSchema).default).toBe("http://deb.debian.org/debian");
    expect(props.hooks!.default).toEqual([]);
  });

  it("accepts a hook as a string or a mapping", () => {
    const items = props.hooks!.items as JsonSchema;
    expect(items.anyOf!.map((b) => b.type)).toEqual(["string", "object"]);
    expect(validate(["a.sh", { path: "b.sh", where: "builder" }], props.hooks!)).toEqual([]);
    expect(validate([{ path: "b.sh", when: "x" }], props.hooks!)).not.toEqual([]);
  });

  it("expresses the path and variable-name refinements as patterns", () => {
    expect(validate({ description: "x", overlay: "rootfs" }, schema)).toEqual([]);
    for (const bad of ["/etc", "../x", "a/../../b", ".."])
      expect(validate({ description: "x", overlay: bad }, schema), bad).not.toEqual([]);
    expect(validate({ description: "x", env: { FOO_1: "x" } }, schema)).toEqual([]);
    expect(validate({ description: "x", env: { VMLIVE_X: "x" } }, schema)).not.toEqual([]);
  });

  it("has only patterns JavaScript compiles with the u flag, and defaults that match their field", () => {
    for (const [at, node] of nodes(schema)) {
      if (typeof node.pattern === "string") expect(() => new RegExp(node.pattern!, "u"), at).not.toThrow();
      if (node.default !== undefined && !(node.type === "object" && node.properties))
        expect(validate(node.default, { ...node, default: undefined }, at)).toEqual([]);
    }
  });

  it("has a description for every field", () => {
    const missing: string[] = [];
    const walk = (s: JsonSchema, name: string) => {
      for (const [k, f] of Object.entries(s.properties ?? {})) {
        if (typeof f !== "object") continue;
        if (!f.description) missing.push(name + k);
        walk(f, `${name}${k}.`);
      }
    };
    walk(schema, "");
    expect(missing).toEqual([]);
  });

  it("catches what the loader catches, in this cheap check", () => {
    expect(validate({ description: "x", packges: [] }, schema)).toEqual(["$.packges: unknown key"]);
    expect(validate({ description: "x", iso: { volumeid: "X" } }, schema)).toEqual([
      "$.iso.volumeid: unknown key",
    ]);
    expect(validate({ suite: "buster" }, schema)).toHaveLength(2);
  });

  it.each(imageFiles)("agrees with %s", (file) => {
    const raw: unknown = parseYaml(readFileSync(path.join(REPO_ROOT, file), "utf8"));
    expect(validate(raw, schema)).toEqual([]);
  });
});

describe("the reference page", () => {
  const md = generatedFiles().find((g) => g.file.endsWith(".md"))!.text;

  it("says how it is made and has a section per top-level key", () => {
    expect(md).toContain("npm run gen:docs");
    for (const key of Object.keys(imageSchema.shape)) expect(md).toContain(`\n## \`${key}\`\n`);
  });

  it("documents every field, with its default as YAML", () => {
    expect(md).toContain("| `iso.volume_id` | string (at most 32 characters) | `VMLIVE` |");
    expect(md).toContain("| `bootstrap.components` | non-empty list of string | `[main]` |");
    expect(md).toContain("| `hooks[].where` | one of `chroot`, `builder` | `chroot` |");
    expect(md).toContain("| `description` | string (at most 120 characters) | *required* |");
    expect(md).toMatch(/\| `squashfs\.block_size` \| integer ≥ 0 or size .* \| `131072` \|/);
  });

  it("has an example that the loader and the JSON Schema accept", () => {
    const block = /## Example\n[^]*?```yaml\n([^]*?)```/.exec(md)?.[1];
    expect(block).toBeDefined();
    expect(parseYaml(block!)).toEqual(exampleConfig(schema));
    expect(validate(parseYaml(block!), schema)).toEqual([]);
    const config = parseImageConfig(block!, "example.yaml");
    expect(config.hooks[1]).toEqual({ path: "fix-rootfs.sh", where: "builder" });
  });
});
