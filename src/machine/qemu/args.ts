// The qemu command line of a builder VM, as a pure function of its spec so
// that tests can read it. Direct kernel boot, virtio disks, user-mode
// networking with SSH forwarded from 127.0.0.1 only, keys through fw_cfg.

import { serialOf } from "./rootfs-layers.js";

export type Accel = "kvm" | "tcg";

export interface VmSpec {
  arch: "amd64" | "arm64";
  accel: Accel;
  cpus: number;
  memoryMiB: number;
  kernel: string;
  initrd: string;
  /** Root overlay (qcow2) and work disk (raw), in that order: /dev/vda and /dev/vdb in the guest. */
  rootDisk: string;
  workDisk: string;
  /** The root filesystem's disks (rootfs-layers.ts), after those two, each with serial vmlive-ID. */
  rootfsDisks: readonly { id: string; file: string; format: "qcow2" | "raw" }[];
  /** qemu's monitor (QMP) on this unix socket. */
  qmpSocket: string;
  sshPort: number;
  /** Files handed to the guest as /sys/firmware/qemu_fw_cfg/by_name/opt/vmlive/NAME/raw. */
  fwCfg: Readonly<Record<string, string>>;
  serialLog: string;
  pidFile: string;
}

/**
 * The CPU qemu emulates for arm64 code, system or user mode: its newest (max),
 * but with qemu's own pointer-authentication algorithm instead of the
 * architected QARMA, which costs a lot of host time: Debian builds arm64 code
 * with branch protection, so every function call signs and checks pointers
 * (a perl loop under qemu-user measured 9x faster with it).
 */
export const ARM64_EMULATED_CPU = "max,pauth-impdef=on";

/** qemu option values separate fields with commas; a comma in a path is written twice. */
export const esc = (p: string) => p.replaceAll(",", ",,");

export function qemuArgv(s: VmSpec): string[] {
  const binary = s.arch === "amd64" ? "qemu-system-x86_64" : "qemu-system-aarch64";
  const console = s.arch === "amd64" ? "ttyS0" : "ttyAMA0";
  const accel =
    s.accel === "kvm"
      ? ["-accel", "kvm", "-cpu", "host"]
      : ["-accel", "tcg,thread=multi", "-cpu", s.arch === "amd64" ? "max" : ARM64_EMULATED_CPU];
  const machine = s.arch === "arm64" ? ["-machine", "virt"] : [];
  return [
    binary,
    "-nodefaults",
    "-no-user-config",
    "-display",
    "none",
    ...machine,
    ...accel,
    "-smp",
    String(s.cpus),
    "-m",
    String(s.memoryMiB),
    "-kernel",
    s.kernel,
    "-initrd",
    s.initrd,
    "-append",
    `console=${console} root=/dev/vda rw quiet net.ifnames=0 mitigations=off`,
    // Every disk is a -device, in this order, so PCI slots and the guest's names follow it: the
    // root overlay is vda, the work disk vdb (an if=virtio drive would be placed after them all).
    // cache=unsafe: the root overlay is thrown away; the work disk is synced by the guest's poweroff.
    ...disk("root", s.rootDisk, "qcow2", "unsafe"),
    ...disk("work", s.workDisk, "raw", "writeback"),
    // The root filesystem's disks are kept between runs like the work disk.
    ...s.rootfsDisks.flatMap((d) => disk(d.id, d.file, d.format, "writeback", serialOf(d.id))),
    "-netdev",
    `user,id=n0,hostfwd=tcp:127.0.0.1:${s.sshPort}-:22`,
    "-device",
    "virtio-net-pci,netdev=n0",
    ...Object.entries(s.fwCfg).flatMap(([name, file]) => [
      "-fw_cfg",
      `name=opt/vmlive/${name},file=${esc(file)}`,
    ]),
    "-serial",
    `file:${s.serialLog}`,
    "-qmp",
    `unix:${esc(s.qmpSocket)},server=on,wait=off`,
    "-pidfile",
    s.pidFile,
    "-no-reboot",
  ];
}

/** A virtio disk ("virtio-blk" is PCI on both machines), its serial number shown in /sys/block/vdX/serial. */
function disk(id: string, file: string, format: string, cache: string, serial?: string): string[] {
  return [
    "-drive",
    `file=${esc(file)},if=none,id=${id},format=${format},cache=${cache},discard=unmap`,
    "-device",
    `virtio-blk,drive=${id}${serial ? `,serial=${serial}` : ""}`,
  ];
}
