// Text for people: aligned columns, dates, signed changes.
import { fmtSeconds } from "../pipeline/runner.js";
import { humanBytes } from "../steps/boot/machine-files.js";
import type { Change } from "./diff.js";

/** Rows as lines, each column padded to its widest cell. */
export function columns(rows: readonly (readonly string[])[]): string[] {
  const widths: number[] = [];
  for (const r of rows) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, c.length)));
  return rows.map((r) =>
    r
      .map((c, i) => c.padEnd(widths[i]!))
      .join("  ")
      .trimEnd(),
  );
}

/** 2025-01-02T03:04:05.000Z -> "2025-01-02 03:04" (UTC, like the build folders' names). */
export function fmtDate(iso: string): string {
  return iso.slice(0, 16).replace("T", " ");
}

/** "412.3 MiB -> 415.0 MiB  +2.7 MiB (+2831155 bytes, +0.7%)"; "-" for an unknown side. */
export function bytesChange(c: Change): string {
  const side = (n: number | null) => (n === null ? "-" : humanBytes(n));
  let s = `${side(c.from)} -> ${side(c.to)}`;
  if (c.delta !== null) {
    const sign = c.delta < 0 ? "-" : "+";
    s += `  ${sign}${humanBytes(Math.abs(c.delta))} (${sign}${Math.abs(c.delta)} bytes`;
    s += c.percent === null ? ")" : `, ${pct(c.percent)})`;
  }
  return s;
}

/** "31.2 s -> 33.0 s  +1.8 s (+5.8%)"; "-" for an unknown side. */
export function secondsChange(c: Change): string {
  const side = (n: number | null) => (n === null ? "-" : fmtSeconds(n));
  let s = `${side(c.from)} -> ${side(c.to)}`;
  if (c.delta !== null) {
    s += `  ${c.delta < 0 ? "-" : "+"}${fmtSeconds(Math.abs(c.delta))}`;
    if (c.percent !== null) s += ` (${pct(c.percent)})`;
  }
  return s;
}

/** +7.3%, -0.4%. */
export function pct(p: number): string {
  return `${p >= 0 ? "+" : ""}${p.toFixed(1)}%`;
}
