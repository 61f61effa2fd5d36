// The rules that decide whether `vmlive usb` may overwrite a device, over
// lsblk --json output. vm-root-disk.json and loop-device.json were captured
// from lsblk 2.38 on a build host; the others are in the same shape, for
// hardware a build host does not have (a USB stick, a laptop's NVMe disk with
// LUKS and LVM, an external SSD, a card reader, a DVD drive).
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { clearDevice } from "../../../src/usb/target.js";
import { describeDisk, lsblkArgv, parseLsblk, refusals, type BlockDevice } from "../../../src/usb/lsblk.js";
import { UsageError } from "../../../src/errors.js";

const fixture = (name: string): BlockDevice =>
  parseLsblk(readFileSync(path.join(import.meta.dirname, "fixtures", `${name}.json`), "utf8"));

const reasons = (name: string) => refusals(fixture(name)).map((r) => r.reason);

describe("lsblk: reading its JSON", () => {
  it("asks for the columns the rules need, in bytes, with the device after --", () => {
    expect(lsblkArgv("/dev/sdb")).toEqual([
      "lsblk",
      "--json",
      "--bytes",
      "-o",
      "NAME,PATH,SIZE,RM,HOTPLUG,TRAN,MODEL,MOUNTPOINTS,TYPE,PKNAME,FSTYPE,LABEL",
      "--",
      "/dev/sdb",
    ]);
  });

  it("turns a stick and its partition into devices, [null] mountpoints into none", () => {
    const d = fixture("usb-stick");
    expect(d).toMatchObject({
      path: "/dev/sdb",
      size: 15376318464,
      removable: true,
      hotplug: true,
      transport: "usb",
      model: "Ultra Fit",
      mountpoints: [],
      type: "disk",
    });
    expect(d.children.map((c) => [c.path, c.type, c.fstype, c.label, c.parent])).toEqual([
      ["/dev/sdb1", "part", "vfat", "SANDISK", "sdb"],
    ]);
  });

  it("says plainly when lsblk printed no device", () => {
    expect(() => parseLsblk('{"blockdevices": []}')).toThrow(/no block device/);
  });
});

describe("lsblk: what may be overwritten", () => {
  it("an unmounted USB stick may", () => {
    expect(refusals(fixture("usb-stick"))).toEqual([]);
  });

  it("an external USB SSD may: hot-pluggable over usb, even though RM is 0", () => {
    expect(refusals(fixture("usb-ssd"))).toEqual([]);
  });

  it("a stick with a mounted partition may not, and the hint says what to unmount", () => {
    const [r, ...more] = refusals(fixture("usb-stick-mounted"));
    expect(more).toEqual([]);
    expect(r).toEqual({
      reason: "/dev/sdb is in use: /dev/sdb1 is mounted on /media/alice/SANDISK",
      hint: "unmount it first: umount /dev/sdb1",
      forceable: false,
    });
  });

  it("a partition may not: the whole disk is named in the hint", () => {
    const [r, ...more] = refusals(fixture("usb-stick-partition"));
    expect(more).toEqual([]);
    expect(r?.reason).toBe("/dev/sdb1 is a partition of /dev/sdb, not a whole disk");
    expect(r?.hint).toContain("/dev/sdb:");
  });

  it("the laptop's own disk may not: /, /boot, /boot/efi and swap are found through LUKS and LVM", () => {
    const rs = refusals(fixture("laptop-nvme"));
    expect(rs[0]?.reason).toBe(
      "/dev/nvme0n1 holds the running system (/dev/nvme0n1p1 on /boot/efi; /dev/nvme0n1p2 on /boot; " +
        "/dev/mapper/vg-root on /; /dev/mapper/vg-swap on [SWAP])",
    );
    expect(rs[0]?.forceable).toBe(false);
    // It is fixed too; that alone could be forced, the system disk never.
    expect(rs.map((r) => r.forceable)).toEqual([false, true]);
  });

  it("the disk this host runs from may not (the whole disk mounted on /, no partitions)", () => {
    expect(reasons("vm-root-disk")).toEqual([
      "/dev/vda holds the running system (/dev/vda on /)",
      "/dev/vda is not a removable disk (not removable, not hot-pluggable, transport none)",
    ]);
  });

  it("an internal SATA disk or a loop device only with --force", () => {
    for (const name of ["sata-data-disk", "loop-device"]) {
      const rs = refusals(fixture(name));
      expect(
        rs.map((r) => r.forceable),
        name,
      ).toEqual([true]);
      expect(rs[0]?.hint).toContain("--force");
    }
    expect(reasons("sata-data-disk")).toEqual([
      "/dev/sda is not a removable disk (not removable, not hot-pluggable, transport sata)",
    ]);
  });

  it("a card reader without a card, and a DVD drive, may not", () => {
    expect(reasons("card-reader-empty")).toEqual(["/dev/sdd has no medium (size 0)"]);
    expect(reasons("dvd-drive")).toEqual(["/dev/sr0 is a rom device, not a disk"]);
  });
});

describe("clearDevice: refusals, --force, the disk shown and --yes", () => {
  const said = () => {
    const lines: string[] = [];
    return { lines, say: (l: string) => lines.push(l) };
  };

  it("shows the stick and its partitions, then refuses without --yes", () => {
    const s = said();
    expect(() => clearDevice(fixture("usb-stick"), { yes: false, force: false }, s.say)).toThrow(
      "not writing to /dev/sdb without --yes",
    );
    expect(s.lines).toEqual([
      "this disk and everything on it will be overwritten:",
      "  /dev/sdb: Ultra Fit, 14.3 GiB (15376318464 bytes), usb, removable",
      '    /dev/sdb1: part vfat "SANDISK" 14.3 GiB',
    ]);
  });

  it("goes ahead with --yes", () => {
    expect(() => clearDevice(fixture("usb-stick"), { yes: true, force: false }, () => {})).not.toThrow();
  });

  it("an internal disk needs --force as well as --yes", () => {
    expect(() => clearDevice(fixture("sata-data-disk"), { yes: true, force: false }, () => {})).toThrow(
      /not a removable disk/,
    );
    expect(() => clearDevice(fixture("sata-data-disk"), { yes: true, force: true }, () => {})).not.toThrow();
  });

  it("--force does not make the running system's disk or a mounted stick writable", () => {
    for (const name of ["laptop-nvme", "usb-stick-mounted", "usb-stick-partition"]) {
      const s = said();
      expect(() => clearDevice(fixture(name), { yes: true, force: true }, s.say), name).toThrow(UsageError);
      expect(s.lines, `${name} must not be offered for overwriting`).toEqual([]);
    }
  });

  it("every refusal is in one error, each hint with it", () => {
    const err = (() => {
      try {
        clearDevice(fixture("laptop-nvme"), { yes: true, force: false }, () => {});
      } catch (e) {
        return e as UsageError;
      }
    })();
    expect(err?.message).toMatch(/running system[\s\S]*not a removable disk/);
    expect(err?.hint).toMatch(
      /never overwrites the disk it runs from: name the USB stick; if you really mean this disk, add --force/,
    );
  });
});

describe("describeDisk", () => {
  it("lists nested devices and says so when there are no partitions", () => {
    expect(describeDisk(fixture("laptop-nvme"))).toContain("  /dev/mapper/vg-root: lvm ext4 459.5 GiB");
    expect(describeDisk(fixture("loop-device"))).toEqual([
      "/dev/loop7: no model name, 64.0 MiB (67108864 bytes), no transport, fixed",
      "  no partitions on it",
    ]);
  });
});
