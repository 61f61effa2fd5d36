// Is KVM really usable here? /dev/kvm existing is not enough: on some hosts it
// opens fine while the CPU has no vmx/svm flag, and a guest started with
// -accel kvm crawls or hangs (measured on the project's own machines). So: gather facts (device, CPU flag, optionally a timed test guest),
// then decide in one pure function that tests can drive branch by branch.
import { constants } from "node:fs";
import { mkdtemp, open, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { CommandError } from "../errors.js";
import { run } from "../process/run.js";

export interface KvmProbe {
  usable: boolean;
  /** One sentence a person can act on, starting with "KVM: ". */
  reason: string;
}

/** How opening /dev/kvm read-write went. */
export type KvmDevice = "ok" | "missing" | "denied" | { error: string };

/** One run of the test guest. */
export type GuestRun = { ok: true; seconds: number } | { ok: false; problem: string };

export interface KvmFacts {
  /** process.arch of the host: the vmx/svm flag only means something on x86. */
  hostArch: string;
  device: KvmDevice;
  /** The virtualisation flag /proc/cpuinfo shows, if any. */
  cpuFlag: "vmx" | "svm" | undefined;
  /** The timed test guest, under -accel kvm and, for comparison, under TCG. */
  boot?: { kvm: GuestRun; tcg: GuestRun };
  /** Why no test guest ran although one was asked for. */
  bootSkipped?: string;
}

const FALLBACK = "using TCG, expect builds ~20x slower";
/** A test guest under KVM slower than this and than 3x TCG does not accelerate anything. */
const SLOW_KVM_SECONDS = 2.5;
const BOOT_TIMEOUT_MS = 10_000;

const isX86 = (arch: string) => arch === "x64" || arch === "ia32";

/** The decision, from facts alone. */
export function kvmVerdict(f: KvmFacts): KvmProbe {
  const no = (why: string): KvmProbe => ({ usable: false, reason: `KVM: ${why}; ${FALLBACK}` });
  if (f.device === "missing")
    return no("no /dev/kvm (kvm module not loaded, or a machine without hardware virtualisation)");
  if (f.device === "denied")
    return no(
      "/dev/kvm exists but this user cannot open it read-write " +
        "(add yourself to its group, usually kvm: sudo adduser $USER kvm, then log in again)",
    );
  if (typeof f.device === "object") return no(`/dev/kvm does not open: ${f.device.error}`);
  if (isX86(f.hostArch) && !f.cpuFlag)
    return no("/dev/kvm opens but the CPU has no vmx/svm flag (nested virtualisation is off)");
  const has = f.cpuFlag ? `/dev/kvm opens, CPU has ${f.cpuFlag}` : "/dev/kvm opens";
  if (!f.boot)
    return {
      usable: true,
      reason: `KVM: usable (${has}; no test guest run${f.bootSkipped ? `: ${f.bootSkipped}` : ""})`,
    };
  const { kvm, tcg } = f.boot;
  if (!kvm.ok) return no(`${has}, but a test guest under -accel kvm ${kvm.problem}`);
  if (tcg.ok && kvm.seconds > Math.max(SLOW_KVM_SECONDS, 3 * tcg.seconds))
    return no(
      `${has}, but a test guest took ${kvm.seconds.toFixed(1)} s under -accel kvm ` +
        `against ${tcg.seconds.toFixed(1)} s under TCG (KVM does not accelerate here)`,
    );
  return {
    usable: true,
    reason: `KVM: usable (${has}; a test guest ran in ${kvm.seconds.toFixed(1)} s under -accel kvm)`,
  };
}

/** "vmx" or "svm" when a flags line of /proc/cpuinfo lists it. */
export function cpuVirtFlag(cpuinfo: string): "vmx" | "svm" | undefined {
  for (const line of cpuinfo.split("\n")) {
    const m = /^flags\s*:(.*)$/.exec(line);
    if (!m) continue;
    const flags = m[1]!.trim().split(/\s+/);
    if (flags.includes("vmx")) return "vmx";
    if (flags.includes("svm")) return "svm";
  }
  return undefined;
}

export async function openKvmDevice(device = "/dev/kvm"): Promise<KvmDevice> {
  try {
    await (await open(device, constants.O_RDWR)).close();
    return "ok";
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return "missing";
    if (code === "EACCES" || code === "EPERM") return "denied";
    return { error: (e as Error).message };
  }
}

/**
 * A 512-byte boot sector that writes 0x2a to qemu's isa-debug-exit port, which
 * ends qemu with exit code (0x2a << 1) | 1 = 85. SeaBIOS runs first, so the
 * guest does real work (measured: 0.2 s under TCG, 5 s under the broken KVM
 * of the project's machines, which then hangs booting a kernel).
 */
function bootSector(): Buffer {
  const b = Buffer.alloc(512);
  Buffer.from([0xb0, 0x2a, 0xe6, 0xf4, 0xf4, 0xeb, 0xfd]).copy(b); // mov al,42; out 0xf4,al; hlt; jmp $-1
  b[510] = 0x55;
  b[511] = 0xaa;
  return b;
}
const GUEST_EXIT_CODE = 85;

async function runTestGuest(accel: "kvm" | "tcg", disk: string): Promise<GuestRun | "no-qemu"> {
  const argv = [
    "qemu-system-x86_64",
    ...["-accel", accel, "-machine", "pc", "-m", "32", "-nodefaults", "-no-user-config"],
    ...["-display", "none", "-no-reboot"],
    ...["-drive", `file=${disk},format=raw,if=ide`],
    ...["-device", "isa-debug-exit,iobase=0xf4,iosize=0x04"],
  ];
  const start = performance.now();
  try {
    const r = await run(argv, { timeoutMs: BOOT_TIMEOUT_MS, check: false });
    if (r.exitCode === GUEST_EXIT_CODE) return { ok: true, seconds: (performance.now() - start) / 1000 };
    const said = r.stderr
      .trim()
      .split("\n")
      .filter((l) => !/warning:/.test(l))
      .pop();
    return { ok: false, problem: `failed (qemu exit code ${r.exitCode}${said ? `: ${said}` : ""})` };
  } catch (e) {
    if (!(e instanceof CommandError)) throw e;
    const cause = e.detail.cause ?? e.message;
    if (cause.includes("command not found")) return "no-qemu";
    if (cause.startsWith("timed out"))
      return { ok: false, problem: `did not finish within ${BOOT_TIMEOUT_MS / 1000} s` };
    return { ok: false, problem: `could not run: ${cause}` };
  }
}

/** Boot the test guest under KVM, then under TCG for comparison; undefined without qemu. */
export async function bootTestKvm(): Promise<{ kvm: GuestRun; tcg: GuestRun } | undefined> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "vmlive-kvm-"));
  try {
    const disk = path.join(dir, "boot.img");
    await writeFile(disk, bootSector());
    const kvm = await runTestGuest("kvm", disk);
    if (kvm === "no-qemu") return undefined;
    const tcg = await runTestGuest("tcg", disk);
    return { kvm, tcg: tcg === "no-qemu" ? { ok: false, problem: "could not run" } : tcg };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * Probe this host. With bootTest, also time a tiny guest under -accel kvm (up to
 * 10 s, x86 hosts only, and only when the cheaper checks pass).
 */
export async function probeKvm(opts: { bootTest?: boolean } = {}): Promise<KvmProbe> {
  const facts: KvmFacts = {
    hostArch: process.arch,
    device: await openKvmDevice(),
    cpuFlag: cpuVirtFlag(await readFile("/proc/cpuinfo", "utf8").catch(() => "")),
  };
  const first = kvmVerdict(facts);
  if (!first.usable || !opts.bootTest || !isX86(facts.hostArch)) return first;
  const boot = await bootTestKvm();
  return kvmVerdict(boot ? { ...facts, boot } : { ...facts, bootSkipped: "qemu-system-x86_64 not found" });
}
