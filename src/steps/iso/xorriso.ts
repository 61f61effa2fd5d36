// xorriso's argv for the hybrid ISO, and readers of what xorriso reports
// about one. The argv follows the measured prototype: -as mkisofs options,
// BIOS El Torito with GRUB's hybrid MBR, the EFI image appended as a GPT
// partition that the UEFI El Torito entry points at (stored once).

export interface XorrisoPlan {
  /** The ISO file tree. */
  tree: string;
  output: string;
  volumeId: string;
  sourceDateEpoch: number;
  bios?: {
    /** El Torito image, relative to the tree. */
    eltorito: string;
    /** GRUB's boot_hybrid.img, for booting from USB sticks. */
    mbr: string;
  };
  uefi?: {
    /** FAT image holding /EFI/BOOT/... */
    efiImage: string;
  };
}

/** xorriso's --modification-date: YYYYMMDDhhmmsscc in UTC. */
export function modificationDate(sourceDateEpoch: number): string {
  const d = new Date(sourceDateEpoch * 1000).toISOString(); // 2023-11-14T22:13:20.000Z
  return `${d.slice(0, 4)}${d.slice(5, 7)}${d.slice(8, 10)}${d.slice(11, 13)}${d.slice(14, 16)}${d.slice(17, 19)}00`;
}

export function xorrisoArgv(p: XorrisoPlan): string[] {
  if (!p.bios && !p.uefi) throw new Error("an ISO needs a BIOS or a UEFI boot entry");
  return [
    "xorriso",
    // Without these xorriso exits 0 after SORRY-level problems (a file it could not read).
    "-abort_on",
    "FAILURE",
    "-return_with",
    "SORRY",
    "32",
    "-report_about",
    "WARNING",
    "-as",
    "mkisofs",
    "-iso-level",
    "3",
    "-full-iso9660-filenames",
    "-r",
    "-J",
    "-joliet-long",
    "-V",
    p.volumeId,
    "-A",
    "vmlive",
    "-publisher",
    "vmlive",
    `--modification-date=${modificationDate(p.sourceDateEpoch)}`,
    "-c",
    "boot/boot.cat",
    ...(p.bios
      ? [
          "-b",
          p.bios.eltorito,
          "-no-emul-boot",
          "-boot-load-size",
          "4",
          "-boot-info-table",
          "--grub2-boot-info",
          "--grub2-mbr",
          p.bios.mbr,
        ]
      : []),
    ...(p.uefi
      ? [
          "-append_partition",
          "2",
          "0xef",
          p.uefi.efiImage,
          "-appended_part_as_gpt",
          ...(p.bios ? ["-eltorito-alt-boot"] : []),
          "-e",
          "--interval:appended_partition_2:all::",
          "-no-emul-boot",
        ]
      : []),
    // Partition 1 starts 16 blocks in and holds a mountable copy of the ISO 9660 volume (as Debian's
    // live ISOs do): live-boot then mounts /dev/sdX1 as its medium and may look at the stick's other
    // partitions for persistence. With the volume on the whole disk it skips the whole stick.
    "-partition_offset",
    "16",
    "-o",
    p.output,
    p.tree,
  ];
}

export interface ElToritoReport {
  /** Platforms of the El Torito boot images, in order: "BIOS", "UEFI". */
  platforms: string[];
  /** "System area summary" (MBR protective-msdos-label grub2-mbr cyl-align-off GPT). */
  systemArea: string;
  /** GPT partition type GUIDs as xorriso prints them (byte order of the disk). */
  gptTypes: string[];
  /** MBR partition types (0xee, 0xef, ...). */
  mbrTypes: string[];
}

/** The EFI system partition type GUID (C12A7328-F81F-11D2-BA4B-00A0C93EC93B) as xorriso prints it. */
export const ESP_GPT_TYPE = "28732ac11ff8d211ba4b00a0c93ec93b";

/** Read `xorriso -indev ISO -report_el_torito plain -report_system_area plain`. */
export function parseElTorito(text: string): ElToritoReport {
  const platforms: string[] = [];
  const gptTypes: string[] = [];
  const mbrTypes: string[] = [];
  let systemArea = "";
  for (const line of text.split("\n")) {
    let m = /^El Torito boot img :\s+\d+\s+(\S+)/.exec(line);
    if (m) platforms.push(m[1]!);
    m = /^System area summary:\s*(.*)$/.exec(line);
    if (m) systemArea = m[1]!.trim();
    m = /^GPT type GUID\s*:\s+\d+\s+([0-9a-f]{32})/.exec(line);
    if (m) gptTypes.push(m[1]!);
    m = /^MBR partition\s*:\s+\d+\s+0x[0-9a-f]+\s+(0x[0-9a-f]+)/.exec(line);
    if (m) mbrTypes.push(m[1]!);
  }
  return { platforms, systemArea, gptTypes, mbrTypes };
}

/** Files in `xorriso -indev ISO -find / -type f -exec lsdl` output: path -> size. */
export function parseLsdl(text: string): Map<string, number> {
  const files = new Map<string, number>();
  for (const line of text.split("\n")) {
    // -r--r--r--    1 0        0        194617344 Nov 22 02:39 '/live/filesystem.squashfs'
    const m = /^[-dlcbps][-rwxsStT]{9}\s+\d+\s+\S+\s+\S+\s+(\d+)\s+\S+\s+\d+\s+\S+\s+'(.*)'$/.exec(line);
    if (m) files.set(m[2]!.replace(/'\\''/g, "'"), Number(m[1]));
  }
  return files;
}
