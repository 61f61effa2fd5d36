// Builder VM definitions: vm/SUITE-ARCH.yaml, one per Debian release and
// builder architecture, saying what the builder holds and how big it is.
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import { parseSize } from "../../config/schema/common.js";
import { packageName } from "../../config/debian-names.js";
import type { BuilderChoice } from "../../config/schema/builder.js";
import { SUITES, type Arch, type Suite } from "../../config/schema/system.js";
import { UsageError } from "../../errors.js";
import { VERSION } from "../../version.js";
import { VM_DIR } from "../../paths.js";

export const CUSTOMIZE_SCRIPT = path.join(VM_DIR, "builder-customize.sh");

const size = z.union([z.string(), z.number()]).transform((v, ctx) => {
  const n = parseSize(v);
  if (n === undefined) ctx.addIssue({ code: "custom", message: "not a size such as 4G" });
  return n ?? 0;
});

/** Architectures vmlive has builder VMs for (vm/*-ARCH.yaml). */
export const BUILDER_ARCHES = ["amd64", "arm64"] as const;
export type BuilderArch = (typeof BUILDER_ARCHES)[number];

const definitionSchema = z.strictObject({
  suite: z.enum(SUITES),
  arch: z.enum(BUILDER_ARCHES),
  serves: z.array(z.enum(SUITES)).min(1),
  packages: z.array(packageName).min(1),
  cpus: z.number().int().min(1).max(64),
  memory: size,
  work_disk: size,
});

export interface BuilderDefinition extends z.output<typeof definitionSchema> {
  /** vm/SUITE-ARCH.yaml */
  file: string;
  /** Name of the builder: "bookworm-amd64". */
  name: string;
  /** Hash of everything the image is made from: the definition, the customize script, vmlive's version. */
  key: string;
}

export function hostArch(): BuilderArch {
  return process.arch === "arm64" ? "arm64" : "amd64";
}

/**
 * The builder that runs an image's programs as its own, without qemu-user:
 * an i386 image's on amd64, an armhf image's on arm64 (its CPU also runs
 * 32-bit ARM code, as qemu's `max` CPU does).
 */
const NATIVE_BUILDER: Readonly<Record<Arch, BuilderArch>> = {
  amd64: "amd64",
  i386: "amd64",
  arm64: "arm64",
  armhf: "arm64",
};

/** The builder architecture an image asks for with `builder.arch`: this host's, or its own. */
export function builderArchFor(c: { arch: Arch; builder: BuilderChoice }): BuilderArch {
  return c.builder.arch === "image" ? NATIVE_BUILDER[c.arch] : hostArch();
}

/**
 * `--backend host` builds on this machine, so it honours `builder.arch: image`
 * only when this machine is of the builder architecture the image asks for.
 */
export function checkHostBackend(image: {
  displayFile: string;
  config: { arch: Arch; builder: BuilderChoice };
}): void {
  const wanted = builderArchFor(image.config);
  if (wanted === hostArch()) return;
  throw new UsageError(
    `${image.displayFile}: builder.arch: image asks for an ${wanted} builder VM for this ${image.config.arch} image, ` +
      `but --backend host builds on this ${hostArch()} machine`,
    `drop --backend host (the ${wanted} builder runs under full-system emulation), or build with ` +
      `--set builder.arch=host (the image's programs then run through qemu-user)`,
  );
}

export function loadDefinition(file: string): BuilderDefinition {
  const text = readFileSync(file, "utf8");
  const r = definitionSchema.safeParse(parseYaml(text));
  if (!r.success)
    throw new UsageError(
      `${file}: not a valid builder definition: ${r.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`,
    );
  const key = createHash("sha256")
    .update(text)
    .update("\0")
    .update(readFileSync(CUSTOMIZE_SCRIPT))
    .update("\0")
    .update(VERSION)
    .digest("hex")
    .slice(0, 16);
  return { ...r.data, file, name: `${r.data.suite}-${r.data.arch}`, key };
}

export function allDefinitions(dir = VM_DIR): BuilderDefinition[] {
  return readdirSync(dir)
    .filter((f) => /^[a-z]+-[a-z0-9]+\.yaml$/.test(f))
    .sort()
    .map((f) => loadDefinition(path.join(dir, f)));
}

/**
 * The builder for a release: `bookworm` (its own name) or an image suite it
 * serves (`sid` is built by the trixie builder), of the given architecture.
 */
export function definitionFor(release: string, arch = hostArch(), dir = VM_DIR): BuilderDefinition {
  const defs = allDefinitions(dir).filter((d) => d.arch === arch);
  const own = defs.find((d) => d.suite === release) ?? defs.find((d) => d.serves.includes(release as Suite));
  if (own) return own;
  const known = defs.flatMap((d) => d.serves);
  throw new UsageError(
    `no builder VM for ${release} on ${arch}`,
    existsSync(dir) ? `builders here serve: ${known.join(", ")} (vm/*.yaml)` : `missing folder ${dir}`,
  );
}
