// `vmlive usb` for real: small hybrid ISOs made with the iso step's own
// xorriso argv (a stand-in El Torito image and a FAT ESP, so the layout is a
// vmlive ISO's but nothing boots), written to image files and, as root, to a
// loop device, then read with sfdisk, xorriso, blkid, debugfs and e2fsck.
// VMLIVE_TEST_ISO=/path/to/a/built.iso also writes that ISO to a file.
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { xorrisoArgv, type XorrisoPlan } from "../../src/steps/iso/xorriso.js";
import { vmlive } from "../support/cli.js";
import { tempDir } from "../support/tmp.js";

const GRUB_MBR = "/usr/lib/grub/i386-pc/boot_hybrid.img";
const have = (tool: string) => {
  try {
    execFileSync("sh", ["-c", `command -v ${tool}`], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
};
const toolsThere =
  ["xorriso", "sfdisk", "mke2fs", "debugfs", "blkid", "e2fsck", "mkfs.vfat"].every(have) &&
  existsSync(GRUB_MBR);
const root = process.getuid?.() === 0;
const MiB = 1024 * 1024;

const sh = (argv: string[], input?: string) =>
  execFileSync(argv[0]!, argv.slice(1), { encoding: "utf8", input, maxBuffer: 1 << 26, stdio: "pipe" });
const sha = (file: string) => createHash("sha256").update(readFileSync(file)).digest("hex");

interface Part {
  start: number;
  size: number;
  type: string;
  name?: string;
}
const table = (disk: string) =>
  (JSON.parse(sh(["sfdisk", "--json", disk])) as { partitiontable: { label: string; partitions?: Part[] } })
    .partitiontable;
const bootReport = (disk: string) => {
  const out = sh([
    "xorriso",
    "-indev",
    `stdio:${disk}`,
    "-report_el_torito",
    "plain",
    "-report_system_area",
    "plain",
  ]);
  return {
    platforms: [...out.matchAll(/^El Torito boot img :\s+\d+\s+(\S+)/gm)].map((m) => m[1]),
    systemArea: /^System area summary:\s*(.*)$/m.exec(out)?.[1],
  };
};
const blkid = (disk: string, offset: number) =>
  Object.fromEntries(
    sh(["sh", "-c", 'blkid -p -O "$1" -o export -- "$2" || true', "-", String(offset), disk])
      .split("\n")
      .filter((l) => l.includes("="))
      .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
  );

/** The filesystem of partition `p` copied out of `disk` into its own file. */
function extract(disk: string, p: Part, out: string): string {
  sh(["dd", `if=${disk}`, `of=${out}`, "bs=512", `skip=${p.start}`, `count=${p.size}`, "status=none"]);
  return out;
}

let dir: string;
let both: string; // BIOS and UEFI: protective MBR and GPT
let biosOnly: string; // MBR only
let wholeDiskOnly: string; // the volume on the whole disk only

/**
 * vmlive usb needs the ISO 9660 volume in partition 1 as well (xorriso
 * -partition_offset 16), or live-boot never finds the persistence partition;
 * added here when the iso step's argv does not have it.
 */
function withoutPartitionOffset(argv: string[]): string[] {
  const i = argv.indexOf("-partition_offset");
  return i < 0 ? argv : [...argv.slice(0, i), ...argv.slice(i + 2)];
}

function makeIso(
  name: string,
  plan: Omit<XorrisoPlan, "tree" | "output" | "volumeId" | "sourceDateEpoch">,
  offset: boolean,
) {
  const output = path.join(dir, name);
  const argv = xorrisoArgv({
    tree: path.join(dir, "tree"),
    output,
    volumeId: "USBTEST",
    sourceDateEpoch: 1_700_000_000,
    ...plan,
  });
  // vmlive's ISOs have the offset; one without it stands for an ISO made elsewhere.
  const [file, ...args] = offset ? argv : withoutPartitionOffset(argv);
  execFileSync(file!, args, { stdio: "pipe" });
  return output;
}

beforeAll(() => {
  if (!toolsThere) return;
  dir = tempDir("vmlive-it-usb-");
  const tree = path.join(dir, "tree");
  mkdirSync(path.join(tree, "boot", "grub"), { recursive: true });
  // Large enough for xorriso's GRUB boot-info patch; it is never run.
  writeFileSync(path.join(tree, "boot", "grub", "eltorito.img"), Buffer.alloc(32 * 1024));
  writeFileSync(path.join(tree, "data.bin"), Buffer.alloc(3 * MiB, 0x5a));
  const esp = path.join(dir, "esp.img");
  sh(["mkfs.vfat", "-C", esp, "2880"]);
  const bios = { eltorito: "boot/grub/eltorito.img", mbr: GRUB_MBR };
  both = makeIso("both.iso", { bios, uefi: { efiImage: esp } }, true);
  biosOnly = makeIso("bios.iso", { bios }, true);
  wholeDiskOnly = makeIso("whole-disk-only.iso", { bios, uefi: { efiImage: esp } }, false);
});

/** What a finished image must be: the ISO intact and bootable as before, a persistence partition after it. */
function checkStick(stick: string, iso: string, persistenceBytes: number) {
  const isoBytes = statSync(iso).size;
  const before = table(iso);
  const after = table(stick);
  expect(after.label).toBe(before.label);
  const parts = after.partitions ?? [];
  const isoParts = before.partitions ?? [];
  expect(parts.slice(0, isoParts.length)).toEqual(isoParts.map((p) => ({ ...p, node: expect.any(String) })));
  const p = parts.at(-1)!;
  expect(parts.length).toBe(isoParts.length + 1);
  expect(p.start % 2048).toBe(0);
  expect(p.start * 512).toBeGreaterThanOrEqual(isoBytes);
  expect(p.start * 512 - isoBytes).toBeLessThan(MiB);
  expect(p.size * 512).toBe(persistenceBytes);
  if (after.label === "gpt") {
    expect(p).toMatchObject({ type: "0FC63DAF-8483-4772-8E79-3D69D8477DE4", name: "persistence" });
    // The backup GPT moved to the end of the image; sgdisk-style checks pass.
    sh(["sfdisk", "--verify", stick]);
  } else expect(p.type).toBe("83");

  // Boots as before: the same El Torito entries, GRUB's MBR still recognised, ...
  expect(bootReport(stick)).toEqual(bootReport(iso));
  // ... the boot code and the whole ISO 9660 area byte for byte (the tables lie between).
  const a = readFileSync(iso);
  const b = readFileSync(stick);
  expect(b.subarray(0, 440).equals(a.subarray(0, 440))).toBe(true);
  const backupGpt = after.label === "gpt" ? 33 * 512 : 0;
  expect(
    b.subarray(32 * 1024, isoBytes - backupGpt).equals(a.subarray(32 * 1024, isoBytes - backupGpt)),
  ).toBe(true);
  // live-boot mounts partition 1's volume as the medium, so it looks at the others for persistence.
  expect(blkid(stick, isoParts[0]!.start * 512).TYPE).toBe("iso9660");

  expect(blkid(stick, p.start * 512)).toMatchObject({ TYPE: "ext4", LABEL: "persistence" });
  const fs = extract(stick, p, path.join(dir, "persistence.ext4"));
  expect(sh(["debugfs", "-R", "cat /persistence.conf", fs])).toBe("/ union\n");
  sh(["e2fsck", "-fn", fs]);
  expect(sh(["dumpe2fs", "-h", fs])).toMatch(/^Filesystem volume name:\s+persistence$/m);
}

const leftovers = (d: string, name: string) => readdirSync(d).filter((f) => f.startsWith(name));

describe.runIf(toolsThere)("vmlive usb to an image file", () => {
  it("writes the ISO, verifies it and adds the persistence partition", async () => {
    const stick = path.join(dir, "stick.img");
    const r = await vmlive(["usb", both, stick, "--persistence", "32M"]);
    expect(r.exitCode, r.all).toBe(0);
    expect(r.all).toMatch(/verified: the first .* read back match the ISO/);
    expect(r.stdout).toMatch(
      /stick\.img: .* partition 4 labelled persistence \(32\.0 MiB from sector \d+\), verified/,
    );
    checkStick(stick, both, 32 * MiB);
    expect(leftovers(dir, "stick.img")).toEqual(["stick.img"]);
  });

  it("a second run over the existing image makes it anew, here with a larger partition", async () => {
    const stick = path.join(dir, "stick.img");
    const r = await vmlive(["usb", both, stick, "--persistence", "48M"]);
    expect(r.exitCode, r.all).toBe(0);
    checkStick(stick, both, 48 * MiB);
    expect(leftovers(dir, "stick.img")).toEqual(["stick.img"]);
  });

  it("--size makes an image of that size, the persistence partition taking the rest", async () => {
    const stick = path.join(dir, "sized.img");
    const r = await vmlive(["usb", both, stick, "--size", "64M"]);
    expect(r.exitCode, r.all).toBe(0);
    expect(statSync(stick).size).toBe(64 * MiB);
    const p = table(stick).partitions!.at(-1)!;
    // The last whole MiB before the backup GPT.
    expect((p.start + p.size) * 512).toBe(63 * MiB);
    checkStick(stick, both, p.size * 512);
  });

  it("a BIOS-only ISO gets the partition in its MBR", async () => {
    const stick = path.join(dir, "bios.img");
    const r = await vmlive(["usb", biosOnly, stick, "--persistence", "20M"]);
    expect(r.exitCode, r.all).toBe(0);
    expect(table(stick).label).toBe("dos");
    checkStick(stick, biosOnly, 20 * MiB);
  });

  it.runIf(!!process.env.VMLIVE_TEST_ISO)("a real ISO (VMLIVE_TEST_ISO)", async () => {
    const iso = process.env.VMLIVE_TEST_ISO!;
    const stick = path.join(dir, "real.img");
    const r = await vmlive(["usb", iso, stick, "--persistence", "64M"]);
    expect(r.exitCode, r.all).toBe(0);
    checkStick(stick, iso, 64 * MiB);
  });
});

describe.runIf(toolsThere)("vmlive usb refuses, leaving nothing behind", () => {
  it("an ISO whose volume is on the whole disk only, where live-boot would never find persistence", async () => {
    const stick = path.join(dir, "never.img");
    const r = await vmlive(["usb", wholeDiskOnly, stick]);
    expect(r.exitCode, r.all).toBe(2);
    expect(r.stderr).toMatch(/ISO 9660 volume only on the whole disk/);
    expect(leftovers(dir, "never.img")).toEqual([]);
  });

  it("a target in a folder that does not exist, a folder, a character device, a missing /dev node", async () => {
    const cases: [string, RegExp][] = [
      [path.join(dir, "no-such-folder", "stick.img"), /there is no folder .*no-such-folder/],
      [dir, /is a folder/],
      ["/dev/null", /is a character device/],
      ["/dev/vmlive-no-such-disk", /no such device/],
    ];
    for (const [target, message] of cases) {
      const r = await vmlive(["usb", both, target]);
      expect(r.exitCode, `${target}: ${r.all}`).toBe(2);
      expect(r.stderr).toMatch(message);
    }
    expect(existsSync(path.join(dir, "no-such-folder"))).toBe(false);
    expect(existsSync("/dev/vmlive-no-such-disk")).toBe(false);
  });

  it("a --size too small for ISO and persistence, with the numbers, and the existing file untouched", async () => {
    const stick = path.join(dir, "keep.img");
    writeFileSync(stick, "an earlier image\n");
    const r = await vmlive(["usb", both, stick, "--size", "10M", "--persistence", "8M"]);
    expect(r.exitCode, r.all).toBe(2);
    expect(r.stderr).toMatch(
      /keep\.img is too small: it holds 10\.0 MiB \(10485760 bytes\), the ISO and the persistence partition need .* bytes\)/,
    );
    expect(readFileSync(stick, "utf8")).toBe("an earlier image\n");
    expect(leftovers(dir, "keep.img")).toEqual(["keep.img"]);
  });

  it("the ISO as its own target, and sizes that are not sizes", async () => {
    const self = await vmlive(["usb", both, both]);
    expect(self.exitCode).toBe(2);
    expect(self.stderr).toMatch(/is the ISO itself/);
    const bad = await vmlive(["usb", both, path.join(dir, "x.img"), "--persistence", "lots"]);
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toMatch(/--persistence lots: not a size/);
    expect(leftovers(dir, "x.img")).toEqual([]);
  });
});

describe.runIf(toolsThere && root)("vmlive usb as root", () => {
  const mounts: string[] = [];
  const loops: string[] = [];
  afterAll(() => {
    for (const m of mounts.splice(0)) sh(["umount", m]);
    for (const l of loops.splice(0)) sh(["losetup", "-d", l]);
  });

  it("a write that runs out of space fails with exit 1 and leaves no image", async () => {
    const small = path.join(dir, "small-fs");
    mkdirSync(small);
    // Room for the ISO, but not for the partition table's backup and the persistence filesystem too.
    const room = statSync(both).size + 64 * 1024;
    sh(["mount", "-t", "tmpfs", "-o", `size=${room}`, "vmlive-it-usb", small]);
    mounts.push(small);
    const r = await vmlive(["usb", both, path.join(small, "stick.img"), "--persistence", "64M"]);
    expect(r.exitCode, r.all).toBe(1);
    expect(r.stderr).toMatch(/No space left on device|ENOSPC|no space/i);
    expect(readdirSync(small)).toEqual([]);
  });

  it("a loop device: refused until --force and --yes, then written like a stick", async () => {
    const backing = path.join(dir, "loop-backing.img");
    sh(["truncate", "-s", "96M", backing]);
    const dev = sh(["losetup", "--partscan", "--find", "--show", backing]).trim();
    loops.push(dev);
    const untouched = sha(backing);

    const plain = await vmlive(["usb", both, dev, "--yes"]);
    expect(plain.exitCode, plain.all).toBe(2);
    expect(plain.stderr).toMatch(new RegExp(`${dev} is not a removable disk[\\s\\S]*add --force`));
    const noYes = await vmlive(["usb", both, dev, "--force"]);
    expect(noYes.exitCode, noYes.all).toBe(2);
    expect(noYes.stderr).toContain(`${dev}: no model name, 96.0 MiB (100663296 bytes), no transport, fixed`);
    expect(noYes.stderr).toMatch(/not writing to .* without --yes/);
    const withSize = await vmlive(["usb", both, dev, "--force", "--yes", "--size", "1G"]);
    expect(withSize.exitCode).toBe(2);
    expect(withSize.stderr).toMatch(/--size is for image files/);
    expect(sha(backing), "a refused device must not be written").toBe(untouched);

    const r = await vmlive(["usb", both, dev, "--force", "--yes"]);
    expect(r.exitCode, r.all).toBe(0);
    const p = table(backing).partitions!.at(-1)!;
    expect((p.start + p.size) * 512).toBe(95 * MiB);
    checkStick(backing, both, p.size * 512);
  });

  it("a device with a mounted filesystem is refused even with --force --yes, and not written", async () => {
    const backing = path.join(dir, "mounted-backing.img");
    sh(["truncate", "-s", "64M", backing]);
    const dev = sh(["losetup", "--find", "--show", backing]).trim();
    loops.push(dev);
    sh(["mke2fs", "-q", "-t", "ext4", dev]);
    const mnt = path.join(dir, "mnt");
    mkdirSync(mnt);
    sh(["mount", dev, mnt]);
    mounts.unshift(mnt);
    const before = blkid(dev, 0).UUID;
    const r = await vmlive(["usb", both, dev, "--force", "--yes"]);
    expect(r.exitCode, r.all).toBe(2);
    expect(r.stderr).toContain(`${dev} is in use: ${dev} is mounted on ${mnt}`);
    expect(r.stderr).toContain(`umount ${dev}`);
    expect(blkid(dev, 0)).toMatchObject({ TYPE: "ext4", UUID: before });
  });
});
