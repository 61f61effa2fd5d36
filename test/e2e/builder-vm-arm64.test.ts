// The arm64 builder VM for real (what `builder.arch: image` gives an arm64
// image): made from the Debian archive, on an amd64 host through qemu-user,
// then booted under full-system emulation and driven over SSH.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { QemuMachine } from "../../src/machine/qemu/qemu-machine.js";
import { hostArch } from "../../src/machine/qemu/definition.js";
import { startBuilder } from "../../src/machine/qemu/start-builder.js";
import { vmlive } from "../support/cli.js";
import { machineContract } from "../support/machine-contract.js";

// One boot serves the checks below and then the Machine contract, which disposes of it:
// under full-system emulation every boot costs half a minute or more. Its log folder is
// made with it: a run that skips this file runs no hooks that could remove one.
let logDir = "";
let booted: Promise<QemuMachine> | undefined;
const boot = () => {
  logDir ||= mkdtempSync(path.join(os.tmpdir(), "vmlive-e2e-arm64-"));
  return (booted ??= startBuilder({
    release: "trixie",
    arch: "arm64",
    accel: "auto",
    logDir,
    say: (m) => console.log(`vmlive: ${m}`),
  }));
};
afterAll(() => {
  if (logDir) rmSync(logDir, { recursive: true, force: true });
});

// Making the arm64 builder image takes long under qemu-user; CI's budget leaves it out,
// VMLIVE_E2E_ALL_ARCHES=1 runs it.
const enabled = process.env.VMLIVE_E2E_ALL_ARCHES === "1";

describe.runIf(enabled)("the arm64 builder VM", () => {
  it("is made by vmlive vm build trixie --arch arm64", async () => {
    const t0 = Date.now();
    const r = await vmlive(["vm", "build", "trixie", "--arch", "arm64"]);
    expect(r.exitCode, r.all).toBe(0);
    expect(r.stdout).toMatch(/^trixie-arm64 {2}\/.*\/builders\/trixie-arm64-[0-9a-f]{16}$/);
    console.info(`[arm64 builder] vmlive vm build: ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  });

  it("runs a command for vmlive vm shell trixie --arch arm64", async () => {
    const r = await vmlive(["vm", "shell", "trixie", "--arch", "arm64", "--", "uname", "-m"]);
    expect(r.exitCode, r.all).toBe(0);
    expect(r.stdout).toBe("aarch64");
    if (hostArch() === "amd64")
      expect(r.stderr).toMatch(/an arm64 builder on an amd64 host runs under full-system emulation \(TCG\)/);
    expect(r.stderr).not.toMatch(/making the trixie-arm64 builder image/);
  });

  describe("booted", () => {
    let vm: QemuMachine;
    beforeAll(async () => {
      vm = await boot();
      console.info(`[arm64 builder] boot to SSH: ${vm.bootSeconds.toFixed(1)} s`);
    });

    it("is an arm64 trixie system with the builder's tools and a work disk", async () => {
      expect((await vm.exec(["dpkg", "--print-architecture"])).stdout).toBe("arm64\n");
      expect((await vm.exec(["sh", "-c", ". /etc/os-release; echo $VERSION_CODENAME"])).stdout).toBe(
        "trixie\n",
      );
      for (const tool of ["debootstrap", "mmdebstrap", "mksquashfs", "xorriso", "grub-mkimage", "arch-test"])
        await vm.exec(["sh", "-c", `command -v ${tool}`]);
      expect((await vm.exec(["ls", "/usr/lib/grub"])).stdout).toContain("arm64-efi");
      expect((await vm.exec(["findmnt", "-n", "-o", "SOURCE", "/work"])).stdout.trim()).toBe("/dev/vdb");
      // It boots vmlive's own initrd: initramfs-tools made none (minutes saved under qemu-user).
      expect((await vm.exec(["sh", "-c", "ls /boot/initrd.img-* 2>/dev/null || true"])).stdout).toBe("");
    });

    it("said it was ready on the virt board's serial console, ttyAMA0", () => {
      const argv = readFileSync(path.join(path.dirname(vm.sshTarget().privateKeyPath), "qemu.argv"), "utf8");
      expect(argv).toContain("console=ttyAMA0");
      expect(readFileSync(vm.serialLog, "utf8")).toContain("VMLIVE-SSHD-READY");
    });

    it("runs armhf programs itself, without a qemu-user handler", async () => {
      // What builder.arch: image gives an armhf image: the arm64 builder's CPU runs 32-bit ARM code.
      const handlers = await vm.exec(["sh", "-c", "ls /proc/sys/fs/binfmt_misc 2>/dev/null || true"]);
      expect(handlers.stdout.split("\n")).not.toContain("qemu-arm");
      expect((await vm.exec(["arch-test", "-n", "armhf"])).stdout).toBe("armhf: ok\n");
    });
  });
});

if (enabled)
  machineContract("QemuMachine (trixie arm64 builder)", boot, {
    realCommands: true,
    files: true,
    onIdle: true,
  });
