// The table a run of several builds ends with: one aligned row per build.
import { describe, expect, it } from "vitest";
import type { BuildOutcome } from "../../../src/pipeline/build-many.js";
import { StepError } from "../../../src/errors.js";
import { summaryTable } from "../../../src/report/progress/summary-table.js";

const ref = (build: string) => {
  const [image, suite, arch] = build.split("/") as [string, string, string];
  return { build, image, suite, arch };
};

const outcomes: BuildOutcome[] = [
  {
    build: ref("live-minimal/bookworm/amd64"),
    status: "success",
    seconds: 312,
    dir: "/srv/work/out/live-minimal-bookworm-amd64-20261201-105500",
    iso: { path: "/srv/work/out/x/x.iso", bytes: 412 * 1024 ** 2 },
  },
  {
    build: ref("trixie-arm64/trixie/arm64"),
    status: "failed",
    seconds: 75.25,
    dir: "/srv/work/out/trixie-arm64-trixie-arm64-20261201-105500.failed",
    error: new StepError("customize", new Error("vm: apt-get install -y x: exit code 100\nE: broken")),
  },
  { build: ref("xfce-desktop/bookworm/amd64"), status: "not-started", seconds: 0 },
];

describe("the summary table", () => {
  it("has a row per build: status, time, ISO size, the folder or the error's first line; each failure in full below", () => {
    const text = summaryTable(outcomes, "/srv/work");
    expect(text.split("\n")).toEqual([
      "image         suite     arch   status       time        ISO        output folder or error",
      "live-minimal  bookworm  amd64  ok           5 min 12 s  412.0 MiB  out/live-minimal-bookworm-amd64-20261201-105500",
      "trixie-arm64  trixie    arm64  FAILED       1 min 15 s  -          step customize failed: vm: apt-get install -y x: exit code 100",
      "xfce-desktop  bookworm  amd64  not started  -           -          -",
      "",
      "3 builds: 1 passed, 1 failed, 1 not started",
      "",
      "trixie-arm64/trixie/arm64 failed:",
      "  step customize failed: vm: apt-get install -y x: exit code 100",
      "  E: broken",
      "  logs and report: /srv/work/out/trixie-arm64-trixie-arm64-20261201-105500.failed",
    ]);
  });

  it("keeps a folder outside the working directory absolute", () => {
    expect(summaryTable(outcomes.slice(0, 1), "/elsewhere")).toContain(
      "/srv/work/out/live-minimal-bookworm-amd64-20261201-105500",
    );
  });
});
