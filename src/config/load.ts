// Loading one image: read image.yaml, apply --set overrides, validate with the
// schema, apply the cross-field rules, fill in the architecture's defaults.
// Every problem is collected and reported at once, each with its field path.
import { readFileSync } from "node:fs";
import path from "node:path";
import { LineCounter, parseDocument, isMap, type Document } from "yaml";
import { z } from "zod";
import { defaultWays, type WayName } from "../boot/ways.js";
import { ConfigError, type ConfigProblem } from "../errors.js";
import { locateImage, type ImageLocation } from "../images/locate.js";
import { applyOverrides, parseOverride, type Override } from "./overrides.js";
import { fromZodIssues } from "./problems.js";
import { checkRules, defaultBootloaders, defaultKernelFlavour } from "./rules.js";
import { expandHook } from "./schema/customize.js";
import { imageSchema, type ParsedImage } from "./schema/index.js";

/** A fully resolved image config: every default filled in. */
export type ImageConfig = ParsedImage & {
  kernel: ParsedImage["kernel"] & { flavour: string };
  iso: ParsedImage["iso"] & { bootloaders: ("bios" | "uefi")[] };
  boot_test: ParsedImage["boot_test"] & { ways: WayName[] };
};

export interface LoadedImage extends ImageLocation {
  /** image.yaml as the user should see it in messages (relative to the working directory). */
  displayFile: string;
  config: ImageConfig;
}

export interface LoadOptions {
  /** `--set KEY.PATH=VALUE` strings, applied in order. */
  sets?: readonly string[];
  cwd?: string;
}

export function loadImage(ref: string, opts: LoadOptions = {}): LoadedImage {
  const cwd = opts.cwd ?? process.cwd();
  const loc = locateImage(ref, cwd);
  const displayFile = path.relative(cwd, loc.file) || loc.file;
  const config = parseImageConfig(readFileSync(loc.file, "utf8"), displayFile, opts.sets ?? []);
  return { ...loc, displayFile, config };
}

/** Validate the text of an image.yaml; throws ConfigError listing every problem. */
export function parseImageConfig(
  text: string,
  displayFile: string,
  sets: readonly string[] = [],
): ImageConfig {
  const problems: ConfigProblem[] = [];
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: true, uniqueKeys: true });
  for (const e of doc.errors)
    problems.push({
      file: displayFile,
      path: "",
      message: `not valid YAML: ${e.message.split("\n")[0]!.replace(/ at line \d+, column \d+:?$/, "")}`,
      line: e.linePos?.[0]?.line,
    });
  if (problems.length) throw new ConfigError(problems);

  const raw: unknown = doc.toJS() ?? {};
  if (!isMap(doc.contents) && doc.contents !== null)
    throw new ConfigError([
      { file: displayFile, path: "", message: "must be a YAML mapping of settings (key: value)" },
    ]);

  const overrides: Override[] = [];
  for (const s of sets) {
    const o = parseOverride(s);
    if ("path" in o && Array.isArray(o.path)) overrides.push(o as Override);
    else problems.push(o as ConfigProblem);
  }
  // An empty section (`iso:` with nothing under it) is YAML null; read it as "all defaults".
  for (const [k, v] of Object.entries(raw as Record<string, unknown>))
    if (v === null && knownKeysAt([k]).length) delete (raw as Record<string, unknown>)[k];
  // Expand `hooks: [a.sh]` to `[{path: a.sh}]` first, so `--set hooks.0.where=builder` keeps the path.
  const rawHooks = (raw as Record<string, unknown>).hooks;
  if (overrides.length && Array.isArray(rawHooks))
    (raw as Record<string, unknown>).hooks = rawHooks.map(expandHook);
  applyOverrides(raw as Record<string, unknown>, overrides);
  const overridden = overrides.map((o) => ({ key: o.path.join("."), text: o.text }));

  const where = (p: (string | number)[]) => {
    const key = p.join(".");
    // A field the file does not have was made by the --set that names it: `--set usr.name=x` makes `usr`.
    const made = firstMissing(doc, p);
    const fromSet = overridden.findLast(
      (o) =>
        key === o.key ||
        key.startsWith(o.key + ".") ||
        (made !== undefined && (o.key === made || o.key.startsWith(made + "."))),
    );
    return fromSet
      ? { file: `${displayFile} (--set ${fromSet.text})` }
      : { file: displayFile, line: lineOf(doc, lineCounter, p) };
  };

  const result = imageSchema.safeParse(raw);
  if (!result.success) {
    for (const p of fromZodIssues(result.error.issues, raw, knownKeysAt))
      problems.push({ ...where(p.path), path: p.path.join("."), message: p.message });
    throw new ConfigError(problems);
  }
  if (problems.length) throw new ConfigError(problems);
  for (const r of checkRules(result.data)) {
    const p = r.path.split(".");
    problems.push({ ...where(p), path: r.path, message: r.message });
  }
  if (problems.length) throw new ConfigError(problems);
  return resolveDefaults(result.data);
}

function resolveDefaults(c: ParsedImage): ImageConfig {
  const bootloaders = c.iso.bootloaders ?? defaultBootloaders(c.arch);
  return {
    ...c,
    kernel: { ...c.kernel, flavour: c.kernel.flavour ?? defaultKernelFlavour(c.arch) },
    iso: { ...c.iso, bootloaders },
    boot_test: { ...c.boot_test, ways: c.boot_test.ways ?? defaultWays(c.arch, bootloaders) },
  };
}

/** The shortest part of the path that the file does not have, if any. */
function firstMissing(doc: Document, p: (string | number)[]): string | undefined {
  for (let n = 1; n <= p.length; n++) if (!doc.hasIn(p.slice(0, n))) return p.slice(0, n).join(".");
  return undefined;
}

/** Line of the deepest node of the path that exists in the file. */
function lineOf(doc: Document, lc: LineCounter, p: (string | number)[]): number | undefined {
  for (let n = p.length; n >= 1; n--) {
    const node = doc.getIn(p.slice(0, n), true) as { range?: [number, number, number] } | undefined;
    if (node && typeof node === "object" && node.range) return lc.linePos(node.range[0]).line;
  }
  return undefined;
}

/** The keys the schema knows at a path, for "did you mean" suggestions. */
function knownKeysAt(p: PropertyKey[]): string[] {
  let s: z.ZodType = imageSchema;
  for (const seg of p) {
    s = unwrap(s);
    if (s instanceof z.ZodObject) s = s.shape[seg as string] as z.ZodType;
    else if (s instanceof z.ZodArray) s = s.element as z.ZodType;
    else return [];
    if (!s) return [];
  }
  s = unwrap(s);
  return s instanceof z.ZodObject ? Object.keys(s.shape) : [];
}

function unwrap(s: z.ZodType): z.ZodType {
  for (;;) {
    const def = (
      s as unknown as {
        _zod: { def: { type: string; innerType?: z.ZodType; out?: z.ZodType; in?: z.ZodType } };
      }
    )._zod.def;
    if (def.innerType) s = def.innerType;
    else if (def.type === "pipe" && def.out)
      s = def.out.constructor.name === "ZodTransform" ? def.in! : def.out;
    else return s;
  }
}
