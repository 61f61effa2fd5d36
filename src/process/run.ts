// The one execa wrapper: every host command vmlive runs goes through run(),
// so failures always come back as CommandError with argv, exit code and the
// tail of stderr, and every command gets the same timeout, watchdog and
// cancellation handling.
import { constants } from "node:os";
import { execa } from "execa";
import { CommandError, type CommandSite } from "../errors.js";
import type { ExecOptions, ExecResult } from "../machine/machine.js";

export interface RunOptions extends ExecOptions {
  /** Where the command runs, for error messages (a chroot command still runs on the host). */
  site?: CommandSite;
  /** Called once when the inactivity watchdog fires, before the command is killed. */
  onIdle?: () => Promise<void>;
}

/** Lines of output kept in an error message. */
const TAIL_LINES = 20;

export function tailLines(text: string, n = TAIL_LINES): string {
  return text.trimEnd().split("\n").slice(-n).join("\n");
}

export function signalExitCode(signal: string | undefined): number {
  const n = signal ? constants.signals[signal as keyof typeof constants.signals] : undefined;
  return n ? 128 + n : -1;
}

export async function run(argv: readonly string[], opts: RunOptions = {}): Promise<ExecResult> {
  const [file, ...args] = argv;
  if (!file) throw new Error("run: empty argv");
  const site = opts.site ?? "host";
  const child = execa(file, args, {
    cwd: opts.cwd,
    env: opts.env,
    input: opts.stdin,
    stdin: opts.stdin === undefined ? "ignore" : "pipe",
    timeout: opts.timeoutMs,
    forceKillAfterDelay: 5_000,
    cancelSignal: opts.signal,
    reject: false,
    stripFinalNewline: false,
    maxBuffer: 256 * 1024 * 1024,
  });
  let lastOutput = Date.now();
  const seen = () => (lastOutput = Date.now());
  attachLines(child.stdout, seen, (l) => opts.output?.line("stdout", l));
  attachLines(child.stderr, seen, (l) => opts.output?.line("stderr", l));

  let idleFired = false;
  const watchdog =
    opts.idleTimeoutMs === undefined
      ? undefined
      : setInterval(
          () => {
            if (idleFired || Date.now() - lastOutput < opts.idleTimeoutMs!) return;
            idleFired = true;
            void (opts.onIdle?.() ?? Promise.resolve()).finally(() => child.kill("SIGTERM"));
          },
          Math.min(1_000, opts.idleTimeoutMs),
        );
  const r = await child.finally(() => clearInterval(watchdog));

  const stdout = String(r.stdout ?? "");
  const stderr = String(r.stderr ?? "");
  const cause =
    r.code === "ENOENT"
      ? `${file}: command not found (is its Debian package installed? see \`vmlive doctor\`)`
      : idleFired
        ? `no output for ${Math.round(opts.idleTimeoutMs! / 1000)} s: stopped by the inactivity watchdog`
        : r.timedOut
          ? `timed out after ${Math.round(opts.timeoutMs! / 1000)} s`
          : r.isCanceled
            ? "cancelled"
            : r.exitCode === undefined && !r.signal
              ? r.message
              : undefined;
  const exitCode = r.code === "ENOENT" ? 127 : (r.exitCode ?? signalExitCode(r.signal));
  const result: ExecResult = { exitCode, signal: r.signal, stdout, stderr };
  if (cause || ((opts.check ?? true) && result.exitCode !== 0))
    throw new CommandError(argv, site, {
      exitCode,
      signal: r.signal,
      tail: tailLines(stderr || stdout),
      cause,
    });
  return result;
}

/** Split a stream into lines for `cb`; `onChunk` hears every chunk (progress bars print no newline). */
export function attachLines(
  stream: NodeJS.ReadableStream | null,
  onChunk: () => void,
  cb: (line: string) => void,
): void {
  if (!stream) return;
  let buf = "";
  stream.on("data", (chunk: Buffer | string) => {
    onChunk();
    buf += chunk.toString();
    let i: number;
    while ((i = buf.indexOf("\n")) >= 0) {
      cb(buf.slice(0, i));
      buf = buf.slice(i + 1);
    }
  });
  stream.on("end", () => {
    if (buf) cb(buf);
  });
}

/** Run a command to learn something (a version, a path); undefined if it is missing or fails. */
export async function probe(argv: readonly string[], timeoutMs = 10_000): Promise<ExecResult | undefined> {
  try {
    return await run(argv, { timeoutMs, check: false });
  } catch {
    return undefined;
  }
}
