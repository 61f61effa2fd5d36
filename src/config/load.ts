// Loading one image: read image.yaml, apply --set overrides, validate with the
// schema, apply the cross-field rules, fill in the architecture's defaults.
// Every problem is collected and reported at once, each with its field path.
import path from "node:path";
import { LineCounter, parseDocument, isMap, isScalar, type Document, type YAMLError } from "yaml";
import { z } from "zod";
import { defaultWays, type WayName } from "../boot/ways.js";
import { ConfigError, type ConfigProblem } from "../errors.js";
import { locateImage, type ImageLocation } from "../images/locate.js";
import { applyOverrides, parseOverride, type Override } from "./overrides.js";
import { readImageFile } from "./image-file.js";
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

/**
 * What an image folder may be called. The name becomes part of the work area,
 * the output folder and the ISO's file name, and so of the paths that
 * debootstrap (a shell script) and the other tools get: nothing a shell or a
 * list separator would take apart.
 */
export const IMAGE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

export function loadImage(ref: string, opts: LoadOptions = {}): LoadedImage {
  const cwd = opts.cwd ?? process.cwd();
  const loc = locateImage(ref, cwd);
  const displayFile = path.relative(cwd, loc.file) || loc.file;
  if (!IMAGE_NAME.test(loc.name))
    throw new ConfigError([
      {
        file: displayFile,
        path: "",
        message:
          `the folder name ${JSON.stringify(loc.name)} cannot be an image name, which names the work area, ` +
          "the output folder and the ISO: rename the folder to letters, digits, . _ and - only, " +
          "starting with a letter or digit",
      },
    ]);
  const config = parseImageConfig(readImageFile(loc.file, displayFile), displayFile, opts.sets ?? []);
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
  // Warnings too: a tag the parser does not know (!!js/function) would silently become a string.
  for (const e of [...doc.errors, ...doc.warnings]) {
    const p = { file: displayFile, path: "", message: yamlProblem(e), line: e.linePos?.[0]?.line };
    // One deep nesting overflows the parser's stack many times over: say it once.
    if (!problems.some((q) => q.message === p.message && q.line === p.line)) problems.push(p);
  }
  if (problems.length) throw new ConfigError(problems);
  // --set may supply every field, so only a file that is used as it is must say something.
  const empty = doc.contents === null || (isScalar(doc.contents) && doc.contents.value === null);
  if (empty && sets.length === 0)
    throw new ConfigError([
      {
        file: displayFile,
        path: "",
        message: "is empty: an image.yaml needs at least a description (description: what the image is for)",
      },
    ]);

  const raw = toPlain(doc, displayFile);
  if (!isMap(doc.contents) && !empty)
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

/** The first line of a YAML parser message, in words that say what to change. */
function yamlProblem(e: YAMLError): string {
  const first = e.message.split("\n")[0]!.replace(/ at line \d+, column \d+:?$/, "");
  if (e.code === "MULTIPLE_DOCS")
    return "not valid YAML: holds more than one document (a second ---): an image.yaml is one mapping";
  if (e.code === "TAG_RESOLVE_FAILED")
    return (
      `not valid YAML: unknown tag ${first.replace(/^Unresolved tag: /, "").replace("tag:yaml.org,2002:", "!!")}: ` +
      "write plain strings, numbers, booleans, lists and mappings"
    );
  if (/Maximum call stack size exceeded/.test(first))
    return "not valid YAML: nested too deeply for an image config";
  return `not valid YAML: ${first}`;
}

/**
 * Aliases are expanded into the plain value, so a few lines of anchors can
 * stand for billions of nodes ("billion laughs"); the parser counts them.
 */
const MAX_ALIAS_COUNT = 100;

function toPlain(doc: Document, displayFile: string): unknown {
  try {
    return doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT }) ?? {};
  } catch (e) {
    if (!(e instanceof ReferenceError && /alias count/i.test(e.message))) throw e;
    throw new ConfigError([
      {
        file: displayFile,
        path: "",
        message:
          'its anchors and aliases (&name, *name) expand to too much data, as in a "billion laughs" YAML ' +
          "bomb: write the values out, or use fewer aliases",
      },
    ]);
  }
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
