// The command the boot step runs to make an armhf initrd again, run for real
// (as root, with unshare and mount): the command sees the kernel's modules
// folder on a tmpfs with every file in it, what it writes there is gone
// afterwards, and nothing stays mounted or left in the temporary folder.
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { run } from "../../src/process/run.js";
import { withModulesOnTmpfs } from "../../src/steps/boot/initrd.js";
import { tempDir } from "../support/tmp.js";

const isRoot = process.getuid?.() === 0;
const KVER = "6.12.117+deb13-armmp";

const mounts = () => readFileSync("/proc/self/mountinfo", "utf8");

/** A TMPDIR of the test's own, where the script's mktemp folder goes (and must not stay). */
function scratch(): { env: Record<string, string>; left: () => string[] } {
  const dir = tempDir("vmlive-initrd-scratch-");
  return { env: { TMPDIR: dir }, left: () => readdirSync(dir) };
}

describe.runIf(isRoot && process.platform === "linux")("withModulesOnTmpfs", () => {
  it("puts a copy of the modules folder on a tmpfs for the command only", async () => {
    const root = tempDir("vmlive-initrd-tmpfs-");
    const modules = path.join(root, "usr/lib/modules", KVER);
    mkdirSync(path.join(modules, "kernel/drivers/scsi"), { recursive: true });
    writeFileSync(path.join(modules, "kernel/drivers/scsi/virtio_scsi.ko.xz"), "module");
    writeFileSync(path.join(modules, "modules.dep"), "dep");
    const tmp = scratch();

    const probe =
      'stat -f -c %T "$1"; find "$1" -type f | sort; echo changed > "$1/modules.dep"; touch "$1/new"';
    const r = await run(withModulesOnTmpfs(root, KVER, ["sh", "-c", probe, "probe", modules]), {
      env: tmp.env,
    });
    const lines = r.stdout.trim().split("\n");
    expect(lines[0]).toBe("tmpfs");
    expect(lines.slice(1)).toEqual([
      `${modules}/kernel/drivers/scsi/virtio_scsi.ko.xz`,
      `${modules}/modules.dep`,
    ]);

    // The image's own folder is as it was, and the tmpfs went with the namespace.
    expect(readFileSync(path.join(modules, "modules.dep"), "utf8")).toBe("dep");
    expect(existsSync(path.join(modules, "new"))).toBe(false);
    expect(mounts()).not.toContain("vmlive-modules");
    expect(tmp.left()).toEqual([]);
  });

  it("finds the folder under /lib without merged /usr, and fails when there is none", async () => {
    const root = tempDir("vmlive-initrd-tmpfs-");
    const modules = path.join(root, "lib/modules", KVER);
    mkdirSync(modules, { recursive: true });
    const r = await run(withModulesOnTmpfs(root, KVER, ["stat", "-f", "-c", "%T", modules]));
    expect(r.stdout.trim()).toBe("tmpfs");

    const tmp = scratch();
    const bad = await run(withModulesOnTmpfs(root, "0.0-none", ["true"]), { check: false, env: tmp.env });
    expect(bad.exitCode).not.toBe(0);
    expect(mounts()).not.toContain("vmlive-modules");
    expect(tmp.left()).toEqual([]);
  });
});
