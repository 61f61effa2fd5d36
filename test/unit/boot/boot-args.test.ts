import { describe, expect, it } from "vitest";
import { bootArgv, type BootSpec } from "../../../src/boot/args.js";
import { uefiFirmware } from "../../../src/boot/firmware.js";
import { wayName, type BootArch, type BootWay } from "../../../src/boot/ways.js";
import { parseWays } from "../../../src/cli/commands/boot.js";
import { UsageError } from "../../../src/errors.js";

const base: BootSpec = {
  arch: "amd64",
  accel: "tcg",
  way: { media: "cd", firmware: "bios" },
  iso: "/o/x.iso",
  memoryMiB: 2048,
  serialSocket: "/t/serial.sock",
  serialLog: "/l/serial.log",
  monitorSocket: "/t/mon.sock",
};
const after = (argv: string[], opt: string) => argv.flatMap((a, i) => (a === opt ? [argv[i + 1]!] : []));
const uefi = (arch: BootArch, way: BootWay, secureBoot = false): string[] =>
  bootArgv({ ...base, arch, way, firmware: uefiFirmware(arch, secureBoot), varsFile: "/t/vars.fd" });
const pflash = (argv: string[]) => after(argv, "-drive").filter((d) => d.startsWith("if=pflash"));

describe("bootArgv", () => {
  it("boots a CD on SeaBIOS from the IDE CD drive, the serial console on a logged socket", () => {
    const argv = bootArgv(base);
    expect(argv[0]).toBe("qemu-system-x86_64");
    expect(after(argv, "-machine")).toEqual(["pc"]);
    expect(after(argv, "-drive")).toEqual(["file=/o/x.iso,media=cdrom,if=ide,readonly=on,format=raw"]);
    expect(after(argv, "-chardev")).toEqual([
      "socket,id=s0,path=/t/serial.sock,server=on,wait=off,logfile=/l/serial.log",
    ]);
    expect(after(argv, "-serial")).toEqual(["chardev:s0"]);
    expect(after(argv, "-monitor")).toEqual(["unix:/t/mon.sock,server=on,wait=off"]);
    expect(argv).toContain("-no-reboot");
    expect(pflash(argv)).toEqual([]);
  });

  it("boots a USB stick on OVMF: xHCI usb-storage, firmware code read-only, a private copy of its variables", () => {
    const argv = uefi("amd64", { media: "usb", firmware: "uefi" });
    expect(after(argv, "-machine")).toEqual(["pc"]);
    expect(pflash(argv)).toEqual([
      "if=pflash,format=raw,unit=0,readonly=on,file=/usr/share/OVMF/OVMF_CODE_4M.fd",
      "if=pflash,format=raw,unit=1,file=/t/vars.fd",
    ]);
    expect(after(argv, "-drive")).toContain("if=none,id=usb0,file=/o/x.iso,format=raw,readonly=on");
    expect(after(argv, "-device")).toContain("usb-storage,bus=xhci.0,drive=usb0,bootindex=0");
    expect(argv).not.toContain("-global");
  });

  it("boots with Secure Boot on amd64: OVMF's secboot build on q35 with SMM, Microsoft's keys", () => {
    const argv = uefi("amd64", { media: "cd", firmware: "uefi" }, true);
    expect(after(argv, "-machine")).toEqual(["q35,smm=on"]);
    expect(after(argv, "-global")).toEqual(["driver=cfi.pflash01,property=secure,value=on"]);
    expect(pflash(argv)[0]).toMatch(/file=\/usr\/share\/OVMF\/OVMF_CODE_4M\.secboot\.fd$/);
    expect(uefiFirmware("amd64", true).vars).toBe("/usr/share/OVMF/OVMF_VARS_4M.ms.fd");
  });

  it("leaves BIOS ways alone when Secure Boot is asked for: it is a UEFI matter", () => {
    expect(bootArgv({ ...base, way: { media: "usb", firmware: "bios" } })).not.toContain("-global");
  });

  it("boots i386 UEFI on q35 with SMM, which ovmf-ia32's only build requires", () => {
    const argv = uefi("i386", { media: "cd", firmware: "uefi" });
    expect(argv[0]).toBe("qemu-system-i386");
    expect(after(argv, "-machine")).toEqual(["q35,smm=on"]);
    expect(pflash(argv)[0]).toMatch(/OVMF32_CODE_4M\.secboot\.fd$/);
    expect(uefiFirmware("i386", false).vars).toBe("/usr/share/OVMF/OVMF32_VARS_4M.fd");
    expect(bootArgv({ ...base, arch: "i386" })[0]).toBe("qemu-system-i386");
  });

  it("has no Secure Boot firmware for i386, and says so", () => {
    expect(() => uefiFirmware("i386", true)).toThrow(UsageError);
    expect(() => uefiFirmware("i386", true)).toThrow(/not available for i386/);
  });

  it("boots arm64 from a SCSI CD with AAVMF on the virt machine", () => {
    const argv = uefi("arm64", { media: "cd", firmware: "uefi" });
    expect(argv[0]).toBe("qemu-system-aarch64");
    expect(after(argv, "-machine")).toEqual(["virt"]);
    expect(after(argv, "-cpu")).toEqual(["max,pauth-impdef=on"]);
    expect(after(argv, "-device")).toEqual(["ramfb", "virtio-scsi-pci", "scsi-cd,drive=cd0,bootindex=0"]);
    expect(pflash(argv)[0]).toMatch(/file=\/usr\/share\/AAVMF\/AAVMF_CODE\.fd$/);
    expect(argv).not.toContain("-global");
  });

  it("boots arm64 with Secure Boot from AAVMF's Microsoft-keyed variables, without SMM", () => {
    const argv = uefi("arm64", { media: "usb", firmware: "uefi" }, true);
    expect(after(argv, "-machine")).toEqual(["virt"]);
    expect(pflash(argv)[0]).toMatch(/AAVMF_CODE\.ms\.fd$/);
    expect(uefiFirmware("arm64", true).vars).toBe("/usr/share/AAVMF/AAVMF_VARS.ms.fd");
    expect(after(argv, "-device")).toContain("usb-kbd");
  });

  it("boots armhf from a SCSI CD with 32-bit AAVMF on the virt machine, its screen on ramfb", () => {
    const argv = uefi("armhf", { media: "cd", firmware: "uefi" });
    expect(argv[0]).toBe("qemu-system-arm");
    expect(after(argv, "-machine")).toEqual(["virt"]);
    // pauth-impdef is an AArch64 property: qemu-system-arm refuses it.
    expect(after(argv, "-cpu")).toEqual(["max"]);
    expect(after(argv, "-device")).toEqual(["ramfb", "virtio-scsi-pci", "scsi-cd,drive=cd0,bootindex=0"]);
    expect(pflash(argv)).toEqual([
      "if=pflash,format=raw,unit=0,readonly=on,file=/usr/share/AAVMF/AAVMF32_CODE.fd",
      "if=pflash,format=raw,unit=1,file=/t/vars.fd",
    ]);
    expect(uefiFirmware("armhf", false)).toMatchObject({
      vars: "/usr/share/AAVMF/AAVMF32_VARS.fd",
      pkg: "qemu-efi-arm",
      smm: false,
    });
    expect(argv).not.toContain("-global");
  });

  it("boots armhf as a USB stick on xHCI, with a USB keyboard for GRUB", () => {
    const devices = after(uefi("armhf", { media: "usb", firmware: "uefi" }), "-device");
    expect(devices).toEqual([
      "ramfb",
      "qemu-xhci,id=xhci",
      "usb-storage,bus=xhci.0,drive=usb0,bootindex=0",
      "usb-kbd",
    ]);
  });

  it("has no Secure Boot firmware for armhf, and says so", () => {
    expect(() => uefiFirmware("armhf", true)).toThrow(UsageError);
    expect(() => uefiFirmware("armhf", true)).toThrow(/not available for armhf/);
  });

  it("uses KVM with the host CPU when asked", () => {
    const argv = bootArgv({ ...base, accel: "kvm" });
    expect(after(argv, "-accel")).toEqual(["kvm"]);
    expect(after(argv, "-cpu")).toEqual(["host"]);
  });

  it("needs the firmware and a variable store copy for UEFI", () => {
    expect(() => bootArgv({ ...base, way: { media: "cd", firmware: "uefi" } })).toThrow(/variable store/);
  });

  it("boots a writable disk image as the USB stick, and may let the guest reboot", () => {
    const argv = bootArgv({
      ...base,
      way: { media: "usb", firmware: "bios" },
      disk: "/w/stick.img",
      allowReboot: true,
    });
    expect(after(argv, "-drive")).toEqual(["if=none,id=usb0,file=/w/stick.img,format=raw"]);
    expect(argv).not.toContain("-no-reboot");
    expect(() => bootArgv({ ...base, disk: "/w/stick.img" })).toThrow(/USB stick, not as a CD/);
  });

  it("doubles commas in file names, which qemu reads as option separators", () => {
    const argv = bootArgv({ ...base, iso: "/o/a,b.iso", serialLog: "/l/x,y.log" });
    expect(after(argv, "-drive")[0]).toBe("file=/o/a,,b.iso,media=cdrom,if=ide,readonly=on,format=raw");
    expect(after(argv, "-chardev")[0]).toContain("logfile=/l/x,,y.log");
  });
});

describe("boot ways", () => {
  it("are taken in a fixed order whatever order they are named in", () => {
    expect(parseWays(["usb-uefi,cd-bios"], "amd64")).toEqual([
      { media: "cd", firmware: "bios" },
      { media: "usb", firmware: "uefi" },
    ]);
  });
  it("unknown ones are a usage error listing the known ones", () => {
    expect(() => parseWays(["cd-efi"], "amd64")).toThrow(UsageError);
  });
  it("with BIOS are refused for arm64, naming the ways it has", () => {
    expect(() => parseWays(["cd-bios"], "arm64")).toThrow(/arm64 machines have no BIOS: cd-bios/);
  });
  it("with BIOS are refused for armhf too, whose virt machine has UEFI only", () => {
    expect(() => parseWays(["usb-bios,usb-uefi"], "armhf")).toThrow(
      /armhf machines have no BIOS: usb-bios cannot be booted/,
    );
    expect(parseWays(["usb-uefi,cd-uefi"], "armhf").map(wayName)).toEqual(["cd-uefi", "usb-uefi"]);
  });
});
