// What the bench prints: one JSON line per build run, then the comparisons
// (vmlive against live-build, vmlive against its own commands). Pure
// functions, so the arithmetic is unit-tested apart from the slow runs.
import type { CommandTotals } from "../src/machine/watched.js";

export type Tool = "vmlive" | "live-build";

/** One build run, as printed. Times in seconds; null where the run did not get that far. */
export interface RunLine {
  bench: "build";
  tool: Tool;
  backend: string;
  run: string;
  ok: boolean;
  error?: string;
  /** Step (vmlive) or stage (live-build) name to seconds, in the order they ran. */
  steps: Record<string, number>;
  /** The tool's own idea of the build's time: report.json's seconds, or the sum of lb's stages. */
  total_s: number | null;
  /** Wall time of the whole run as a person waits for it, process start to exit. */
  wall_s: number;
  iso_bytes: number | null;
  /** Seconds from qemu's start to the login prompt, booting the ISO once as cd-bios. */
  boot_s: number | null;
  boot_ok?: boolean;
  boot_error?: string;
  /** vmlive only: the machine's commands (report.json's commands). */
  commands?: CommandTotals;
  /** vmlive only: (total_s - commands.seconds) / commands.seconds, vmlive's own share. */
  overhead?: number | null;
}

/** The targets of issue #7: vmlive at most this fraction of live-build's wall time, and its own overhead. */
export const TARGETS = { cold: 0.8, warm: 0.5, isoBytes: 1, overhead: 0.1 } as const;

/** vmlive's own time relative to the time its machine was busy; null when that cannot be said. */
export function overhead(totalSeconds: number | null, commands: CommandTotals | undefined): number | null {
  if (totalSeconds === null || !commands || commands.seconds <= 0) return null;
  return round((totalSeconds - commands.seconds) / commands.seconds, 3);
}

export interface RatioLine {
  bench: "ratio";
  /** vmlive's backend; live-build always builds on the host. */
  backend: string;
  run: string;
  /** vmlive's wall time / live-build's. */
  wall: number;
  /** vmlive's ISO size / live-build's; null when either has no ISO. */
  iso_bytes: number | null;
  target_wall: number | null;
  wall_met: boolean | null;
  iso_met: boolean | null;
}

/** vmlive/live-build per backend and run kind, for every pair where both runs passed. */
export function ratios(lines: readonly RunLine[]): RatioLine[] {
  const out: RatioLine[] = [];
  for (const v of lines) {
    if (v.tool !== "vmlive" || !v.ok) continue;
    const lb = lines.find((l) => l.tool === "live-build" && l.ok && l.run === v.run);
    if (!lb || lb.wall_s <= 0) continue;
    const wall = round(v.wall_s / lb.wall_s, 3);
    const iso = v.iso_bytes !== null && lb.iso_bytes ? round(v.iso_bytes / lb.iso_bytes, 3) : null;
    const target = targetFor(v.run);
    out.push({
      bench: "ratio",
      backend: v.backend,
      run: v.run,
      wall,
      iso_bytes: iso,
      target_wall: target,
      wall_met: target === null ? null : wall <= target,
      iso_met: iso === null ? null : iso <= TARGETS.isoBytes,
    });
  }
  return out;
}

/** A run kind's wall-time target: "warm-from-customize" is held to the warm one. */
function targetFor(run: string): number | null {
  if (run === "cold") return TARGETS.cold;
  if (run.startsWith("warm")) return TARGETS.warm;
  return null;
}

export function round(n: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}
