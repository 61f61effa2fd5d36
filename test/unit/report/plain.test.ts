// Plain progress lines for CI: every line stamped with its UTC time and its
// build, nothing a log viewer would show as garbage.
import { describe, expect, it } from "vitest";
import type { RunEvent, Unstamped } from "../../../src/report/events.js";
import { PlainProgress } from "../../../src/report/progress/plain.js";
import { at } from "./event-times.js";

const A = "live-minimal/bookworm/amd64";
const B = "trixie-arm64/trixie/arm64";

function render(events: Unstamped[]): string[] {
  const lines: string[] = [];
  const p = new PlainProgress((t) => lines.push(t));
  events.forEach((e, i) => p.handle({ ...e, time: at(i) } as RunEvent));
  p.close();
  return lines;
}

const ref = (build: string) => {
  const [image, suite, arch] = build.split("/") as [string, string, string];
  return { build, image, suite, arch };
};

describe("plain progress lines", () => {
  it("stamps every line with the time and the build, as CI logs want them", () => {
    const lines = render([
      { type: "run-start", builds: [ref(A), ref(B)], jobs: 2 },
      { type: "build-start", ...ref(A), backend: "vm", steps: ["customize"] },
      { type: "step-start", build: A, step: "customize", summary: "packages, users, hooks" },
      { type: "say", build: A, label: "customize", message: "installing 6 packages ..." },
      { type: "command", build: A, step: "customize", site: "vm", argv: ["apt-get", "install"] },
      { type: "output", build: A, label: "customize", stream: "stderr", text: "W: \x1b[1mwarning\x1b[0m" },
      { type: "step-end", build: A, step: "customize", ok: true, seconds: 75 },
      { type: "say", label: "vmlive", message: "--jobs 4: running 2 at a time" },
      { type: "folder", build: A, dir: "/out/a" },
      { type: "build-end", build: A, status: "success", seconds: 80, dir: "/out/a" },
      {
        type: "build-end",
        build: B,
        status: "failed",
        seconds: 3,
        error: "step bootstrap failed: boom\nsecond line",
      },
      { type: "run-end", passed: 1, failed: 1, interrupted: 0, notStarted: 0, seconds: 90, exitCode: 1 },
    ]);
    expect(lines).toEqual([
      `2026-12-01T10:55:00Z vmlive [vmlive] 2 builds, 2 at a time: ${A}, ${B}`,
      `2026-12-01T10:55:02Z ${A} [customize] packages, users, hooks`,
      `2026-12-01T10:55:03Z ${A} [customize] installing 6 packages ...`,
      `2026-12-01T10:55:05Z ${A} customize! W: warning`,
      `2026-12-01T10:55:06Z ${A} [customize] done in 1 min 15 s`,
      `2026-12-01T10:55:07Z vmlive [vmlive] --jobs 4: running 2 at a time`,
      `2026-12-01T10:55:09Z ${A} [vmlive] passed in 1 min 20 s`,
      `2026-12-01T10:55:10Z ${B} [vmlive] FAILED after 3.0 s: step bootstrap failed: boom`,
      `2026-12-01T10:55:10Z ${B} [vmlive]   second line`,
      `2026-12-01T10:55:11Z vmlive [vmlive] 1 passed, 1 failed in 1 min 30 s`,
    ]);
    // eslint-disable-next-line no-control-regex -- no control character may reach a CI log
    for (const l of lines) expect(l).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ \S+ [^\x00-\x1f]*$/);
  });

  it("stamps each line of a message that has several (a table)", () => {
    const lines = render([{ type: "say", build: A, label: "boot", message: "\nway  result\ncd-bios  ok" }]);
    expect(lines).toEqual([
      `2026-12-01T10:55:00Z ${A} [boot] way  result`,
      `2026-12-01T10:55:00Z ${A} [boot] cd-bios  ok`,
    ]);
  });

  it("says nothing of the run itself when it has one build: the build's lines are the story", () => {
    const lines = render([
      { type: "run-start", builds: [ref(A)], jobs: 1 },
      { type: "run-end", passed: 1, failed: 0, interrupted: 0, notStarted: 0, seconds: 9, exitCode: 0 },
    ]);
    expect(lines).toEqual([]);
  });
});
