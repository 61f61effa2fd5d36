// The default image built for real with --backend host and --boot-test:
// what lands in the output folder, the report, and the ISO booted to its
// login prompt four ways (CD and USB stick, BIOS and UEFI) with commands run
// in the live system; then a rerun of some steps from the kept work area.
import { existsSync, readdirSync, readFileSync, readlinkSync } from "node:fs";
import path from "node:path";
import { XMLParser } from "fast-xml-parser";
import { beforeAll, describe, expect, it } from "vitest";
import type { BootReport } from "../../src/boot/boot-report.js";
import type { BuildReport } from "../../src/report/report.js";
import { sha256File } from "../../src/util/sha256.js";
import { vmlive } from "../support/cli.js";
import { isPng } from "../support/png.js";
import { LIVE_MINIMAL_COMMANDS, liveMinimal, type SharedBuild } from "../support/live-minimal.js";

const isRoot = process.getuid?.() === 0;
describe.runIf(isRoot)("vmlive build live-minimal --backend host --boot-test", () => {
  let b: SharedBuild;
  let dir: string;
  let iso: string;
  let report: BuildReport;

  beforeAll(async () => {
    b = await liveMinimal();
    if (b.exitCode !== 0 || !b.dir) throw new Error(`build failed (exit ${b.exitCode}):\n${b.all}`);
    [dir, iso, report] = [b.dir, b.iso!, b.report!];
  });

  it("leaves one finished output folder with the ISO, checksums, manifest, report and logs", () => {
    const folders = readdirSync(b.out).filter(
      (d) => /^live-minimal-bookworm-amd64-\d/.test(d) || d.startsWith("."),
    );
    expect(folders).toEqual([path.basename(dir)]);
    // The stable pointer scripts and web servers use.
    expect(readlinkSync(path.join(b.out, "live-minimal-bookworm-amd64-latest"))).toBe(path.basename(dir));
    for (const f of [
      "live-minimal-bookworm-amd64.iso",
      "SHA256SUMS",
      "manifest.tsv",
      "report.json",
      "junit.xml",
      "summary.md",
      "logs/build.log",
      "boot/boot-report.json",
    ])
      expect(existsSync(path.join(dir, f)), f).toBe(true);
  });

  it("reports every step, in order, and the artifacts with their real sha256", async () => {
    expect(report.status).toBe("success");
    expect(report.steps.map((s) => s.step)).toEqual([
      "bootstrap",
      "customize",
      "check",
      "boot",
      "squash",
      "iso",
      "verify",
      "collect",
    ]);
    // Nothing of the build left in the image: no machine id, host keys, policy-rc.d, unlocked root ...
    expect(report.check).toEqual(expect.objectContaining({ leftovers: 0, found: [] }));
    expect(report.check!.checked).toEqual(
      expect.arrayContaining(["machine id", "SSH host keys", "root password"]),
    );
    const isoArtifact = report.artifacts!.find((a) => a.name.endsWith(".iso"))!;
    expect(isoArtifact.sha256).toBe(await sha256File(iso));
    expect(readFileSync(path.join(dir, "SHA256SUMS"), "utf8")).toContain(
      `${isoArtifact.sha256}  live-minimal-bookworm-amd64.iso`,
    );
    const manifest = readFileSync(path.join(dir, "manifest.tsv"), "utf8");
    expect(manifest).toMatch(/^live-boot\t/m);
    expect(manifest).toMatch(/^linux-image-amd64\t/m);
  });

  it("boots as CD and USB stick, BIOS and UEFI, to the login prompt, and the commands pass there", () => {
    const bt = report.bootTest!;
    expect(bt.ways.map((w) => [w.way, w.ok, w.reason])).toEqual(
      ["cd-bios", "cd-uefi", "usb-bios", "usb-uefi"].map((w) => [w, true, undefined]),
    );
    for (const w of bt.ways) {
      console.log(`boot ${w.way}: login prompt after ${w.seconds} s`);
      expect(w.commands).toEqual(LIVE_MINIMAL_COMMANDS.map((command) => ({ command, exitCode: 0 })));
      expect(w.screenshots).toEqual([`boot/boot-${w.way}-menu.png`, `boot/boot-${w.way}-booted.png`]);
      for (const s of w.screenshots) expect(isPng(path.join(dir, s)), s).toBe(true);
    }
    const boot = JSON.parse(readFileSync(path.join(dir, bt.report), "utf8")) as BootReport;
    expect(boot.ways[0]!.commands[0]!.output).toBe("running\n");
    const log = readFileSync(path.join(dir, "boot", boot.ways[0]!.serialLog), "utf8");
    expect(log).toMatch(/vmlive-minimal login:/);
    expect(log).toContain("GNU GRUB");
  });

  it("gives CI the same build as JUnit XML, a test case per step and per boot way, and as Markdown", () => {
    const junit = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: "" }).parse(
      readFileSync(path.join(dir, "junit.xml"), "utf8"),
    );
    const [steps, boots] = junit.testsuites.testsuite;
    expect(steps.testcase.map((c: { name: string }) => c.name)).toEqual(report.steps.map((s) => s.step));
    expect(boots.testcase.map((c: { name: string }) => c.name)).toEqual(
      report.bootTest!.ways.map((w) => w.way),
    );
    expect([steps.failures, boots.failures]).toEqual(["0", "0"]);
    expect(readFileSync(path.join(dir, "summary.md"), "utf8")).toMatch(
      /^## Built: live-minimal bookworm amd64, boots\n/,
    );
  });

  it("redoes squash and iso from the kept work area, in pipeline order whatever order they are named", async () => {
    const r = await vmlive(
      [
        "build",
        "live-minimal",
        "--backend",
        "host",
        "--quiet",
        "--out",
        b.out,
        "--steps",
        "collect,iso,squash,verify",
      ],
      { env: b.env },
    );
    expect(r.exitCode, r.all).toBe(0);
    const again = JSON.parse(
      readFileSync(path.join(path.dirname(r.stdout.trim()), "report.json"), "utf8"),
    ) as BuildReport;
    expect(again.steps.map((s) => s.step)).toEqual(["squash", "iso", "verify", "collect"]);
    expect(readlinkSync(path.join(b.out, "live-minimal-bookworm-amd64-latest"))).toBe(
      path.basename(path.dirname(r.stdout.trim())),
    );
  });
});
