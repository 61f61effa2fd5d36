// `vmlive boot` failing for real, on the e2e run's live-minimal ISO: a
// command that fails inside the booted system, and a truncated copy of the
// ISO, which must fail at once.
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, truncateSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BootReport } from "../../src/boot/boot-report.js";
import { vmlive } from "../support/cli.js";
import { liveMinimal } from "../support/live-minimal.js";

const isRoot = process.getuid?.() === 0;
const tmp = mkdtempSync(path.join(os.tmpdir(), "vmlive-e2e-boot-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

// The booting that passes is proven by build-host.test.ts (--boot-test, four ways, with commands);
// here `vmlive boot` on the same ISO fails the way users must see it fail.
describe.runIf(isRoot)("vmlive boot: failures", () => {
  let iso: string;

  beforeAll(async () => {
    const b = await liveMinimal();
    if (b.exitCode !== 0 || !b.iso) throw new Error(`build failed (exit ${b.exitCode}):\n${b.all}`);
    iso = b.iso;
  });

  it("fails a boot whose command fails, naming the way and the command, screenshots kept", async () => {
    const logs = path.join(tmp, "failing");
    const r = await vmlive([
      "boot",
      iso,
      "--ways",
      "usb-bios",
      "--command",
      "test -e /nonexistent",
      "--logs",
      logs,
    ]);
    expect(r.exitCode, r.all).toBe(1);
    expect(r.stdout).toMatch(
      /^usb-bios\s+FAILED\s+[\d.]+ s\s+0\/1 ok\s+boot-usb-bios-menu\.png boot-usb-bios-booted\.png$/m,
    );
    expect(r.stderr).toContain("usb-bios: `test -e /nonexistent` exited with 1");
    expect(r.stderr).toContain("the ISO did not pass the boot test: usb-bios");
    const boot = JSON.parse(readFileSync(path.join(logs, "boot-report.json"), "utf8")) as BootReport;
    expect(boot.ways[0]!.commands).toEqual([
      expect.objectContaining({ command: "test -e /nonexistent", exitCode: 1 }),
    ]);
    expect(existsSync(path.join(logs, "boot-usb-bios-booted.png"))).toBe(true);
  });

  it("fails at once on a truncated copy of the ISO", async () => {
    const cut = path.join(tmp, "cut.iso");
    copyFileSync(iso, cut);
    truncateSync(cut, 100 * 2048 * 1024);
    const started = Date.now();
    const r = await vmlive(["boot", cut, "--ways", "cd-bios"]);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain(`${cut} is truncated: its volume descriptor says`);
    expect(Date.now() - started).toBeLessThan(30_000);
  });
});
