// The output folder over many nights: build folders are named
// IMAGE-SUITE-ARCH-YYYYMMDD-HHMMSS (".failed" when the build failed), and
// IMAGE-SUITE-ARCH-latest is a symlink to the newest one that passed, so
// scripts and web servers have one stable path. `--keep N` keeps the N newest
// passed builds of each image, suite and arch, and the failed ones newer than
// the oldest of those (a failure after the last good build is what people
// need to look at); older folders go.
import { lstat, readdir, readlink, rename, rm, symlink } from "node:fs/promises";
import path from "node:path";

export const LATEST = "latest";

export interface BuildFolder {
  name: string;
  /** YYYYMMDD-HHMMSS, which sorts in time order. */
  stamp: string;
  failed: boolean;
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** The build folders of one image/suite/arch ("live-minimal-bookworm-amd64") in `names`, oldest first. */
export function buildFolders(prefix: string, names: readonly string[]): BuildFolder[] {
  const re = new RegExp(`^${escape(prefix)}-(\\d{8}-\\d{6})(\\.failed)?$`);
  return names
    .map((name) => ({ name, m: re.exec(name) }))
    .filter((x): x is { name: string; m: RegExpExecArray } => x.m !== null)
    .map(({ name, m }) => ({ name, stamp: m[1]!, failed: m[2] !== undefined }))
    .sort((a, b) => a.stamp.localeCompare(b.stamp) || Number(a.failed) - Number(b.failed));
}

/** Which folders `--keep keep` removes; keep 0 keeps everything. */
export function foldersToPrune(folders: readonly BuildFolder[], keep: number): BuildFolder[] {
  if (keep <= 0) return [];
  const passed = folders.filter((f) => !f.failed);
  if (passed.length <= keep) {
    // Not yet N good builds: failed ones are pruned only beyond the same count.
    const failed = folders.filter((f) => f.failed);
    return failed.slice(0, Math.max(0, failed.length - keep));
  }
  const oldestKept = passed[passed.length - keep]!.stamp;
  return folders.filter((f) => f.stamp < oldestKept);
}

/** Point PREFIX-latest at `folder` (a name in `outRoot`), replacing the old link in one rename. */
export async function pointLatest(outRoot: string, prefix: string, folder: string): Promise<string> {
  const link = path.join(outRoot, `${prefix}-${LATEST}`);
  const existing = await lstat(link).catch(() => undefined);
  if (existing && !existing.isSymbolicLink())
    throw new Error(`${link} exists and is not a symlink; vmlive keeps its latest pointer there`);
  const tmp = `${link}.new-${process.pid}`;
  await rm(tmp, { force: true });
  // Relative, so the output folder can be moved or served as a whole.
  await symlink(folder, tmp);
  await rename(tmp, link);
  return link;
}

/** Remove the folders `--keep` lets go; returns their names. Never the one `latest` points to. */
export async function prune(outRoot: string, prefix: string, keep: number): Promise<string[]> {
  if (keep <= 0) return [];
  const names = await readdir(outRoot);
  const latest = await readlink(path.join(outRoot, `${prefix}-${LATEST}`)).catch(() => undefined);
  const gone = foldersToPrune(buildFolders(prefix, names), keep).filter((f) => f.name !== latest);
  for (const f of gone) await rm(path.join(outRoot, f.name), { recursive: true, force: true });
  return gone.map((f) => f.name);
}
