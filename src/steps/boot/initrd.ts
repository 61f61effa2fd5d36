// The initrd of a 32-bit image whose programs the build machine runs through
// qemu-user (armhf on amd64 or arm64), made again with the kernel's modules on
// a tmpfs. ext4 hands a 64-bit process, which qemu-user is, 64-bit directory
// offsets that the 32-bit glibc of the image cannot take: a directory read
// through its fts comes back empty (QEMU issue 263). dracut-install reads the
// module folders initramfs-tools names (=drivers/scsi, =drivers/usb/storage,
// =drivers/mmc, ...) that way, so the initrd made during customize lacks
// virtio_scsi, usb-storage and the SD card drivers, and live-boot finds no
// medium. tmpfs gives small offsets. The tmpfs is mounted in a private mount
// namespace, so it goes with the command however it ends, and the image's
// own files are never changed.
import { builderArchFor } from "../../machine/qemu/definition.js";
import { chrootArgv, inPrivateMounts } from "../../machine/chroot.js";
import type { Arch } from "../../config/schema/system.js";
import { binfmtHandlerFor, qemuUserEnv } from "../../host/binfmt.js";
import type { BuildContext } from "../../pipeline/context.js";
import { LONG } from "../customize/exec.js";
import { run } from "./machine-files.js";

/** Debian architectures with 32-bit programs (and so a 32-bit glibc). */
const ARCHES_32BIT: readonly Arch[] = ["i386", "armhf"];

/** process.arch of each builder VM, the names binfmtHandlerFor takes. */
const BUILDER_PROCESS_ARCH = { amd64: "x64", arm64: "arm64" } as const;

/**
 * Whether the image's initrd must be made again: its programs are 32-bit and
 * run through qemu-user on `machineArch` (a process.arch name: x64, arm64).
 */
export function initrdNeedsTmpfsModules(arch: Arch, machineArch: string): boolean {
  return ARCHES_32BIT.includes(arch) && binfmtHandlerFor(arch, machineArch) !== undefined;
}

/** process.arch of the machine the build runs on: this host, or the builder VM. */
export function machineProcessArch(ctx: BuildContext): string {
  return ctx.machine.site === "host" ? process.arch : BUILDER_PROCESS_ARCH[builderArchFor(ctx.image.config)];
}

// $1 the rootfs, $2 the kernel version; the rest is the command. The modules
// folder (in /usr/lib with merged /usr, else in /lib) is copied onto a tmpfs
// that is then bound over it.
const MODULES_ON_TMPFS = [
  "set -e",
  'm="$1/usr/lib/modules/$2"; [ -d "$m" ] || m="$1/lib/modules/$2"; shift 2',
  "t=$(mktemp -d)",
  'trap \'umount "$t" 2>/dev/null; rmdir "$t"\' EXIT',
  'mount -t tmpfs -o mode=0755 vmlive-modules "$t"',
  'cp -a "$m/." "$t/"',
  'mount --bind "$t" "$m"',
  "trap - EXIT",
  'umount "$t"',
  'rmdir "$t"',
  'exec "$@"',
].join("; ");

/** argv that runs `argv` (on the machine) with the modules folder of kernel `kver` in `rootfs` on a tmpfs. */
export function withModulesOnTmpfs(rootfs: string, kver: string, argv: readonly string[]): string[] {
  return inPrivateMounts(MODULES_ON_TMPFS, "vmlive-modules-tmpfs", [rootfs, kver, ...argv]);
}

/**
 * argv that runs `update-initramfs -u` in the image for kernel `kver`, its modules on a tmpfs;
 * with SOURCE_DATE_EPOCH, as every chroot command of customize, so the initrd is reproducible.
 */
export function remakeInitrdArgv(
  rootfs: string,
  arch: Arch,
  kver: string,
  sourceDateEpoch: number,
): string[] {
  const env = { ...qemuUserEnv(arch), SOURCE_DATE_EPOCH: String(sourceDateEpoch) };
  return withModulesOnTmpfs(rootfs, kver, chrootArgv(rootfs, ["update-initramfs", "-u", "-k", kver], env));
}

/**
 * Make the initrd of kernel `kver` again when the image needs it (see the top
 * of this file); says so in the log, since it takes minutes under qemu-user.
 */
export async function remakeInitrdIfNeeded(ctx: BuildContext, kver: string): Promise<boolean> {
  const { arch } = ctx.image.config;
  if (!initrdNeedsTmpfsModules(arch, machineProcessArch(ctx))) return false;
  ctx.log.say(
    `making the initrd again with the kernel modules on a tmpfs: ${arch}'s dracut-install, run by ` +
      "qemu-user here, finds no modules in folders on ext4, so the first initrd lacks the storage drivers",
  );
  await run(ctx, remakeInitrdArgv(ctx.work.rootfs, arch, kver, ctx.sourceDateEpoch), LONG);
  return true;
}
