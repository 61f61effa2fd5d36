// Foreign-architecture programs (an arm64 chroot on an amd64 host) run through
// qemu-user, which the kernel starts via binfmt_misc handlers. Debian's
// qemu-user-static registers them with the F flag (interpreter opened at
// registration), so they also work inside chroots. Reading
// /proc/sys/fs/binfmt_misc tells whether all of that is in place.
import { readFile } from "node:fs/promises";
import path from "node:path";
import type { Arch } from "../config/schema/system.js";
import { ARM64_EMULATED_CPU } from "../machine/qemu/args.js";

export const BINFMT_DIR = "/proc/sys/fs/binfmt_misc";

/** The qemu-user handler each Debian architecture needs when the host cannot run it natively. */
const HANDLERS: Readonly<Record<Arch, string>> = {
  amd64: "qemu-x86_64",
  i386: "qemu-i386",
  arm64: "qemu-aarch64",
  armhf: "qemu-arm",
};

/**
 * The environment that makes qemu-user fast for an image's programs. arm64: the
 * CPU qemu-user emulates by default checks pointer authentication with the
 * architected QARMA, and Debian builds arm64 code with branch protection, so
 * every call pays for it (trixie's package scripts measured 125-400x slower
 * than native; 11-20x with this). qemu reads QEMU_CPU from the environment,
 * which apt, dpkg and hooks pass on; native programs ignore it. qemu-arm has
 * no such property and refuses it, so armhf gets nothing.
 */
export function qemuUserEnv(arch: Arch): Readonly<Record<string, string>> {
  return arch === "arm64" ? { QEMU_CPU: ARM64_EMULATED_CPU } : {};
}

/** Debian architectures each host (process.arch) runs without emulation. */
const NATIVE: Readonly<Record<string, readonly Arch[]>> = {
  x64: ["amd64", "i386"],
  ia32: ["i386"],
  arm64: ["arm64"],
  arm: ["armhf"],
};

/** The binfmt handler an image of this architecture needs on this host; undefined when it runs natively. */
export function binfmtHandlerFor(arch: Arch, hostArch: string = process.arch): string | undefined {
  return NATIVE[hostArch]?.includes(arch) ? undefined : HANDLERS[arch];
}

/** The handlers worth checking on this host: one per foreign architecture vmlive builds. */
export function foreignHandlers(hostArch: string = process.arch): string[] {
  const all = (Object.keys(HANDLERS) as Arch[]).map((a) => binfmtHandlerFor(a, hostArch));
  return [...new Set(all.filter((h): h is string => h !== undefined))];
}

export interface BinfmtHandler {
  enabled: boolean;
  interpreter?: string;
  /** The flag letters, e.g. "POCF". */
  flags: string;
  /** F: the kernel opened the interpreter at registration, so it works inside chroots. */
  fixBinary: boolean;
}

/**
 * Parse a handler file, e.g. /proc/sys/fs/binfmt_misc/qemu-aarch64:
 * "enabled\ninterpreter /usr/libexec/qemu-binfmt/aarch64-binfmt-P\nflags: POCF\noffset 0\n..."
 */
export function parseBinfmtHandler(text: string): BinfmtHandler {
  const lines = text.split("\n").map((l) => l.trim());
  const interpreter = lines.find((l) => l.startsWith("interpreter "))?.slice("interpreter ".length);
  const flags = /^flags:\s*(\S*)/.exec(lines.find((l) => l.startsWith("flags:")) ?? "")?.[1] ?? "";
  return { enabled: lines[0] === "enabled", interpreter, flags, fixBinary: flags.includes("F") };
}

export type BinfmtState =
  | { mounted: false }
  | {
      mounted: true;
      /** binfmt_misc as a whole ("echo 0 > status" turns every handler off). */
      enabled: boolean;
      handlers: Readonly<Record<string, BinfmtHandler | undefined>>;
    };

/** Read binfmt_misc: whether it is mounted, and each named handler (undefined: not registered). */
export async function readBinfmt(names: readonly string[], dir = BINFMT_DIR): Promise<BinfmtState> {
  // The "status" file exists only when binfmt_misc is mounted there.
  const status = await readFile(path.join(dir, "status"), "utf8").catch(() => undefined);
  if (status === undefined) return { mounted: false };
  const entries = await Promise.all(
    names.map(async (n) => {
      const text = await readFile(path.join(dir, n), "utf8").catch(() => undefined);
      return [n, text === undefined ? undefined : parseBinfmtHandler(text)] as const;
    }),
  );
  return { mounted: true, enabled: status.trim() === "enabled", handlers: Object.fromEntries(entries) };
}
