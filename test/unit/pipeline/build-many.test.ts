// A whole run with a fake build: planned, bounded, run, and told as a JSON
// event stream in which every line parses and the events come in order.
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { buildMany, type RunOptions } from "../../../src/pipeline/build-many.js";
import type { BuildOptions, BuildResult } from "../../../src/pipeline/build.js";
import { BuildLog } from "../../../src/report/build-log.js";
import { buildLabel, type RunEvent } from "../../../src/report/events.js";
import { JsonProgress } from "../../../src/report/progress/json.js";
import type { BuildReport } from "../../../src/report/report.js";
import { tempDir } from "../../support/tmp.js";

const cwd = tempDir("vmlive-many-");
for (const [name, yaml] of Object.entries({ alpha: "", beta: "suite: trixie\n" })) {
  mkdirSync(path.join(cwd, "images", name), { recursive: true });
  writeFileSync(path.join(cwd, "images", name, "image.yaml"), `description: ${name}\n${yaml}`);
}
const out = tempDir("vmlive-many-out-");
const GiB = 1024 ** 3;

/** A build that says a line, runs a step and fails for the images in `failing`. */
function fakeBuild(failing: string[], seen: BuildOptions[]) {
  return async (o: BuildOptions): Promise<BuildResult> => {
    seen.push(o);
    const arch = o.sets?.findLast((s) => s.startsWith("arch="))?.slice(5) ?? "amd64";
    const suite = o.image === "beta" ? "trixie" : "bookworm";
    const dir = path.join(out, `${o.image}-${arch}`);
    const log = new BuildLog(
      path.join(dir, "logs", "build.log"),
      o.events,
      buildLabel({ image: o.image, suite, arch }),
      o.quiet,
    );
    log.say("vmlive", `building ${o.image}`);
    log.stepStart("bootstrap", "debootstrap");
    log.forStep("bootstrap").output.line("stdout", "I: Retrieving InRelease");
    log.stepEnd("bootstrap", !failing.includes(o.image), 1);
    if (failing.includes(o.image)) {
      log.emit({ type: "folder", dir: `${dir}.failed` });
      throw new Error(`${o.image} failed\nsecond line`);
    }
    const report = {
      artifacts: [{ name: `${o.image}.iso`, bytes: 123, sha256: "" }],
    } as unknown as BuildReport;
    return { dir, report };
  };
}

async function run(o: Partial<RunOptions> & { failing?: string[] }) {
  const lines: string[] = [];
  const json = new JsonProgress((t) => lines.push(t));
  const seen: BuildOptions[] = [];
  const r = await buildMany({
    images: [],
    jobs: 1,
    keepGoing: false,
    common: { backend: "vm", accel: "tcg", clean: false, out, keepVm: false, quiet: false, cwd },
    signal: new AbortController().signal,
    events: (e) => json.handle(e),
    buildFn: fakeBuild(o.failing ?? [], seen),
    host: { cpus: 2, availableBytes: 64 * GiB },
    ...o,
  });
  return { ...r, lines, seen };
}

describe("a run of many builds", () => {
  it("streams one JSON object per line, in order, from run-start to run-end", async () => {
    const r = await run({ all: true, arches: ["amd64,arm64"], jobs: 4 });
    const events = r.lines.map((l) => JSON.parse(l) as RunEvent);
    expect(events[0]).toMatchObject({ type: "run-start", jobs: 2 });
    expect(events[1]).toMatchObject({
      type: "say",
      label: "vmlive",
      message: expect.stringContaining("2 CPU cores"),
    });
    expect(events.at(-1)).toMatchObject({
      type: "run-end",
      passed: 4,
      failed: 0,
      notStarted: 0,
      exitCode: 0,
    });
    // Each build's events lie between its build-start and build-end.
    for (const b of [
      "alpha/bookworm/amd64",
      "alpha/bookworm/arm64",
      "beta/trixie/amd64",
      "beta/trixie/arm64",
    ]) {
      const mine = events.filter((e) => "build" in e && e.build === b).map((e) => e.type);
      expect(mine).toEqual(["build-start", "say", "step-start", "output", "step-end", "build-end"]);
    }
    for (const e of events) expect(e.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(r.exitCode).toBe(0);
  });

  it("passes each build its image, the arch as a --set, and the options every build shares", async () => {
    const r = await run({ images: ["alpha"], arches: ["arm64"], sets: ["hostname=x"] });
    expect(r.seen).toHaveLength(1);
    expect(r.seen[0]).toMatchObject({
      image: "alpha",
      sets: ["hostname=x", "arch=arm64"],
      out,
      backend: "vm",
    });
    expect(r.outcomes[0]).toMatchObject({
      status: "success",
      iso: { path: path.join(out, "alpha-arm64", "alpha.iso"), bytes: 123 },
    });
  });

  it("stops after the first failure without keepGoing, and says why in build-end and run-end", async () => {
    const r = await run({ images: ["alpha", "beta"], failing: ["alpha"] });
    expect(r.outcomes.map((o) => o.status)).toEqual(["failed", "not-started"]);
    expect(r.exitCode).toBe(1);
    const events = r.lines.map((l) => JSON.parse(l) as RunEvent);
    expect(events.find((e) => e.type === "build-end")).toMatchObject({
      status: "failed",
      dir: path.join(out, "alpha-amd64.failed"),
      error: "alpha failed\nsecond line",
    });
    expect(events.at(-1)).toMatchObject({
      type: "run-end",
      passed: 0,
      failed: 1,
      notStarted: 1,
      exitCode: 1,
    });
  });

  it("runs every build with keepGoing", async () => {
    const r = await run({ images: ["alpha", "beta"], failing: ["alpha"], keepGoing: true });
    expect(r.outcomes.map((o) => o.status)).toEqual(["failed", "success"]);
    expect(r.exitCode).toBe(1);
  });

  it("leaves out the command output with --quiet", async () => {
    const types = (r: { lines: string[] }) => r.lines.map((l) => (JSON.parse(l) as RunEvent).type);
    expect(types(await run({ images: ["alpha"] }))).toContain("output");
    const quiet = await run({
      images: ["alpha"],
      common: { backend: "vm", accel: "tcg", clean: false, out, keepVm: false, quiet: true, cwd },
    });
    expect(types(quiet)).not.toContain("output");
    expect(types(quiet)).toContain("step-end");
  });
});
