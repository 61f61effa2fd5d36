// Rules that span fields, and the defaults that depend on the architecture.
// Each rule reports a problem at the field the user has to change.
import type { Arch } from "./schema/system.js";
import type { ParsedImage } from "./schema/index.js";
import { VARIANTS } from "./schema/bootstrap.js";
import { COMPRESSION_LEVELS } from "./schema/media.js";
import { consoleLogin } from "../boot/login.js";
import { archFirmwares, BOOT_ARCHES, isBootArch, parseWayName, type WayName } from "../boot/ways.js";

export interface RuleProblem {
  path: string;
  message: string;
}

/** Kernel flavours Debian builds per architecture (linux-image-FLAVOUR). */
export const KERNEL_FLAVOURS: Record<Arch, readonly string[]> = {
  amd64: ["amd64", "cloud-amd64", "rt-amd64"],
  arm64: ["arm64", "cloud-arm64", "rt-arm64", "arm64-16k"],
  armhf: ["armmp", "armmp-lpae", "rt-armmp"],
  i386: ["686-pae", "686", "rt-686-pae"],
};

/** kernel.flavour that means: no kernel and no live-boot (a root filesystem, not a live system). */
export const NO_KERNEL = "none";

const BIOS_ARCHES: readonly Arch[] = ["amd64", "i386"];
const SECURE_BOOT_ARCHES: readonly Arch[] = ["amd64", "arm64"];

export function checkRules(c: ParsedImage): RuleProblem[] {
  const out: RuleProblem[] = [];
  const add = (path: string, message: string) => out.push({ path, message });

  const variants = VARIANTS[c.bootstrap.tool];
  if (!variants.includes(c.bootstrap.variant))
    add(
      "bootstrap.variant",
      `${c.bootstrap.tool} has no variant ${c.bootstrap.variant}: use one of ${variants.join(", ")}`,
    );

  if (c.user.password !== null && c.user.password_hash !== null)
    add("user.password", "set password or password_hash, not both");
  if (c.root.password !== null && c.root.password_hash !== null)
    add("root.password", "set password or password_hash, not both");
  const rootHasPassword = c.root.password !== null || c.root.password_hash !== null;
  if (c.root.locked && rootHasPassword)
    add(
      "root.locked",
      "root has a password but is locked: set locked: false to use it, or drop the password",
    );
  if (!c.root.locked && !rootHasPassword)
    add("root.locked", "an unlocked root needs root.password or root.password_hash");

  const range = COMPRESSION_LEVELS[c.squashfs.compression];
  if (c.squashfs.level !== null) {
    if (!range)
      add("squashfs.level", `${c.squashfs.compression} takes no level: remove it or use zstd, gzip or lzo`);
    else if (c.squashfs.level < range[0] || c.squashfs.level > range[1])
      add("squashfs.level", `${c.squashfs.compression} levels run from ${range[0]} to ${range[1]}`);
  }

  if (
    c.kernel.flavour !== null &&
    c.kernel.flavour !== NO_KERNEL &&
    !KERNEL_FLAVOURS[c.arch].includes(c.kernel.flavour)
  )
    add(
      "kernel.flavour",
      `${c.arch} has no kernel flavour ${c.kernel.flavour}: use one of ${KERNEL_FLAVOURS[c.arch].join(", ")}`,
    );

  const loaders = c.iso.bootloaders ?? defaultBootloaders(c.arch);
  if (loaders.includes("bios") && !BIOS_ARCHES.includes(c.arch))
    add("iso.bootloaders", `${c.arch} machines have no BIOS: use [uefi]`);
  if (new Set(loaders).size !== loaders.length) add("iso.bootloaders", "lists a boot loader twice");
  if (c.iso.secure_boot) {
    if (!SECURE_BOOT_ARCHES.includes(c.arch))
      add(
        "iso.secure_boot",
        `Debian signs shim and GRUB for ${SECURE_BOOT_ARCHES.join(" and ")} only, not ${c.arch}`,
      );
    else if (!loaders.includes("uefi")) add("iso.secure_boot", "Secure Boot needs uefi in iso.bootloaders");
  }

  const bt = c.boot_test;
  if (bt.ways !== null) {
    const firmware = (w: WayName) => parseWayName(w).firmware;
    if (!isBootArch(c.arch))
      add(
        "boot_test.ways",
        `vmlive boots ${BOOT_ARCHES.join(", ")} ISOs in qemu, not ${c.arch}: remove boot_test.ways`,
      );
    else {
      const noFirmware = bt.ways.filter((w) => !archFirmwares(c.arch).includes(firmware(w)));
      const noLoader = bt.ways.filter((w) => !noFirmware.includes(w) && !loaders.includes(firmware(w)));
      if (noFirmware.length)
        add("boot_test.ways", `${c.arch} machines have no BIOS: drop ${noFirmware.join(", ")}`);
      if (noLoader.length)
        add(
          "boot_test.ways",
          `the ISO boots with ${loaders.join(" and ")} only (iso.bootloaders): drop ${noLoader.join(", ")}`,
        );
    }
    if (new Set(bt.ways).size !== bt.ways.length) add("boot_test.ways", "lists a way twice");
  }
  if (bt.commands.length) {
    if (!consoleLogin(c))
      add(
        "boot_test.commands",
        "the commands run after logging in on the serial console, and nobody can: set user.password " +
          "or user.autologin (or root.password); a password_hash cannot be typed",
      );
    if (c.iso.serial_console === null)
      add(
        "iso.serial_console",
        "boot_test.commands are typed on the serial console: set one, e.g. ttyS0,115200n8 (ttyAMA0 on arm64)",
      );
  }
  return out;
}

export function defaultBootloaders(arch: Arch): ("bios" | "uefi")[] {
  return BIOS_ARCHES.includes(arch) ? ["bios", "uefi"] : ["uefi"];
}

export function defaultKernelFlavour(arch: Arch): string {
  return KERNEL_FLAVOURS[arch][0]!;
}
