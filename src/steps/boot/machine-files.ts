// Small helpers the boot, squash, iso and verify steps share: run a command
// with the step's signal and log, write a file on the machine from a string,
// ask for sizes and free space. Everything goes through ctx.machine.exec with
// argv arrays; paths and config values are whole argv words or stdin.
import type { ExecOptions, ExecResult } from "../../machine/machine.js";
import type { BuildContext } from "../../pipeline/context.js";

/** Run argv on the machine with the step's abort signal; output goes to the log unless `quiet`. */
export function run(
  ctx: BuildContext,
  argv: readonly string[],
  opts: ExecOptions & { quiet?: boolean } = {},
): Promise<ExecResult> {
  const { quiet, ...rest } = opts;
  return ctx.machine.exec(argv, {
    signal: ctx.signal,
    ...(quiet ? {} : { output: ctx.log.output }),
    ...rest,
  });
}

/** Write `content` to `path` on the machine (via stdin: nothing of it passes through a shell). */
export async function writeFile(ctx: BuildContext, path: string, content: string | Buffer): Promise<void> {
  await run(ctx, ["sh", "-c", 'cat > "$1"', "write-file", path], { stdin: content, quiet: true });
}

/** True when `test -FLAG path` succeeds on the machine. */
export async function test(
  ctx: BuildContext,
  flag: "-d" | "-e" | "-f" | "-s",
  path: string,
): Promise<boolean> {
  const r = await run(ctx, ["test", flag, path], { check: false, quiet: true });
  return r.exitCode === 0;
}

/** Size in bytes of a file on the machine. */
export async function fileSize(ctx: BuildContext, path: string): Promise<number> {
  const r = await run(ctx, ["stat", "-c", "%s", path], { quiet: true });
  return parseCount(r.stdout, `stat -c %s ${path}`);
}

/** Bytes the files under `path` take on disk, not crossing into other filesystems. */
export async function treeBytes(ctx: BuildContext, path: string): Promise<number> {
  const r = await run(ctx, ["du", "-sx", "--block-size=1", path], { quiet: true });
  return parseCount(r.stdout.split(/\s/)[0] ?? "", `du -sx ${path}`);
}

/** Entries `find -xdev` lists under `path`, `path` itself included (one byte per entry, so names never matter). */
export async function treeEntries(ctx: BuildContext, path: string): Promise<number> {
  const r = await run(ctx, ["find", path, "-xdev", "-printf", "."], { quiet: true });
  return r.stdout.trim().length;
}

/** Bytes available (df's avail column) on the filesystem holding `path`. */
export async function freeBytes(ctx: BuildContext, path: string): Promise<number> {
  const r = await run(ctx, ["df", "-B1", "--output=avail", path], { quiet: true });
  const last = r.stdout.trim().split("\n").pop() ?? "";
  return parseCount(last, `df -B1 --output=avail ${path}`);
}

export function parseCount(text: string, what: string): number {
  const t = text.trim();
  if (!/^[0-9]+$/.test(t))
    throw new Error(`${what}: expected a number, got ${JSON.stringify(t.slice(0, 80))}`);
  return Number(t);
}

/** 1536 -> "1.5 KiB", 194617344 -> "185.6 MiB": for messages, next to exact byte counts where they matter. */
export function humanBytes(n: number): string {
  const units = ["bytes", "KiB", "MiB", "GiB", "TiB"];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${n} bytes` : `${v.toFixed(1)} ${units[i]}`;
}
