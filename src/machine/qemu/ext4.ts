// The builder VM's disks are ext4 file systems made on the host by mke2fs,
// owned by root and found by their label in the guest (vm/builder-customize.sh).

export interface Ext4Options {
  /** Fill the file system with this folder's contents (mke2fs -d keeps owners, modes and xattrs). */
  from?: string;
  /** The size when `target` does not have one yet, e.g. "1200M". */
  size?: string;
  /** Reserve no blocks for root: everything on it is written by root anyway. */
  noReserve?: boolean;
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
    "root_owner=0:0",
    ...(o.noReserve ? ["-m", "0"] : []),
    ...(o.from !== undefined ? ["-d", o.from] : []),
    target,
    ...(o.size !== undefined ? [o.size] : []),
  ];
}
