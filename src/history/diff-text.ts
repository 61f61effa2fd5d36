// `vmlive diff` for people: one section per kind of change, one line per
// package, so the output reads top to bottom and greps well.
import type { PackageRow } from "./build-folder.js";
import type { BuildDiff, BuildSummary } from "./diff.js";
import { bytesChange, columns, fmtDate, secondsChange } from "./format.js";

export function diffText(d: BuildDiff): string {
  const lines = [`${title(d.from)}\n  -> ${title(d.to)}`];
  lines.push("", ...packageLines(d));
  lines.push(
    "",
    "sizes:",
    ...indent(
      columns([
        ["ISO", bytesChange(d.iso)],
        ["squashfs", bytesChange(d.squashfs)],
      ]),
    ),
  );
  if (d.boots.length)
    lines.push(
      "",
      "boot time:",
      ...indent(
        columns(
          d.boots.map((w) => {
            const ok = (v: boolean | null) => (v === null ? "not tried" : v ? "ok" : "FAILED");
            // A failed way's seconds are how long it waited, not a boot time.
            const timed = w.fromOk && w.toOk;
            return [w.way, timed ? secondsChange(w) : `${ok(w.fromOk)} -> ${ok(w.toOk)}`];
          }),
        ),
      ),
    );
  lines.push(
    "",
    "build time:",
    ...indent(
      columns([["total", secondsChange(d.seconds)], ...d.steps.map((s) => [s.step, secondsChange(s)])]),
    ),
  );
  if (d.notes.length) lines.push("", ...d.notes.map((n) => `note: ${n}`));
  return lines.join("\n");
}

function title(s: BuildSummary): string {
  const where = s.id === null ? "" : ` (${s.folder})`;
  return `${s.label}${where}: ${s.image} ${s.suite} ${s.arch}, ${fmtDate(s.started)}, ${s.status}`;
}

function packageLines(d: BuildDiff): string[] {
  const p = d.packages;
  if (!p) return ["packages: not compared (see the notes below)"];
  // Like dpkg: a package of the image's own architecture (or all) by its name, another as name:arch.
  const name = (r: Pick<PackageRow, "name" | "arch">) =>
    r.arch === d.to.arch || r.arch === "all" ? r.name : `${r.name}:${r.arch}`;
  const counts = `${p.added.length} added, ${p.removed.length} removed, ${p.upgraded.length} upgraded, ${p.downgraded.length} downgraded`;
  return [
    `packages: ${p.from} -> ${p.to} (${counts})`,
    ...indent(
      columns([
        ...p.added.map((r) => ["added", name(r), r.version]),
        ...p.removed.map((r) => ["removed", name(r), r.version]),
        ...p.upgraded.map((r) => ["upgraded", name(r), `${r.from} -> ${r.to}`]),
        ...p.downgraded.map((r) => ["downgraded", name(r), `${r.from} -> ${r.to}`]),
      ]),
    ),
  ];
}

const indent = (ls: readonly string[]) => ls.map((l) => `  ${l}`);
