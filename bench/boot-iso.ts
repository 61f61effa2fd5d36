// Booting a built ISO once, as a CD on BIOS, with `vmlive boot`: the same
// boot for both tools' ISOs, timed by vmlive's boot report (qemu start to
// the login prompt on the serial console).
import { readFile } from "node:fs/promises";
import path from "node:path";
import { BOOT_REPORT_FILE, type BootReport } from "../src/boot/boot-report.js";
import { run } from "../src/process/run.js";
import { tailLines } from "../src/process/run.js";
import { vmliveArgv, type Progress } from "./progress.js";

export const BENCH_BOOT_WAY = "cd-bios";

export interface BootOutcome {
  boot_s: number | null;
  boot_ok: boolean;
  boot_error?: string;
}

/** `extra`: settings the ISO has no report.json beside it for (live-build's). */
export async function bootOnce(
  iso: string,
  logs: string,
  extra: readonly string[],
  p: Progress,
): Promise<BootOutcome> {
  p.say(`booting ${path.basename(iso)} as ${BENCH_BOOT_WAY}`);
  const r = await run(
    vmliveArgv(["boot", iso, "--ways", BENCH_BOOT_WAY, "--logs", logs, "--accel", p.accel, ...extra]),
    { check: false, signal: p.signal, output: p.output("boot") },
  );
  const report = await readFile(path.join(logs, BOOT_REPORT_FILE), "utf8")
    .then((t) => JSON.parse(t) as BootReport)
    .catch(() => undefined);
  const way = report?.ways.find((w) => w.way === BENCH_BOOT_WAY);
  if (!way)
    return {
      boot_s: null,
      boot_ok: false,
      boot_error: `vmlive boot exited ${r.exitCode}: ${tailLines(r.stderr, 3)}`,
    };
  return way.ok
    ? { boot_s: way.seconds, boot_ok: true }
    : { boot_s: null, boot_ok: false, boot_error: way.reason ?? "did not boot" };
}
