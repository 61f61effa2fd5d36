// What lies at a byte offset of an ISO: one of its files (by the LBAs
// xorriso reports), an appended partition (the EFI system partition), or
// the ISO's own structures (system area, volume descriptors, directories).
import { run } from "../process/run.js";

/** ISO 9660 blocks are 2048 bytes: xorriso's LBAs count those. */
export const ISO_BLOCK = 2048;
/** The first 16 blocks: MBR, GPT and GRUB's boot code of a hybrid ISO. */
export const SYSTEM_AREA_BYTES = 16 * ISO_BLOCK;

export interface IsoExtent {
  /** "/live/filesystem.squashfs", or "appended partition 2". */
  name: string;
  /** Byte offset of its start in the ISO file. */
  start: number;
  bytes: number;
}

/** `xorriso -indev ISO -find / -exec report_lba` output: one extent per file data line. */
export function parseReportLba(text: string): IsoExtent[] {
  const out: IsoExtent[] = [];
  for (const line of text.split("\n")) {
    // File data lba:  0 ,       54 ,        2 ,     4096 , '/live/filesystem.squashfs'
    const m = /^File data lba:\s*\d+\s*,\s*(\d+)\s*,\s*(\d+)\s*,\s*(\d+)\s*,\s*'(.*)'$/.exec(line);
    if (m)
      out.push({ name: m[4]!.replace(/'\\''/g, "'"), start: Number(m[1]) * ISO_BLOCK, bytes: Number(m[3]) });
  }
  return out;
}

/** GPT partitions of `xorriso -report_system_area plain` ("GPT start and size :   2  1234  5678", 512-byte blocks). */
export function parseGptPartitions(text: string): IsoExtent[] {
  const out: IsoExtent[] = [];
  for (const line of text.split("\n")) {
    const m = /^GPT start and size :\s+(\d+)\s+(\d+)\s+(\d+)/.exec(line);
    if (m) out.push({ name: `GPT partition ${m[1]}`, start: Number(m[2]) * 512, bytes: Number(m[3]) * 512 });
  }
  return out;
}

/**
 * What holds byte `offset`: a file (the smallest extent that holds it, since
 * a GPT partition may span the whole ISO 9660 volume), else what part of the
 * ISO's structure it is in.
 */
export function whatHolds(
  offset: number,
  files: readonly IsoExtent[],
  partitions: readonly IsoExtent[],
): string {
  const inside = (e: IsoExtent) => offset >= e.start && offset < e.start + Math.max(e.bytes, 1);
  const file = files.find(inside);
  if (file) return `file ${file.name} (byte ${offset - file.start} of it)`;
  if (offset < SYSTEM_AREA_BYTES)
    return "the system area (the first 32 KiB: MBR, GPT and GRUB's hybrid boot code)";
  const part = [...partitions].sort((a, b) => a.bytes - b.bytes).find(inside);
  const where = part ? `, in ${part.name}` : "";
  return `no file: the ISO's own structures (volume descriptors, directories, El Torito catalog, padding)${where}`;
}

/** whatHolds for a real ISO, asking xorriso for its files' and partitions' places. */
export async function whatHoldsInIso(iso: string, offset: number, signal?: AbortSignal): Promise<string> {
  const xorriso = (args: string[]) =>
    run(["xorriso", "-report_about", "NOTE", "-indev", iso, ...args], { signal });
  const files = parseReportLba((await xorriso(["-find", "/", "-exec", "report_lba"])).stdout);
  const parts = parseGptPartitions((await xorriso(["-report_system_area", "plain"])).stdout);
  return whatHolds(offset, files, parts);
}
