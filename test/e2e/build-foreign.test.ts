// Foreign architectures built for real with --backend host, through
// qemu-user emulation (arm64, armhf) or natively (i386): the ISO with GRUB
// of the image's own architecture, booted to its login prompt. arm64 always
// runs; i386 and armhf, which CI's time budget leaves out, with
// VMLIVE_E2E_ALL_ARCHES=1.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { BuildReport } from "../../src/report/report.js";
import { run } from "../../src/process/run.js";
import { vmlive } from "../support/cli.js";
import { isPng } from "../support/png.js";

const isRoot = process.getuid?.() === 0;
const all = process.env.VMLIVE_E2E_ALL_ARCHES === "1";
const tmp = mkdtempSync(path.join(os.tmpdir(), "vmlive-e2e-foreign-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const CASES = [
  // One way in CI, as a USB stick: its GPT and EFI system partition; CD boots were checked by hand.
  { image: "trixie-arm64", arch: "arm64", efi: "BOOTAA64.EFI", ways: ["usb-uefi"], run: true },
  { image: "bookworm-i386", arch: "i386", efi: "BOOTIA32.EFI", ways: ["cd-bios", "usb-uefi"], run: all },
  // As a USB stick on 32-bit ARM UEFI (qemu-efi-arm); its initrd is made again on a tmpfs (boot step).
  { image: "trixie-armhf", arch: "armhf", efi: "BOOTARM.EFI", ways: ["usb-uefi"], run: all },
] as const;

describe.each(CASES.filter((c) => c.run && isRoot))("vmlive build $image --backend host", (c) => {
  it(`builds ${c.arch} with its own GRUB${c.ways.length ? `, and boots it ${c.ways.join(" and ")}` : ""}`, async () => {
    const out = path.join(tmp, c.image);
    const r = await vmlive(
      [
        "build",
        c.image,
        "--backend",
        "host",
        "--clean",
        "--quiet",
        "--out",
        out,
        ...(c.ways.length ? ["--boot-test", "--set", `boot_test.ways=[${c.ways.join(",")}]`] : []),
      ],
      { env: { VMLIVE_WORK_DIR: path.join(tmp, "work") } },
    );
    expect(r.exitCode, r.all).toBe(0);
    const dir = path.join(
      out,
      // The build folder, not history.sqlite or the -latest link beside it.
      readdirSync(out).find((d) => /-\d{8}-\d{6}$/.test(d))!,
    );
    const report = JSON.parse(readFileSync(path.join(dir, "report.json"), "utf8")) as BuildReport;
    expect(report.status).toBe("success");
    const manifest = readFileSync(path.join(dir, "manifest.tsv"), "utf8");
    expect(manifest).toMatch(new RegExp(`^live-boot\\t\\S+\\tall$`, "m"));
    expect(manifest).toMatch(new RegExp(`^linux-image-\\S+\\t\\S+\\t${c.arch}$`, "m"));

    // What a netboot setup serves, and the EFI loader on the appended EFI system partition.
    const iso = path.join(dir, report.artifacts!.find((x) => x.name.endsWith(".iso"))!.name);
    const files = await run(["xorriso", "-indev", iso, "-find", "/live", "-type", "f"]);
    for (const f of ["/live/vmlinuz", "/live/initrd.img", "/live/filesystem.squashfs"])
      expect(files.stdout).toContain(`'${f}'`);
    const area = await run(["xorriso", "-indev", iso, "-report_system_area", "plain"]);
    const [, start, blocks] = /GPT start and size :\s+2\s+(\d+)\s+(\d+)/.exec(area.stdout)!;
    const esp = path.join(tmp, `${c.arch}-esp.img`);
    await run(["dd", `if=${iso}`, `of=${esp}`, "bs=512", `skip=${start}`, `count=${blocks}`, "status=none"]);
    expect((await run(["mdir", "-b", "-i", esp, "::/EFI/BOOT"])).stdout).toContain(`/EFI/BOOT/${c.efi}`);

    if (!c.ways.length) return;
    expect(report.bootTest!.ways.map((w) => [w.way, w.ok, w.reason])).toEqual(
      c.ways.map((w) => [w, true, undefined]),
    );
    for (const w of report.bootTest!.ways) {
      console.log(`${c.image} ${w.way}: login prompt after ${w.seconds} s`);
      for (const s of w.screenshots) expect(isPng(path.join(dir, s)), s).toBe(true);
    }
  });
});
