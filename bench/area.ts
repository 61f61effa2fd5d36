// The bench's own folders, all under one temporary folder that is removed
// afterwards: a package cache (VMLIVE_CACHE_DIR) that only the bench uses, so
// emptying it for a cold run never touches the cache of other builds; a work
// area (VMLIVE_WORK_DIR); an output folder per run; live-build's folder.
import { existsSync } from "node:fs";
import { appendFile, cp, mkdir, mkdtemp, symlink } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { cacheDir } from "../src/host/dirs.js";
import { run } from "../src/process/run.js";

/** The repository, for running vmlive from source. */
export const REPO = path.resolve(import.meta.dirname, "..");

export interface BenchArea {
  root: string;
  /** VMLIVE_CACHE_DIR of every vmlive the bench runs. */
  cache: string;
  /** VMLIVE_WORK_DIR of every vmlive the bench runs. */
  work: string;
  /** live-build's build folder (a copy of bench/live-build). */
  liveBuild: string;
  /** The environment vmlive runs with. */
  env: Record<string, string>;
}

export async function makeArea(parent = os.tmpdir()): Promise<BenchArea> {
  const root = await mkdtemp(path.join(parent, "vmlive-bench-"));
  const area: BenchArea = {
    root,
    cache: path.join(root, "cache"),
    work: path.join(root, "work"),
    liveBuild: path.join(root, "live-build"),
    env: {
      VMLIVE_CACHE_DIR: path.join(root, "cache"),
      VMLIVE_WORK_DIR: path.join(root, "work"),
      VMLIVE_IMAGES: path.join(root, "images"),
    },
  };
  await mkdir(area.cache, { recursive: true });
  // A copy of images/ and hooks/ (VMLIVE_IMAGES points at it), so a run may change a hook; the
  // image's shared hooks are found in hooks/ beside images/ (src/images/locate.ts).
  await cp(path.join(REPO, "images"), area.env.VMLIVE_IMAGES!, { recursive: true });
  await cp(path.join(REPO, "hooks"), path.join(root, "hooks"), { recursive: true });
  // Builder images are made once per release and are not what a cold build
  // measures: the bench's cache points at the ones already made (a VM build
  // that has none makes it there, for everyone).
  const builders = path.join(cacheDir(), "builders");
  await mkdir(builders, { recursive: true });
  await symlink(builders, path.join(area.cache, "builders"));
  return area;
}

/** The hook the hook-changed run edits: live-minimal's only one. */
export const CHANGED_HOOK = "show-env.sh";

/** Edit the bench's copy of the hook as a person would: one more line of output. */
export async function changeHook(area: BenchArea): Promise<void> {
  await appendFile(
    path.join(area.root, "hooks", CHANGED_HOOK),
    `echo "  changed for the bench at ${new Date().toISOString()}"\n`,
  );
}

/** This run's output folder (vmlive --out) and boot logs. */
export function runDir(area: BenchArea, ...names: string[]): string {
  return path.join(area.root, "runs", names.join("-"));
}

/** The bench's package cache: emptied before a cold run. */
export function packageCacheDir(area: BenchArea): string {
  return path.join(area.cache, "packages");
}

/** Remove a folder the bench made; --one-file-system: never into anything still mounted below it. */
export async function removeTree(dir: string): Promise<void> {
  if (existsSync(dir)) await run(["rm", "-rf", "--one-file-system", dir]);
}
