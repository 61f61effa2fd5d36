// The keys of the reusable build stages: a sha256 of exactly what produced
// each one, so that a rebuild can start from the first stage whose inputs
// changed. Each key covers the previous stage's key, so a change anywhere
// before a stage changes its key too. Every key is built from named inputs
// (name -> digest), kept in state.json, so a rebuild can say which input
// changed ("hook show-env.sh", "iso.menu_title").
import { createHash } from "node:crypto";
import { lstatSync, readdirSync, readFileSync, readlinkSync } from "node:fs";
import path from "node:path";
import type { LoadedImage } from "../config/load.js";
import { findHook, findInImage } from "../images/files.js";
import { installRuns } from "../steps/customize/apt.js";
import { VERSION } from "../version.js";

/** The reusable stages, in build order. "packages" and "hooks" are the two halves of customize. */
export const STAGES = ["bootstrap", "packages", "hooks", "boot", "squash"] as const;
export type StageName = (typeof STAGES)[number];

/**
 * The stage whose key each key is made after. squash follows hooks, not boot:
 * it packs the root filesystem, which boot only reads (stages.ts handles the
 * machines where boot writes the initrd into it), so a new GRUB menu does not
 * make a new squashfs.
 */
export const PREVIOUS_STAGE: Readonly<Record<StageName, StageName | undefined>> = {
  bootstrap: undefined,
  packages: "bootstrap",
  hooks: "packages",
  boot: "hooks",
  squash: "hooks",
};

/** The machine's packages whose version goes into a stage's key. */
export const BOOT_TOOLS = ["grub-common", "shim-signed"] as const;
export const SQUASH_TOOLS = ["squashfs-tools"] as const;

/** One stage's key and the named inputs it was made of. */
export interface StageKey {
  key: string;
  inputs: Record<string, string>;
}

export type StageKeys = Partial<Record<StageName, StageKey>>;

/** What the keys need from outside the image folder. */
export interface KeySources {
  /** The `Date:` of the build mirror's InRelease; undefined when it could not be read. */
  releaseDate: string | undefined;
  /** SOURCE_DATE_EPOCH when the user set it (it is then in the image's timestamps); unset otherwise. */
  pinnedEpoch?: string;
  /** Versions of the machine's tools (BOOT_TOOLS, SQUASH_TOOLS) that the boot and squash steps use. */
  tools?: Readonly<Record<string, string>>;
}

const digest = (data: string | Buffer): string => createHash("sha256").update(data).digest("hex");
const valueDigest = (v: unknown): string => digest(JSON.stringify(v ?? null));

/** The key of a stage: its inputs in name order, after the key of the stage before it. */
export function keyOf(previous: string | undefined, inputs: Record<string, string>): StageKey {
  const sorted = Object.fromEntries(Object.entries(inputs).sort(([a], [b]) => (a < b ? -1 : 1)));
  return { key: digest(JSON.stringify({ previous: previous ?? null, inputs: sorted })), inputs: sorted };
}

/** A config section as inputs named by field: `iso.menu_title`, `packages`. */
function configInputs(config: Record<string, unknown>, section: string): Record<string, string> {
  const value = config[section];
  if (value === null || typeof value !== "object" || Array.isArray(value))
    return { [section]: valueDigest(value) };
  return Object.fromEntries(
    Object.entries(value as Record<string, unknown>).map(([k, v]) => [`${section}.${k}`, valueDigest(v)]),
  );
}

/**
 * A file or folder on the host as one digest: every entry's relative path,
 * type and mode, and a file's content or a symlink's target (the overlay is
 * unpacked with its modes kept, so a chmod is a change).
 */
export function treeDigest(root: string): string {
  const h = createHash("sha256");
  const walk = (rel: string): void => {
    const full = path.join(root, rel);
    const st = lstatSync(full);
    const mode = (st.mode & 0o7777).toString(8);
    if (st.isSymbolicLink()) h.update(`l ${rel} ${readlinkSync(full)}\0`);
    else if (st.isDirectory()) {
      h.update(`d ${rel} ${mode}\0`);
      for (const e of readdirSync(full).sort()) walk(rel ? `${rel}/${e}` : e);
    } else if (st.isFile()) h.update(`f ${rel} ${mode} ${digest(readFileSync(full))}\0`);
    else h.update(`o ${rel} ${mode}\0`);
  };
  walk("");
  return h.digest("hex");
}

/** Config sections only later steps read: changing them does not rerun customize. */
const AFTER_CUSTOMIZE = new Set(["iso", "squashfs", "boot_test", "builder", "kernel"]);

/**
 * bootstrap: suite, arch, the bootstrap section, the build mirror, the
 * keyring file's content, the mirror's Release date and vmlive's version.
 * Undefined when the Release date could not be read: then bootstrap is not reused.
 */
export function bootstrapKey(img: LoadedImage, src: KeySources): StageKey | undefined {
  if (src.releaseDate === undefined) return undefined;
  const c = img.config;
  const inputs: Record<string, string> = {
    suite: valueDigest(c.suite),
    arch: valueDigest(c.arch),
    "mirror.build": valueDigest(c.mirror.build),
    ...configInputs(c as unknown as Record<string, unknown>, "bootstrap"),
    "mirror Release date": valueDigest(src.releaseDate),
    "vmlive version": valueDigest(VERSION),
    SOURCE_DATE_EPOCH: valueDigest(src.pinnedEpoch),
  };
  if (c.bootstrap.keyring !== null) {
    const found = findInImage(img, c.bootstrap.keyring, "file");
    inputs[`keyring ${c.bootstrap.keyring}`] = found.ok ? digest(readFileSync(found.path)) : "missing";
  }
  return keyOf(undefined, inputs);
}

/**
 * packages (customize up to the package installation): the apt runs as
 * customize makes them (from packages, kernel.flavour, user.sudo, user.shell,
 * locale, timezone); the build sources come from the bootstrap key's inputs.
 */
export function packagesKey(bootstrap: string, img: LoadedImage): StageKey {
  return keyOf(bootstrap, { "the package list": valueDigest(installRuns(img.config)) });
}

/**
 * hooks (the rest of customize: overlay, host name, locale, time zone, users,
 * hooks, the image's apt sources): every config section but those only later
 * steps read, since hooks get the whole config as VMLIVE_CONFIG_JSON and the
 * env section; the image's name; each hook file's and the overlay's content.
 */
export function hooksKey(packages: string, img: LoadedImage): StageKey {
  const c = img.config as unknown as Record<string, unknown>;
  const inputs: Record<string, string> = { "image name": valueDigest(img.name) };
  for (const section of Object.keys(c).filter((s) => !AFTER_CUSTOMIZE.has(s)))
    Object.assign(inputs, configInputs(c, section));
  for (const [i, h] of img.config.hooks.entries()) {
    const found = findHook(img, h.path);
    inputs[`hook ${i + 1} ${h.path}`] = found.ok ? digest(readFileSync(found.path)) : "missing";
  }
  if (img.config.overlay !== null) {
    const found = findInImage(img, img.config.overlay, "folder");
    inputs[`overlay ${img.config.overlay}`] = found.ok ? treeDigest(found.path) : "missing";
  }
  return keyOf(packages, inputs);
}

/** The versions of `names` among the machine's tools, as inputs named `tool NAME`. */
function toolInputs(src: KeySources, names: readonly string[]): Record<string, string> {
  return Object.fromEntries(
    names.filter((t) => src.tools?.[t] !== undefined).map((t) => [`tool ${t}`, valueDigest(src.tools![t])]),
  );
}

/** boot (kernel, initrd, GRUB, the ISO tree): the iso and kernel sections and the machine's GRUB and shim. */
export function bootKey(hooks: string, img: LoadedImage, src: KeySources): StageKey {
  const c = img.config as unknown as Record<string, unknown>;
  return keyOf(hooks, {
    ...configInputs(c, "iso"),
    ...configInputs(c, "kernel"),
    ...toolInputs(src, BOOT_TOOLS),
  });
}

/**
 * squash (live/filesystem.squashfs): made after the hooks key, as it packs
 * the root filesystem customize left; the squashfs section and the machine's
 * squashfs-tools. That check passed is not a key input: squash only ever runs
 * after it, and stages.ts reuses squash only when check is done.
 */
export function squashKey(hooks: string, img: LoadedImage, src: KeySources): StageKey {
  const c = img.config as unknown as Record<string, unknown>;
  return keyOf(hooks, { ...configInputs(c, "squashfs"), ...toolInputs(src, SQUASH_TOOLS) });
}

/** One stage's key after `previous` (the key of the stage before it, as the work area holds it). */
export function stageKey(
  stage: StageName,
  previous: string | undefined,
  img: LoadedImage,
  src: KeySources,
): StageKey | undefined {
  if (stage === "bootstrap") return bootstrapKey(img, src);
  // Without the key before it, no later key means anything.
  if (previous === undefined) return undefined;
  if (stage === "packages") return packagesKey(previous, img);
  if (stage === "hooks") return hooksKey(previous, img);
  if (stage === "squash") return squashKey(previous, img, src);
  return bootKey(previous, img, src);
}

/** The keys a build of `img` wants now, each after the one of its PREVIOUS_STAGE. */
export function wantedKeys(img: LoadedImage, src: KeySources): StageKeys {
  const keys: StageKeys = {};
  for (const stage of STAGES) {
    const before = PREVIOUS_STAGE[stage];
    const k = stageKey(stage, before ? keys[before]?.key : undefined, img, src);
    if (k) keys[stage] = k;
  }
  return keys;
}

/** The names of the inputs that differ between two keys of a stage ("hook 1 show-env.sh", "iso.menu_title"). */
export function changedInputs(was: StageKey | undefined, now: StageKey | undefined): string[] {
  if (!was || !now) return [];
  const names = [...new Set([...Object.keys(was.inputs), ...Object.keys(now.inputs)])];
  return names.filter((n) => was.inputs[n] !== now.inputs[n]);
}

/**
 * The `Date:` line of MIRROR/dists/SUITE/InRelease, fetched from this host
 * (10 s at most): the mirror's packages change exactly when it changes.
 */
export async function mirrorReleaseDate(
  mirror: string,
  suite: string,
  o: { timeoutMs?: number; fetch?: typeof fetch } = {},
): Promise<{ date: string } | { problem: string }> {
  const url = `${mirror.replace(/\/+$/, "")}/dists/${suite}/InRelease`;
  const ms = o.timeoutMs ?? 10_000;
  try {
    const r = await (o.fetch ?? fetch)(url, { signal: AbortSignal.timeout(ms) });
    if (!r.ok) return { problem: `${url} answered ${r.status} ${r.statusText}`.trim() };
    const date = /^Date:\s*(.+?)\s*$/m.exec(await r.text())?.[1];
    return date ? { date } : { problem: `${url} has no Date: line` };
  } catch (e) {
    const why =
      e instanceof Error
        ? e.name === "TimeoutError"
          ? `no answer within ${ms / 1000} s`
          : e.message
        : String(e);
    return { problem: `${url}: ${why}` };
  }
}
