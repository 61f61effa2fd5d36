// Work that needs a guest file system to hold still: frozen, ext4 has its
// journal written back and takes no writes, so qemu may switch its disk's
// layers or the host may read the disk image directly.
import type { ExecOptions, ExecResult } from "../machine.js";

type Exec = (argv: readonly string[], opts?: ExecOptions) => Promise<ExecResult>;

/**
 * Run `work` with the file system mounted at `mountPoint` in the guest frozen, and thaw it however
 * `work` ends. The freeze itself takes no signal: a freeze that happened is always thawed.
 */
export async function whileFrozen<T>(exec: Exec, mountPoint: string, work: () => Promise<T>): Promise<T> {
  await exec(["sh", "-c", 'sync -f "$1" && fsfreeze -f "$1"', "vmlive-freeze", mountPoint]);
  try {
    return await work();
  } finally {
    await exec(["fsfreeze", "-u", mountPoint]);
  }
}
