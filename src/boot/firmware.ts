// UEFI firmware for booting ISOs in qemu, as Debian's packages install it
// (see /usr/share/doc/ovmf/README.Debian and /usr/share/qemu/firmware/*.json).
// The code image is shared and read-only; each boot gets its own copy of the
// variable store, so nothing one boot writes reaches the next.
import { existsSync } from "node:fs";
import path from "node:path";
import { UsageError } from "../errors.js";
import type { BootArch, BootWay } from "./ways.js";

export interface UefiFirmware {
  code: string;
  /** Template of the variable store; copied for every boot. */
  vars: string;
  /** Debian package that installs both files. */
  pkg: string;
  /**
   * The build refuses to run without SMM (OVMF's secboot builds): the
   * machine must be q35 with smm=on and the flash marked secure, so only
   * SMM code can write the variables Secure Boot depends on.
   */
  smm: boolean;
}

const OVMF = "/usr/share/OVMF";
const AAVMF = "/usr/share/AAVMF";

const PLAIN: Record<BootArch, UefiFirmware> = {
  amd64: { code: `${OVMF}/OVMF_CODE_4M.fd`, vars: `${OVMF}/OVMF_VARS_4M.fd`, pkg: "ovmf", smm: false },
  // ovmf-ia32 ships only the secboot build, with an empty variable store (Secure Boot off).
  i386: {
    code: `${OVMF}/OVMF32_CODE_4M.secboot.fd`,
    vars: `${OVMF}/OVMF32_VARS_4M.fd`,
    pkg: "ovmf-ia32",
    smm: true,
  },
  arm64: {
    code: `${AAVMF}/AAVMF_CODE.fd`,
    vars: `${AAVMF}/AAVMF_VARS.fd`,
    pkg: "qemu-efi-aarch64",
    smm: false,
  },
  // qemu-efi-arm: edk2's ArmVirtQemu for 32-bit ARM, an empty variable store (Secure Boot off).
  armhf: {
    code: `${AAVMF}/AAVMF32_CODE.fd`,
    vars: `${AAVMF}/AAVMF32_VARS.fd`,
    pkg: "qemu-efi-arm",
    smm: false,
  },
};

/** Secure Boot on, with Microsoft's keys enrolled: what shim signed by Microsoft needs. */
const SECURE: Partial<Record<BootArch, UefiFirmware>> = {
  amd64: {
    code: `${OVMF}/OVMF_CODE_4M.secboot.fd`,
    vars: `${OVMF}/OVMF_VARS_4M.ms.fd`,
    pkg: "ovmf",
    smm: true,
  },
  arm64: {
    code: `${AAVMF}/AAVMF_CODE.ms.fd`,
    vars: `${AAVMF}/AAVMF_VARS.ms.fd`,
    pkg: "qemu-efi-aarch64",
    smm: false,
  },
};

export function uefiFirmware(arch: BootArch, secureBoot: boolean): UefiFirmware {
  if (!secureBoot) return PLAIN[arch];
  const fw = SECURE[arch];
  if (!fw)
    throw new UsageError(
      `Secure Boot is not available for ${arch}: Debian has no firmware with Microsoft's keys for it`,
      "boot it without --secure-boot (Debian signs shim and GRUB for amd64 and arm64 only)",
    );
  return fw;
}

/** The qemu binary for an architecture, and the Debian package that has it. */
export const QEMU_SYSTEM: Record<BootArch, { binary: string; pkg: string }> = {
  amd64: { binary: "qemu-system-x86_64", pkg: "qemu-system-x86" },
  i386: { binary: "qemu-system-i386", pkg: "qemu-system-x86" },
  arm64: { binary: "qemu-system-aarch64", pkg: "qemu-system-arm" },
  armhf: { binary: "qemu-system-arm", pkg: "qemu-system-arm" },
};

/**
 * What this host lacks to boot these ways: one line per missing program or
 * firmware file, naming the Debian package to install. Empty when ready.
 */
export function missingForBoot(arch: BootArch, ways: readonly BootWay[], secureBoot: boolean): string[] {
  const out: string[] = [];
  const qemu = QEMU_SYSTEM[arch];
  if (!onPath(qemu.binary))
    out.push(`${qemu.binary} is not installed: apt-get install ${qemu.pkg} (or run ./setup)`);
  if (ways.some((w) => w.firmware === "uefi")) {
    const fw = uefiFirmware(arch, secureBoot);
    for (const f of [fw.code, fw.vars])
      if (!existsSync(f)) out.push(`${f} is missing: apt-get install ${fw.pkg} (or run ./setup)`);
  }
  return out;
}

function onPath(program: string): boolean {
  return (process.env.PATH ?? "")
    .split(path.delimiter)
    .some((dir) => dir !== "" && existsSync(path.join(dir, program)));
}
