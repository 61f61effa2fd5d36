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
  /**
   * Snapshots of the image's root filesystem that the machine keeps itself, below the file system
   * (the builder VM: qcow2 layers). Without it, the snapshots are copies in the work area.
   */
  readonly rootfsSnapshots?: RootfsSnapshots;
}

export interface RootfsSnapshotInfo {
  name: string;
  key: string;
  /** When it was taken, ISO 8601. */
  taken: string;
}

/** The snapshots of the one root filesystem at `path` (src/pipeline/snapshots.ts says what each does). */
export interface RootfsSnapshots {
  readonly path: string;
  list(): Promise<RootfsSnapshotInfo[]>;
  /** `what`: how it was kept, for the log ("qcow2 layer L-3.qcow2"); `bytes`: what it takes. */
  take(name: string, key: string): Promise<{ seconds: number; bytes: number; what: string }>;
  restore(name: string): Promise<void>;
  drop(name: string): Promise<void>;
  /** Make the root filesystem empty, for a bootstrap. */
  empty(): Promise<void>;
}

export interface CopyOptions {
  /**
   * Aborted: the copy rejects with the signal's reason. A builder VM's copy stops midway and removes
   * what it wrote; the host's (a local copy, over in moments) hears it before and after copying.
   */
  signal?: AbortSignal;
  /**
   * A download's sha256 as the machine already made it (collect's checksums): a builder VM checks the
   * copy against it instead of reading the whole file there once more to hash it.
   */
  sha256?: string;
}
