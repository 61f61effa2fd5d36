// `vmlive build IMAGE --check-reproducible`: build the image twice from
// scratch with the same SOURCE_DATE_EPOCH, each in its own work area, and
// compare the squashfs and the ISO byte for byte. A difference fails the run
// naming the first one: for the squashfs the first path and what differs,
// for the ISO the first byte offset and what holds it.
import { rename, rm } from "node:fs/promises";
import path from "node:path";
import { UsageError, VerificationError } from "../errors.js";
import { workDir } from "../host/dirs.js";
import { run } from "../process/run.js";
import { emitAt } from "../report/events.js";
import { firstDifferentByte } from "../util/first-difference.js";
import { whatHoldsInIso } from "../util/iso-layout.js";
import { sha256File } from "../util/sha256.js";
import { compareSquashfs, type SquashfsComparison } from "../util/squashfs-compare.js";
import { build, hostWorkDir, type BuildOptions, type BuildResult } from "./build.js";

/** Where the squashfs is inside every vmlive ISO (steps/squash.ts). */
export const SQUASHFS_IN_ISO = "/live/filesystem.squashfs";

/** The second build's work areas live below this, apart from every first build's. */
export function secondWorkRoot(root = workDir()): string {
  return path.join(root, ".repro");
}

/** SOURCE_DATE_EPOCH as the environment gives it: whole seconds, or a UsageError naming the fix. */
export function parseSourceDateEpoch(value: string): number {
  if (!/^[0-9]{1,12}$/.test(value.trim()))
    throw new UsageError(
      `SOURCE_DATE_EPOCH=${JSON.stringify(value)}: not a whole number of seconds since 1970`,
      "set it to e.g. $(git log -1 --format=%ct), or unset it to take the first build's start time",
    );
  return Number(value.trim());
}

export interface BuildComparison {
  iso: { a: string; b: string };
  squashfs: { a: string; b: string };
  /** The first byte at which the ISOs differ, and what holds it. */
  isoOffset?: number;
  isoWhere?: string;
  /** When the squashfs images differ: the first entry that does. */
  squashfsDiff?: SquashfsComparison;
}

export const identical = (c: BuildComparison) => c.iso.a === c.iso.b && c.squashfs.a === c.squashfs.b;

/**
 * Compare two builds' ISOs, and the squashfs inside them. `scratch` is a
 * folder for the extracted squashfs images and their unpacked trees; it is
 * removed afterwards.
 */
export async function compareBuilds(
  isoA: string,
  isoB: string,
  scratch: string,
  signal?: AbortSignal,
): Promise<BuildComparison> {
  await rm(scratch, { recursive: true, force: true });
  await run(["mkdir", "-p", scratch], { signal });
  try {
    const sq = [path.join(scratch, "a.squashfs"), path.join(scratch, "b.squashfs")] as const;
    for (const [iso, out] of [
      [isoA, sq[0]],
      [isoB, sq[1]],
    ] as const)
      await run(
        [
          "xorriso",
          "-report_about",
          "WARNING",
          "-osirrox",
          "on",
          "-indev",
          iso,
          "-extract",
          SQUASHFS_IN_ISO,
          out,
        ],
        { signal },
      );
    const c: BuildComparison = {
      iso: { a: await sha256File(isoA), b: await sha256File(isoB) },
      squashfs: { a: await sha256File(sq[0]), b: await sha256File(sq[1]) },
    };
    if (c.iso.a !== c.iso.b) {
      c.isoOffset = await firstDifferentByte(isoA, isoB);
      if (c.isoOffset !== undefined) c.isoWhere = await whatHoldsInIso(isoA, c.isoOffset, signal);
    }
    if (c.squashfs.a !== c.squashfs.b)
      c.squashfsDiff = await compareSquashfs(sq[0], sq[1], { scratch: path.join(scratch, "trees"), signal });
    return c;
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/** The verdict, as one message: the success line, or the first difference of each image. */
export function describeComparison(c: BuildComparison): string {
  if (identical(c))
    return `reproducible: squashfs SHA256 ${c.squashfs.a}, ISO SHA256 ${c.iso.a} identical in both builds`;
  const lines = ["not reproducible:"];
  const d = c.squashfsDiff;
  if (c.squashfs.a === c.squashfs.b) lines.push(`  squashfs identical (SHA256 ${c.squashfs.a})`);
  else {
    lines.push(`  squashfs differs (SHA256 ${c.squashfs.a} vs ${c.squashfs.b})`);
    if (d?.first)
      lines.push(
        `    first difference: ${d.first.path}: ${d.first.differences.join("; ")}` +
          (d.differing > 1 ? ` (${d.differing} entries differ in all)` : ""),
      );
    else if (d)
      lines.push(
        `    every entry is the same; the images differ in how they were made: ${d.superblock ?? "superblock identical, so in block order or compression"}`,
      );
    if (d?.note) lines.push(`    (${d.note})`);
  }
  if (c.iso.a === c.iso.b) lines.push(`  ISO identical (SHA256 ${c.iso.a})`);
  else
    lines.push(
      `  ISO differs (SHA256 ${c.iso.a} vs ${c.iso.b}): first at byte ${c.isoOffset ?? "?"}` +
        (c.isoWhere ? `, ${c.isoWhere}` : ""),
    );
  return lines.join("\n");
}

/**
 * Build `o.image` twice from scratch with one SOURCE_DATE_EPOCH and compare.
 * The first build's folder is the result; the second's is removed, or kept
 * beside it as NAME.repro when they differ.
 */
export async function buildTwiceAndCompare(
  o: BuildOptions,
  buildFn: (o: BuildOptions) => Promise<BuildResult> = build,
): Promise<BuildResult> {
  if (o.steps?.length)
    throw new UsageError(
      "--check-reproducible builds the whole image twice from scratch; it cannot take --steps",
      "drop --steps",
    );
  const say = (message: string) => emitAt(o.events, { type: "say", label: "reproducible", message });
  const fromEnv = process.env.SOURCE_DATE_EPOCH;
  const epoch = fromEnv !== undefined ? parseSourceDateEpoch(fromEnv) : Math.floor(Date.now() / 1000);
  const when = new Date(epoch * 1000).toISOString();
  say(
    `both builds use SOURCE_DATE_EPOCH=${epoch} (${when}), ` +
      (fromEnv !== undefined ? "from the environment" : "the first build's start time"),
  );
  // --clean for both: neither may reuse a kept root filesystem or any stage of an earlier build.
  const first = await buildFn({ ...o, clean: true, sourceDateEpoch: epoch });
  const outRoot = path.resolve(o.out);
  const name = path.basename(first.dir);
  const secondOut = path.join(outRoot, `.${name}.repro-out`);
  const workRoot = secondWorkRoot();
  const { image, arch } = first.report;
  say(`second build, in its own work area ${hostWorkDir(image, arch, o.backend, workRoot)}`);
  let second: BuildResult;
  try {
    second = await buildFn({
      ...o,
      clean: true,
      sourceDateEpoch: epoch,
      out: secondOut,
      workRoot,
      // Only to be compared: not in the history, not booted, not signed, not pruned against.
      scratch: true,
      bootTest: false,
      signKey: undefined,
      keep: 0,
    });
  } catch (e) {
    throw new VerificationError(
      `--check-reproducible: the second build failed: ${e instanceof Error ? e.message : String(e)}`,
      `its logs are in ${secondOut}; the first build is ${first.dir}`,
    );
  } finally {
    await run(["rm", "-rf", "--one-file-system", hostWorkDir(image, arch, o.backend, workRoot)]);
  }

  const isoA = isoOf(first);
  const isoB = isoOf(second);
  say(`comparing ${isoA} with ${isoB}`);
  const c = await compareBuilds(isoA, isoB, path.join(outRoot, `.${name}.repro-compare`), o.signal);
  const verdict = describeComparison(c);
  if (identical(c)) {
    await rm(secondOut, { recursive: true, force: true });
    say(verdict);
    return first;
  }
  const kept = `${first.dir}.repro`;
  await rm(kept, { recursive: true, force: true });
  await rename(second.dir, kept);
  await rm(secondOut, { recursive: true, force: true });
  throw new VerificationError(
    verdict,
    `both builds are kept: ${first.dir} and ${kept} (logs in logs/ of each); ` +
      "see docs/reproducible.md for what vmlive makes reproducible",
  );
}

function isoOf(r: BuildResult): string {
  const iso = r.report.artifacts?.find((a) => a.name.endsWith(".iso"));
  if (!iso) throw new VerificationError(`--check-reproducible: ${r.dir} holds no ISO to compare`);
  return path.join(r.dir, iso.name);
}
