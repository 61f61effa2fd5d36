// The builder VM's disks are ext4 file systems made on the host by mke2fs,
// owned by root and found by their label in the guest (vm/builder-customize.sh).
import { run } from "../../process/run.js";

export interface Ext4Options {
  /** Fill the file system with this folder's contents (mke2fs -d keeps owners, modes and xattrs). */
  from?: string;
  /** The size when `target` does not have one yet, e.g. "1200M". */
  size?: string;
  /** Reserve no blocks for root: everything on it is written by root anyway. */
  noReserve?: boolean;
  /**
   * `target` is a new sparse file, so its journal reads as zeroes already: not writing it keeps a
   * 40 GiB disk at a few MiB on the host instead of its 256 MiB journal.
   */
  sparse?: boolean;
}

export function mkext4Argv(target: string, label: string, o: Ext4Options = {}): string[] {
  return [
    "mke2fs",
    "-q",
    "-t",
    "ext4",
    "-L",
    label,
    "-E",
    o.sparse ? "root_owner=0:0,lazy_journal_init=1" : "root_owner=0:0",
    ...(o.noReserve ? ["-m", "0"] : []),
    ...(o.from !== undefined ? ["-d", o.from] : []),
    target,
    ...(o.size !== undefined ? [o.size] : []),
  ];
}

/** A new sparse file of `bytes` holding an ext4 file system: empty, or with `from`'s contents. */
export async function makeSparseExt4(
  file: string,
  bytes: number,
  label: string,
  from?: string,
): Promise<void> {
  await run(["truncate", "-s", String(bytes), file]);
  await run(mkext4Argv(file, label, { from, noReserve: true, sparse: true }));
}
