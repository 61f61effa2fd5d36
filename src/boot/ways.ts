// The ways a live ISO is booted to prove it works: as a CD or a USB stick,
// on BIOS or UEFI, and which of them each architecture has. Named once here;
// the image schema, the qemu command line and the CLI all use these names.
import type { Arch } from "../config/schema/system.js";

export const MEDIA = ["cd", "usb"] as const;
export const FIRMWARES = ["bios", "uefi"] as const;
export type Media = (typeof MEDIA)[number];
export type Firmware = (typeof FIRMWARES)[number];

export interface BootWay {
  media: Media;
  firmware: Firmware;
}

export type WayName = `${Media}-${Firmware}`;

/** Every way, in the order they are booted: CD before USB, BIOS before UEFI. */
export const ALL_WAYS: readonly BootWay[] = MEDIA.flatMap((media) =>
  FIRMWARES.map((firmware) => ({ media, firmware })),
);
export const WAY_NAMES = ALL_WAYS.map((w) => wayName(w)) as [WayName, ...WayName[]];

export function wayName(w: BootWay): WayName {
  return `${w.media}-${w.firmware}`;
}

export function parseWayName(name: WayName): BootWay {
  return ALL_WAYS.find((w) => wayName(w) === name)!;
}

/** Architectures vmlive can boot in qemu. */
export const BOOT_ARCHES = ["amd64", "i386", "arm64", "armhf"] as const;
export type BootArch = (typeof BOOT_ARCHES)[number];

export function isBootArch(arch: string): arch is BootArch {
  return (BOOT_ARCHES as readonly string[]).includes(arch);
}

/** Firmware an architecture's machines have: ARM ones (qemu's virt board) boot with UEFI only. */
export function archFirmwares(arch: Arch): readonly Firmware[] {
  if (!isBootArch(arch)) return [];
  return isArmBoot(arch) ? ["uefi"] : FIRMWARES;
}

/** ARM architectures boot on qemu's virt board, with its devices instead of a PC's. */
export function isArmBoot(arch: BootArch): arch is "arm64" | "armhf" {
  return arch === "arm64" || arch === "armhf";
}

/**
 * The ways a boot test takes when the image names none: every way the
 * architecture has and the ISO has a boot loader for.
 */
export function defaultWays(arch: Arch, bootloaders: readonly Firmware[]): WayName[] {
  const firmwares = archFirmwares(arch);
  return ALL_WAYS.filter((w) => firmwares.includes(w.firmware) && bootloaders.includes(w.firmware)).map(
    wayName,
  );
}
