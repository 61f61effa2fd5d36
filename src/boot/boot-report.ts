// The boot report: boot-report.json beside the serial logs and screenshots,
// and the table people read. File names in it are relative to its folder, so
// the folder can be moved or published as it is.
import path from "node:path";
import type { Accel } from "../machine/qemu/args.js";
import { VERSION } from "../version.js";
import type { BootResult } from "./boot-test.js";
import type { BootArch } from "./ways.js";

export const BOOT_REPORT_FILE = "boot-report.json";

export interface BootWayReport {
  way: string;
  ok: boolean;
  seconds: number;
  serialLog: string;
  screenshots: string[];
  commands: { command: string; exitCode: number | null; seconds: number; output: string }[];
  reason?: string;
  serialTail?: string;
}

export interface BootReport {
  vmlive: string;
  iso: string;
  arch: BootArch;
  secureBoot: boolean;
  accel: Accel;
  started: string;
  finished: string;
  ok: boolean;
  ways: BootWayReport[];
}

export function makeBootReport(r: {
  iso: string;
  arch: BootArch;
  secureBoot: boolean;
  accel: Accel;
  started: Date;
  finished: Date;
  results: readonly BootResult[];
  dir: string;
}): BootReport {
  const rel = (f: string) => path.relative(r.dir, f);
  return {
    vmlive: VERSION,
    iso: r.iso,
    arch: r.arch,
    secureBoot: r.secureBoot,
    accel: r.accel,
    started: r.started.toISOString(),
    finished: r.finished.toISOString(),
    ok: r.results.length > 0 && r.results.every((x) => x.ok),
    ways: r.results.map((x) => ({
      way: x.way,
      ok: x.ok,
      seconds: Math.round(x.seconds * 10) / 10,
      serialLog: rel(x.serialLog),
      screenshots: x.screenshots.map(rel),
      commands: x.commands.map((c) => ({
        command: c.command,
        // JSON has no undefined: null says the command did not finish.
        exitCode: c.exitCode ?? null,
        seconds: Math.round(c.seconds * 10) / 10,
        output: c.output,
      })),
      ...(x.reason !== undefined && { reason: x.reason }),
      ...(x.serialTail !== undefined && { serialTail: x.serialTail }),
    })),
  };
}

/** One line per way: result, boot time, commands, screenshots. */
export function bootTable(r: BootReport): string {
  const rows = [
    ["way", "result", "boot time", "commands", "screenshots"],
    ...r.ways.map((w) => [
      w.way,
      w.ok ? "ok" : "FAILED",
      `${w.seconds.toFixed(1)} s`,
      w.commands.length
        ? `${w.commands.filter((c) => c.exitCode === 0).length}/${w.commands.length} ok`
        : "-",
      w.screenshots.map((s) => path.basename(s)).join(" ") || "-",
    ]),
  ];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  return rows
    .map((row) =>
      row
        .map((c, i) => c.padEnd(widths[i]!))
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}

/** What a person needs about one way: why it failed, each command's result, the console's last lines. */
export function wayDetails(w: BootWayReport, dir: string): string {
  const lines: string[] = [];
  for (const c of w.commands) {
    const status = c.exitCode === null ? "did not finish" : `exit ${c.exitCode}`;
    lines.push(
      `  ${c.exitCode === 0 ? "ok  " : "FAIL"} ${c.command}  (${status}, ${c.seconds.toFixed(1)} s)`,
    );
    if (c.exitCode !== 0 && c.output.trim()) lines.push(c.output.trimEnd().replace(/^/gm, "       | "));
  }
  if (!w.ok) {
    lines.unshift(`${w.way}: ${w.reason ?? "failed"}`);
    if (w.serialTail)
      lines.push(
        `  serial console, last lines (full log ${path.join(dir, w.serialLog)}):`,
        w.serialTail.replace(/^/gm, "  | "),
      );
  } else if (lines.length) lines.unshift(`${w.way}:`);
  return lines.join("\n");
}

/** The boot test as the build's report.json tells it: per way, with files relative to the output folder. */
export interface BuildBootTest {
  ok: boolean;
  /** boot-report.json, with every command's output. */
  report: string;
  ways: {
    way: string;
    ok: boolean;
    seconds: number;
    screenshots: string[];
    commands: { command: string; exitCode: number | null }[];
    reason?: string;
  }[];
}

/** `sub` is the boot report's folder relative to the output folder (boot). */
export function buildBootTest(r: BootReport, sub: string): BuildBootTest {
  return {
    ok: r.ok,
    report: path.join(sub, BOOT_REPORT_FILE),
    ways: r.ways.map((w) => ({
      way: w.way,
      ok: w.ok,
      seconds: w.seconds,
      screenshots: w.screenshots.map((s) => path.join(sub, s)),
      commands: w.commands.map((c) => ({ command: c.command, exitCode: c.exitCode })),
      ...(w.reason !== undefined && { reason: w.reason }),
    })),
  };
}
