// `vmlive doctor`: one line per thing this host needs, with its version or
// what to do about it. The checks are data (CHECKS below); each is a small
// function, and they all run at once.
import { access, constants, stat, statfs } from "node:fs/promises";
import path from "node:path";
import { ARCHES } from "../config/schema/system.js";
import { probe } from "../process/run.js";
import {
  binfmtHandlerFor,
  foreignHandlers,
  readBinfmt,
  type BinfmtHandler,
  type BinfmtState,
} from "./binfmt.js";
import { probeKvm } from "./kvm.js";

export type DoctorStatus = "ok" | "warn" | "fail";
export interface DoctorLine {
  name: string;
  status: DoctorStatus;
  detail: string;
}
export interface DoctorOptions {
  mirror: string;
  suite: string;
  cacheDir: string;
  workDir: string;
}

interface Check {
  name: string;
  run(o: DoctorOptions): Promise<DoctorLine | DoctorLine[]>;
}

const MIN_NODE = "20.19";
const GiB = 1024 ** 3;
/** Free space below which a build is risky, and below which it will fail. */
export const DISK_WARN_BYTES = 20 * GiB;
export const DISK_FAIL_BYTES = 5 * GiB;
const MIRROR_TIMEOUT_MS = 10_000;

const install = (pkg: string) =>
  `install Debian package ${pkg} (sudo apt-get install ${pkg}, or run ./setup)`;

// ---- Debian packages ----------------------------------------------------

/** A program or file this host needs, and the Debian package that brings it. */
interface Requirement {
  name: string;
  pkg: string;
  /** Programs to look for on PATH, first found wins; or else files/folders. */
  commands?: readonly string[];
  paths?: readonly string[];
  /** Arguments that make the program print its version; else dpkg tells it. */
  versionArgs?: readonly string[];
  /** Needed only to build images of other architectures: missing is a warning. */
  foreignOnly?: boolean;
  /** What it is needed for, when foreignOnly; default: arm64/armhf images. */
  neededFor?: string;
}

const REQUIREMENTS: readonly Requirement[] = [
  { name: "debootstrap", pkg: "debootstrap", versionArgs: ["--version"] },
  { name: "mmdebstrap", pkg: "mmdebstrap", versionArgs: ["--version"] },
  { name: "mksquashfs", pkg: "squashfs-tools", versionArgs: ["-version"] },
  { name: "unsquashfs", pkg: "squashfs-tools", versionArgs: ["-version"] },
  { name: "xorriso", pkg: "xorriso", versionArgs: ["-version"] },
  { name: "qemu-system-x86_64", pkg: "qemu-system-x86", versionArgs: ["--version"] },
  { name: "qemu-system-aarch64", pkg: "qemu-system-arm", versionArgs: ["--version"], foreignOnly: true },
  { name: "qemu-img", pkg: "qemu-utils", versionArgs: ["--version"] },
  {
    name: "qemu-aarch64",
    pkg: "qemu-user-static",
    commands: ["qemu-aarch64-static", "qemu-aarch64"],
    versionArgs: ["--version"],
    foreignOnly: true,
  },
  { name: "grub-mkimage", pkg: "grub-common", versionArgs: ["--version"] },
  { name: "grub i386-pc", pkg: "grub-pc-bin", paths: ["/usr/lib/grub/i386-pc"] },
  { name: "grub x86_64-efi", pkg: "grub-efi-amd64-bin", paths: ["/usr/lib/grub/x86_64-efi"] },
  // bookworm's ovmf has both; trixie's only the 4 MiB build.
  { name: "OVMF", pkg: "ovmf", paths: ["/usr/share/OVMF/OVMF_CODE_4M.fd", "/usr/share/OVMF/OVMF_CODE.fd"] },
  {
    name: "AAVMF",
    pkg: "qemu-efi-aarch64",
    paths: ["/usr/share/AAVMF/AAVMF_CODE.fd"],
    foreignOnly: true,
    neededFor: "booting arm64 ISOs",
  },
  {
    name: "AAVMF32",
    pkg: "qemu-efi-arm",
    paths: ["/usr/share/AAVMF/AAVMF32_CODE.fd"],
    foreignOnly: true,
    neededFor: "booting armhf ISOs",
  },
  { name: "mkfs.vfat", pkg: "dosfstools" },
  { name: "mcopy", pkg: "mtools", versionArgs: ["--version"] },
  { name: "mke2fs", pkg: "e2fsprogs", versionArgs: ["-V"] },
  { name: "ssh", pkg: "openssh-client", versionArgs: ["-V"] },
  { name: "ssh-keygen", pkg: "openssh-client" },
  { name: "unshare", pkg: "util-linux", versionArgs: ["--version"] },
];

/** The first version-looking word of a program's --version text: "QEMU emulator version 7.2.22 (…)" → "7.2.22". */
export function versionIn(text: string): string | undefined {
  return /\d+\.\d+[\w.+~:-]*/.exec(text)?.[0];
}

const SBIN = ["/usr/sbin", "/sbin"];

async function isExecutable(file: string): Promise<boolean> {
  try {
    await access(file, constants.X_OK);
    return (await stat(file)).isFile();
  } catch {
    return false;
  }
}

/** Where a program is: on PATH, or in an sbin folder that PATH lacks (Debian's default for non-root). */
async function findProgram(cmd: string): Promise<{ file: string; onPath: boolean } | undefined> {
  const dirs = (process.env.PATH ?? "").split(":").filter(Boolean);
  for (const d of dirs)
    if (await isExecutable(path.join(d, cmd))) return { file: path.join(d, cmd), onPath: true };
  for (const d of SBIN.filter((s) => !dirs.includes(s)))
    if (await isExecutable(path.join(d, cmd))) return { file: path.join(d, cmd), onPath: false };
  return undefined;
}

async function dpkgVersion(pkg: string): Promise<string | undefined> {
  const r = await probe(["dpkg-query", "-W", "-f=${Version}", pkg], 5_000);
  return r?.exitCode === 0 && r.stdout.trim() ? r.stdout.trim() : undefined;
}

async function checkRequirement(req: Requirement): Promise<DoctorLine> {
  const line = (status: DoctorStatus, detail: string): DoctorLine => ({ name: req.name, status, detail });
  if (req.paths) {
    const found = await firstExisting(req.paths);
    if (!found) return missing(req, `${req.paths.join(" or ")} not found`);
    const v = await dpkgVersion(req.pkg);
    return line("ok", v ? `${found} (${req.pkg} ${v})` : found);
  }
  const cmds = req.commands ?? [req.name];
  let where: { cmd: string; file: string; onPath: boolean } | undefined;
  for (const cmd of cmds) {
    const f = await findProgram(cmd);
    if (f) {
      where = { cmd, ...f };
      break;
    }
  }
  if (!where) return missing(req, cmds.length === 1 ? "not found" : `${cmds.join(" or ")} not found`);
  const out = req.versionArgs ? await probe([where.file, ...req.versionArgs], 5_000) : undefined;
  const dpkg = async () => {
    const v = await dpkgVersion(req.pkg);
    return v ? `${req.pkg} ${v}` : undefined;
  };
  const version = (out && versionIn(out.stdout + out.stderr)) ?? (await dpkg()) ?? "version unknown";
  const which = where.cmd === req.name ? "" : ` (${where.cmd})`;
  if (!where.onPath)
    return line("warn", `${version}, but ${where.file} is not on PATH: export PATH="$PATH:/usr/sbin:/sbin"`);
  return line("ok", version + which);
}

function missing(req: Requirement, what: string): DoctorLine {
  return req.foreignOnly
    ? {
        name: req.name,
        status: "warn",
        detail: `${what}: needed for ${req.neededFor ?? "arm64/armhf images"}; ${install(req.pkg)}`,
      }
    : { name: req.name, status: "fail", detail: `${what}: ${install(req.pkg)}` };
}

async function exists(p: string): Promise<boolean> {
  try {
    await stat(p);
    return true;
  } catch {
    return false;
  }
}

async function firstExisting(paths: readonly string[]): Promise<string | undefined> {
  for (const p of paths) if (await exists(p)) return p;
  return undefined;
}

// ---- Node ---------------------------------------------------------------

/** "20.19.1" >= "20.19"? Compares numerically, part by part. */
export function versionAtLeast(version: string, min: string): boolean {
  const a = version.replace(/^v/, "").split(".").map(Number);
  const b = min.split(".").map(Number);
  for (let i = 0; i < b.length; i++) {
    const x = a[i] ?? 0;
    const y = b[i]!;
    if (x !== y) return x > y;
  }
  return true;
}

async function checkNode(): Promise<DoctorLine> {
  const v = process.versions.node;
  return versionAtLeast(v, MIN_NODE)
    ? { name: "node", status: "ok", detail: v }
    : { name: "node", status: "fail", detail: `${v}: vmlive needs Node ${MIN_NODE} or later` };
}

// ---- binfmt_misc --------------------------------------------------------

const SETUP_BINFMT =
  "run ./setup, or sudo mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc && sudo update-binfmts --enable";

/** The binfmt lines, from what /proc/sys/fs/binfmt_misc showed. Missing handlers only matter for foreign images: warn. */
export function binfmtLines(
  state: BinfmtState,
  handlers: readonly string[],
  hostArch = process.arch,
): DoctorLine[] {
  const arches = (h: string) => archesNeeding(h, hostArch);
  if (!state.mounted)
    return [
      {
        name: "binfmt_misc",
        status: "warn",
        detail: `not mounted: ${handlers.map((h) => `${arches(h)} images need ${h}`).join(", ")}; ${SETUP_BINFMT}`,
      },
    ];
  const head: DoctorLine = state.enabled
    ? { name: "binfmt_misc", status: "ok", detail: "mounted and enabled" }
    : {
        name: "binfmt_misc",
        status: "warn",
        detail: "mounted but disabled: echo 1 | sudo tee /proc/sys/fs/binfmt_misc/status",
      };
  return [head, ...handlers.map((h) => handlerLine(h, state.handlers[h], hostArch))];
}

/** "arm64" for qemu-aarch64 on an amd64 host. */
const archesNeeding = (handler: string, hostArch: string) =>
  ARCHES.filter((a) => binfmtHandlerFor(a, hostArch) === handler).join("/");

function handlerLine(name: string, h: BinfmtHandler | undefined, hostArch: string): DoctorLine {
  const arches = archesNeeding(name, hostArch);
  const warn = (detail: string): DoctorLine => ({ name: `binfmt ${name}`, status: "warn", detail });
  if (!h) return warn(`not registered: ${arches} images need it; ${install("qemu-user-static")}`);
  if (!h.enabled) return warn(`registered but disabled: sudo update-binfmts --enable ${name}`);
  if (!h.fixBinary)
    return warn(
      `enabled without the F flag (flags: ${h.flags || "none"}): fails inside chroots; ` +
        `use the handlers of Debian's qemu-user-static`,
    );
  return {
    name: `binfmt ${name}`,
    status: "ok",
    detail: `enabled, flags ${h.flags}, ${h.interpreter ?? "?"}`,
  };
}

async function checkBinfmt(): Promise<DoctorLine[]> {
  const handlers = foreignHandlers();
  return binfmtLines(await readBinfmt(handlers), handlers);
}

// ---- KVM, root ----------------------------------------------------------

async function checkKvm(): Promise<DoctorLine> {
  const k = await probeKvm({ bootTest: true });
  // TCG works everywhere, only slower: never a failure.
  return { name: "kvm", status: k.usable ? "ok" : "warn", detail: k.reason.replace(/^KVM: /, "") };
}

async function checkRoot(): Promise<DoctorLine> {
  const uid = process.getuid?.();
  return uid === 0
    ? { name: "root", status: "ok", detail: "running as root: --backend host is available" }
    : {
        name: "root",
        status: "warn",
        detail: `not root (uid ${uid ?? "?"}): fine for the default VM backend; --backend host needs root`,
      };
}

// ---- disk space ---------------------------------------------------------

export function formatGiB(bytes: number): string {
  return `${(bytes / GiB).toFixed(1)} GiB`;
}

/** The verdict on free space, and what to do about it. */
export function diskLine(name: string, dir: string, measuredAt: string, freeBytes: number): DoctorLine {
  const where = measuredAt === dir ? dir : `${dir} (does not exist yet; measured at ${measuredAt})`;
  const free = `${formatGiB(freeBytes)} free at ${where}`;
  if (freeBytes < DISK_FAIL_BYTES)
    return { name, status: "fail", detail: `${free}: a build needs at least ${formatGiB(DISK_FAIL_BYTES)}` };
  if (freeBytes < DISK_WARN_BYTES)
    return { name, status: "warn", detail: `${free}: tight, ${formatGiB(DISK_WARN_BYTES)} is comfortable` };
  return { name, status: "ok", detail: free };
}

/** The folder itself or its nearest existing parent: doctor creates nothing. */
async function nearestExisting(dir: string): Promise<string> {
  let d = path.resolve(dir);
  while (!(await exists(d)) && path.dirname(d) !== d) d = path.dirname(d);
  return d;
}

function checkDisk(name: string, pick: (o: DoctorOptions) => string): Check {
  return {
    name,
    run: async (o) => {
      const dir = path.resolve(pick(o));
      const at = await nearestExisting(dir);
      const s = await statfs(at);
      return diskLine(name, dir, at, s.bavail * s.bsize);
    },
  };
}

// ---- mirror -------------------------------------------------------------

/** The header fields of a Release file ("Suite: bookworm" ...), up to the checksum lists. */
export function parseRelease(text: string): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const line of text.split("\n")) {
    const m = /^([\w-]+):\s*(.*)$/.exec(line);
    if (m && m[2]) fields[m[1]!] = m[2].trim();
  }
  return fields;
}

export function releaseSummary(f: Record<string, string>): string {
  const parts = ["Suite", "Codename", "Version", "Date"].filter((k) => f[k]).map((k) => `${k} ${f[k]}`);
  return parts.length ? parts.join(", ") : "a Release file without Suite/Version/Date fields";
}

const NET_ERRORS: Record<string, string> = {
  ENOTFOUND: "host name not found (ENOTFOUND)",
  EAI_AGAIN: "name resolution failed, try again (EAI_AGAIN)",
  ECONNREFUSED: "connection refused (ECONNREFUSED)",
  ECONNRESET: "connection reset (ECONNRESET)",
  ETIMEDOUT: "connection timed out (ETIMEDOUT)",
  ENETUNREACH: "network unreachable (ENETUNREACH)",
};
const netError = (code: string | undefined) => (code ? (NET_ERRORS[code] ?? code) : undefined);

async function checkMirror(o: DoctorOptions): Promise<DoctorLine> {
  const url = `${o.mirror.replace(/\/+$/, "")}/dists/${o.suite}/Release`;
  const line = (status: DoctorStatus, detail: string): DoctorLine => ({ name: "mirror", status, detail });
  try {
    const r = await fetch(url, { signal: AbortSignal.timeout(MIRROR_TIMEOUT_MS) });
    if (!r.ok)
      return line("fail", `${url}: HTTP ${r.status} ${r.statusText} (does this mirror carry ${o.suite}?)`);
    return line("ok", `${o.mirror} answers for ${o.suite}: ${releaseSummary(parseRelease(await r.text()))}`);
  } catch (e) {
    const err = e as Error & { cause?: { code?: string; message?: string } };
    const why =
      err.name === "TimeoutError"
        ? `no answer within ${MIRROR_TIMEOUT_MS / 1000} s`
        : (netError(err.cause?.code) ?? err.cause?.message ?? err.message);
    return line("fail", `${url}: ${why}; check the network, or pass another archive with --mirror`);
  }
}

// ---- the list, and running it -------------------------------------------

const CHECKS: readonly Check[] = [
  { name: "node", run: checkNode },
  ...REQUIREMENTS.map((r): Check => ({ name: r.name, run: () => checkRequirement(r) })),
  { name: "binfmt_misc", run: checkBinfmt },
  { name: "kvm", run: checkKvm },
  { name: "root", run: checkRoot },
  checkDisk("cache folder", (o) => o.cacheDir),
  checkDisk("work folder", (o) => o.workDir),
  { name: "mirror", run: checkMirror },
];

/** Run every check concurrently; lines come back in CHECKS order. A check that throws becomes a fail line. */
export async function runDoctor(opts: DoctorOptions): Promise<DoctorLine[]> {
  const results = await Promise.all(
    CHECKS.map((c) =>
      c.run(opts).catch((e: unknown): DoctorLine => ({
        name: c.name,
        status: "fail",
        detail: `the check itself failed: ${e instanceof Error ? e.message : String(e)}`,
      })),
    ),
  );
  return results.flat();
}

// ---- text ---------------------------------------------------------------

const LABEL: Record<DoctorStatus, string> = { ok: "ok", warn: "warn", fail: "FAIL" };

/** Aligned lines: "ok    xorriso             1.5.4". */
export function formatDoctorLines(lines: readonly DoctorLine[]): string[] {
  const w = Math.max(0, ...lines.map((l) => l.name.length));
  return lines.map((l) => `${LABEL[l.status].padEnd(6)}${l.name.padEnd(w)}  ${l.detail}`.trimEnd());
}

export function doctorSummary(lines: readonly DoctorLine[]): string {
  const n = (s: DoctorStatus) => lines.filter((l) => l.status === s).length;
  const plural = (k: number, word: string) => `${k} ${word}${k === 1 ? "" : "s"}`;
  const counts = `${n("ok")} ok, ${plural(n("warn"), "warning")}, ${plural(n("fail"), "failure")}`;
  if (n("fail")) return `${counts}: fix the FAIL lines before building (./setup installs what vmlive needs)`;
  if (n("warn"))
    return `${counts}: vmlive can build on this host; the warnings say what is slower or unavailable`;
  return `${counts}: vmlive can build on this host`;
}
