// Progress as plain lines, for CI logs and anything that is not a terminal:
// each line starts with its UTC time and the build it belongs to, so the
// lines of builds running side by side can be told apart (and grepped).
import { fmtSeconds } from "../../pipeline/runner.js";
import type { RunEvent } from "../events.js";
import type { Progress } from "./progress.js";
import { printable } from "./text.js";

/** "2026-12-01T10:55:02Z": the event's time to the second. */
export function plainTime(iso: string): string {
  return iso.replace(/\.\d+Z$/, "Z");
}

export class PlainProgress implements Progress {
  /** Builds in the run: with one, its own lines are enough; with several, the run says more. */
  private builds = 0;

  constructor(private readonly line: (text: string) => void) {}

  handle(e: RunEvent): void {
    const at = (who: string, text: string) => this.line(`${plainTime(e.time)} ${who} ${text}`);
    switch (e.type) {
      case "run-start":
        this.builds = e.builds.length;
        if (this.builds > 1)
          at(
            "vmlive",
            `[vmlive] ${e.builds.length} builds, ${e.jobs} at a time: ${e.builds.map((b) => b.build).join(", ")}`,
          );
        return;
      case "say":
        // A table said at once (the boot test's) is several lines, each stamped.
        for (const text of e.message.split("\n").filter((l) => l.trim()))
          at(e.build ?? "vmlive", `[${e.label}] ${printable(text)}`);
        return;
      case "step-start":
        return at(e.build, `[${e.step}] ${e.summary}`);
      case "step-end":
        return at(e.build, `[${e.step}] ${e.ok ? "done in" : "failed after"} ${fmtSeconds(e.seconds)}`);
      case "output":
        return at(e.build, `${e.label}${e.stream === "stderr" ? "!" : "|"} ${printable(e.text)}`);
      case "build-end": {
        const how =
          e.status === "success"
            ? `passed in ${fmtSeconds(e.seconds)}`
            : `${e.status === "failed" ? "FAILED" : "interrupted"} after ${fmtSeconds(e.seconds)}`;
        // The whole error: in CI this log is all there is, and the reason is on the later lines.
        const [first, ...rest] = (e.error ?? "").split("\n").filter((l) => l.trim());
        at(e.build, `[vmlive] ${how}${first ? `: ${printable(first)}` : ""}`);
        for (const l of rest) at(e.build, `[vmlive]   ${printable(l.trim())}`);
        return;
      }
      case "run-end":
        if (this.builds > 1) at("vmlive", `[vmlive] ${runCounts(e)} in ${fmtSeconds(e.seconds)}`);
        return;
      // The commands, boot ways and folders are said in other words by the build itself.
      case "build-start":
      case "command":
      case "boot-way":
      case "folder":
        return;
    }
  }

  close(): void {}
}

/** "3 passed, 1 failed, 1 not started". */
export function runCounts(e: {
  passed: number;
  failed: number;
  interrupted: number;
  notStarted: number;
}): string {
  const parts = [`${e.passed} passed`];
  if (e.failed) parts.push(`${e.failed} failed`);
  if (e.interrupted) parts.push(`${e.interrupted} interrupted`);
  if (e.notStarted) parts.push(`${e.notStarted} not started`);
  return parts.join(", ");
}
