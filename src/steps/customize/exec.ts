// How the customize modules run things: on the machine, or inside the image
// through chrootArgv (its own mount namespace per command). Every exec gets
// the build's signal and log; config values only ever travel as whole argv
// words or as stdin, never inside a shell script's text.
import type { ExecResult, OutputSink } from "../../machine/machine.js";
import { chrootArgv } from "../../machine/chroot.js";
import { qemuUserEnv } from "../../host/binfmt.js";
import type { BuildContext } from "../../pipeline/context.js";

export interface RunOpts {
  stdin?: string | Buffer;
  env?: Readonly<Record<string, string>>;
  cwd?: string;
  check?: boolean;
  timeoutMs?: number;
  idleTimeoutMs?: number;
  /** Where output goes; defaults to the build log. */
  output?: OutputSink;
  /** Keep the output out of the log (reads of files, probes). */
  quiet?: boolean;
}

const MINUTE = 60_000;
/** Small commands: generous, since a TCG builder is ~20x slower than the host. */
export const SHORT = { timeoutMs: 30 * MINUTE, idleTimeoutMs: 15 * MINUTE };
/** apt-get install, hooks: long, with an inactivity watchdog. */
export const LONG = { timeoutMs: 4 * 60 * MINUTE, idleTimeoutMs: 20 * MINUTE };

/** Run argv on the machine (outside the image). */
export function onMachine(ctx: BuildContext, argv: readonly string[], o: RunOpts = {}): Promise<ExecResult> {
  const { quiet, output, ...rest } = o;
  return ctx.machine.exec(argv, {
    ...SHORT,
    ...rest,
    signal: ctx.signal,
    output: quiet ? undefined : (output ?? ctx.log.output),
  });
}

/**
 * Run argv inside the image's root filesystem. `env` is added to the clean chroot environment,
 * which always has SOURCE_DATE_EPOCH: shadow's tools take the last password change day from it
 * (/etc/shadow), initramfs-tools its files' times, so two builds with one epoch agree.
 */
export function inChroot(ctx: BuildContext, argv: readonly string[], o: RunOpts = {}): Promise<ExecResult> {
  const { env, cwd: _cwd, ...rest } = o;
  const all = {
    ...qemuUserEnv(ctx.image.config.arch),
    SOURCE_DATE_EPOCH: String(ctx.sourceDateEpoch),
    ...env,
  };
  return onMachine(ctx, chrootArgv(ctx.work.rootfs, argv, all), rest);
}

// $1 the path, $2 the mode; the content is stdin. Written beside the target and
// renamed over it, inside the chroot: an absolute symlink at the target (resolv.conf)
// is replaced, never followed out of the image.
const WRITE_SCRIPT =
  'set -e; mkdir -p "$(dirname -- "$1")"; t="$1.vmlive-new"; rm -f "$t"; cat > "$t"; chmod "$2" "$t"; mv -f "$t" "$1"';

/** Write a file inside the image (path as seen from inside it). */
export async function writeInRootfs(
  ctx: BuildContext,
  path: string,
  content: string | Buffer,
  mode = "0644",
): Promise<void> {
  await inChroot(ctx, ["sh", "-c", WRITE_SCRIPT, "vmlive-write", path, mode], {
    stdin: content,
    quiet: true,
  });
}

/** Write a file on the machine (outside the image). */
export async function writeOnMachine(
  ctx: BuildContext,
  path: string,
  content: string | Buffer,
): Promise<void> {
  await onMachine(ctx, ["sh", "-c", 'cat > "$1"', "vmlive-write", path], { stdin: content, quiet: true });
}

/** A file inside the image, or undefined if it cannot be read. */
export async function readInRootfs(ctx: BuildContext, path: string): Promise<string | undefined> {
  const r = await inChroot(ctx, ["cat", "--", path], { check: false, quiet: true });
  return r.exitCode === 0 ? r.stdout : undefined;
}

/** Whether `test ARGS` holds inside the image (e.g. ["-e", "/etc/x"]). */
export async function testInRootfs(ctx: BuildContext, ...args: string[]): Promise<boolean> {
  return (await inChroot(ctx, ["test", ...args], { check: false, quiet: true })).exitCode === 0;
}

/** Whether a path exists on the machine. */
export async function existsOnMachine(ctx: BuildContext, path: string): Promise<boolean> {
  return (await onMachine(ctx, ["test", "-e", path], { check: false, quiet: true })).exitCode === 0;
}

/** An output sink that labels every line and keeps the last `keep` lines for error messages. */
export function labelledSink(
  out: OutputSink,
  label: string,
  keep = 20,
): { sink: OutputSink; tail(): string } {
  const last: string[] = [];
  return {
    sink: {
      line(stream, text) {
        last.push(text);
        if (last.length > keep) last.shift();
        out.line(stream, `${label}: ${text}`);
      },
    },
    tail: () => last.join("\n"),
  };
}

/** Markers on the machine that survive a failed run, so cleanup() knows what to undo. */
export const markers = (ctx: BuildContext) => ({
  /** prepare() ran and finish() has not completed yet. */
  unfinished: `${ctx.work.root}/.customize-unfinished`,
  /** The image's own /etc/resolv.conf was a symlink to this target: restore it at the end. */
  resolvLink: `${ctx.work.root}/.customize-resolv-link`,
});
