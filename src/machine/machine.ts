// The one seam between build steps and the place they run. Steps see only
// this interface; the backends (a qemu builder VM over SSH, this host) and
// the fake in test/support implement it.

/** Receives a command's output line by line as it arrives. */
export interface OutputSink {
  line(stream: "stdout" | "stderr", text: string): void;
}

export interface ExecOptions {
  /** Added to the command's environment. */
  env?: Readonly<Record<string, string>>;
  /** Working directory on the machine. */
  cwd?: string;
  /** Bytes fed to the command's standard input; without it stdin is empty (/dev/null). */
  stdin?: string | Buffer;
  /** Kill the command after this many milliseconds. */
  timeoutMs?: number;
  /** Inactivity watchdog: kill the command when it prints nothing for this long. */
  idleTimeoutMs?: number;
  /** Where output goes while the command runs (the build log, the console). */
  output?: OutputSink;
  /** Throw CommandError on a non-zero exit (default); false returns the result instead. */
  check?: boolean;
  /** Kill the command when this signal aborts (Ctrl-C). */
  signal?: AbortSignal;
}

export interface ExecResult {
  exitCode: number;
  /** Set when the command was killed by a signal (exitCode is then 128 + its number, or -1). */
  signal?: string;
  stdout: string;
  stderr: string;
}

export interface Machine extends AsyncDisposable {
  /** What and where, for logs: "qemu/tcg: bookworm amd64 builder (2 cpu, 4 GiB)". */
  readonly description: string;
  /** Where commands run, for error messages. */
  readonly site: "host" | "vm";
  /** Run a program (argv, never a shell string). Non-zero exit throws CommandError unless check is false. */
  exec(argv: readonly string[], opts?: ExecOptions): Promise<ExecResult>;
  /** Copy a file or folder from the host onto the machine. */
  upload(hostPath: string, machinePath: string, opts?: CopyOptions): Promise<void>;
  /** Copy a file or folder from the machine to the host. */
  download(machinePath: string, hostPath: string, opts?: CopyOptions): Promise<void>;
}

export interface CopyOptions {
  /**
   * Aborted: the copy rejects with the signal's reason. A builder VM's copy stops midway and removes
   * what it wrote; the host's (a local copy, over in moments) hears it before and after copying.
   */
  signal?: AbortSignal;
}
