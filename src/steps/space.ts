// A disk that fills up while mksquashfs or xorriso writes (another build, growing
// logs) gets past the free-space check made before they start: the tool then
// fails in its own words. Those words are recognised here and the failure is
// reported as what it is, with the free space measured after the failure.
import { CommandError, VerificationError } from "../errors.js";
import type { BuildContext } from "../pipeline/context.js";
import { humanBytes, parseCount, run } from "./boot/machine-files.js";

/**
 * Lines by which mksquashfs ("Write failed because No space left on device",
 * "FATAL ERROR: Failed to write to output filesystem") and xorriso ("libburn :
 * SORRY : ... No space left on device", "FAILURE : Image size 6328s exceeds
 * free space on media 2048s") say the output filesystem is full.
 */
const NO_SPACE =
  /No space left on device|Failed to write to output filesystem|exceeds free space on media|Disk quota exceeded/i;

/** The first line of `text` that says the disk is full, or undefined. */
export function noSpaceLine(text: string): string | undefined {
  return text
    .split("\n")
    .map((l) => l.trim())
    .find((l) => NO_SPACE.test(l));
}

export interface DiskSpace {
  /** Bytes available to the build (df's avail). */
  free: number;
  /** The filesystem's size (df's size). */
  size: number;
}

/** `df -B1 --output=avail,size` of the filesystem holding a path: its last line, two numbers. */
export function parseDf(text: string, what: string): DiskSpace {
  const last = text.trim().split("\n").pop() ?? "";
  const [free = "", size = ""] = last.trim().split(/\s+/);
  return { free: parseCount(free, what), size: parseCount(size, what) };
}

/** Free space and size of the filesystem holding `path`, on the machine. */
export async function diskSpace(ctx: BuildContext, path: string): Promise<DiskSpace> {
  const argv = ["df", "-B1", "--output=avail,size", path];
  const r = await run(ctx, argv, { quiet: true });
  return parseDf(r.stdout, argv.join(" "));
}

/**
 * When `e` is `tool` failing because the filesystem of `path` filled up, the
 * error to report instead: `out of space while DOING: PATH has FREE free of SIZE`.
 * Anything else comes back undefined and is rethrown as it was.
 */
export async function outOfSpaceError(
  ctx: BuildContext,
  e: unknown,
  doing: string,
  path: string,
): Promise<VerificationError | undefined> {
  if (!(e instanceof CommandError) || e.detail.cause !== undefined) return undefined;
  const line = noSpaceLine(e.detail.tail ?? "");
  if (line === undefined) return undefined;
  const d = await diskSpace(ctx, path);
  return new VerificationError(
    `out of space while ${doing}: the filesystem of ${path} has ${humanBytes(d.free)} free of ` +
      `${humanBytes(d.size)} (${d.free} of ${d.size} bytes) after ${e.argv[0] ?? "the tool"} said "${line}"`,
    "free space on that filesystem (other builds and logs share it), or make the builder's disk bigger",
  );
}
