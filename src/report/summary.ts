// The build as Markdown (summary.md in the output folder): what a CI job
// summary shows (GitHub's $GITHUB_STEP_SUMMARY, a GitLab artifact) and what a
// person reads first: did it work, how long each part took, what came out.
import { fmtSeconds } from "../pipeline/runner.js";
import { humanBytes } from "../steps/boot/machine-files.js";
import type { BuildReport } from "./report.js";

export const SUMMARY_FILE = "summary.md";

/** A table cell: one line, no pipe to break the table. */
export const cell = (s: string) => s.replace(/\s*\n\s*/g, " ").replace(/\|/g, "\\|");

function table(head: readonly string[], rows: readonly (readonly string[])[]): string[] {
  return [
    `| ${head.join(" | ")} |`,
    `| ${head.map(() => "---").join(" | ")} |`,
    ...rows.map((r) => `| ${r.map(cell).join(" | ")} |`),
  ];
}

export function summaryMarkdown(r: BuildReport): string {
  const id = `${r.image} ${r.suite} ${r.arch}`;
  const booted = r.bootTest === undefined ? "" : r.bootTest.ok ? ", boots" : ", does NOT boot";
  const lines = [
    `## ${r.status === "success" ? "Built" : r.status === "interrupted" ? "Interrupted" : "FAILED"}: ${id}${booted}`,
    "",
    `${fmtSeconds(r.seconds)} on ${r.machine || "no machine"}, vmlive ${r.vmlive}, ${r.started}; ${r.packages} packages.`,
    "",
  ];
  if (r.error) lines.push("```text", r.error.trimEnd(), "```", "");
  lines.push(
    ...table(
      ["step", "result", "time"],
      r.steps.map((s) => [s.step, s.ok ? "ok" : "FAILED", fmtSeconds(s.seconds)]),
    ),
    "",
  );
  if (r.artifacts?.length)
    lines.push(
      ...table(
        ["file", "size", "sha256"],
        r.artifacts.map((a) => [a.name, humanBytes(a.bytes), `\`${a.sha256}\``]),
      ),
      "",
    );
  if (r.bootTest)
    lines.push(
      ...table(
        ["boot", "result", "time", "commands"],
        r.bootTest.ways.map((w) => [
          w.way,
          w.ok ? "ok" : `FAILED: ${w.reason?.split("\n")[0] ?? ""}`,
          fmtSeconds(w.seconds),
          w.commands.length
            ? `${w.commands.filter((c) => c.exitCode === 0).length}/${w.commands.length} ok`
            : "-",
        ]),
      ),
      "",
    );
  return lines.join("\n");
}
