// The table at the end of a run of several builds, for people (stderr): one
// row per build with how it ended, how long it took, how big its ISO is, and
// where its output folder is or why it failed.
import path from "node:path";
import type { BuildOutcome, BuildStatus } from "../../pipeline/build-many.js";
import { fmtSeconds } from "../../pipeline/runner.js";
import { humanBytes } from "../../steps/boot/machine-files.js";
import { errorMessage } from "../../pipeline/build-many.js";
import { runCounts } from "./plain.js";
import { columns, printable } from "./text.js";

const STATUS: Readonly<Record<BuildStatus, string>> = {
  success: "ok",
  failed: "FAILED",
  interrupted: "interrupted",
  "not-started": "not started",
};

const HEAD = ["image", "suite", "arch", "status", "time", "ISO", "output folder or error"];

/** A path as short as it can be said: relative to `cwd` when it is below it. */
function shortPath(p: string, cwd: string): string {
  const rel = path.relative(cwd, p);
  return rel && !rel.startsWith("..") && !path.isAbsolute(rel) ? rel : p;
}

export function summaryRows(outcomes: readonly BuildOutcome[], cwd = process.cwd()): string[][] {
  return outcomes.map((o) => [
    o.build.image,
    o.build.suite,
    o.build.arch,
    STATUS[o.status],
    o.status === "not-started" ? "-" : fmtSeconds(o.seconds),
    o.iso ? humanBytes(o.iso.bytes) : "-",
    o.status === "success" || o.error === undefined
      ? o.dir
        ? shortPath(o.dir, cwd)
        : "-"
      : printable(errorMessage(o.error).split("\n")[0] ?? ""),
  ]);
}

/** The table, columns aligned, and a last line counting the outcomes. */
export function summaryTable(outcomes: readonly BuildOutcome[], cwd = process.cwd()): string {
  const rows = [HEAD, ...summaryRows(outcomes, cwd)];
  const widths = HEAD.map((_, i) => Math.max(...rows.map((r) => columns(r[i] ?? ""))));
  const line = (r: readonly string[]) =>
    r
      .map((c, i) => (i === r.length - 1 ? c : c + " ".repeat(widths[i]! - columns(c))))
      .join("  ")
      .trimEnd();
  const count = (s: BuildStatus) => outcomes.filter((o) => o.status === s).length;
  const total = runCounts({
    passed: count("success"),
    failed: count("failed"),
    interrupted: count("interrupted"),
    notStarted: count("not-started"),
  });
  return [
    line(rows[0]!),
    ...rows.slice(1).map(line),
    "",
    `${outcomes.length} builds: ${total}`,
    ...outcomes.flatMap(failureDetails),
  ].join("\n");
}

/** Below the table, each failure in full: the table has room for its first line only. */
function failureDetails(o: BuildOutcome): string[] {
  if (o.status !== "failed" || o.error === undefined) return [];
  const lines = errorMessage(o.error)
    .split("\n")
    .filter((l) => l.trim())
    .map((l) => `  ${printable(l.trim())}`);
  const where = o.dir ? [`  logs and report: ${o.dir}`] : [];
  return ["", `${o.build.image}/${o.build.suite}/${o.build.arch} failed:`, ...lines, ...where];
}
