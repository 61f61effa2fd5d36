// The EFI system partition image: a FAT file system made with mkfs.vfat and
// filled with mtools, so no loop mount (and no root) is needed.
import type { Arch } from "../../config/schema/system.js";
import { efiPlatform, SIGNED_GRUB_PREFIX, type SecureBootFiles } from "./platforms.js";

/** A file to put into the FAT image: from a path on the machine to a path inside the image. */
export interface EspFile {
  from: string;
  to: string;
  /** Leave out silently when the source does not exist (shim's MOK manager). */
  optional?: boolean;
}

/**
 * What goes on the ESP. Without Secure Boot: our own GRUB as /EFI/BOOT/BOOTX64.EFI.
 * With it, as debian-cd does: shim as BOOTX64.EFI, Debian's signed GRUB beside it
 * as grubx64.efi (shim loads it by that name from its own folder), shim's MOK
 * manager, and the early config at /EFI/debian/grub.cfg where the signed GRUB
 * reads it (its prefix); a copy in /EFI/BOOT covers its `$cmdpath` fallback.
 */
export function espFiles(
  arch: Arch,
  sb: SecureBootFiles | undefined,
  built: { grubEfi: string; earlyCfg: string },
): EspFile[] {
  const efi = efiPlatform(arch);
  if (!sb) return [{ from: built.grubEfi, to: `/EFI/BOOT/${efi.removableName}` }];
  return [
    { from: sb.shim, to: `/EFI/BOOT/${efi.removableName}` },
    { from: sb.grub, to: `/EFI/BOOT/${sb.grubName}` },
    { from: sb.mokManager, to: `/EFI/BOOT/${sb.mokManagerName}`, optional: true },
    { from: built.earlyCfg, to: `${SIGNED_GRUB_PREFIX}/grub.cfg` },
    { from: built.earlyCfg, to: "/EFI/BOOT/grub.cfg" },
  ];
}

/** KiB for mkfs.vfat -C: the files plus 512 KiB for FAT tables and directories, rounded up to whole MiB. */
export function espSizeKiB(fileBytes: readonly number[]): number {
  const kib = fileBytes.reduce((a, b) => a + Math.ceil(b / 1024), 0) + 512;
  return Math.ceil(kib / 1024) * 1024;
}

/** FAT volume serial (mkfs.vfat -i, 8 hex digits) from the build id, so the image is reproducible. */
export function espVolumeId(isoId: string): string {
  return isoId
    .replace(/[^0-9a-f]/gi, "")
    .padEnd(8, "0")
    .slice(0, 8)
    .toLowerCase();
}

/** The commands that make the image: mkfs.vfat, then mmd for every folder, then mcopy -m for every file. */
export function espCommands(
  image: string,
  sizeKiB: number,
  volumeId: string,
  files: readonly EspFile[],
): string[][] {
  const dirs = new Set<string>();
  for (const f of files) {
    const parts = f.to.split("/").filter(Boolean).slice(0, -1);
    for (let i = 1; i <= parts.length; i++) dirs.add(`::/${parts.slice(0, i).join("/")}`);
  }
  return [
    ["mkfs.vfat", "--invariant", "-C", "-n", "VMLIVE_EFI", "-i", volumeId, image, String(sizeKiB)],
    ["mmd", "-i", image, ...[...dirs].sort()],
    ...files.map((f) => ["mcopy", "-m", "-i", image, f.from, `::${f.to}`]),
  ];
}
