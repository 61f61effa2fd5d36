// The boot step makes an armhf image's initrd again with its kernel modules
// on a tmpfs, where qemu-user runs its 32-bit programs; nothing else is
// touched, and other images keep the initrd customize made.
import { describe, expect, it } from "vitest";
import { bootStep } from "../../../src/steps/boot.js";
import {
  initrdNeedsTmpfsModules,
  remakeInitrdArgv,
  withModulesOnTmpfs,
} from "../../../src/steps/boot/initrd.js";
import { FakeMachine } from "../../support/fake-machine.js";
import { stepContext } from "../../support/step-context.js";

const KVER = "6.12.117+deb13-armmp";

function builder(kver: string): FakeMachine {
  return new FakeMachine()
    .on("ls", { stdout: `config-${kver}\ninitrd.img-${kver}\nvmlinuz-${kver}\n` })
    .on("stat", { stdout: "704512\n" })
    .on("grub-mkimage", { stdout: "grub-mkimage (GRUB) 2.12-9\n" });
}

describe("initrdNeedsTmpfsModules", () => {
  it("is true for 32-bit images that a 64-bit machine runs through qemu-user", () => {
    expect(initrdNeedsTmpfsModules("armhf", "x64")).toBe(true);
    expect(initrdNeedsTmpfsModules("armhf", "arm64")).toBe(true);
    expect(initrdNeedsTmpfsModules("i386", "arm64")).toBe(true);
  });
  it("is false for 64-bit images and for 32-bit ones the machine runs itself", () => {
    expect(initrdNeedsTmpfsModules("arm64", "x64")).toBe(false);
    expect(initrdNeedsTmpfsModules("amd64", "x64")).toBe(false);
    expect(initrdNeedsTmpfsModules("i386", "x64")).toBe(false);
    expect(initrdNeedsTmpfsModules("armhf", "arm")).toBe(false);
  });
});

describe("remakeInitrdArgv", () => {
  it("runs update-initramfs in the image inside a mount namespace holding the tmpfs", () => {
    const argv = remakeInitrdArgv("/w/rootfs", "armhf", KVER, 1700000000);
    expect(argv.slice(0, 5)).toEqual(["unshare", "--mount", "--propagation", "private", "--"]);
    const script = argv[7]!;
    expect(script).toContain("mount -t tmpfs");
    expect(script).toContain('mount --bind "$t" "$m"');
    // The rootfs and the version are arguments, never part of the script.
    expect(script).not.toContain("/w/rootfs");
    expect(script).not.toContain(KVER);
    expect(argv.slice(8, 11)).toEqual(["vmlive-modules-tmpfs", "/w/rootfs", KVER]);
    const inner = argv.slice(11);
    expect(inner[0]).toBe("unshare");
    expect(inner).toContain("/w/rootfs");
    expect(inner.slice(-4)).toEqual(["update-initramfs", "-u", "-k", KVER]);
    // The initrd's file times come from the build's epoch, as in customize.
    expect(inner).toContain("SOURCE_DATE_EPOCH=1700000000");
  });
  it("wraps any command the same way", () => {
    expect(withModulesOnTmpfs("/r", "1", ["true"]).slice(8)).toEqual([
      "vmlive-modules-tmpfs",
      "/r",
      "1",
      "true",
    ]);
  });
});

describe("bootStep.run and the initrd", () => {
  it("makes an armhf initrd again before taking it out of the rootfs", async () => {
    const m = builder(KVER);
    const ctx = stepContext({ yaml: "arch: armhf\n", machine: m }).ctx;
    await bootStep.run(ctx);
    const c = m.commands;
    const remake = c.findIndex(
      (x) => x.startsWith("unshare --mount") && x.endsWith(`update-initramfs -u -k ${KVER}`),
    );
    const copy = c.indexOf(`cp /work/img/rootfs/boot/initrd.img-${KVER} /work/img/iso/live/initrd.img`);
    expect(remake).toBeGreaterThanOrEqual(0);
    expect(copy).toBeGreaterThan(remake);
  });
  it("leaves an amd64 and an arm64 initrd as customize made it", async () => {
    for (const [arch, kver] of [
      ["amd64", "6.1.0-50-amd64"],
      ["arm64", "6.12.117+deb13-arm64"],
    ] as const) {
      const m = builder(kver);
      await bootStep.run(stepContext({ yaml: `arch: ${arch}\n`, machine: m }).ctx);
      expect(
        m.commands.some((x) => x.includes("update-initramfs")),
        arch,
      ).toBe(false);
    }
  });
});
