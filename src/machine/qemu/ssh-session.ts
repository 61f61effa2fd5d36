// One SSH connection to a builder VM (node-ssh over ssh2): commands with the
// exact Machine.exec semantics of HostMachine/run(), and verified file and
// folder transfers. It connects to 127.0.0.1 only (qemu's user-mode network
// forwards a host port to the guest's sshd) and pins the host key vmlive gave
// the VM: any other key is refused.
import { randomBytes } from "node:crypto";
import { chmod, mkdir, mkdtemp, rename, rm, stat } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type { Duplex, Readable } from "node:stream";
import { StringDecoder } from "node:string_decoder";
import { NodeSSH } from "node-ssh";
import { CommandError } from "../../errors.js";
import { run, signalExitCode, tailLines } from "../../process/run.js";
import { sha256File } from "../../util/sha256.js";
import type { CopyOptions, ExecOptions, ExecResult, OutputSink } from "../machine.js";
import { killGroupCommand, PID_MARKER, remoteCommand } from "./remote-command.js";

export interface SshConnectOptions {
  /** The host port qemu forwards to the guest's port 22 (always on 127.0.0.1). */
  port: number;
  user: string;
  /** The client's private key, whose public half is in the VM's authorized_keys. */
  privateKeyPath: string;
  /** The VM's host public key, one OpenSSH line: "ssh-ed25519 AAAA... comment". */
  hostPublicKey: string;
  /** Give up on the TCP connect, banner and handshake after this long. */
  readyTimeoutMs?: number;
  /** Probe an idle connection this often, and drop it after keepaliveCountMax unanswered probes. */
  keepaliveIntervalMs?: number;
  keepaliveCountMax?: number;
}

export interface SshDownloadOptions extends CopyOptions {
  /**
   * Another way to bring a file's bytes to `tmp` on the host (the builder VM reads its work disk);
   * false: not for this file, SFTP it is. The copy is checked against the file either way.
   */
  fetch?: (remotePath: string, tmp: string, signal?: AbortSignal) => Promise<boolean>;
}

export interface SshExecOptions extends ExecOptions {
  /** Called once when the inactivity watchdog fires, before the command is killed (as in run()). */
  onIdle?: () => Promise<unknown>;
  /**
   * Asked when the command has been silent for idleTimeoutMs: true means it is
   * still making progress (the VM computes), so the watchdog waits another period.
   */
  isBusy?: () => Promise<boolean>;
}

export const HOST_KEY_MISMATCH =
  "the VM presented a different SSH host key than the one vmlive gave it: refusing to connect";
export const CONNECTION_DROPPED = "the SSH connection to the VM dropped";
/** A channel that closed without the command's exit status: the connection went away under it. */
export const NO_EXIT_STATUS = "the command ended without an exit status";

/** After TERM, how long the remote process group gets before KILL (run() uses the same delay). */
const KILL_GRACE_MS = 5_000;
/** After the kill, how long to wait for the channel to close before closing it from this side. */
const CLOSE_GRACE_MS = 10_000;
/** SFTP transfer tuning: requests in flight and bytes per request (ssh2 splits to the server's limit). */
const SFTP_CONCURRENCY = 64;
const SFTP_CHUNK = 128 * 1024;

// ---- the few ssh2 shapes used here (ssh2 ships no types and @types/ssh2 is not installed) ----

/** An exec channel: stdout is the readable side, stdin the writable side; emits "exit" (code, or null and signal). */
type Ssh2Channel = Duplex & { readonly stderr: Readable; close(): void };

interface Ssh2Client extends NodeJS.EventEmitter {
  exec(command: string, cb: (err: Error | undefined, channel: Ssh2Channel) => void): boolean;
  end(): void;
}

interface TransferOptions {
  concurrency: number;
  chunkSize: number;
}

interface Sftp {
  fastPut(local: string, remote: string, opts: TransferOptions, cb: (err?: Error | null) => void): void;
  fastGet(remote: string, local: string, opts: TransferOptions, cb: (err?: Error | null) => void): void;
  end(): void;
}

/** ssh2 algorithm names that present a key of the given OpenSSH type. */
function hostKeyAlgorithms(type: string): string[] {
  return type === "ssh-rsa" ? ["rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"] : [type];
}

/** Split "ssh-ed25519 AAAA... comment" into its type and key blob. */
export function parseHostPublicKey(line: string): { type: string; blob: Buffer } {
  const [type, b64] = line.trim().split(/\s+/);
  const blob = b64 && /^[A-Za-z0-9+/]+={0,2}$/.test(b64) ? Buffer.from(b64, "base64") : undefined;
  if (!type || !blob || blob.length === 0)
    throw new Error(`not an OpenSSH public key line: ${JSON.stringify(line.slice(0, 80))}`);
  // The blob starts with its own type name: a truncated or mislabelled line is caught here.
  const inner = blob.length >= 4 ? blob.subarray(4, 4 + blob.readUInt32BE(0)).toString("latin1") : "";
  if (inner !== type)
    throw new Error(`host public key: the key blob is of type ${JSON.stringify(inner)}, not ${type}`);
  return { type, blob };
}

export class SshSession implements AsyncDisposable {
  private dropped = false;
  private closing = false;
  private lastError: Error | undefined;

  private constructor(
    private readonly ssh: NodeSSH,
    private readonly client: Ssh2Client,
    readonly port: number,
  ) {
    client.on("error", (err: Error) => (this.lastError = err));
    client.on("close", () => (this.dropped = true));
    client.on("end", () => (this.dropped = true));
  }

  static async connect(opts: SshConnectOptions): Promise<SshSession> {
    const { type, blob } = parseHostPublicKey(opts.hostPublicKey);
    let presented: Buffer | undefined;
    const ssh = new NodeSSH();
    try {
      await ssh.connect({
        host: "127.0.0.1",
        port: opts.port,
        username: opts.user,
        privateKeyPath: opts.privateKeyPath,
        readyTimeout: opts.readyTimeoutMs ?? 20_000,
        keepaliveInterval: opts.keepaliveIntervalMs ?? 15_000,
        keepaliveCountMax: opts.keepaliveCountMax ?? 4,
        algorithms: { serverHostKey: hostKeyAlgorithms(type) },
        // Pinning: the raw key blob the server signs the handshake with must be ours, byte for byte.
        hostVerifier: (key: unknown) => {
          presented = Buffer.isBuffer(key) ? key : Buffer.alloc(0);
          return presented.equals(blob);
        },
      });
    } catch (err) {
      ssh.dispose();
      if (presented && !presented.equals(blob)) throw new Error(HOST_KEY_MISMATCH);
      throw new Error(
        `cannot connect to the VM over SSH (${opts.user}@127.0.0.1:${opts.port}): ${message(err)}`,
        {
          cause: err,
        },
      );
    }
    if (!presented?.equals(blob)) {
      // Unreachable with ssh2's verifier contract; kept so no path accepts an unverified key.
      ssh.dispose();
      throw new Error(HOST_KEY_MISMATCH);
    }
    const client = ssh.connection as unknown as Ssh2Client | null;
    if (!client) throw new Error(`cannot connect to the VM over SSH (127.0.0.1:${opts.port}): no connection`);
    return new SshSession(ssh, client, opts.port);
  }

  get connected(): boolean {
    return !this.dropped && !this.closing;
  }

  // ---- commands ----

  async exec(argv: readonly string[], opts: SshExecOptions = {}): Promise<ExecResult> {
    const line = remoteCommand(argv, opts);
    const fail = (cause: string) => new CommandError(argv, "vm", { cause });
    if (opts.signal?.aborted) throw fail("cancelled");
    let channel: Ssh2Channel;
    try {
      channel = await this.openChannel(line);
    } catch (err) {
      throw fail(this.dropped ? this.dropCause() : `cannot open an SSH channel: ${message(err)}`);
    }
    return await new Promise<ExecResult>((resolve, reject) => {
      const stdout = new Collector("stdout", opts.output);
      const stderr = new Collector("stderr", opts.output);
      let preamble: Buffer | undefined = Buffer.alloc(0); // stdout before the PID line
      let pid: number | undefined;
      let resolvePid!: (pid: number | undefined) => void;
      const pidKnown = new Promise<number | undefined>((r) => (resolvePid = r));
      let exitCode: number | undefined;
      let exitSignal: string | undefined;
      let closed = false;
      let stopCause: string | undefined;
      let lastOutput = Date.now();
      const timers: NodeJS.Timeout[] = [];

      channel.on("data", (chunk: Buffer) => {
        lastOutput = Date.now();
        if (!preamble) return stdout.push(chunk);
        preamble = Buffer.concat([preamble, chunk]);
        let nl: number;
        while (preamble && (nl = preamble.indexOf(10)) >= 0) {
          const first = preamble.subarray(0, nl).toString("latin1");
          const rest = preamble.subarray(nl + 1);
          if (first.startsWith(PID_MARKER)) {
            pid = Number(first.slice(PID_MARKER.length));
            resolvePid(Number.isSafeInteger(pid) ? pid : undefined);
            preamble = undefined;
            if (rest.length > 0) stdout.push(rest);
          } else preamble = rest; // noise from the login shell's rc files
        }
      });
      channel.stderr.on("data", (chunk: Buffer) => {
        lastOutput = Date.now();
        stderr.push(chunk);
      });
      channel.on("exit", (code: number | null, signal?: string) => {
        if (typeof code === "number") exitCode = code;
        else if (signal) exitSignal = signal;
      });
      channel.on("error", (err: Error) => (this.lastError = err));

      const stop = (cause: string, before?: () => Promise<unknown>) => {
        if (stopCause !== undefined || closed) return;
        stopCause = cause;
        clearTimers();
        void (async () => {
          if (before) await before().catch(() => undefined);
          const target = await Promise.race([pidKnown, delay(CLOSE_GRACE_MS).then(() => undefined)]);
          if (target !== undefined && !closed)
            await this.runRaw(killGroupCommand(target, KILL_GRACE_MS), KILL_GRACE_MS + CLOSE_GRACE_MS).catch(
              () => undefined,
            );
          // The group is gone; if something that left it still holds the output open, stop waiting.
          if (!closed) timers.push(setTimeout(() => closed || channel.close(), CLOSE_GRACE_MS));
        })();
      };
      const clearTimers = () => {
        for (const t of timers.splice(0)) clearTimeout(t);
        opts.signal?.removeEventListener("abort", onAbort);
      };
      const onAbort = () => stop("cancelled");

      if (opts.timeoutMs !== undefined) {
        const ms = opts.timeoutMs;
        timers.push(setTimeout(() => stop(`timed out after ${Math.round(ms / 1000)} s`), ms));
      }
      if (opts.idleTimeoutMs !== undefined) {
        const ms = opts.idleTimeoutMs;
        let checking = false;
        const check = async () => {
          if (checking || stopCause !== undefined || Date.now() - lastOutput < ms) return;
          checking = true;
          if (await (opts.isBusy?.() ?? Promise.resolve(false)).catch(() => false)) lastOutput = Date.now();
          else
            stop(
              `no output and no progress for ${Math.round(ms / 1000)} s: stopped by the inactivity watchdog`,
              opts.onIdle,
            );
          checking = false;
        };
        const tick = setInterval(() => void check(), Math.min(1_000, ms));
        timers.push(tick);
      }
      opts.signal?.addEventListener("abort", onAbort, { once: true });
      if (opts.signal?.aborted) onAbort(); // aborted while the channel was opening

      const finish = () => {
        clearTimers();
        resolvePid(undefined);
        if (preamble?.length) stdout.push(preamble);
        const out = stdout.end();
        const err = stderr.end();
        const code = exitCode ?? (exitSignal ? signalExitCode(exitSignal) : -1);
        const noStatus = exitCode === undefined && exitSignal === undefined;
        const cause =
          stopCause ?? (noStatus ? (this.dropped ? this.dropCause() : NO_EXIT_STATUS) : undefined);
        const result: ExecResult = { exitCode: code, signal: exitSignal, stdout: out, stderr: err };
        if (cause || ((opts.check ?? true) && code !== 0))
          reject(
            new CommandError(argv, "vm", {
              exitCode: noStatus ? undefined : code,
              signal: exitSignal,
              tail: tailLines(err || out),
              cause,
            }),
          );
        else resolve(result);
      };
      channel.on("close", () => {
        closed = true;
        const e = channel.stderr;
        if (e.readableEnded || e.destroyed) finish();
        else {
          e.once("end", finish);
          e.once("close", () => e.readableEnded || finish());
        }
      });

      const input = opts.stdin;
      if (input === undefined) channel.end();
      else channel.end(typeof input === "string" ? Buffer.from(input) : input);
    });
  }

  // ---- transfers ----

  async upload(hostPath: string, remotePath: string, opts: CopyOptions = {}): Promise<void> {
    const { signal } = opts;
    signal?.throwIfAborted();
    const st = await stat(hostPath).catch((err: unknown) => {
      throw new Error(`upload: cannot read ${hostPath}: ${message(err)}`, { cause: err });
    });
    if (st.isDirectory()) return this.uploadFolder(hostPath, remotePath, opts);
    if (!st.isFile()) throw new Error(`upload: ${hostPath} is neither a file nor a folder`);
    const dir = path.posix.dirname(remotePath);
    const tmp = path.posix.join(
      dir,
      `.${path.posix.basename(remotePath)}.vmlive-partial-${randomBytes(4).toString("hex")}`,
    );
    try {
      await this.exec(["mkdir", "-p", "--", dir], { signal });
      const [hostSum] = await Promise.all([
        sha256File(hostPath),
        this.withSftp((sftp) => sftpCall((cb) => sftp.fastPut(hostPath, tmp, transferOptions(), cb)), signal),
      ]);
      const vm = await this.remoteDigest(tmp, st.mode & 0o7777, signal);
      checkSame(`upload of ${hostPath} to vm:${remotePath}`, { size: st.size, sha256: hostSum }, vm);
      await this.exec(["mv", "-fT", "--", tmp, remotePath], { signal });
    } catch (err) {
      if (this.connected) await this.exec(["rm", "-f", "--", tmp], { check: false }).catch(() => undefined);
      throw this.transferError(err, signal);
    }
  }

  async download(remotePath: string, hostPath: string, opts: SshDownloadOptions = {}): Promise<void> {
    const { signal } = opts;
    signal?.throwIfAborted();
    const r = await this.exec(["stat", "-L", "-c", "%f %s", "--", remotePath], {
      check: false,
      signal,
    }).catch((err: unknown) => {
      throw this.transferError(err, signal);
    });
    if (r.exitCode !== 0)
      throw new Error(
        `download: vm:${remotePath}: ${tailLines(r.stderr, 1) || `stat exit code ${r.exitCode}`}`,
      );
    const [hexMode, bytes] = r.stdout.trim().split(" ");
    const mode = parseInt(hexMode!, 16);
    const type = mode & 0o170000;
    if (type === 0o040000) return this.downloadFolder(remotePath, hostPath, opts);
    if (type !== 0o100000) throw new Error(`download: vm:${remotePath} is neither a file nor a folder`);
    const dir = path.dirname(hostPath);
    await mkdir(dir, { recursive: true });
    const tmp = path.join(
      dir,
      `.${path.basename(hostPath)}.vmlive-partial-${randomBytes(4).toString("hex")}`,
    );
    try {
      if (!(await opts.fetch?.(remotePath, tmp, signal)))
        await this.withSftp(
          (sftp) => sftpCall((cb) => sftp.fastGet(remotePath, tmp, transferOptions(), cb)),
          signal,
        );
      const [vm, hostSum, st] = await Promise.all([
        opts.sha256 !== undefined
          ? { size: Number(bytes), sha256: opts.sha256 }
          : this.remoteDigest(remotePath, undefined, signal),
        sha256File(tmp),
        stat(tmp),
      ]);
      checkSame(`download of vm:${remotePath} to ${hostPath}`, vm, { size: st.size, sha256: hostSum });
      await chmod(tmp, mode & 0o7777);
      await rename(tmp, hostPath);
    } catch (err) {
      await rm(tmp, { force: true });
      throw this.transferError(err, signal);
    }
  }

  /**
   * Folders travel as one tar file over the same checked file transfer (size and sha256 on
   * both sides): modes and symlinks kept, files owned by root in the VM.
   */
  private async uploadFolder(hostDir: string, remoteDir: string, opts: CopyOptions): Promise<void> {
    const local = await mkdtemp(path.join(os.tmpdir(), "vmlive-tar-"));
    const remoteTar = `/tmp/.vmlive-upload-${randomBytes(6).toString("hex")}.tar`;
    try {
      await run(["tar", "-C", hostDir, "-cf", path.join(local, "folder.tar"), "."], { signal: opts.signal });
      await this.upload(path.join(local, "folder.tar"), remoteTar, opts);
      await this.exec(
        [
          "sh",
          "-c",
          'mkdir -p -- "$1" && tar -C "$1" --no-same-owner -xpf "$2"; s=$?; rm -f -- "$2"; exit $s',
          "untar",
          remoteDir,
          remoteTar,
        ],
        { signal: opts.signal },
      );
    } finally {
      await rm(local, { recursive: true, force: true });
    }
  }

  private async downloadFolder(remoteDir: string, hostPath: string, opts: CopyOptions): Promise<void> {
    const exists = await stat(hostPath).then(
      () => true,
      () => false,
    );
    // A new folder is filled under a temporary name and renamed when complete; an existing one is merged into.
    const target = exists
      ? hostPath
      : path.join(
          path.dirname(hostPath),
          `.${path.basename(hostPath)}.vmlive-partial-${randomBytes(4).toString("hex")}`,
        );
    const local = await mkdtemp(path.join(os.tmpdir(), "vmlive-tar-"));
    const remoteTar = `/tmp/.vmlive-download-${randomBytes(6).toString("hex")}.tar`;
    try {
      await this.exec(["tar", "-C", remoteDir, "-cf", remoteTar, "."], { signal: opts.signal });
      await this.download(remoteTar, path.join(local, "folder.tar"), { ...opts, sha256: undefined });
      await mkdir(target, { recursive: true });
      await run(["tar", "-C", target, "--no-same-owner", "-xpf", path.join(local, "folder.tar")], {
        signal: opts.signal,
      });
      if (!exists) await rename(target, hostPath);
    } catch (err) {
      if (!exists) await rm(target, { recursive: true, force: true });
      throw this.transferError(err, opts.signal);
    } finally {
      await this.exec(["rm", "-f", "--", remoteTar], { check: false }).catch(() => undefined);
      await rm(local, { recursive: true, force: true });
    }
  }

  /** Size and sha256 of a file in the VM (optionally setting its mode first). */
  private async remoteDigest(
    file: string,
    mode?: number,
    signal?: AbortSignal,
  ): Promise<{ size: number; sha256: string }> {
    const script = `${mode === undefined ? "" : 'chmod "$2" -- "$1" && '}stat -L -c %s -- "$1" && sha256sum -- "$1"`;
    const r = await this.exec(["sh", "-c", script, "sh", file, (mode ?? 0).toString(8)], { signal });
    const m = /^(\d+)\n\\?([0-9a-f]{64}) /.exec(r.stdout);
    if (!m)
      throw new Error(
        `cannot read the size and sha256 of vm:${file}: ${JSON.stringify(r.stdout.slice(0, 200))}`,
      );
    return { size: Number(m[1]), sha256: m[2]! };
  }

  private transferError(err: unknown, signal?: AbortSignal): unknown {
    // The transfer was stopped on purpose: the interruption is the error, not what it did to the channel.
    if (signal?.aborted) return signal.reason;
    if (this.dropped && !(err instanceof CommandError))
      return new Error(`${CONNECTION_DROPPED} during a transfer: ${message(err)}`, { cause: err });
    return err;
  }

  /** "the SSH connection to the VM dropped", with ssh2's reason when it gave one. */
  private dropCause(): string {
    return this.lastError ? `${CONNECTION_DROPPED} (${this.lastError.message})` : CONNECTION_DROPPED;
  }

  private async withSftp<T>(fn: (sftp: Sftp) => Promise<T>, signal?: AbortSignal): Promise<T> {
    signal?.throwIfAborted();
    const sftp = (await this.ssh.requestSFTP()) as unknown as Sftp;
    // Ending the channel fails a transfer in flight at once.
    const stop = () => sftp.end();
    signal?.addEventListener("abort", stop, { once: true });
    try {
      return await fn(sftp);
    } finally {
      signal?.removeEventListener("abort", stop);
      sftp.end();
    }
  }

  // ---- channels ----

  private openChannel(line: string): Promise<Ssh2Channel> {
    if (this.closing) return Promise.reject(new Error("the SSH session to the VM is already closed"));
    if (this.dropped) return Promise.reject(new Error(CONNECTION_DROPPED));
    return new Promise((resolve, reject) => {
      try {
        this.client.exec(line, (err, channel) => (err ? reject(err) : resolve(channel)));
      } catch (err) {
        reject(err instanceof Error ? err : new Error(String(err)));
      }
    });
  }

  /** Run an already-quoted line and wait for it (or `timeoutMs`); for the kill command. */
  private async runRaw(line: string, timeoutMs: number): Promise<void> {
    const channel = await this.openChannel(line);
    await new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        channel.close();
        resolve();
      }, timeoutMs);
      channel.on("error", () => undefined);
      channel.stderr.resume();
      channel.resume();
      channel.on("close", () => {
        clearTimeout(t);
        resolve();
      });
      channel.end();
    });
  }

  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    if (!this.dropped) {
      const closed = new Promise<void>((r) => this.client.once("close", () => r()));
      this.client.end();
      await Promise.race([closed, delay(5_000)]);
    }
    this.ssh.dispose();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/** Collects one output stream and hands complete lines to the sink; linear in the output size. */
class Collector {
  private readonly chunks: Buffer[] = [];
  private readonly decoder = new StringDecoder("utf8");
  private pending: string[] = [];

  constructor(
    private readonly stream: "stdout" | "stderr",
    private readonly sink: OutputSink | undefined,
  ) {}

  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    if (this.sink) this.split(this.decoder.write(chunk));
  }

  private split(text: string): void {
    let start = 0;
    let nl: number;
    while ((nl = text.indexOf("\n", start)) >= 0) {
      this.pending.push(text.slice(start, nl));
      this.sink!.line(this.stream, this.pending.join(""));
      this.pending = [];
      start = nl + 1;
    }
    if (start < text.length) this.pending.push(text.slice(start));
  }

  /** Flush the last partial line; the whole stream as text. */
  end(): string {
    if (this.sink) {
      this.split(this.decoder.end());
      const last = this.pending.join("");
      if (last) this.sink.line(this.stream, last);
      this.pending = [];
    }
    return Buffer.concat(this.chunks).toString("utf8");
  }
}

function transferOptions(): TransferOptions {
  return { concurrency: SFTP_CONCURRENCY, chunkSize: SFTP_CHUNK };
}

function sftpCall(start: (cb: (err?: Error | null) => void) => void): Promise<void> {
  return new Promise((resolve, reject) => start((err) => (err ? reject(err) : resolve())));
}

function checkSame(
  what: string,
  sent: { size: number; sha256: string },
  got: { size: number; sha256: string },
): void {
  if (sent.size !== got.size || sent.sha256 !== got.sha256)
    throw new Error(
      `${what} is corrupt: sent ${sent.size} bytes with sha256 ${sent.sha256}, received ${got.size} bytes with sha256 ${got.sha256}`,
    );
}

function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms).unref());
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
