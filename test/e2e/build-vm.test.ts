// A real build in the builder VM under TCG: small enough for CI (mmdebstrap's
// essential variant, a hook, a squashfs), through the same CLI users run.
import { mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, expect, it } from "vitest";
import type { BuildReport } from "../../src/report/report.js";
import { PROJECT_ROOT } from "../../src/paths.js";
import { vmlive } from "../support/cli.js";

const tmp = mkdtempSync(path.join(os.tmpdir(), "vmlive-e2e-vm-build-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const image = path.join(PROJECT_ROOT, "test", "fixtures", "images", "vm-small");

it("builds bootstrap, customize, check and squash of a small image in the builder VM", async () => {
  const out = path.join(tmp, "out");
  const r = await vmlive(["build", image, "--steps", "bootstrap,customize,check,squash", "--out", out], {
    env: { VMLIVE_WORK_DIR: path.join(tmp, "work") },
  });
  if (r.exitCode !== 0) throw new Error(`build failed (exit ${r.exitCode}):\n${r.all}`);
  // The build folder, not history.sqlite beside it.
  const dir = readdirSync(out).find((d) => /-\d{8}-\d{6}$/.test(d));
  expect(dir).toMatch(/^vm-small-bookworm-amd64-\d{8}-\d{6}$/);
  const report = JSON.parse(readFileSync(path.join(out, dir!, "report.json"), "utf8")) as BuildReport;
  console.log(
    `VM build: ${report.seconds.toFixed(0)} s; ` +
      report.steps.map((s) => `${s.step} ${s.seconds.toFixed(0)} s`).join(", "),
  );
  expect(report.status).toBe("success");
  expect(report.machine).toMatch(/^qemu\/(tcg|kvm): bookworm amd64 builder/);
  expect(report.steps.map((s) => s.step)).toEqual(["bootstrap", "customize", "check", "squash"]);
  expect(report.check).toEqual(expect.objectContaining({ leftovers: 0, found: [] }));
  expect(report.hooks).toEqual([expect.objectContaining({ path: "mark.sh", where: "chroot", exitCode: 0 })]);
  expect(report.squashfs!.bytes).toBeGreaterThan(1024 * 1024);
  expect(report.squashfs!.files).toBe(report.rootfs!.files);
  const log = readFileSync(path.join(out, dir!, "logs", "build.log"), "utf8");
  expect(log).toContain("mark.sh: VMLIVE_WHERE=chroot VMLIVE_IMAGE=vm-small on x86_64");
  expect(readFileSync(path.join(out, dir!, "logs", "builder-serial.log"), "utf8")).toContain(
    "VMLIVE-SSHD-READY",
  );
});
