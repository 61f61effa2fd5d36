// The e2e run's one real build of the default image: live-minimal with
// --backend host and --boot-test (all four ways, with commands run in the
// booted system). The first test file that asks builds it; the others get the
// same result, as e2e files run one after the other. A build takes minutes
// and four boots many more under TCG, so doing it once keeps CI in its budget.
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { inject } from "vitest";
import type { BuildReport } from "../../src/report/report.js";
import { vmlive } from "./cli.js";

/** Commands the boot test runs in the live system: it is up, the user is a sudoer, apt has the image's sources. */
export const LIVE_MINIMAL_COMMANDS = [
  "systemctl is-system-running --wait",
  "id -nG live | grep -qw sudo",
  "grep -qx 'deb http://deb.debian.org/debian bookworm main' /etc/apt/sources.list",
];

export interface SharedBuild {
  exitCode: number;
  /** The build's whole output. */
  all: string;
  out: string;
  /** Environment that points vmlive at the build's work area (for --steps reruns). */
  env: Record<string, string>;
  /** The finished output folder, its ISO and report.json; unset when the build failed (a failed boot test leaves them). */
  dir?: string;
  iso?: string;
  report?: BuildReport;
}

export async function liveMinimal(): Promise<SharedBuild> {
  const shared = inject("e2eShared");
  const marker = path.join(shared, "live-minimal.json");
  const out = path.join(shared, "out");
  const env = { VMLIVE_WORK_DIR: path.join(shared, "work") };
  if (!existsSync(marker)) {
    mkdirSync(out, { recursive: true });
    const r = await vmlive(
      [
        "build",
        "live-minimal",
        "--backend",
        "host",
        "--clean",
        "--quiet",
        "--out",
        out,
        "--boot-test",
        "--set",
        `boot_test.commands=${JSON.stringify(LIVE_MINIMAL_COMMANDS)}`,
      ],
      { env },
    );
    // The finished folder is found, not taken from stdout: a failed boot test prints no path.
    const name = readdirSync(out).find((d) => /^live-minimal-bookworm-amd64-\d{8}-\d{6}$/.test(d));
    writeFileSync(marker, JSON.stringify({ exitCode: r.exitCode ?? -1, all: r.all ?? "", name }));
  }
  const { exitCode, all, name } = JSON.parse(readFileSync(marker, "utf8")) as {
    exitCode: number;
    all: string;
    name?: string;
  };
  if (name === undefined) return { exitCode, all, out, env };
  const dir = path.join(out, name);
  return {
    exitCode,
    all,
    out,
    env,
    dir,
    iso: path.join(dir, "live-minimal-bookworm-amd64.iso"),
    report: JSON.parse(readFileSync(path.join(dir, "report.json"), "utf8")) as BuildReport,
  };
}
