// The one execa wrapper: every host command vmlive runs goes through run(),
// so failures always come back as CommandError with argv, exit code and the
// tail of stderr, and every command gets the same timeout, watchdog and
// cancellation handling.
import { constants } from "node:os";
import { execa } from "execa";
import { cpuProgress, processTree, treeCpuTicks } from "./proc.js";
import { CommandError, type CommandSite } from "../errors.js";
import type { ExecOptions, ExecResult } from "../machine/machine.js";

export interface RunOptions extends ExecOptions {
  /** Where the command runs, for error messages (a chroot command still runs on the host). */
  site?: CommandSite;
  /** Write standard output to this file instead of collecting it (binary-safe). */
  stdoutFile?: string;
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
    ...(opts.stdoutFile ? { stdout: { file: opts.stdoutFile } } : {}),
    reject: false,
    stripFinalNewline: false,
    maxBuffer: 256 * 1024 * 1024,
  });
  let lastOutput = Date.now();
  const seen = () => (lastOutput = Date.now());
  attachLines(child.stdout, seen, (l) => opts.output?.line("stdout", l));
  attachLines(child.stderr, seen, (l) => opts.output?.line("stderr", l));

  // Timeout, watchdog and cancellation stop the whole process tree: killing only the
  // direct child would leave its children running, holding the output pipes open.
  let stopCause: string | undefined;
  const timers: NodeJS.Timeout[] = [];
  const stop = (cause: string, before?: () => Promise<void>) => {
    if (stopCause !== undefined) return;
    stopCause = cause;
    void (async () => {
      if (before) await before().catch(() => undefined);
      const pids = await killTree(child.pid, "SIGTERM");
      timers.push(setTimeout(() => void killTree(child.pid, "SIGKILL", pids), KILL_GRACE_MS).unref());
    })();
  };
  const onAbort = () => stop("cancelled");
  if (opts.signal?.aborted) onAbort();
  else opts.signal?.addEventListener("abort", onAbort, { once: true });
  if (opts.timeoutMs !== undefined) {
    const ms = opts.timeoutMs;
    timers.push(setTimeout(() => stop(`timed out after ${Math.round(ms / 1000)} s`), ms));
  }
  if (opts.idleTimeoutMs !== undefined) {
    const ms = opts.idleTimeoutMs;
    // Silent but computing (update-initramfs, mksquashfs) is progress, not a hang.
    const busy = cpuProgress(() => (child.pid ? treeCpuTicks(child.pid) : Promise.resolve(0)));
    void busy(); // the first sample: later checks compare with it
    let checking = false;
    const tick = async () => {
      if (checking || stopCause !== undefined || Date.now() - lastOutput < ms) return;
      checking = true;
      if (await busy()) lastOutput = Date.now();
      else
        stop(
          `no output and no progress for ${Math.round(ms / 1000)} s: stopped by the inactivity watchdog`,
          opts.onIdle,
        );
      checking = false;
    };
    timers.push(setInterval(() => void tick(), Math.min(1_000, ms)));
  }
  const r = await child.finally(() => {
    for (const t of timers) clearTimeout(t);
    opts.signal?.removeEventListener("abort", onAbort);
  });

  const stdout = String(r.stdout ?? "");
  const stderr = String(r.stderr ?? "");
  const cause =
    r.code === "ENOENT"
      ? `${file}: command not found (is its Debian package installed? see \`vmlive doctor\`)`
      : (stopCause ?? (r.exitCode === undefined && !r.signal ? r.message : undefined));
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

/** After SIGTERM, how long a stopped command's processes get before SIGKILL. */
const KILL_GRACE_MS = 5_000;

/**
 * Send `signal` to `pid` and all its descendants (found in /proc), plus `also`;
 * returns the PIDs signalled. The tree is read before anything is killed, so
 * children are found before their parent's death hands them to init.
 */
async function killTree(
  pid: number | undefined,
  signal: NodeJS.Signals,
  also: readonly number[] = [],
): Promise<number[]> {
  if (pid === undefined) return [];
  const pids = [...new Set([pid, ...(await processTree(pid)).map((e) => e.pid), ...also])];
  for (const p of pids) {
    try {
      process.kill(p, signal);
    } catch {
      // already gone
    }
  }
  return pids;
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

export interface BackgroundProcess {
  readonly pid: number | undefined;
  /** Settles when the process ends, however it ends. */
  readonly exited: Promise<{ exitCode?: number; signal?: string; stderr: string }>;
  readonly running: boolean;
  kill(signal?: NodeJS.Signals): void;
}

/**
 * Start a long-running process (qemu) that vmlive stops itself. It dies with
 * vmlive (execa's cleanup), its stderr is kept for error messages.
 */
export function startBackground(argv: readonly string[], opts: { cwd?: string } = {}): BackgroundProcess {
  const [file, ...args] = argv;
  if (!file) throw new Error("startBackground: empty argv");
  const child = execa(file, args, {
    cwd: opts.cwd,
    stdin: "ignore",
    stdout: "ignore",
    reject: false,
    cleanup: true,
  });
  let running = true;
  const exited = child.then((r) => {
    running = false;
    return { exitCode: r.exitCode, signal: r.signal, stderr: String(r.stderr ?? "") };
  });
  return {
    pid: child.pid,
    exited,
    get running() {
      return running;
    },
    kill: (signal = "SIGTERM") => void child.kill(signal),
  };
}

/** Run a program on this terminal (an interactive ssh session); returns its exit code. */
export async function runInteractive(argv: readonly string[]): Promise<number> {
  const [file, ...args] = argv;
  if (!file) throw new Error("runInteractive: empty argv");
  const r = await execa(file, args, { stdio: "inherit", reject: false });
  return r.exitCode ?? signalExitCode(r.signal);
}
