// The qemu command line that boots a finished ISO one way: as a CD or as a
// USB stick, on BIOS (SeaBIOS) or UEFI (OVMF, AAVMF for arm64). A pure
// function of its spec, so tests can read it.
import { esc, type Accel } from "../machine/qemu/args.js";

export const MEDIA = ["cd", "usb"] as const;
export const FIRMWARES = ["bios", "uefi"] as const;
export type Media = (typeof MEDIA)[number];
export type Firmware = (typeof FIRMWARES)[number];

export interface BootWay {
  media: Media;
  firmware: Firmware;
}

export const wayName = (w: BootWay) => `${w.media}-${w.firmware}`;

/** UEFI firmware files as Debian's ovmf and qemu-efi-aarch64 install them. */
export const FIRMWARE_FILES = {
  amd64: { code: "/usr/share/OVMF/OVMF_CODE_4M.fd", vars: "/usr/share/OVMF/OVMF_VARS_4M.fd" },
  arm64: { code: "/usr/share/AAVMF/AAVMF_CODE.fd", vars: "/usr/share/AAVMF/AAVMF_VARS.fd" },
} as const;

export interface BootSpec {
  arch: "amd64" | "i386" | "arm64";
  accel: Accel;
  way: BootWay;
  iso: string;
  memoryMiB: number;
  /** A writable copy of the firmware's variable store (UEFI only). */
  varsFile?: string;
  serialLog: string;
  /** HMP monitor socket, for screendump. */
  monitorSocket: string;
}

export function bootArgv(s: BootSpec): string[] {
  const arm = s.arch === "arm64";
  const argv = [arm ? "qemu-system-aarch64" : s.arch === "i386" ? "qemu-system-i386" : "qemu-system-x86_64"];
  argv.push("-machine", arm ? "virt" : "pc", "-m", String(s.memoryMiB), "-smp", "2");
  argv.push(
    ...(s.accel === "kvm"
      ? ["-accel", "kvm", "-cpu", "host"]
      : ["-accel", "tcg,thread=multi", "-cpu", "max"]),
  );
  // A display device so screendump has something to grab; nothing is shown (-display none).
  argv.push(
    "-display",
    "none",
    arm ? "-device" : "-vga",
    arm ? "ramfb" : "std",
    "-nic",
    "none",
    "-no-reboot",
  );
  argv.push("-serial", `file:${s.serialLog}`, "-monitor", `unix:${s.monitorSocket},server=on,wait=off`);
  if (s.way.firmware === "uefi") {
    const fw = FIRMWARE_FILES[arm ? "arm64" : "amd64"];
    if (!s.varsFile) throw new Error("UEFI boot needs a copy of the firmware's variable store");
    argv.push(
      "-drive",
      `if=pflash,format=raw,unit=0,readonly=on,file=${fw.code}`,
      "-drive",
      `if=pflash,format=raw,unit=1,file=${esc(s.varsFile)}`,
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
        : ["-drive", `file=${esc(s.iso)},media=cdrom,if=ide,readonly=on,format=raw`, "-boot", "d"]),
    );
  } else {
    // The realistic USB stick: xHCI with usb-storage holding the hybrid image as a whole disk.
    argv.push(
      "-device",
      "qemu-xhci,id=xhci",
      "-drive",
      `if=none,id=usb0,file=${esc(s.iso)},format=raw,readonly=on`,
      "-device",
      "usb-storage,bus=xhci.0,drive=usb0,bootindex=0",
    );
    if (arm) argv.push("-device", "usb-kbd");
  }
  return argv;
}
