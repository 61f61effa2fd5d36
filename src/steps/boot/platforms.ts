// Which GRUB builds an architecture boots with, where their files are in the
// builder, and which Debian package brings them. The signed (Secure Boot)
// files are Debian's own: shim from shim-signed (signed by Microsoft) and GRUB
// from grub-efi-ARCH-signed (signed by Debian), as debian-cd uses them.
import type { Arch } from "../../config/schema/system.js";

/** A GRUB build: what grub-mkimage makes, from which module folder, of which Debian package. */
export interface GrubPlatform {
  /** grub-mkimage -O */
  format: string;
  /** Module folder, as the package installs it. */
  dir: string;
  pkg: string;
  modules: readonly string[];
}

export interface BiosPlatform extends GrubPlatform {
  format: "i386-pc-eltorito";
}

/** MBR code for the hybrid (USB) boot in the BIOS module folder, handed to xorriso --grub2-mbr. */
export const BIOS_HYBRID_MBR = "boot_hybrid.img";

export interface EfiPlatform extends GrubPlatform {
  /** Name firmware looks for on removable media: /EFI/BOOT/<this>. */
  removableName: string;
}

export interface SecureBootFiles {
  /** Microsoft-signed shim, becomes /EFI/BOOT/<removableName>. */
  shim: string;
  /** MOK manager shim may start; copied when present. */
  mokManager: string;
  mokManagerName: string;
  /** Debian-signed GRUB; shim loads it from its own folder by this name. */
  grub: string;
  grubName: string;
  /** The Debian packages that hold these files, for messages. */
  pkgs: string;
  /** The same as package names, fetched from the image's archive when the machine lacks them. */
  debs: readonly string[];
}

/** Modules built into every image: nothing is loaded with insmod at boot, so no module folder is on the ISO. */
export const COMMON_MODULES = [
  "search",
  "search_fs_file",
  "search_label",
  "configfile",
  "normal",
  "linux",
  "echo",
  "test",
  "true",
  "sleep",
  "serial",
  "terminal",
  "iso9660",
  "part_msdos",
  "part_gpt",
  "fat",
  "ls",
  "cat",
  "halt",
  "reboot",
] as const;

const BIOS: BiosPlatform = {
  format: "i386-pc-eltorito",
  dir: "/usr/lib/grub/i386-pc",
  pkg: "grub-pc-bin",
  modules: ["biosdisk", ...COMMON_MODULES],
};

const EFI: Record<Arch, EfiPlatform> = {
  amd64: {
    format: "x86_64-efi",
    dir: "/usr/lib/grub/x86_64-efi",
    pkg: "grub-efi-amd64-bin",
    removableName: "BOOTX64.EFI",
    modules: [...COMMON_MODULES, "all_video", "efi_gop"],
  },
  i386: {
    format: "i386-efi",
    dir: "/usr/lib/grub/i386-efi",
    pkg: "grub-efi-ia32-bin",
    removableName: "BOOTIA32.EFI",
    modules: [...COMMON_MODULES, "all_video", "efi_gop"],
  },
  arm64: {
    format: "arm64-efi",
    dir: "/usr/lib/grub/arm64-efi",
    pkg: "grub-efi-arm64-bin",
    removableName: "BOOTAA64.EFI",
    modules: [...COMMON_MODULES, "all_video"],
  },
  armhf: {
    format: "arm-efi",
    dir: "/usr/lib/grub/arm-efi",
    pkg: "grub-efi-arm-bin",
    removableName: "BOOTARM.EFI",
    modules: [...COMMON_MODULES, "all_video"],
  },
};

const SIGNED: Partial<Record<Arch, SecureBootFiles>> = {
  amd64: {
    shim: "/usr/lib/shim/shimx64.efi.signed",
    mokManager: "/usr/lib/shim/mmx64.efi.signed",
    mokManagerName: "mmx64.efi",
    grub: "/usr/lib/grub/x86_64-efi-signed/grubx64.efi.signed",
    grubName: "grubx64.efi",
    pkgs: "shim-signed and grub-efi-amd64-signed",
    debs: ["shim-signed", "shim-helpers-amd64-signed", "grub-efi-amd64-signed"],
  },
  arm64: {
    shim: "/usr/lib/shim/shimaa64.efi.signed",
    mokManager: "/usr/lib/shim/mmaa64.efi.signed",
    mokManagerName: "mmaa64.efi",
    grub: "/usr/lib/grub/arm64-efi-signed/grubaa64.efi.signed",
    grubName: "grubaa64.efi",
    pkgs: "shim-signed and grub-efi-arm64-signed",
    debs: ["shim-signed", "shim-helpers-arm64-signed", "grub-efi-arm64-signed"],
  },
};

/** The BIOS GRUB for this architecture, or undefined where there is no BIOS. */
export function biosPlatform(arch: Arch): BiosPlatform | undefined {
  return arch === "amd64" || arch === "i386" ? BIOS : undefined;
}

export function efiPlatform(arch: Arch): EfiPlatform {
  return EFI[arch];
}

export function secureBootFiles(arch: Arch): SecureBootFiles | undefined {
  return SIGNED[arch];
}

/**
 * Folder on the ESP where Debian's signed GRUB looks for grub.cfg: it is built
 * with prefix /EFI/debian (`strings grubx64.efi.signed` shows it), and its
 * memdisk config sources $prefix/grub.cfg when that folder exists.
 */
export const SIGNED_GRUB_PREFIX = "/EFI/debian";

/** Whether the CPU of this architecture can run GRUB's serial driver with --unit (a PC UART). */
export function hasPcSerial(arch: Arch): boolean {
  return arch === "amd64" || arch === "i386";
}
