// Reading a hybrid ISO's boot setup (El Torito entries, the MBR's boot code,
// the partition table) from the ISO and, afterwards, from the finished target,
// so the two can be compared: adding a partition must not change how it boots.
import { open, stat } from "node:fs/promises";
import path from "node:path";
import { checkIsoFile } from "../boot/iso-file.js";
import { UsageError } from "../errors.js";
import { run } from "../process/run.js";
import { parseElTorito, type ElToritoReport } from "../steps/iso/xorriso.js";
import { parseSfdiskJson, type PartitionTable } from "./layout.js";

export interface BootSetup {
  table: PartitionTable;
  elTorito: ElToritoReport;
}

export interface IsoFacts extends BootSetup {
  bytes: number;
}

/** The ISO 9660 primary volume descriptor sits 16 sectors of 2048 bytes into its volume. */
const PVD_OFFSET = 16 * 2048;

/** Does a primary volume descriptor start `offset` bytes into `file`? */
async function hasVolumeAt(file: string, offset: number): Promise<boolean> {
  const fh = await open(file, "r");
  try {
    const b = Buffer.alloc(6);
    const { bytesRead } = await fh.read(b, 0, 6, offset + PVD_OFFSET);
    return bytesRead === 6 && b[0] === 1 && b.toString("latin1", 1, 6) === "CD001";
  } finally {
    await fh.close();
  }
}

/** `stdio:` makes xorriso treat a block device like a file instead of probing it as a CD burner. */
export function xorrisoReportArgv(disk: string): string[] {
  return [
    "xorriso",
    "-indev",
    `stdio:${path.resolve(disk)}`,
    "-report_el_torito",
    "plain",
    "-report_system_area",
    "plain",
  ];
}

export const sfdiskJsonArgv = (disk: string) => ["sfdisk", "--json", "--", disk];

/** The partition table on `disk`, or undefined when it has none sfdisk knows. */
export async function readTable(disk: string, signal?: AbortSignal): Promise<PartitionTable | undefined> {
  const r = await run(sfdiskJsonArgv(disk), { check: false, signal });
  if (r.exitCode !== 0 || !r.stdout.trim()) return undefined;
  return parseSfdiskJson(r.stdout);
}

export async function readBootSetup(disk: string, signal?: AbortSignal): Promise<BootSetup | undefined> {
  const table = await readTable(disk, signal);
  if (!table) return undefined;
  const elTorito = parseElTorito((await run(xorrisoReportArgv(disk), { signal })).stdout);
  return { table, elTorito };
}

/** The ISO's size and boot setup; refuses an ISO vmlive cannot add a partition to. */
export async function inspectIso(iso: string, signal?: AbortSignal): Promise<IsoFacts> {
  await checkIsoFile(iso);
  const setup = await readBootSetup(iso, signal);
  if (!setup)
    throw new UsageError(
      `${iso} is not a hybrid ISO: it has no MBR or GPT, so it cannot boot from a USB stick`,
      "build it with vmlive (xorriso with GRUB's hybrid MBR or an appended EFI partition)",
    );
  const { table, elTorito } = setup;
  // A hybrid MBR (partitions mirrored from the GPT) would be replaced by a
  // protective one when sfdisk writes the GPT; vmlive's ISOs never have one.
  if (table.label === "gpt" && elTorito.mbrTypes.some((t) => t !== "0xee"))
    throw new UsageError(
      `${iso} has a hybrid MBR (partition types ${elTorito.mbrTypes.join(", ")}) beside its GPT; adding a partition would replace it`,
      "vmlive adds persistence to ISOs with a protective MBR and a GPT, or an MBR alone, as vmlive builds them",
    );
  // live-boot takes the device its ISO 9660 volume is mounted from as the
  // live medium and looks for persistence on every other one. Found only on
  // the whole disk, the whole stick is skipped, persistence partition and all;
  // found on partition 1 (xorriso -partition_offset 16 writes a second volume
  // descriptor set there), only partition 1 is.
  const withVolume = [];
  for (const p of table.partitions) if (await hasVolumeAt(iso, p.start * 512)) withVolume.push(p);
  if (!withVolume.length)
    throw new UsageError(
      `${iso} has its ISO 9660 volume only on the whole disk, in none of its partitions: live-boot would mount the ` +
        "whole stick as its medium and then never look at the persistence partition on it",
      "rebuild the ISO with vmlive, whose ISOs also carry the volume in partition 1 (xorriso -partition_offset 16)",
    );
  return { bytes: (await stat(iso)).size, table, elTorito };
}
