// `vmlive usb`: a hybrid ISO onto a USB stick or into a disk image file, read
// back and compared, then a persistence partition after it. Everything that
// can be refused is refused before the first byte is written. A file is
// written as NAME.partial and renamed only when it is complete and checked; a
// stick whose write failed is blanked at both ends, so it never passes for a
// finished one.
import { constants } from "node:fs";
import { open, rename, rm, statfs, type FileHandle } from "node:fs/promises";
import path from "node:path";
import { UsageError, VerificationError } from "../errors.js";
import { run } from "../process/run.js";
import { humanBytes } from "../steps/boot/machine-files.js";
import { readBackSha256, writeIso, zeroRange } from "./copy.js";
import { inspectIso } from "./inspect.js";
import { MiB, partitionBytes, partitionOffset, planLayout, sfdiskAppend, type Layout } from "./layout.js";
import { mke2fsArgv, persistenceContents } from "./persistence-fs.js";
import { clearDevice, resolveTarget, type Target } from "./target.js";
import { verifyTarget } from "./verify.js";

export interface UsbOptions {
  iso: string;
  target: string;
  /** --persistence in bytes; undefined: the rest of the disk (or 1 GiB for a file vmlive sizes). */
  persistenceBytes?: number;
  /** --size in bytes, for a file target only. */
  sizeBytes?: number;
  yes: boolean;
  force: boolean;
  say: (line: string) => void;
  signal?: AbortSignal;
}

export interface UsbResult {
  target: string;
  kind: Target["kind"];
  layout: Layout;
  isoSha256: string;
}

export async function writeStick(o: UsbOptions): Promise<UsbResult> {
  const iso = await inspectIso(o.iso, o.signal);
  const target = await resolveTarget(o.target, o.iso);
  if (target.kind === "device") {
    if (o.sizeBytes !== undefined)
      throw new UsageError("--size is for image files; a device's size is its own", "leave out --size");
    clearDevice(target.disk, o, o.say);
  }
  const layout = planLayout({
    isoBytes: iso.bytes,
    table: iso.table,
    targetBytes: target.kind === "device" ? target.disk.size : o.sizeBytes,
    persistenceBytes: o.persistenceBytes,
    target: target.path,
  });
  if (target.kind === "file") await checkFreeSpace(target.work, iso.bytes);

  const disk = target.kind === "file" ? target.work : target.path;
  let written = false;
  try {
    const isoSha256 = await copyAndVerify(o, target, disk, iso.bytes, layout, () => (written = true));
    o.say(
      `adding the persistence partition: ${humanBytes(partitionBytes(layout))} at ${humanBytes(partitionOffset(layout))}`,
    );
    const add = sfdiskAppend(disk, layout);
    await run(add.argv, { stdin: add.script, signal: o.signal });
    const contents = await persistenceContents();
    try {
      await run(
        mke2fsArgv({
          target: disk,
          offset: partitionOffset(layout),
          bytes: partitionBytes(layout),
          contents: contents.dir,
        }),
        { signal: o.signal },
      );
    } finally {
      await contents.dispose();
    }
    await verifyTarget(disk, iso, layout, o.signal);
    if (target.kind === "file") await rename(target.work, target.path);
    else await settleDevice(target.path, o.say, o.signal);
    return { target: target.path, kind: target.kind, layout, isoSha256 };
  } catch (e) {
    if (target.kind === "file") await rm(target.work, { force: true });
    else if (written) await blankDevice(target.path, layout.targetBytes, o.say);
    throw e;
  }
}

/** Write the ISO, then read it back from the medium and compare; returns its sha256. */
async function copyAndVerify(
  o: UsbOptions,
  target: Target,
  disk: string,
  isoBytes: number,
  layout: Layout,
  started: () => void,
): Promise<string> {
  const out = await openTarget(target, disk, layout.targetBytes);
  let sent: string;
  try {
    started();
    o.say(`writing ${o.iso} (${humanBytes(isoBytes)}) to ${target.path}`);
    sent = await writeIso(o.iso, out, isoBytes, o.say, o.signal).catch((e: unknown) => {
      throw ioFailure(`cannot write ${target.path}`, e);
    });
  } finally {
    await out.close();
  }
  // Drop the kernel's cached copy, so the read-back comes from the stick and not from memory.
  if (target.kind === "device") await run(["blockdev", "--flushbufs", disk], { signal: o.signal });
  const back = await readBackSha256(disk, isoBytes, o.say, o.signal).catch((e: unknown) => {
    throw ioFailure(`cannot read ${target.path} back`, e);
  });
  if (back !== sent)
    throw new VerificationError(
      `${target.path} does not hold what was written: the ISO's sha256 is ${sent}, the first ${isoBytes} bytes read back have ${back}`,
      target.kind === "device"
        ? "the stick may be failing or fake-capacity; try another one"
        : "check the disk it is on",
    );
  o.say(
    `verified: the first ${humanBytes(isoBytes)} read back match the ISO (sha256 ${sent.slice(0, 16)}...)`,
  );
  return sent;
}

async function openTarget(target: Target, disk: string, bytes: number): Promise<FileHandle> {
  try {
    if (target.kind === "device")
      // O_EXCL on a block device: the kernel refuses it while anything has it mounted.
      return await open(disk, constants.O_RDWR | constants.O_EXCL);
    const fh = await open(disk, "w", 0o644);
    await fh.truncate(bytes).catch(async (e: unknown) => {
      await fh.close();
      throw e;
    });
    return fh;
  } catch (e) {
    throw ioFailure(`cannot open ${disk} for writing`, e);
  }
}

/** A file target is sparse, but the ISO's bytes need room for certain. */
async function checkFreeSpace(file: string, isoBytes: number): Promise<void> {
  const dir = path.dirname(path.resolve(file));
  const s = await statfs(dir);
  const free = s.bavail * s.bsize;
  if (free < isoBytes)
    throw new UsageError(
      `not enough space in ${dir}: the ISO alone needs ${humanBytes(isoBytes)}, ${humanBytes(free)} is free`,
      "free some space or write the image elsewhere",
    );
}

/** Flush the stick and have the kernel read its new partition table. */
async function settleDevice(dev: string, say: (l: string) => void, signal?: AbortSignal): Promise<void> {
  await run(["blockdev", "--flushbufs", dev], { signal });
  const r = await run(["blockdev", "--rereadpt", dev], { check: false, signal });
  if (r.exitCode !== 0)
    say(
      `note: the kernel did not re-read ${dev}'s partition table (${r.stderr.trim()}); unplug and replug it before using it here`,
    );
}

/**
 * Zero the first and last MiB of a stick whose write failed: its MBR, GPT
 * (both copies) and ISO 9660 descriptors go, so no firmware or tool takes it
 * for a finished stick.
 */
async function blankDevice(dev: string, bytes: number, say: (l: string) => void): Promise<void> {
  try {
    const fh = await open(dev, constants.O_RDWR | constants.O_EXCL);
    try {
      await zeroRange(fh, 0, Math.min(MiB, bytes));
      if (bytes > MiB) await zeroRange(fh, bytes - MiB, MiB);
      await fh.sync();
    } finally {
      await fh.close();
    }
    say(`${dev} was blanked (its first and last MiB zeroed) so that it does not pass for a finished stick`);
  } catch (e) {
    say(`could not blank ${dev} after the failure (${(e as Error).message}); do not boot from it`);
  }
}

function ioFailure(what: string, e: unknown): unknown {
  if (e instanceof VerificationError || !(e instanceof Error) || !("code" in e)) return e;
  // An aborted stream (Ctrl-C) is the interruption, which main() reports as such.
  if ((e as NodeJS.ErrnoException).code === "ABORT_ERR") return e;
  const hint =
    (e as NodeJS.ErrnoException).code === "ENOSPC"
      ? "the disk the image is on is full; free some space or write it elsewhere"
      : (e as NodeJS.ErrnoException).code === "EBUSY"
        ? "something has it open or mounted; unmount it and close what uses it"
        : undefined;
  return new VerificationError(`${what}: ${e.message}`, hint);
}
