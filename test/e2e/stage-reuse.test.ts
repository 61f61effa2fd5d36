// Stage reuse for real: after the shared live-minimal build, the same image
// with one hook edited (a copy of the image folder, so the work area is the
// same one) is rebuilt in the shared work area. Bootstrap and the package
// installation come from their snapshots; the hooks and everything after
// them run again. The edited hook only prints, so the work area stays what
// the other e2e files' `--steps` reruns expect. About 2 minutes. How much
// faster it is, is measured by `npm run bench`, not asserted here.
import { cpSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { PROJECT_ROOT } from "../../src/paths.js";
import type { BuildReport } from "../../src/report/report.js";
import { vmlive } from "../support/cli.js";
import { liveMinimal, type SharedBuild } from "../support/live-minimal.js";
import { tempDir } from "../support/tmp.js";

const MARKER = "vmlive-stage-reuse-edited-hook";
const isRoot = process.getuid?.() === 0;

describe.runIf(isRoot)("a rebuild of live-minimal after one hook changed", () => {
  let b: SharedBuild;
  let r: Awaited<ReturnType<typeof vmlive>>;
  let report: BuildReport;
  let log: string;

  beforeAll(async () => {
    b = await liveMinimal();
    if (b.exitCode !== 0 || !b.dir)
      throw new Error(`the shared build failed (exit ${b.exitCode}):\n${b.all}`);
    // The image folder copied under its own name (the work area is IMAGE-ARCH), its hook beside it, edited.
    const tmp = tempDir("vmlive-stage-reuse-");
    const image = path.join(tmp, "live-minimal");
    cpSync(path.join(PROJECT_ROOT, "images", "live-minimal"), image, { recursive: true });
    const hook = readFileSync(path.join(PROJECT_ROOT, "hooks", "show-env.sh"), "utf8");
    writeFileSync(path.join(image, "show-env.sh"), `${hook}echo ${MARKER}\n`, { mode: 0o755 });
    const out = path.join(tmp, "out");
    r = await vmlive(["build", image, "--backend", "host", "--quiet", "--scratch", "--out", out], {
      env: b.env,
    });
    const name = readdirSync(out).find((d) => /^live-minimal-bookworm-amd64-\d{8}-\d{6}$/.test(d));
    if (r.exitCode !== 0 || !name) throw new Error(`the rebuild failed (exit ${r.exitCode}):\n${r.all}`);
    report = JSON.parse(readFileSync(path.join(out, name, "report.json"), "utf8")) as BuildReport;
    log = readFileSync(path.join(out, name, "logs", "build.log"), "utf8");
  });

  it("says what it reuses and why it reruns from the hooks", () => {
    expect(r.all).toMatch(
      /reuse: bootstrap and packages unchanged \(key [0-9a-f]{8}\.\.\., snapshot of \d\d:\d\d\); rerunning from hooks because hook 1 show-env\.sh changed/,
    );
    expect(r.all).toMatch(/restored the rootfs from snapshot packages in /);
  });

  it("reuses bootstrap and the packages, and runs the hooks and every step after them", () => {
    expect(report.status).toBe("success");
    expect(report.steps.map((s) => [s.step, s.reused === true])).toEqual([
      ["bootstrap", true],
      ["customize", false],
      ["check", false],
      ["boot", false],
      ["squash", false],
      ["iso", false],
      ["verify", false],
      ["collect", false],
    ]);
    expect(log).not.toMatch(/apt-get install|debootstrap minbase/);
    expect(log).toContain(MARKER);
    expect(report.hooks?.map((h) => [h.path, h.exitCode])).toEqual([["show-env.sh", 0]]);
    // The same packages as the first build: they came from its snapshot.
    expect(report.packages).toBe(b.report!.packages);
  });
});
