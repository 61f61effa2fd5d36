// Boot an ISO every way a plan names, one after the other (each qemu under
// TCG wants every core), and keep boot-report.json up to date after each,
// so an interrupted run still says what it found.
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import type { Accel } from "../machine/qemu/args.js";
import { makeBootReport, BOOT_REPORT_FILE, type BootReport } from "./boot-report.js";
import { bootTest, type BootResult } from "./boot-test.js";
import { checkIsoFile } from "./iso-file.js";
import type { BootPlan } from "./plan.js";
import { wayName } from "./ways.js";

export interface BootAllOptions {
  accel: Accel;
  /** Serial logs, screenshots and boot-report.json go here. */
  logDir: string;
  signal?: AbortSignal;
  say: (message: string) => void;
}

export async function bootAllWays(plan: BootPlan, o: BootAllOptions): Promise<BootReport> {
  await checkIsoFile(plan.iso);
  await mkdir(o.logDir, { recursive: true });
  const started = new Date();
  const results: BootResult[] = [];
  let report = makeReport();
  for (const way of plan.ways) {
    if (o.signal?.aborted) break;
    const n = plan.commands.length;
    const commands = `${n} command${n === 1 ? "" : "s"}`;
    o.say(
      `booting as ${wayName(way)} (up to ${Math.round(plan.timeoutMs / 1000)} s)${n ? `, then ${commands}` : ""} ...`,
    );
    const r = await bootTest({
      iso: plan.iso,
      arch: plan.arch,
      way,
      accel: o.accel,
      logDir: o.logDir,
      timeoutMs: plan.timeoutMs,
      success: plan.success,
      menuText: plan.menuText,
      secureBoot: plan.secureBoot,
      commands: plan.commands,
      login: plan.login,
      signal: o.signal,
    });
    results.push(r);
    o.say(
      r.ok
        ? `${r.way}: booted in ${r.seconds.toFixed(1)} s${n ? `; ${commands} ok` : ""}`
        : `${r.way}: FAILED after ${r.seconds.toFixed(1)} s: ${r.reason}`,
    );
    report = makeReport();
    await writeFile(path.join(o.logDir, BOOT_REPORT_FILE), JSON.stringify(report, null, 2) + "\n");
  }
  return report;

  function makeReport(): BootReport {
    return makeBootReport({
      iso: plan.iso,
      arch: plan.arch,
      secureBoot: plan.secureBoot,
      accel: o.accel,
      started,
      finished: new Date(),
      results,
      dir: o.logDir,
    });
  }
}
