// The squash step: mksquashfs the root filesystem into live/filesystem.squashfs,
// then check the result, because mksquashfs can exit 0 with a damaged or tiny
// image (a full disk, unreadable files).
import type { ImageConfig } from "../config/load.js";
import type { BuildContext } from "../pipeline/context.js";
import type { Step } from "../pipeline/steps.js";
import { VerificationError } from "../errors.js";
import {
  fileSize,
  freeBytes,
  humanBytes,
  parseCount,
  run,
  treeBytes,
  treeEntries,
} from "./boot/machine-files.js";
import { outOfSpaceError } from "./space.js";

/** Smallest squashfs believed: a Debian root of any variant is far bigger than this. */
export const MIN_SQUASHFS_BYTES = 1024 * 1024;
/** The squashfs may not be smaller than the rootfs divided by this (zstd on a Debian root gives about 1/3). */
export const MAX_COMPRESSION_RATIO = 20;

export function squashfsPath(isoTree: string): string {
  return `${isoTree}/live/filesystem.squashfs`;
}

/** mksquashfs's argv; `exitOnError` only when this mksquashfs knows the option (4.5 and later). */
export function mksquashfsArgv(
  rootfs: string,
  out: string,
  sq: ImageConfig["squashfs"],
  processors: number,
  exitOnError: boolean,
): string[] {
  return [
    "mksquashfs",
    rootfs,
    out,
    "-noappend",
    "-comp",
    sq.compression,
    ...(sq.level !== null ? ["-Xcompression-level", String(sq.level)] : []),
    "-b",
    String(sq.block_size),
    "-processors",
    String(processors),
    ...(exitOnError ? ["-exit-on-error"] : []),
    "-no-progress",
  ];
}

export interface Superblock {
  compression?: string;
  blockSize?: number;
  /** "Filesystem size N bytes": what the superblock says the image holds. */
  bytes?: number;
  inodes?: number;
}

/** The fields of `unsquashfs -s` that are checked. */
export function parseSuperblock(text: string): Superblock | undefined {
  if (!/Found a valid SQUASHFS [0-9:]+ superblock/.test(text)) return undefined;
  const num = (re: RegExp) => {
    const m = re.exec(text);
    return m ? Number(m[1]) : undefined;
  };
  return {
    compression: /^Compression (\S+)/m.exec(text)?.[1],
    blockSize: num(/^Block size ([0-9]+)/m),
    bytes: num(/^Filesystem size ([0-9]+) bytes/m),
    inodes: num(/^Number of inodes ([0-9]+)/m),
  };
}

/** Entries `unsquashfs -l` lists: "squashfs-root" and one "squashfs-root/..." line per entry; any header lines are not counted. */
export function countListing(text: string): number {
  let n = 0;
  for (const line of text.split("\n")) if (line === "squashfs-root" || line.startsWith("squashfs-root/")) n++;
  return n;
}

async function run_(ctx: BuildContext): Promise<void> {
  const { work } = ctx;
  const sq = ctx.image.config.squashfs;
  const out = squashfsPath(work.isoTree);
  await run(ctx, ["mkdir", "-p", `${work.isoTree}/live`, work.out]);
  // The old image first: it would count against the free space, and a stale one must never survive a failure.
  await run(ctx, ["rm", "-f", out]);

  const bytes = await treeBytes(ctx, work.rootfs);
  const files = await treeEntries(ctx, work.rootfs);
  ctx.state.rootfs = { bytes, files };
  // The rootfs size is an upper bound for the squashfs.
  const avail = await freeBytes(ctx, `${work.isoTree}/live`);
  if (avail < bytes)
    throw new VerificationError(
      `out of space: need ${humanBytes(bytes)}, have ${humanBytes(avail)} on the filesystem of ${work.isoTree}`,
      "free space in the work area, or make the builder's disk bigger",
    );

  const help = await run(ctx, ["mksquashfs", "-help"], { check: false, quiet: true });
  const exitOnError = `${help.stdout}${help.stderr}`.includes("-exit-on-error");
  if (!exitOnError)
    ctx.log.say("warning: this mksquashfs has no -exit-on-error; errors reading files may go unnoticed");
  const version = await run(ctx, ["mksquashfs", "-version"], { check: false, quiet: true });
  ctx.state.tools = { ...ctx.state.tools, mksquashfs: version.stdout.split("\n")[0]?.trim() ?? "" };
  const nproc = parseCount((await run(ctx, ["nproc"], { quiet: true })).stdout, "nproc");

  ctx.log.say(
    `squashing ${humanBytes(bytes)} in ${files} entries with ${sq.compression} on ${nproc} processors`,
  );
  try {
    await run(ctx, mksquashfsArgv(work.rootfs, out, sq, nproc, exitOnError), {
      // squashfs-tools 4.5 and later take the file system time from it.
      env: { SOURCE_DATE_EPOCH: String(ctx.sourceDateEpoch) },
    });
  } catch (e) {
    // Whatever mksquashfs left is not an image: it must not be taken for one by a later --steps run.
    // Not with the step's signal: after Ctrl-C it is aborted, and would kill this rm as well.
    await run(ctx, ["rm", "-f", out], { signal: undefined });
    throw (await outOfSpaceError(ctx, e, `squashing ${work.rootfs}`, `${work.isoTree}/live`)) ?? e;
  }

  try {
    await checkSquashfs(ctx, out, bytes, files);
  } catch (e) {
    await run(ctx, ["rm", "-f", out]);
    throw e;
  }
}

async function checkSquashfs(
  ctx: BuildContext,
  out: string,
  rootfsBytes: number,
  rootfsFiles: number,
): Promise<void> {
  const sq = ctx.image.config.squashfs;
  const size = await fileSize(ctx, out);
  if (size < MIN_SQUASHFS_BYTES)
    throw new VerificationError(
      `${out} is ${humanBytes(size)} (${size} bytes), less than ${humanBytes(MIN_SQUASHFS_BYTES)}: mksquashfs did not write the image`,
      "see the step's log for mksquashfs's messages",
    );
  if (size < rootfsBytes / MAX_COMPRESSION_RATIO)
    throw new VerificationError(
      `${out} is ${humanBytes(size)} (${size} bytes) from a root filesystem of ${humanBytes(rootfsBytes)}: ` +
        `smaller than 1/${MAX_COMPRESSION_RATIO} of it, so files are missing`,
      "see the step's log for mksquashfs's messages",
    );

  const s = await run(ctx, ["unsquashfs", "-s", out], { check: false });
  const sb = s.exitCode === 0 ? parseSuperblock(s.stdout) : undefined;
  if (!sb)
    throw new VerificationError(
      `unsquashfs -s cannot read the superblock of ${out} (exit code ${s.exitCode}): ${(s.stderr || s.stdout).trim().slice(0, 200)}`,
    );
  if (sb.bytes === undefined || sb.bytes > size)
    throw new VerificationError(
      `${out} is truncated: its superblock says ${sb.bytes ?? "?"} bytes, the file has ${size}`,
    );
  if (sb.compression !== sq.compression)
    throw new VerificationError(
      `${out} is compressed with ${sb.compression ?? "unknown"}, not ${sq.compression}`,
    );
  if (sb.blockSize !== sq.block_size)
    throw new VerificationError(`${out} has block size ${sb.blockSize ?? "unknown"}, not ${sq.block_size}`);

  // Listing every entry is thousands of lines: counted here, not copied to the log.
  const l = await run(ctx, ["unsquashfs", "-l", out], { quiet: true });
  const entries = countListing(l.stdout);
  if (entries !== rootfsFiles)
    throw new VerificationError(
      `${out} holds ${entries} entries, the root filesystem ${rootfsFiles} (find -xdev): ` +
        `${Math.abs(rootfsFiles - entries)} ${entries < rootfsFiles ? "missing" : "too many"}`,
      "mksquashfs skipped files it could not read, or something is mounted inside the root filesystem",
    );
  ctx.state.squashfs = { path: out, bytes: size, files: entries };
  ctx.log.say(
    `${humanBytes(size)} (${size} bytes), ${entries} entries, ${sb.compression}, ` +
      `${((size / Math.max(rootfsBytes, 1)) * 100).toFixed(0)}% of the root filesystem`,
  );
}

export const squashStep: Step = {
  name: "squash",
  summary: "mksquashfs the root filesystem and check the result",
  verify: () => [],
  run: run_,
};
