// bench/live-build must stay the same image as images/live-minimal: its
// auto/config is run (with a stand-in `lb` that records its arguments) and
// what it asks live-build for is compared with vmlive's resolved config and
// with what vmlive's customize step really runs.
import { execFileSync } from "node:child_process";
import { chmodSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { LIVE_BUILD_CONFIG } from "../../../bench/live-build.js";
import { BENCH_IMAGE } from "../../../bench/vmlive-run.js";
import { loadImage } from "../../../src/config/load.js";
import { installPackages, packageList } from "../../../src/steps/customize/apt.js";
import { stepContext } from "../../support/step-context.js";
import { tempDir } from "../../support/tmp.js";

const REPO = path.resolve(import.meta.dirname, "../../..");

/** The arguments auto/config gives `lb config`, option name to its values. */
function lbConfigOptions(): Map<string, string[]> {
  const bin = tempDir("vmlive-fake-lb-");
  const record = path.join(bin, "argv");
  writeFileSync(path.join(bin, "lb"), `#!/bin/sh\nprintf '%s\\0' "$@" > "${record}"\n`);
  chmodSync(path.join(bin, "lb"), 0o755);
  execFileSync("sh", [path.join(LIVE_BUILD_CONFIG, "auto", "config")], {
    env: { ...process.env, PATH: `${bin}:${process.env.PATH}` },
  });
  const argv = readFileSync(record, "utf8").split("\0").slice(0, -1);
  expect(argv.slice(0, 2)).toEqual(["config", "noauto"]);
  const opts = new Map<string, string[]>();
  for (let i = 2; i < argv.length; i += 2) {
    expect(argv[i]).toMatch(/^--[a-z-]+$/);
    opts.set(argv[i]!, [...(opts.get(argv[i]!) ?? []), argv[i + 1]!]);
  }
  return opts;
}

function packageListFile(): string[] {
  const text = readFileSync(
    path.join(LIVE_BUILD_CONFIG, "config/package-lists/live-minimal.list.chroot"),
    "utf8",
  );
  return text
    .split("\n")
    .map((l) => l.replace(/#.*/, "").trim())
    .filter((l) => l !== "");
}

describe("bench/live-build is images/live-minimal", () => {
  const c = loadImage(BENCH_IMAGE, { cwd: REPO }).config;
  const lb = lbConfigOptions();
  const one = (name: string) => {
    const v = lb.get(name);
    expect(v, name).toHaveLength(1);
    return v![0]!;
  };

  it("has the same suite, architecture, archive areas and build mirror", () => {
    expect(one("--distribution")).toBe(c.suite);
    expect(one("--architectures")).toBe(c.arch);
    expect(one("--archive-areas").split(" ")).toEqual(c.bootstrap.components);
    for (const m of ["--mirror-bootstrap", "--mirror-chroot", "--mirror-binary"])
      expect(one(m)).toBe(c.mirror.build);
    // vmlive builds from the suite alone; security and updates are only in the finished image's sources.
    expect(one("--security")).toBe("false");
    expect(one("--updates")).toBe("false");
  });

  it("bootstraps the same variant", () => {
    expect(c.bootstrap.tool).toBe("debootstrap");
    expect(one("--debootstrap-options")).toBe(`--variant=${c.bootstrap.variant}`);
  });

  it("installs the same packages, as vmlive does: with Recommends", async () => {
    const listed = packageListFile();
    // live-build adds the kernel (--linux-flavours, amd64 by default) and live-boot itself.
    const lbAdds = [`linux-image-${c.kernel.flavour}`];
    expect(lb.has("--linux-flavours")).toBe(false);
    expect([...listed, ...lbAdds].sort()).toEqual([...packageList(c)].sort());

    const { ctx, machine } = stepContext({ yaml: "suite: bookworm\npackages: [nano]\n" });
    await installPackages(ctx);
    const installs = machine.commands.filter((cmd) => cmd.includes("apt-get install"));
    expect(installs.length).toBeGreaterThan(0);
    for (const cmd of installs) expect(cmd).toContain("--install-recommends");
    expect(one("--apt-recommends")).toBe("true");
  });

  it("squashes with the same compressor and level, and makes a BIOS and UEFI iso-hybrid with the same serial console", () => {
    expect(one("--chroot-squashfs-compression-type")).toBe(c.squashfs.compression);
    expect(one("--chroot-squashfs-compression-level")).toBe(String(c.squashfs.level));
    expect(one("--binary-images")).toBe("iso-hybrid");
    expect([...c.iso.bootloaders].sort()).toEqual(["bios", "uefi"]);
    expect(one("--bootloaders").split(" ").sort()).toEqual(["grub-efi", "grub-pc"]);
    expect(one("--bootappend-live").split(" ")).toContain(`console=${c.iso.serial_console}`);
    expect(one("--iso-volume")).toBe(c.iso.volume_id);
  });

  it("has a boot menu that times out like vmlive's", () => {
    const cfg = readFileSync(path.join(LIVE_BUILD_CONFIG, "config/bootloaders/grub-pc/config.cfg"), "utf8");
    expect(cfg).toMatch(new RegExp(`^set timeout=${c.iso.timeout}$`, "m"));
  });
});
