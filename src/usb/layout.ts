// Where the persistence partition goes: after the hybrid ISO's last byte,
// on a 1 MiB boundary, in the partition table the ISO already has. xorriso
// (with -partition_offset 16) writes one of two layouts for vmlive's ISOs, as
// `xorriso -report_system_area plain` and `sfdisk --json` show them:
//
//   BIOS and UEFI, or UEFI alone: a protective MBR (one 0xee entry, GRUB's
//     boot code in front of it) and a GPT: 1 "ISO9660" (a second copy of the
//     volume descriptors makes it mountable on its own, from sector 64),
//     2 "Appended2" (the EFI system partition), 3 "Gap1" (padding); the
//     backup GPT sits in the ISO's last sectors.
//   BIOS alone: an MBR with GRUB's boot code and partition 1 (type 0xcd)
//     holding the ISO 9660 volume from sector 64.
//
// sfdisk --append keeps the boot code and the existing entries, and for a GPT
// moves the backup header to the end of the larger disk and widens the
// protective entry, so the ISO's own partitions boot as before.
import { UsageError } from "../errors.js";
import { humanBytes } from "../steps/boot/machine-files.js";

export const SECTOR = 512;
export const MiB = 1024 * 1024;
const ALIGN = MiB / SECTOR;
/** sfdisk's GPT backup: 32 sectors of entries and the header. */
const GPT_BACKUP_SECTORS = 33;
/** Less than this is no use as a persistence store (ext4's journal alone takes 4 MiB). */
export const MIN_PERSISTENCE = 16 * MiB;
/** The persistence size for a file target when neither --persistence nor --size says. */
export const DEFAULT_FILE_PERSISTENCE = 1024 * MiB;
/** Linux filesystem data, the type Debian's installer gives an ext4 partition. */
export const LINUX_GPT_TYPE = "0FC63DAF-8483-4772-8E79-3D69D8477DE4";
export const LINUX_MBR_TYPE = "83";
export const PERSISTENCE_LABEL = "persistence";

export interface Partition {
  node: string;
  start: number;
  size: number;
  type: string;
  name?: string;
}

export interface PartitionTable {
  label: "gpt" | "dos";
  partitions: Partition[];
}

/** Read `sfdisk --json DISK`. */
export function parseSfdiskJson(json: string): PartitionTable {
  const t = (JSON.parse(json) as { partitiontable?: Record<string, unknown> }).partitiontable;
  if (!t || (t.label !== "gpt" && t.label !== "dos"))
    throw new Error(`sfdisk printed no gpt or dos partition table: ${json.slice(0, 200)}`);
  const parts = Array.isArray(t.partitions) ? (t.partitions as Record<string, unknown>[]) : [];
  return {
    label: t.label,
    partitions: parts.map((p) => ({
      node: String(p.node),
      start: Number(p.start),
      size: Number(p.size),
      type: String(p.type),
      ...(typeof p.name === "string" ? { name: p.name } : {}),
    })),
  };
}

export interface LayoutRequest {
  isoBytes: number;
  table: PartitionTable;
  /** The disk's size; undefined for a file that vmlive sizes itself. */
  targetBytes?: number;
  /** --persistence; undefined for "the rest of the disk" (or the default for a sized-by-vmlive file). */
  persistenceBytes?: number;
  /** For messages: the device or file. */
  target: string;
}

export interface Layout {
  /** The whole target, bytes. */
  targetBytes: number;
  /** The persistence partition, in 512-byte sectors. */
  start: number;
  size: number;
  /** Its number in the table (sfdisk --append takes the first free one). */
  number: number;
  label: "gpt" | "dos";
}

const alignUp = (n: number) => Math.ceil(n / ALIGN) * ALIGN;
const alignDown = (n: number) => Math.floor(n / ALIGN) * ALIGN;
const bytes = (sectors: number) => sectors * SECTOR;
const show = (n: number) => `${humanBytes(n)} (${n} bytes)`;

/** Plan the persistence partition; a UsageError, with the numbers, when it does not fit. */
export function planLayout(r: LayoutRequest): Layout {
  const { table } = r;
  const isoSectors = Math.ceil(r.isoBytes / SECTOR);
  const beyond = table.partitions.find((p) => p.start + p.size > isoSectors);
  if (beyond)
    throw new UsageError(
      `the ISO's partition ${beyond.node} ends at sector ${beyond.start + beyond.size}, beyond the ISO's own ${isoSectors} sectors`,
      "vmlive adds the persistence partition after the ISO's end; rebuild the ISO with vmlive",
    );
  if (table.label === "dos" && table.partitions.length >= 4)
    throw new UsageError(
      "the ISO's MBR has no free entry (4 of 4 used) for a persistence partition",
      "rebuild the ISO with vmlive",
    );
  const start = alignUp(isoSectors);
  const tail = table.label === "gpt" ? GPT_BACKUP_SECTORS : 0;
  let targetBytes: number;
  let size: number;
  if (r.targetBytes === undefined) {
    size = alignUp(Math.ceil((r.persistenceBytes ?? DEFAULT_FILE_PERSISTENCE) / SECTOR));
    // A whole MiB after it holds the backup GPT and keeps the file's size a multiple of 1 MiB.
    targetBytes = bytes(start + size + (tail ? ALIGN : 0));
  } else {
    targetBytes = r.targetBytes;
    const end = alignDown(Math.floor(r.targetBytes / SECTOR) - tail);
    size = r.persistenceBytes === undefined ? end - start : alignUp(Math.ceil(r.persistenceBytes / SECTOR));
    if (start + size > end) {
      const need = bytes(start + size + tail);
      throw new UsageError(
        `${r.target} is too small: it holds ${show(r.targetBytes)}, the ISO and the persistence partition need ` +
          `${show(need)} (the ISO's ${humanBytes(r.isoBytes)} up to the next MiB, ${humanBytes(bytes(start))}, ` +
          `then ${humanBytes(bytes(size))} of persistence${tail ? " and the backup GPT" : ""})`,
        r.persistenceBytes === undefined
          ? "use a larger stick"
          : "use a larger stick, or a smaller --persistence (or leave it out to take what is left)",
      );
    }
  }
  if (bytes(size) < MIN_PERSISTENCE)
    throw r.persistenceBytes === undefined
      ? new UsageError(
          `${r.target} leaves only ${show(Math.max(bytes(size), 0))} after the ISO for the persistence partition; it needs at least ${humanBytes(MIN_PERSISTENCE)}`,
          "use a larger stick (or a larger --size for a file)",
        )
      : new UsageError(
          `a persistence partition of ${show(bytes(size))} is too small: it needs at least ${humanBytes(MIN_PERSISTENCE)}`,
          `give --persistence ${MIN_PERSISTENCE / MiB}M or more`,
        );
  if (table.label === "dos" && start + size > 2 ** 32)
    throw new UsageError(
      `an MBR partition cannot end beyond 2 TiB; ${r.target} would need it to end at ${show(bytes(start + size))}`,
      "give a --persistence below 2 TiB",
    );
  return { targetBytes, start, size, number: table.partitions.length + 1, label: table.label };
}

/** sfdisk's argv and its input line for adding the persistence partition. */
export function sfdiskAppend(target: string, l: Layout): { argv: string[]; script: string } {
  const type =
    l.label === "gpt" ? `type=${LINUX_GPT_TYPE}, name=${PERSISTENCE_LABEL}` : `type=${LINUX_MBR_TYPE}`;
  return {
    argv: [
      "sfdisk",
      "--append",
      // Never wipe the disk: the ISO 9660 signature at its start is the live medium itself.
      // Do wipe old signatures (an earlier stick's filesystem) where the new partition goes.
      "--wipe",
      "never",
      "--wipe-partitions",
      "always",
      // The kernel learns the new table once, after the filesystem is there (see finishDevice).
      "--no-reread",
      "--no-tell-kernel",
      "--",
      target,
    ],
    script: `start=${l.start}, size=${l.size}, ${type}\n`,
  };
}

/** Byte offset of the persistence partition in the target. */
export const partitionOffset = (l: Layout) => bytes(l.start);
export const partitionBytes = (l: Layout) => bytes(l.size);
