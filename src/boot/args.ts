// The qemu command line that boots a finished ISO one way: as a CD or as a
// USB stick, on BIOS (SeaBIOS) or UEFI (OVMF; AAVMF for arm64 and armhf on
// qemu's virt board), with Secure Boot when the firmware asks for it. A pure
// function of its spec, so tests can read it.
import { esc, type Accel } from "../machine/qemu/args.js";
import type { UefiFirmware } from "./firmware.js";
import { QEMU_SYSTEM } from "./firmware.js";
import { isArmBoot, type BootArch, type BootWay } from "./ways.js";

export interface BootSpec {
  arch: BootArch;
  accel: Accel;
  way: BootWay;
  iso: string;
  /**
   * A disk image to boot as the USB stick instead of the ISO, attached
   * writable (a stick with a persistence partition). The ISO is always read-only.
   */
  disk?: string;
  memoryMiB: number;
  /** UEFI ways only: the firmware, and a writable copy of its variable store. */
  firmware?: UefiFirmware;
  varsFile?: string;
  /** The serial console: a unix socket vmlive connects to, and the log qemu keeps of it. */
  serialSocket: string;
  serialLog: string;
  /** HMP monitor socket, for screendump. */
  monitorSocket: string;
  /** Let the guest reboot (a persistence test does); otherwise a reboot ends qemu. */
  allowReboot?: boolean;
}

export function bootArgv(s: BootSpec): string[] {
  const arm = isArmBoot(s.arch);
  const uefi = s.way.firmware === "uefi";
  if (uefi && (!s.firmware || !s.varsFile))
    throw new Error("UEFI boot needs the firmware and a copy of its variable store");
  if (s.disk && s.way.media !== "usb") throw new Error("a writable disk boots as a USB stick, not as a CD");
  const smm = uefi && s.firmware!.smm;

  const argv = [QEMU_SYSTEM[s.arch].binary];
  // armhf needs no highmem=off: its RAM (2 GiB from 1 GiB on) ends below 4 GiB, and with firmware
  // on a 32-bit CPU qemu keeps the PCIe ECAM and windows low itself (the armmp kernel sees them).
  argv.push("-machine", arm ? "virt" : smm ? "q35,smm=on" : "pc", "-m", String(s.memoryMiB), "-smp", "2");
  argv.push(
    ...(s.accel === "kvm"
      ? ["-accel", "kvm", "-cpu", "host"]
      : // pauth-impdef: the same pointer authentication, much cheaper to emulate (AArch64 only).
        ["-accel", "tcg,thread=multi", "-cpu", s.arch === "arm64" ? "max,pauth-impdef=on" : "max"]),
  );
  // A display device so screendump has something to grab; nothing is shown (-display none).
  argv.push("-display", "none", arm ? "-device" : "-vga", arm ? "ramfb" : "std", "-nic", "none");
  if (!s.allowReboot) argv.push("-no-reboot");
  // A socket vmlive types into; qemu logs everything the guest prints, connected or not.
  argv.push(
    "-chardev",
    `socket,id=s0,path=${esc(s.serialSocket)},server=on,wait=off,logfile=${esc(s.serialLog)}`,
    "-serial",
    "chardev:s0",
    "-monitor",
    `unix:${esc(s.monitorSocket)},server=on,wait=off`,
  );
  if (uefi) {
    // Only SMM code may write the flash holding the variables Secure Boot relies on.
    if (smm) argv.push("-global", "driver=cfi.pflash01,property=secure,value=on");
    argv.push(
      "-drive",
      `if=pflash,format=raw,unit=0,readonly=on,file=${esc(s.firmware!.code)}`,
      "-drive",
      `if=pflash,format=raw,unit=1,file=${esc(s.varsFile!)}`,
    );
  }
  if (s.way.media === "cd") {
    argv.push(
      ...(arm
        ? [
            "-device",
            "virtio-scsi-pci",
            "-device",
            "scsi-cd,drive=cd0,bootindex=0",
            "-drive",
            `if=none,id=cd0,media=cdrom,readonly=on,format=raw,file=${esc(s.iso)}`,
          ]
        : // if=ide is the IDE controller on pc and the AHCI one on q35.
          ["-drive", `file=${esc(s.iso)},media=cdrom,if=ide,readonly=on,format=raw`, "-boot", "d"]),
    );
  } else {
    // The realistic USB stick: xHCI with usb-storage holding the hybrid image as a whole disk.
    const stick = s.disk
      ? `if=none,id=usb0,file=${esc(s.disk)},format=raw`
      : `if=none,id=usb0,file=${esc(s.iso)},format=raw,readonly=on`;
    argv.push(
      "-device",
      "qemu-xhci,id=xhci",
      "-drive",
      stick,
      "-device",
      "usb-storage,bus=xhci.0,drive=usb0,bootindex=0",
    );
    if (arm) argv.push("-device", "usb-kbd");
  }
  return argv;
}
