// The boot, squash, iso and verify steps for real, on this host (HostMachine),
// with the real GRUB, mksquashfs and xorriso, on a small root filesystem. The
// kernel and initrd come from the ISO prototype's root when it is there
// (/tmp/proto-iso/final/root), else they are stand-in files: the ISO is then
// complete but would not boot, which this test does not try.
//
// VMLIVE_TEST_ROOTFS=/path/to/a/whole/root squashes that root instead, for an
// ISO that boots (used once by hand for the qemu boot tests).
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseImageConfig } from "../../src/config/load.js";
import { HostMachine } from "../../src/machine/host.js";
import { workPaths, type BuildContext, type BuildState } from "../../src/pipeline/context.js";
import { bootStep } from "../../src/steps/boot.js";
import { bootPaths } from "../../src/steps/boot/layout.js";
import { isoStep } from "../../src/steps/iso.js";
import { countListing, squashStep } from "../../src/steps/squash.js";
import { verifyStep } from "../../src/steps/verify.js";

const PROTO_ROOT = "/tmp/proto-iso/final/root";
const FULL_ROOT = process.env.VMLIVE_TEST_ROOTFS;
const EPOCH = 1_700_000_000;

const have = (p: string) => existsSync(p);
const toolsThere =
  [
    "/usr/bin/xorriso",
    "/usr/bin/mksquashfs",
    "/usr/bin/grub-mkimage",
    "/usr/bin/mcopy",
    "/usr/bin/mdir",
  ].every(have) &&
  ["/usr/lib/grub/i386-pc", "/usr/lib/grub/x86_64-efi"].every(have) &&
  (have("/usr/sbin/mkfs.vfat") || have("/sbin/mkfs.vfat"));
const signedThere =
  have("/usr/lib/shim/shimx64.efi.signed") && have("/usr/lib/grub/x86_64-efi-signed/grubx64.efi.signed");

const sh = (argv: string[]) =>
  execFileSync(argv[0]!, argv.slice(1), { encoding: "utf8", maxBuffer: 1 << 28 });

let tmp: string;
let smallRoot: string;

function makeContext(name: string, yaml: string, rootfs: string): BuildContext & { lines: string[] } {
  const work = { ...workPaths(path.join(tmp, name)), rootfs };
  mkdirSync(work.root, { recursive: true });
  const lines: string[] = [];
  const state: BuildState = { done: [] };
  return {
    image: {
      name,
      dir: tmp,
      file: path.join(tmp, "image.yaml"),
      hooksDir: tmp,
      displayFile: "image.yaml",
      config: parseImageConfig(yaml, "image.yaml"),
    },
    machine: new HostMachine(),
    work,
    state,
    log: {
      say: (m) => lines.push(`say: ${m}`),
      output: { line: (s, t) => lines.push(`${s}: ${t}`) },
      file: path.join(tmp, `${name}.log`),
    },
    signal: new AbortController().signal,
    sourceDateEpoch: EPOCH,
    outDir: tmp,
    logDir: tmp,
    lines,
  };
}

async function build(ctx: BuildContext): Promise<Record<string, number>> {
  const seconds: Record<string, number> = {};
  try {
    for (const step of [bootStep, squashStep, isoStep, verifyStep]) {
      const t0 = Date.now();
      await step.run(ctx);
      seconds[step.name] = (Date.now() - t0) / 1000;
    }
  } finally {
    for (const step of [verifyStep, isoStep, squashStep, bootStep]) await step.cleanup?.(ctx);
  }
  return seconds;
}

describe.runIf(toolsThere && process.platform === "linux")(
  "boot + squash + iso + verify on this host",
  () => {
    beforeAll(() => {
      tmp = mkdtempSync(path.join(os.tmpdir(), "vmlive-steps-"));
      // A small root: a few hundred real files, the live-boot marker, a kernel and an initrd.
      smallRoot = path.join(tmp, "rootfs");
      mkdirSync(path.join(smallRoot, "boot"), { recursive: true });
      mkdirSync(path.join(smallRoot, "usr/share/initramfs-tools/scripts"), { recursive: true });
      for (const d of ["proc", "sys", "dev", "tmp"]) mkdirSync(path.join(smallRoot, d));
      // About 2000 entries, a few MB: real files of every kind (links, empty files, folders).
      sh(["cp", "-a", "/etc", path.join(smallRoot, "etc")]);
      mkdirSync(path.join(smallRoot, "usr/share"), { recursive: true });
      sh(["cp", "-a", "/usr/share/zoneinfo", path.join(smallRoot, "usr/share/zoneinfo")]);
      writeFileSync(path.join(smallRoot, "usr/share/initramfs-tools/scripts/live"), "# live-boot\n");
      const protoBoot = path.join(PROTO_ROOT, "boot");
      const kver = existsSync(protoBoot)
        ? sh(["ls", protoBoot])
            .split("\n")
            .map((l) => /^vmlinuz-(.+)$/.exec(l)?.[1])
            .find(Boolean)
        : undefined;
      if (kver) {
        sh(["cp", path.join(protoBoot, `vmlinuz-${kver}`), path.join(smallRoot, "boot")]);
        sh(["cp", path.join(protoBoot, `initrd.img-${kver}`), path.join(smallRoot, "boot")]);
      } else {
        writeFileSync(path.join(smallRoot, "boot/vmlinuz-6.1.0-99-amd64"), randomBytes(4 << 20));
        writeFileSync(path.join(smallRoot, "boot/initrd.img-6.1.0-99-amd64"), randomBytes(8 << 20));
      }
    });

    afterAll(() => {
      if (tmp && !process.env.VMLIVE_TEST_KEEP) rmSync(tmp, { recursive: true, force: true });
    });

    it("builds a BIOS + UEFI hybrid ISO with a serial console, and the real tools agree", async () => {
      const yaml = [
        "description: steps test",
        "iso:",
        "  volume_id: VMLIVE_TEST",
        "  serial_console: ttyS0,115200n8",
        "  timeout: 3",
        "  menu_title: vmlive test",
      ].join("\n");
      const ctx = makeContext("hybrid", yaml, FULL_ROOT ?? smallRoot);
      const seconds = await build(ctx);
      console.log(
        "hybrid step seconds",
        seconds,
        "state",
        JSON.stringify({ ...ctx.state, tools: undefined }),
      );

      const st = ctx.state;
      expect(st.kernelVersion).toMatch(/^\d/);
      expect(st.isoId).toMatch(/^[0-9a-f]{16}$/);
      expect(st.squashfs!.files).toBe(st.rootfs!.files);
      expect(Number(sh(["stat", "-c", "%s", st.squashfs!.path]))).toBe(st.squashfs!.bytes);
      expect(st.iso!.path).toBe(path.join(ctx.work.out, "hybrid-bookworm-amd64.iso"));
      expect(existsSync(`${st.iso!.path}.partial`)).toBe(false);
      expect(existsSync(bootPaths(ctx.work).buildDir)).toBe(false); // cleanup removed the scratch folder

      // Independent checks with the real tools.
      const n = Number(sh(["sh", "-c", 'find "$1" -xdev | wc -l', "-", ctx.work.rootfs]).trim());
      expect(countListing(sh(["unsquashfs", "-l", st.squashfs!.path]))).toBe(n);
      expect(sh(["unsquashfs", "-s", st.squashfs!.path])).toMatch(/^Compression zstd$/m);
      const report = execFileSync(
        "xorriso",
        ["-indev", st.iso!.path, "-report_el_torito", "plain", "-report_system_area", "plain"],
        { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] },
      );
      expect(report).toMatch(/El Torito boot img :\s+1\s+BIOS/);
      expect(report).toMatch(/El Torito boot img :\s+2\s+UEFI/);
      expect(report).toMatch(/grub2-mbr/);
      expect(report).toMatch(/GPT type GUID\s+:\s+2\s+28732ac11ff8d211ba4b00a0c93ec93b/);
      const cfg = sh(["cat", path.join(ctx.work.isoTree, "boot/grub/grub.cfg")]);
      expect(cfg).toContain(`search --no-floppy --set=root --file /.disk/vmlive-${st.isoId}`);
      expect(cfg).toContain("serial --unit=0 --speed=115200 --word=8 --parity=no --stop=1");
      expect(cfg).toContain('menuentry "vmlive test (amd64)" --id live {');
      expect(
        sh(["mdir", "-b", "-/", "-i", bootPaths(ctx.work).efiImage, "::/"])
          .trim()
          .split("\n"),
      ).toEqual(["::/EFI/", "::/EFI/BOOT/", "::/EFI/BOOT/BOOTX64.EFI"]);
      // The early config is built into the (uncompressed) EFI image.
      const efi = execFileSync("mtype", ["-i", bootPaths(ctx.work).efiImage, "::/EFI/BOOT/BOOTX64.EFI"]);
      expect(efi.includes(`search --no-floppy --set=root --file /.disk/vmlive-${st.isoId}`)).toBe(true);

      // Reproducible: the same epoch and tree give the same ISO, byte for byte.
      const first = sh(["sha256sum", st.iso!.path]).split(" ")[0];
      const again = makeContext("hybrid", yaml, ctx.work.rootfs);
      await build(again);
      expect(sh(["sha256sum", again.state.iso!.path]).split(" ")[0]).toBe(first);
    });

    it.runIf(signedThere)("lays out shim and Debian's signed GRUB for Secure Boot (UEFI only)", async () => {
      const ctx = makeContext(
        "sb",
        "description: secure boot\niso: {bootloaders: [uefi], secure_boot: true, timeout: 0, serial_console: 'ttyS0,115200n8'}",
        FULL_ROOT ?? smallRoot,
      );
      await build(ctx);
      const esp = bootPaths(ctx.work).efiImage;
      const files = sh(["mdir", "-b", "-/", "-i", esp, "::/"]).trim().split("\n").sort();
      expect(files).toEqual(
        [
          "::/EFI/",
          "::/EFI/BOOT/",
          "::/EFI/BOOT/BOOTX64.EFI",
          "::/EFI/BOOT/grub.cfg",
          "::/EFI/BOOT/grubx64.efi",
          ...(existsSync("/usr/lib/shim/mmx64.efi.signed") ? ["::/EFI/BOOT/mmx64.efi"] : []),
          "::/EFI/debian/",
          "::/EFI/debian/grub.cfg",
        ].sort(),
      );
      const shim = execFileSync("mtype", ["-i", esp, "::/EFI/BOOT/BOOTX64.EFI"]);
      expect(shim.equals(execFileSync("cat", ["/usr/lib/shim/shimx64.efi.signed"]))).toBe(true);
      expect(sh(["mtype", "-i", esp, "::/EFI/debian/grub.cfg"])).toContain(
        `/.disk/vmlive-${ctx.state.isoId}`,
      );
      const report = execFileSync("xorriso", ["-indev", ctx.state.iso!.path, "-report_el_torito", "plain"], {
        encoding: "utf8",
        stdio: ["ignore", "pipe", "ignore"],
      });
      expect(report).not.toMatch(/BIOS/);
      expect(report).toMatch(/El Torito boot img :\s+1\s+UEFI/);
      expect(existsSync(path.join(ctx.work.isoTree, "boot/grub/i386-pc"))).toBe(false);
      // Booted from CD the signed GRUB's prefix is /EFI/debian on the ISO itself.
      expect(sh(["cat", path.join(ctx.work.isoTree, "EFI/debian/grub.cfg")])).toContain(
        `/.disk/vmlive-${ctx.state.isoId}`,
      );
    });
  },
);
