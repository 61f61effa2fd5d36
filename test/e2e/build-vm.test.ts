// A real build in the builder VM under TCG: small enough for CI (mmdebstrap's
// essential variant, a hook, a squashfs), through the same CLI users run. The
// build itself is shared with the other e2e files (test/support/vm-small.ts).
import { readFileSync } from "node:fs";
import path from "node:path";
import { expect, it } from "vitest";
import { vmSmall } from "../support/vm-small.js";

it("builds bootstrap, customize, check and squash of a small image in the builder VM", async () => {
  const b = await vmSmall();
  if (b.exitCode !== 0 || !b.dir || !b.report)
    throw new Error(`build failed (exit ${b.exitCode}):\n${b.all}`);
  const dir = path.basename(b.dir);
  expect(dir).toMatch(/^vm-small-bookworm-amd64-\d{8}-\d{6}$/);
  const report = b.report;
  const out = path.dirname(b.dir);
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
  const log = readFileSync(path.join(out, dir, "logs", "build.log"), "utf8");
  expect(log).toContain("mark.sh: VMLIVE_WHERE=chroot VMLIVE_IMAGE=vm-small on x86_64");
  expect(readFileSync(path.join(out, dir, "logs", "builder-serial.log"), "utf8")).toContain(
    "VMLIVE-SSHD-READY",
  );
});
