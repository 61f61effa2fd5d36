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

/**
 * The targets: vmlive at most this fraction of live-build's wall time, its own overhead, and a
 * rebuild after one changed hook at most this fraction of a full build.
 */
export const TARGETS = { cold: 0.8, warm: 0.5, isoBytes: 1, overhead: 0.1, hookChanged: 0.25 } as const;

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

export interface RebuildLine {
  bench: "rebuild";
  backend: string;
  run: "hook-changed";
  /** The full build it is measured against. */
  of: "clean";
  /** The rebuild's wall time / the full build's. */
  wall: number;
  target_wall: number;
  wall_met: boolean;
}

/** Per backend, the changed-hook rebuild against the full build with the same package cache. */
export function rebuildRatios(lines: readonly RunLine[]): RebuildLine[] {
  const vm = (run: string, backend: string) =>
    lines.find((l) => l.tool === "vmlive" && l.ok && l.run === run && l.backend === backend);
  const out: RebuildLine[] = [];
  for (const backend of new Set(lines.map((l) => l.backend))) {
    const rebuild = vm("hook-changed", backend);
    const full = vm("clean", backend);
    if (!rebuild || !full || full.wall_s <= 0) continue;
    const wall = round(rebuild.wall_s / full.wall_s, 3);
    out.push({
      bench: "rebuild",
      backend,
      run: "hook-changed",
      of: "clean",
      wall,
      target_wall: TARGETS.hookChanged,
      wall_met: wall <= TARGETS.hookChanged,
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
