// The persistence filesystem: ext4 labelled `persistence` holding
// persistence.conf, made by mke2fs straight into the target at the
// partition's byte offset. Nothing is mounted and no loop device or
// partition node is needed, so a disk image file and a USB stick go the same
// way (and it works on kernels without partition table support).
import { mkdtemp, rm, writeFile, chmod } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { PERSISTENCE_LABEL } from "./layout.js";

/** live-boot's persistence.conf: keep every change to the root filesystem. */
export const PERSISTENCE_CONF = "/ union\n";

export interface FsSpec {
  target: string;
  /** Byte offset of the partition in the target. */
  offset: number;
  bytes: number;
  /** A folder whose contents become the filesystem's (persistence.conf). */
  contents: string;
}

export function mke2fsArgv(s: FsSpec): string[] {
  return [
    "mke2fs",
    "-q",
    // The target holds an ISO 9660 signature; without -F mke2fs would ask whether to go on.
    // One -F still refuses a mounted device.
    "-F",
    "-t",
    "ext4",
    "-L",
    PERSISTENCE_LABEL,
    "-d",
    s.contents,
    // nodiscard: a discard would reach the whole target, not just the partition's range.
    "-E",
    `offset=${s.offset},nodiscard,root_owner=0:0`,
    "--",
    s.target,
    `${Math.floor(s.bytes / 1024)}k`,
  ];
}

/** `debugfs` reads a filesystem at an offset in a file or disk as `TARGET?offset=N`. */
export function debugfsCatArgv(target: string, offset: number, file: string): string[] {
  return ["debugfs", "-R", `cat ${file}`, `${target}?offset=${offset}`];
}

export function blkidArgv(target: string, offset: number): string[] {
  return ["blkid", "-p", "-O", String(offset), "-o", "export", "--", target];
}

/** `blkid -o export` output as a map (LABEL, TYPE, UUID ...). */
export function parseBlkidExport(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split("\n")) {
    const i = line.indexOf("=");
    if (i > 0) out[line.slice(0, i)] = line.slice(i + 1);
  }
  return out;
}

/** A temporary folder holding persistence.conf, removed by `dispose`. */
export async function persistenceContents(): Promise<{ dir: string; dispose: () => Promise<void> }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "vmlive-persistence-"));
  await writeFile(path.join(dir, "persistence.conf"), PERSISTENCE_CONF, { mode: 0o644 });
  await chmod(dir, 0o755);
  return { dir, dispose: () => rm(dir, { recursive: true, force: true }) };
}
