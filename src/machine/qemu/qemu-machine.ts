// One disposable builder VM: a qcow2 overlay on the cached builder image, a
// work disk, keys made for this VM alone, qemu under KVM or TCG, and an SSH
// session pinned to the host key vmlive gave the guest. Disposing it powers
// the guest off, stops qemu, and deletes the keys and disks.
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { CommandError, VerificationError } from "../../errors.js";
import { run, startBackground, tailLines, type BackgroundProcess } from "../../process/run.js";
import type { CopyOptions, ExecOptions, ExecResult, Machine } from "../machine.js";
import { cpuProgress, treeCpuTicks } from "../../process/proc.js";
import { shellJoin } from "../../process/quote.js";
import { qemuArgv, type Accel } from "./args.js";
import { makeSparseExt4 } from "./ext4.js";
import { whileFrozen } from "./frozen.js";
import type { BuilderImage } from "./builder-image.js";
import type { BuilderDefinition } from "./definition.js";
import { CONNECTION_DROPPED, NO_EXIT_STATUS, SshSession, type SshExecOptions } from "./ssh-session.js";
import { QmpClient } from "./qmp.js";
import { collectGarbage, RootfsLayers } from "./rootfs-layers.js";
import { PS_COLUMNS, writeDiagnostics } from "../diagnostics.js";

/** Where vm/builder-customize.sh mounts the work disk in the guest. */
const GUEST_WORK_MOUNT = "/work";

/** The build's work area in the guest: a folder on the work disk. */
export const GUEST_WORK_AREA = `${GUEST_WORK_MOUNT}/build`;

/** Files from this size on come off the work disk through the disk image, not over SFTP. */
const DISK_READ_MIN_BYTES = 16 * 2 ** 20;

/** The image's root filesystem in the guest, on a disk of its own (rootfs-layers.ts). */
export const GUEST_ROOTFS = `${GUEST_WORK_AREA}/rootfs`;

/** The root filesystem's layers, kept on the host beside the work disk. */
export const rootfsLayersDir = (workDisk: string) => path.join(path.dirname(workDisk), "rootfs");

/** What the guest prints on its serial console once sshd listens (vm/builder-customize.sh). */
const READY_MARKER = "VMLIVE-SSHD-READY";

export interface QemuMachineOptions {
  def: BuilderDefinition;
  image: BuilderImage;
  accel: Accel;
  /** Folder for the serial log and diagnostics; kept after the VM is gone. */
  logDir: string;
  /** Use this work disk (kept between runs) instead of a fresh one in the VM's temporary folder. */
  workDisk?: string;
  /** Leave the VM running when disposed, and say how to reach it. */
  keep?: boolean;
  say?: (msg: string) => void;
  /** Give up when the guest has not reached SSH after this long. */
  bootTimeoutMs?: number;
  /** Ctrl-C: stop waiting for the guest, kill qemu and remove the keys and disks at once. */
  signal?: AbortSignal;
}

export class QemuMachine implements Machine {
  readonly site = "vm" as const;
  readonly description: string;
  /** The cached builder image this VM runs on, "NAME-KEY". */
  readonly builderImage: string;
  /** Seconds from qemu's start to a working SSH session. */
  bootSeconds = 0;
  /** Bytes downloads took straight from the work disk image instead of over SFTP. */
  bytesReadOffWorkDisk = 0;
  private disposed = false;
  /** Called when qemu exits: the commands and transfers in flight stop waiting for the VM. */
  private readonly vmGoneListeners = new Set<() => void>();
  private qmp: QmpClient | undefined;

  private constructor(
    private readonly opts: QemuMachineOptions,
    private readonly runDir: string,
    readonly serialLog: string,
    readonly sshPort: number,
    private readonly qemu: BackgroundProcess,
    private ssh: SshSession | undefined,
    readonly rootfsSnapshots: RootfsLayers,
    private readonly workDisk: string,
  ) {
    const { def, accel } = opts;
    this.builderImage = `${opts.image.name}-${opts.image.key}`;
    this.description = `qemu/${accel}: ${def.suite} ${def.arch} builder (${def.cpus} cpu, ${Math.round(def.memory / 2 ** 30)} GiB)`;
    void qemu.exited.then(() => {
      for (const f of this.vmGoneListeners) f();
    });
  }

  /** Boot a fresh builder VM and connect to it. */
  static async start(opts: QemuMachineOptions): Promise<QemuMachine> {
    const say = opts.say ?? (() => {});
    const runDir = await mkdtemp(path.join(os.tmpdir(), "vmlive-vm-"));
    const serialLog = path.join(opts.logDir, "builder-serial.log");
    let qemu: BackgroundProcess | undefined;
    try {
      const keys = await makeKeys(runDir);
      const rootDisk = path.join(runDir, "root.qcow2");
      await run(["qemu-img", "create", "-q", "-f", "qcow2", "-b", opts.image.disk, "-F", "qcow2", rootDisk]);
      const workDisk = opts.workDisk ?? path.join(runDir, "work.raw");
      if (!existsSync(workDisk)) await makeWorkDisk(workDisk, opts.def.work_disk);
      const layers = await RootfsLayers.prepare(rootfsLayersDir(workDisk), opts.def.work_disk, GUEST_ROOTFS);
      const qmpSocket = path.join(runDir, "qmp.sock");
      await writeFile(serialLog, "");

      const started = Date.now();
      let port = 0;
      for (let attempt = 1; ; attempt++) {
        port = await freePort();
        const argv = qemuArgv({
          arch: opts.def.arch,
          accel: opts.accel,
          cpus: opts.def.cpus,
          memoryMiB: Math.round(opts.def.memory / 2 ** 20),
          kernel: opts.image.kernel,
          initrd: opts.image.initrd,
          rootDisk,
          workDisk,
          rootfsDisks: layers.drives(),
          qmpSocket,
          sshPort: port,
          fwCfg: { hostkey: keys.hostKey, "hostkey.pub": keys.hostPub, authorized_keys: keys.clientPub },
          serialLog,
          pidFile: path.join(runDir, "qemu.pid"),
        });
        await writeFile(path.join(runDir, "qemu.argv"), argv.join("\n") + "\n");
        qemu = startBackground(argv);
        const ready = await waitForReady(
          qemu,
          serialLog,
          opts.bootTimeoutMs ?? bootTimeout(opts.accel),
          opts.signal,
        );
        if (ready === "ready") break;
        // Another process took the port between our probe and qemu's bind: try another.
        if (/host forwarding rule|Address already in use/i.test(ready.stderr) && attempt < 3) continue;
        qemu.kill("SIGKILL");
        throw new VerificationError(
          `the builder VM did not come up: ${ready.why}` +
            (ready.stderr ? `\nqemu said: ${tailLines(ready.stderr, 5)}` : "") +
            `\nserial console (last lines, full log: ${serialLog}):\n${tailLines(await readFile(serialLog, "utf8"), 15)}`,
        );
      }
      const hostPublicKey = await readFile(keys.hostPub, "utf8");
      await writeFile(path.join(runDir, "known_hosts"), `[127.0.0.1]:${port} ${hostPublicKey}`);
      const ssh = await SshSession.connect({
        port,
        user: "root",
        privateKeyPath: keys.clientKey,
        hostPublicKey,
        readyTimeoutMs: 30_000,
      });
      const m = new QemuMachine(opts, runDir, serialLog, port, qemu, ssh, layers, workDisk);
      try {
        m.qmp = await QmpClient.connect(qmpSocket);
        await layers.attach({ exec: (argv, o) => m.exec(argv, o), qmp: () => m.monitor() });
      } catch (e) {
        await m[Symbol.asyncDispose]();
        throw e;
      }
      m.bootSeconds = (Date.now() - started) / 1000;
      say(`${m.description} up in ${m.bootSeconds.toFixed(1)} s (SSH on 127.0.0.1:${port})`);
      return m;
    } catch (e) {
      qemu?.kill("SIGKILL");
      await qemu?.exited;
      await rm(runDir, { recursive: true, force: true });
      throw e;
    }
  }

  /** The qemu process on the host. */
  get qemuPid(): number | undefined {
    return this.qemu.pid;
  }

  /** Where and how to reach the VM's sshd: the port and this VM's key files. */
  sshTarget(): {
    port: number;
    privateKeyPath: string;
    hostPublicKeyPath: string;
    clientPublicKeyPath: string;
  } {
    return {
      port: this.sshPort,
      privateKeyPath: path.join(this.runDir, "client_key"),
      clientPublicKeyPath: path.join(this.runDir, "client_key.pub"),
      hostPublicKeyPath: path.join(this.runDir, "host_key.pub"),
    };
  }

  /** OpenSSH's command line for a session in this VM (interactive shells, the --keep-vm hint). */
  sshArgv(): string[] {
    return [
      "ssh",
      "-i",
      path.join(this.runDir, "client_key"),
      "-p",
      String(this.sshPort),
      "-o",
      `UserKnownHostsFile=${path.join(this.runDir, "known_hosts")}`,
      "-o",
      "GlobalKnownHostsFile=/dev/null",
      "-o",
      "StrictHostKeyChecking=yes",
      "-o",
      "IdentitiesOnly=yes",
      "-o",
      "LogLevel=ERROR",
      "root@127.0.0.1",
    ];
  }

  private monitor(): QmpClient {
    if (!this.qmp || this.disposed) throw new Error("the builder VM is already shut down");
    return this.qmp;
  }

  private session(): SshSession {
    if (!this.ssh || this.disposed) throw new Error("the builder VM is already shut down");
    return this.ssh;
  }

  async exec(argv: readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
    // When a command goes silent, gather diagnostics before the watchdog kills it.
    const callerOnIdle = (opts as SshExecOptions).onIdle;
    const onIdle = async () => {
      await this.collectDiagnostics(argv);
      await callerOnIdle?.();
    };
    // Silent but computing is progress: the VM's CPU time tells (update-initramfs under TCG).
    const isBusy =
      opts.idleTimeoutMs === undefined || this.qemu.pid === undefined
        ? undefined
        : cpuProgress(() => treeCpuTicks(this.qemu.pid!), 0.2);
    void isBusy?.();
    return this.whileRunning(argv, () => this.session().exec(argv, { ...opts, onIdle, isBusy }));
  }

  upload(hostPath: string, machinePath: string, opts: CopyOptions = {}): Promise<void> {
    return this.whileRunning(["upload", hostPath, `vm:${machinePath}`], () =>
      this.session().upload(hostPath, machinePath, opts),
    );
  }

  download(machinePath: string, hostPath: string, opts: CopyOptions = {}): Promise<void> {
    return this.whileRunning(["download", `vm:${machinePath}`, hostPath], () =>
      this.session().download(machinePath, hostPath, {
        ...opts,
        fetch: (file, tmp, signal) => this.readOffWorkDisk(file, tmp, signal),
      }),
    );
  }

  /**
   * A big file on the work disk is read on the host, straight out of the disk image (debugfs), while
   * the guest holds the file system frozen: at the host's disk speed instead of SFTP's few MB/s out
   * of a TCG guest. Frozen, ext4 has its journal written back, so the image is consistent on its own.
   * False for files elsewhere, small ones, and names debugfs's command line could misread.
   */
  private async readOffWorkDisk(file: string, tmp: string, signal?: AbortSignal): Promise<boolean> {
    const where = await this.session().exec(
      [
        "sh",
        "-c",
        'p=$(realpath -e -- "$1") && [ -f "$p" ] && echo "$(stat -c %s -- "$p") $p"',
        "where",
        file,
      ],
      { check: false, signal },
    );
    const m = /^(\d+) (\S+)\n$/.exec(where.stdout);
    const inDisk = m?.[2]?.startsWith(`${GUEST_WORK_MOUNT}/`)
      ? m[2].slice(GUEST_WORK_MOUNT.length)
      : undefined;
    if (!m || !inDisk || Number(m[1]) < DISK_READ_MIN_BYTES || !/^[\w./+-]+$/.test(inDisk)) return false;
    signal?.throwIfAborted();
    await whileFrozen(
      (argv, o) => this.session().exec(argv, o),
      GUEST_WORK_MOUNT,
      () => run(["debugfs", "-R", `cat ${inDisk}`, this.workDisk], { stdoutFile: tmp, signal }),
    );
    this.bytesReadOffWorkDisk += Number(m[1]);
    return true;
  }

  /**
   * Run `work` against the VM, and when qemu dies meanwhile fail with that
   * instead of a bare dropped connection: the SSH client may notice first, or
   * (a connection that is not closed) not at all, so qemu's exit decides.
   */
  private async whileRunning<T>(what: readonly string[], work: () => Promise<T>): Promise<T> {
    if (!this.qemu.running && !this.disposed) throw await this.vmStopped(what, undefined, "before");
    const attempt = (async () => work())();
    // Once qemu is gone, the work gets a moment to end by itself (its error is then the one wrapped).
    let listener!: () => void;
    const vmGone = new Promise<undefined>((resolve) => {
      listener = () =>
        void Promise.race([attempt.catch(() => undefined), delay(VM_GONE_GRACE_MS)]).then(() =>
          resolve(undefined),
        );
    });
    this.vmGoneListeners.add(listener);
    try {
      const outcome = await Promise.race([attempt.then((v) => ({ v })), vmGone]);
      if (outcome) return outcome.v;
      throw new CommandError(what, "vm", { cause: CONNECTION_DROPPED });
    } catch (e) {
      // A dropped connection is often heard a moment before qemu's exit: wait for it before deciding.
      if (!this.disposed && this.qemu.running && isConnectionLoss(e))
        await exitsWithin(this.qemu, VM_GONE_GRACE_MS);
      if (this.qemu.running || this.disposed) throw e;
      throw await this.vmStopped(what, e);
    } finally {
      this.vmGoneListeners.delete(listener);
      attempt.catch(() => undefined);
    }
  }

  /** "the builder VM stopped (qemu killed by SIGKILL)", with the last lines of its serial console. */
  private async vmStopped(
    what: readonly string[],
    e: unknown,
    when: "before" | "during" = "during",
  ): Promise<CommandError> {
    const r = await this.qemu.exited;
    const how = r.signal ? `qemu was killed by ${r.signal}` : `qemu exited with exit code ${r.exitCode}`;
    const said = tailLines(r.stderr, 3);
    // Serial consoles end lines with CR LF: without the CRs the tail reads as lines in any message.
    const text = (await readFile(this.serialLog, "utf8").catch(() => "")).replace(/\r/g, "");
    const serial = tailLines(text, 15);
    const argv = e instanceof CommandError ? e.argv : what;
    return new CommandError(argv, "vm", {
      cause:
        `the builder VM ${when === "before" ? "had already stopped" : "stopped while this ran"} (${how})` +
        (said ? `; qemu said: ${said.replace(/\n/g, " | ")}` : "") +
        `; the last lines of its serial console (${path.basename(this.serialLog)} in the logs folder):`,
      tail: serial || "(the serial console printed nothing)",
    });
  }

  /** What vmlive gathers when a command goes silent: processes, disks, mounts, kernel log, console. */
  async collectDiagnostics(argv: readonly string[]): Promise<string> {
    const serial = await readFile(this.serialLog, "utf8").catch(() => "");
    return writeDiagnostics({
      logDir: this.opts.logDir,
      argv,
      machine: this.description,
      // The VM is the build's alone: all its processes are the build's.
      processes: ["ps", "-eo", PS_COLUMNS, "--forest"],
      run: async (cmd) => {
        if (!this.ssh) return "(no connection to the builder VM)";
        const r = await this.ssh.exec([...cmd], { check: false, timeoutMs: 30_000 });
        return r.stdout + r.stderr;
      },
      extra: [{ title: "serial console (last 50 lines)", text: tailLines(serial, 50) }],
    });
  }

  async [Symbol.asyncDispose](): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    const say = this.opts.say ?? (() => {});
    if (this.opts.keep && this.qemu.running) {
      say(
        `keeping the builder VM (qemu PID ${this.qemu.pid}); get a shell with:\n` +
          `  ${shellJoin(this.sshArgv())}\n` +
          `stop it with: kill ${this.qemu.pid} && rm -rf ${this.runDir}`,
      );
      await this.ssh?.close();
      this.qmp?.close();
      return;
    }
    // Power off cleanly so the work disk is consistent; then make sure qemu is gone.
    await this.ssh
      ?.exec(["systemctl", "poweroff", "--no-block"], { check: false, timeoutMs: 10_000 })
      .catch(() => undefined);
    await this.ssh?.close().catch(() => undefined);
    this.ssh = undefined;
    this.qmp?.close();
    if (!(await exitsWithin(this.qemu, 20_000))) {
      this.qemu.kill("SIGTERM");
      if (!(await exitsWithin(this.qemu, 5_000))) this.qemu.kill("SIGKILL");
    }
    await this.qemu.exited;
    // With qemu gone, the root filesystem's unused views and replaced layers can go.
    if (this.opts.workDisk) await collectGarbage(rootfsLayersDir(this.opts.workDisk)).catch(() => undefined);
    await rm(this.runDir, { recursive: true, force: true });
  }
}

/** After qemu exits, how long a command in flight gets to end by itself before it is given up on. */
const VM_GONE_GRACE_MS = 3_000;

/** An error that means the VM could not be reached any more, as SshSession words it. */
function isConnectionLoss(e: unknown): boolean {
  return e instanceof Error && (e.message.includes(CONNECTION_DROPPED) || e.message.includes(NO_EXIT_STATUS));
}

function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms).unref());
}

function bootTimeout(accel: Accel): number {
  return accel === "kvm" ? 60_000 : 180_000;
}

async function exitsWithin(p: BackgroundProcess, ms: number): Promise<boolean> {
  if (!p.running) return true;
  const timer = new Promise<false>((r) => setTimeout(() => r(false), ms).unref());
  return Promise.race([p.exited.then(() => true), timer]);
}

interface Keys {
  clientKey: string;
  clientPub: string;
  hostKey: string;
  hostPub: string;
}

/** A client key pair and the guest's host key pair, made on the host for this VM only. */
async function makeKeys(dir: string): Promise<Keys> {
  const gen = (file: string, comment: string) =>
    run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", file]);
  const clientKey = path.join(dir, "client_key");
  const hostKey = path.join(dir, "host_key");
  await Promise.all([gen(clientKey, "vmlive-client"), gen(hostKey, "vmlive-builder")]);
  return { clientKey, clientPub: `${clientKey}.pub`, hostKey, hostPub: `${hostKey}.pub` };
}

/**
 * A sparse raw disk, formatted on the host (instant with lazy init) and labelled for the guest.
 * With `from`, the file system starts out holding that folder's contents (mke2fs -d keeps owners,
 * modes and xattrs): the tests give a builder VM a work area made on the host that way.
 */
export async function makeWorkDisk(file: string, bytes: number, from?: string): Promise<void> {
  await makeSparseExt4(file, bytes, "vmlivework", from);
}

/** A TCP port on 127.0.0.1 that is free right now. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

type ReadyResult = "ready" | { why: string; stderr: string };

/** Wait until the guest's serial console shows the ready marker, qemu exits, or time runs out. */
async function waitForReady(
  qemu: BackgroundProcess,
  serialLog: string,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<ReadyResult> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    // A boot takes minutes under TCG: an interrupted build must not wait for it (start() cleans up).
    if (signal?.aborted) throw signal.reason;
    const text = await readFile(serialLog, "utf8").catch(() => "");
    if (text.includes(READY_MARKER)) return "ready";
    if (!qemu.running) {
      const r = await qemu.exited;
      return { why: `qemu exited (${r.signal ?? `exit code ${r.exitCode}`})`, stderr: r.stderr };
    }
    if (Date.now() > deadline) return { why: `no SSH after ${Math.round(timeoutMs / 1000)} s`, stderr: "" };
    await new Promise((r) => setTimeout(r, 100));
  }
}
