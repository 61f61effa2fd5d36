// What the user named as the target: a disk image file (new or to be
// overwritten) or a whole-disk block device, which lsblk must clear first.
import { realpath, stat } from "node:fs/promises";
import path from "node:path";
import { UsageError } from "../errors.js";
import { run } from "../process/run.js";
import { describeDisk, lsblkArgv, parseLsblk, refusals, type BlockDevice } from "./lsblk.js";

export type Target =
  | {
      kind: "file";
      /** The finished image's name. */
      path: string;
      /** Where it is written; renamed to `path` only once it is complete and checked. */
      work: string;
    }
  | { kind: "device"; path: string; disk: BlockDevice };

export const partialName = (file: string) => `${file}.partial`;

async function statOrUndefined(p: string) {
  try {
    return await stat(p);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new UsageError(`cannot use ${p}: ${(e as Error).message}`);
  }
}

/** Classify the target; refuses what it cannot be, before anything is written. */
export async function resolveTarget(target: string, iso: string): Promise<Target> {
  const st = await statOrUndefined(target);
  if (!st) {
    // A mistyped /dev/sdX must not become a regular file in /dev.
    if (path.resolve(target).startsWith("/dev/"))
      throw new UsageError(
        `${target}: no such device`,
        "see `lsblk -o NAME,MODEL,SIZE,TRAN` for the disks there are",
      );
    const dir = path.dirname(path.resolve(target));
    const d = await statOrUndefined(dir);
    if (!d?.isDirectory())
      throw new UsageError(`cannot create ${target}: there is no folder ${dir}`, `mkdir -p ${dir} first`);
    return { kind: "file", path: target, work: partialName(target) };
  }
  if (st.isFile()) {
    const isoSt = await stat(iso);
    if (st.dev === isoSt.dev && st.ino === isoSt.ino)
      throw new UsageError(`${target} is the ISO itself`, "name a new image file or a USB stick");
    return { kind: "file", path: target, work: partialName(target) };
  }
  if (st.isBlockDevice()) {
    const dev = await realpath(target);
    const disk = parseLsblk((await run(lsblkArgv(dev))).stdout);
    return { kind: "device", path: dev, disk };
  }
  const what = st.isDirectory()
    ? "a folder"
    : st.isCharacterDevice()
      ? "a character device"
      : "not a regular file";
  throw new UsageError(
    `${target} is ${what}`,
    "name a disk image file to create (stick.img) or a whole USB disk (/dev/sdb)",
  );
}

/**
 * Refuse a device that is not safe to overwrite (--force overrides only "not
 * removable"), then show what will be lost and insist on --yes.
 */
export function clearDevice(
  disk: BlockDevice,
  o: { yes: boolean; force: boolean },
  say: (l: string) => void,
): void {
  const blocking = refusals(disk).filter((r) => !(r.forceable && o.force));
  if (blocking.length)
    throw new UsageError(blocking.map((r) => r.reason).join("\n  "), blocking.map((r) => r.hint).join("; "));
  say("this disk and everything on it will be overwritten:");
  for (const l of describeDisk(disk)) say(`  ${l}`);
  if (!o.yes)
    throw new UsageError(
      `not writing to ${disk.path} without --yes`,
      "check the disk above is the one you mean, then run the same command with --yes",
    );
}
