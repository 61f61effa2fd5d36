import { writeFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { bootArgv, type BootSpec } from "../../../src/boot/args.js";
import { checkIsoFile } from "../../../src/boot/boot-test.js";
import { parseWays } from "../../../src/cli/commands/boot.js";
import { UsageError, VerificationError } from "../../../src/errors.js";
import { tempDir } from "../../support/tmp.js";

const base: BootSpec = {
  arch: "amd64",
  accel: "tcg",
  way: { media: "cd", firmware: "bios" },
  iso: "/o/x.iso",
  memoryMiB: 2048,
  serialLog: "/l/serial.log",
  monitorSocket: "/t/mon.sock",
};
const after = (argv: string[], opt: string) => argv.flatMap((a, i) => (a === opt ? [argv[i + 1]!] : []));

describe("bootArgv", () => {
  it("boots a CD on SeaBIOS from the IDE CD drive, with the serial console in a file", () => {
    const argv = bootArgv(base);
    expect(after(argv, "-drive")).toEqual(["file=/o/x.iso,media=cdrom,if=ide,readonly=on,format=raw"]);
    expect(after(argv, "-serial")).toEqual(["file:/l/serial.log"]);
    expect(argv).not.toContain("if=pflash");
  });

  it("boots a USB stick on OVMF: xHCI usb-storage, firmware code read-only, a private copy of its variables", () => {
    const argv = bootArgv({ ...base, way: { media: "usb", firmware: "uefi" }, varsFile: "/t/vars.fd" });
    const drives = after(argv, "-drive");
    expect(drives[0]).toMatch(
      /^if=pflash,format=raw,unit=0,readonly=on,file=\/usr\/share\/OVMF\/OVMF_CODE_4M.fd$/,
    );
    expect(drives[1]).toBe("if=pflash,format=raw,unit=1,file=/t/vars.fd");
    expect(drives[2]).toBe("if=none,id=usb0,file=/o/x.iso,format=raw,readonly=on");
    expect(after(argv, "-device")).toContain("usb-storage,bus=xhci.0,drive=usb0,bootindex=0");
  });

  it("needs a variable store copy for UEFI", () => {
    expect(() => bootArgv({ ...base, way: { media: "cd", firmware: "uefi" } })).toThrow(/variable store/);
  });
});

describe("boot ways", () => {
  it("are taken in a fixed order whatever order they are named in", () => {
    expect(parseWays(["usb-uefi,cd-bios"])).toEqual([
      { media: "cd", firmware: "bios" },
      { media: "usb", firmware: "uefi" },
    ]);
  });
  it("unknown ones are a usage error listing the known ones", () => {
    expect(() => parseWays(["cd-efi"])).toThrow(UsageError);
  });
});

describe("checkIsoFile", () => {
  it("refuses a file that is not ISO 9660, and a truncated one", async () => {
    const d = tempDir("vmlive-iso-check-");
    const junk = path.join(d, "junk.iso");
    writeFileSync(junk, Buffer.alloc(64 * 1024));
    await expect(checkIsoFile(junk)).rejects.toThrow(VerificationError);
    const cut = path.join(d, "cut.iso");
    const iso = Buffer.alloc(40_000);
    iso.write("CD001", 32769, "latin1");
    writeFileSync(cut, iso);
    await expect(checkIsoFile(cut)).rejects.toThrow(/truncated/);
    await expect(checkIsoFile(path.join(d, "missing.iso"))).rejects.toThrow(/no such file/);
  });
});
