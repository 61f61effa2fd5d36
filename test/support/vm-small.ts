// The e2e run's one real build inside the builder VM: the small fixture
// image vm-small, steps bootstrap to squash, under TCG. The first test file
// that asks builds it; the others get the same result and may go on working
// in its work area (with `--steps`), as e2e files run one after the other.
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { inject } from "vitest";
import { PROJECT_ROOT } from "../../src/paths.js";
import type { BuildReport } from "../../src/report/report.js";
import { vmlive } from "./cli.js";

export const VM_SMALL = path.join(PROJECT_ROOT, "test", "fixtures", "images", "vm-small");
export const VM_SMALL_STEPS = ["bootstrap", "customize", "check", "squash"] as const;

export interface VmSmallBuild {
  exitCode: number;
  /** The build's whole output. */
  all: string;
  /** Root of the work areas (VMLIVE_WORK_DIR); vm-small's work disk is below it. */
  work: string;
  /** The finished output folder and its report; unset when the build failed. */
  dir?: string;
  report?: BuildReport;
}

export async function vmSmall(): Promise<VmSmallBuild> {
  const shared = path.join(inject("e2eShared"), "vm-small");
  const marker = path.join(shared, "build.json");
  const out = path.join(shared, "out");
  const work = path.join(shared, "work");
  if (!existsSync(marker)) {
    mkdirSync(out, { recursive: true });
    const r = await vmlive(["build", VM_SMALL, "--steps", VM_SMALL_STEPS.join(","), "--out", out], {
      env: { VMLIVE_WORK_DIR: work },
    });
    const name = readdirSync(out).find((d) => /^vm-small-bookworm-amd64-\d{8}-\d{6}$/.test(d));
    writeFileSync(marker, JSON.stringify({ exitCode: r.exitCode ?? -1, all: r.all ?? "", name }));
  }
  const { exitCode, all, name } = JSON.parse(readFileSync(marker, "utf8")) as {
    exitCode: number;
    all: string;
    name?: string;
  };
  if (name === undefined) return { exitCode, all, work };
  const dir = path.join(out, name);
  const report = JSON.parse(readFileSync(path.join(dir, "report.json"), "utf8")) as BuildReport;
  return { exitCode, all, work, dir, report };
}
