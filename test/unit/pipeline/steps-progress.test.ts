// A build's steps as its log and its events tell them: the runner says when
// each step starts and ends, the watched machine announces each command with
// the step it runs for, output becomes events only without --quiet, and the
// build log gets all of it either way.
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { StepError } from "../../../src/errors.js";
import { watchExecs } from "../../../src/machine/watched.js";
import { runSteps, type StepTiming } from "../../../src/pipeline/runner.js";
import type { Step } from "../../../src/pipeline/steps.js";
import { BuildLog } from "../../../src/report/build-log.js";
import type { RunEvent } from "../../../src/report/events.js";
import { FakeMachine } from "../../support/fake-machine.js";
import { stepContext } from "../../support/step-context.js";
import { tempDir } from "../../support/tmp.js";

const LABEL = "img/bookworm/amd64";

const steps: Step[] = [
  {
    name: "first",
    summary: "says hello",
    verify: () => [],
    run: async (ctx) => {
      await ctx.machine.exec(["echo", "hello"], { output: ctx.log.output });
    },
  },
  {
    name: "second",
    summary: "fails",
    verify: () => [],
    run: async () => {
      throw new Error("boom");
    },
  },
];

async function runWith(quiet: boolean) {
  const fake = new FakeMachine().on("echo", { stdout: "hello\n" });
  const events: RunEvent[] = [];
  const log = new BuildLog(
    path.join(tempDir("vmlive-log-"), "logs", "build.log"),
    (e) => events.push(e),
    LABEL,
    quiet,
  );
  const { ctx } = stepContext({ machine: fake });
  const machine = watchExecs(fake, (argv) => log.command(argv, fake.site));
  const timings: StepTiming[] = [];
  const err = await runSteps({ ...ctx, machine }, steps, timings, (s) => log.forStep(s), log).catch((e) => e);
  return { events, err, timings, file: readFileSync(log.file, "utf8"), fake, machine };
}

describe("a build's steps as events and log lines", () => {
  it("emits step-start, command, output and step-end in order, each naming the build", async () => {
    const r = await runWith(false);
    expect(r.err).toBeInstanceOf(StepError);
    const seen = r.events.map((e) =>
      e.type === "command"
        ? `command ${e.step} ${e.argv[0]}`
        : e.type === "output"
          ? `output ${e.text}`
          : e.type,
    );
    expect(seen).toEqual([
      "step-start",
      "command first echo",
      "output hello",
      "command first sh", // the state file
      "step-end",
      "step-start",
      "step-end",
    ]);
    expect(r.events.every((e) => "build" in e && e.build === LABEL)).toBe(true);
    expect(r.events.filter((e) => e.type === "step-end").map((e) => [e.step, e.ok])).toEqual([
      ["first", true],
      ["second", false],
    ]);
    expect(r.timings.map((t) => [t.step, t.ok])).toEqual([
      ["first", true],
      ["second", false],
    ]);
    for (const e of r.events) expect(Number.isNaN(Date.parse(e.time))).toBe(false);
  });

  it("keeps output out of the events with --quiet, never out of the build log", async () => {
    const r = await runWith(true);
    expect(r.events.some((e) => e.type === "output")).toBe(false);
    const lines = r.file.trimEnd().split("\n");
    expect(lines).toHaveLength(5);
    expect(lines[0]).toMatch(/^00:00 \[first\] says hello$/);
    expect(lines[1]).toBe("first| hello");
    expect(lines[2]).toMatch(/^00:00 \[first\] done in 0\.\d s$/);
    expect(lines[3]).toMatch(/^00:00 \[second\] fails$/);
    expect(lines[4]).toMatch(/^00:00 \[second\] failed after 0\.\d s$/);
  });

  it("passes the machine on unchanged and leaves disposing of it to its owner", async () => {
    const r = await runWith(true);
    expect(r.machine.description).toBe(r.fake.description);
    expect(r.machine.site).toBe("vm");
    await r.machine.upload("/a", "/b");
    expect(r.fake.calls.at(-1)).toEqual({ kind: "upload", argv: ["/a", "/b"] });
    // The interruption reaches a copy through the watching wrapper (the ISO out of a builder VM).
    const { signal } = new AbortController();
    await r.machine.download("/c", "/d", { signal });
    expect(r.fake.calls.at(-1)).toEqual({ kind: "download", argv: ["/c", "/d"], opts: { signal } });
    await r.machine[Symbol.asyncDispose]();
    expect(r.fake.disposed).toBe(false);
  });
});

describe("an interruption that the last step finished through", () => {
  it("still ends the run as interrupted, with the step recorded as done", async () => {
    const stop = new AbortController();
    const reason = new Error("interrupted by SIGTERM");
    const last: Step = {
      name: "collect",
      summary: "copies",
      verify: () => [],
      // Heard the signal only after its work was done, as a copy that cannot be stopped midway.
      run: async () => {
        stop.abort(reason);
      },
    };
    const { ctx } = stepContext({ machine: new FakeMachine() });
    const log = new BuildLog(path.join(tempDir("vmlive-log-"), "logs", "build.log"), () => {}, LABEL, true);
    const timings: StepTiming[] = [];
    const err = await runSteps(
      { ...ctx, signal: stop.signal },
      [last],
      timings,
      (s) => log.forStep(s),
      log,
    ).catch((e: unknown) => e);
    expect(err).toBe(reason);
    expect(timings).toEqual([expect.objectContaining({ step: "collect", ok: true })]);
    expect(ctx.state.done.map((d) => d.step)).toEqual(["collect"]);
  });
});
