// The one execa wrapper: every host command vmlive runs goes through run(),
// so failures always come back as CommandError with argv, exit code and the
// tail of stderr.
import { execa } from "execa";
import { CommandError } from "../errors.js";

export interface RunOptions {
  cwd?: string;
  env?: Record<string, string>;
  input?: string | Buffer;
  /** Milliseconds; the command is killed (SIGTERM, then SIGKILL) after this. */
  timeout?: number;
  /** Return the result instead of throwing on a non-zero exit. */
  reject?: boolean;
  /** Stream output to these callbacks as it arrives (line by line). */
  onStdout?: (line: string) => void;
  onStderr?: (line: string) => void;
  signal?: AbortSignal;
}

export interface RunResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** Lines kept from stderr in an error message. */
const TAIL_LINES = 20;

export function tailLines(text: string, n = TAIL_LINES): string {
  return text.trimEnd().split("\n").slice(-n).join("\n");
}

export async function run(argv: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const [file, ...args] = argv;
  if (!file) throw new Error("run: empty argv");
  const child = execa(file, args, {
    cwd: opts.cwd,
    env: opts.env,
    input: opts.input,
    stdin: opts.input === undefined ? "ignore" : "pipe",
    timeout: opts.timeout,
    forceKillAfterDelay: 5_000,
    cancelSignal: opts.signal,
    reject: false,
    stripFinalNewline: false,
    maxBuffer: 256 * 1024 * 1024,
  });
  attachLines(child.stdout, opts.onStdout);
  attachLines(child.stderr, opts.onStderr);
  const r = await child;
  const stdout = String(r.stdout ?? "");
  const stderr = String(r.stderr ?? "");
  const failed = r.failed && (opts.reject ?? true);
  if (r.exitCode === undefined || failed) {
    const cause =
      r.code === "ENOENT"
        ? `${file}: command not found (is its Debian package installed? try \`vmlive doctor\`)`
        : r.timedOut
          ? `timed out after ${opts.timeout} ms`
          : r.isCanceled
            ? "cancelled"
            : undefined;
    if (failed || cause)
      throw new CommandError(argv, "host", {
        exitCode: r.exitCode,
        signal: r.signal,
        tail: tailLines(stderr || stdout),
        cause,
      });
  }
  return { exitCode: r.exitCode ?? -1, stdout, stderr };
}

function attachLines(stream: NodeJS.ReadableStream | null, cb?: (line: string) => void): void {
  if (!stream || !cb) return;
  let buf = "";
  stream.on("data", (chunk: Buffer | string) => {
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

/** Run and return trimmed stdout, or undefined if the command is missing or fails. */
export async function probe(argv: readonly string[], timeout = 10_000): Promise<RunResult | undefined> {
  try {
    return await run(argv, { timeout, reject: false });
  } catch {
    return undefined;
  }
}
