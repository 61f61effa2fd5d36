// The default image built for real with --backend host, then booted to its
// login prompt four ways: CD and USB stick, BIOS and UEFI.
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bootTest } from "../../src/boot/boot-test.js";
import type { BuildReport } from "../../src/report/report.js";
import { sha256File } from "../../src/util/sha256.js";
import { vmlive } from "../support/cli.js";

const isRoot = process.getuid?.() === 0;
const tmp = mkdtempSync(path.join(os.tmpdir(), "vmlive-e2e-host-"));
const out = path.join(tmp, "out");
const env = { VMLIVE_WORK_DIR: path.join(tmp, "work") };
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe.runIf(isRoot)("vmlive build live-minimal --backend host", () => {
  let dir: string;
  let iso: string;
  let report: BuildReport;

  beforeAll(async () => {
    const r = await vmlive(
      ["build", "live-minimal", "--backend", "host", "--clean", "--quiet", "--out", out],
      { env },
    );
    if (r.exitCode !== 0) throw new Error(`build failed (exit ${r.exitCode}):\n${r.all}`);
    iso = r.stdout.trim();
    dir = path.dirname(iso);
    report = JSON.parse(readFileSync(path.join(dir, "report.json"), "utf8")) as BuildReport;
  });

  it("leaves one finished output folder with the ISO, checksums, manifest, report and logs", () => {
    expect(readdirSync(out)).toEqual([path.basename(dir)]);
    expect(path.basename(dir)).toMatch(/^live-minimal-bookworm-amd64-\d{8}-\d{6}$/);
    for (const f of [
      "live-minimal-bookworm-amd64.iso",
      "SHA256SUMS",
      "manifest.tsv",
      "report.json",
      "logs/build.log",
    ])
      expect(existsSync(path.join(dir, f)), f).toBe(true);
  });

  it("reports every step, in order, and the artifacts with their real sha256", async () => {
    expect(report.status).toBe("success");
    expect(report.steps.map((s) => s.step)).toEqual([
      "bootstrap",
      "customize",
      "boot",
      "squash",
      "iso",
      "verify",
      "collect",
    ]);
    const isoArtifact = report.artifacts!.find((a) => a.name.endsWith(".iso"))!;
    expect(isoArtifact.sha256).toBe(await sha256File(iso));
    expect(readFileSync(path.join(dir, "SHA256SUMS"), "utf8")).toContain(
      `${isoArtifact.sha256}  live-minimal-bookworm-amd64.iso`,
    );
    const manifest = readFileSync(path.join(dir, "manifest.tsv"), "utf8");
    expect(manifest).toMatch(/^live-boot\t/m);
    expect(manifest).toMatch(/^linux-image-amd64\t/m);
  });

  it.each([
    ["cd", "bios"],
    ["cd", "uefi"],
    ["usb", "bios"],
    ["usb", "uefi"],
  ] as const)("boots as %s with %s to the login prompt on the serial console", async (media, firmware) => {
    const r = await bootTest({
      iso,
      arch: "amd64",
      way: { media, firmware },
      accel: "tcg",
      logDir: dir,
      timeoutMs: 6 * 60_000,
      menuText: "vmlive minimal",
    });
    console.log(`boot ${r.way}: ${r.ok ? "login prompt" : "FAILED"} after ${r.seconds.toFixed(1)} s`);
    expect(r.reason).toBeUndefined();
    expect(r.ok).toBe(true);
    expect(readFileSync(r.serialLog, "utf8")).toMatch(/vmlive-minimal login:/);
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
        out,
        "--steps",
        "collect,iso,squash,verify",
      ],
      { env },
    );
    expect(r.exitCode, r.all).toBe(0);
    const again = JSON.parse(
      readFileSync(path.join(path.dirname(r.stdout.trim()), "report.json"), "utf8"),
    ) as BuildReport;
    expect(again.steps.map((s) => s.step)).toEqual(["squash", "iso", "verify", "collect"]);
  });
});
