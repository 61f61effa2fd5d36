// The scheduler with a fake build: never more than N at once, a failure
// stops new builds unless keepGoing, an interruption stops everything, and
// the exit code says what happened.
import fc from "fast-check";
import { setTimeout as sleep } from "node:timers/promises";
import { describe, expect, it } from "vitest";
import { ExitCode, InterruptedError } from "../../../src/errors.js";
import { runBuilds, runExitCode, type Built } from "../../../src/pipeline/build-many.js";
import type { EventSink, PlannedBuildRef, RunEvent } from "../../../src/report/events.js";

const refs = (n: number): PlannedBuildRef[] =>
  Array.from({ length: n }, (_, i) => ({
    build: `img${i}/bookworm/amd64`,
    image: `img${i}`,
    suite: "bookworm",
    arch: "amd64",
  }));

interface Trace {
  running: number;
  most: number;
  started: number[];
  /** For each build as it started: how many failures the run had told by then (in build-end events). */
  failedBefore: number[];
  told: number;
}

/** A build that takes `ms[i]` ms and fails when `fails` has i; it stops at once when the signal aborts. */
function fakeBuild(ms: readonly number[], fails: ReadonlySet<number>, t: Trace, signal: AbortSignal) {
  return async (b: PlannedBuildRef, events: EventSink): Promise<Built> => {
    const i = Number(/\d+/.exec(b.image)![0]);
    t.started.push(i);
    t.failedBefore.push(t.told);
    t.running++;
    t.most = Math.max(t.most, t.running);
    try {
      await sleep(ms[i] ?? 1, undefined, { signal }).catch(() => {
        throw signal.reason;
      });
      if (fails.has(i)) {
        events({
          type: "folder",
          build: b.build,
          dir: `/out/${b.image}.failed`,
          time: new Date().toISOString(),
        });
        throw new Error(`build ${i} failed`);
      }
      return { dir: `/out/${b.image}`, iso: { path: `/out/${b.image}/x.iso`, bytes: 1000 + i } };
    } finally {
      t.running--;
    }
  };
}

const trace = (): Trace => ({ running: 0, most: 0, started: [], failedBefore: [], told: 0 });

async function schedule(n: number, jobs: number, keepGoing: boolean, fails: number[], ms: number[] = []) {
  const t = trace();
  const events: RunEvent[] = [];
  const signal = new AbortController().signal;
  const outcomes = await runBuilds(refs(n), {
    jobs,
    keepGoing,
    signal,
    events: (e) => {
      events.push(e);
      if (e.type === "build-end" && e.status !== "success") t.told++;
    },
    backend: "vm",
    steps: ["bootstrap"],
    buildOne: fakeBuild(ms, new Set(fails), t, signal),
  });
  return { t, events, outcomes, exitCode: runExitCode(outcomes, signal.aborted) };
}

describe("running many builds", () => {
  it("never runs more than N at once, and keeps every build's outcome in plan order", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 7 }),
        fc.integer({ min: 1, max: 4 }),
        fc.array(fc.integer({ min: 0, max: 4 }), { minLength: 7, maxLength: 7 }),
        async (n, jobs, ms) => {
          const r = await schedule(n, jobs, true, [], ms);
          expect(r.t.most).toBeLessThanOrEqual(jobs);
          expect(r.t.most).toBe(Math.min(jobs, n));
          expect(r.outcomes.map((o) => o.build.image)).toEqual(refs(n).map((b) => b.image));
          expect(r.outcomes.every((o) => o.status === "success")).toBe(true);
          expect(r.exitCode).toBe(ExitCode.ok);
        },
      ),
      { numRuns: 40 },
    );
  });

  it("with keepGoing runs every build whatever fails; without, starts none after the first failure", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 1, max: 3 }),
        fc.uniqueArray(fc.integer({ min: 0, max: 5 }), { maxLength: 3 }),
        fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 6, maxLength: 6 }),
        fc.boolean(),
        async (n, jobs, fails, ms, keepGoing) => {
          const r = await schedule(n, jobs, keepGoing, fails, ms);
          const failing = fails.filter((f) => f < n);
          if (keepGoing) expect(r.t.started.sort()).toEqual(refs(n).map((_, i) => i));
          // None starts once a failure has been told.
          else expect(r.t.failedBefore.every((f) => f === 0)).toBe(true);
          for (const o of r.outcomes) {
            const i = Number(/\d+/.exec(o.build.image)![0]);
            if (o.status === "not-started") expect(r.t.started).not.toContain(i);
            else expect(o.status).toBe(failing.includes(i) ? "failed" : "success");
          }
          expect(r.exitCode).toBe(r.outcomes.every((o) => o.status === "success") ? 0 : 1);
          expect(r.exitCode).toBe(failing.length ? 1 : 0);
        },
      ),
      { numRuns: 60 },
    );
  });

  it("lets running builds finish after a failure, then starts no more", async () => {
    // 0 fails fast while 1 is still running; 2 and 3 never start.
    const r = await schedule(4, 2, false, [0], [1, 30, 1, 1]);
    expect(r.outcomes.map((o) => o.status)).toEqual(["failed", "success", "not-started", "not-started"]);
    expect(r.exitCode).toBe(1);
    expect(r.outcomes[0]!.dir).toBe("/out/img0.failed");
    expect(String(r.outcomes[0]!.error)).toBe("Error: build 0 failed");
  });

  it("emits build-start and build-end around each build, with the folder, ISO and error", async () => {
    const r = await schedule(2, 1, true, [1]);
    expect(r.events.map((e) => `${e.type} ${"build" in e ? e.build : ""}`)).toEqual([
      "build-start img0/bookworm/amd64",
      "build-end img0/bookworm/amd64",
      "build-start img1/bookworm/amd64",
      "folder img1/bookworm/amd64",
      "build-end img1/bookworm/amd64",
    ]);
    const ends = r.events.filter((e) => e.type === "build-end");
    expect(ends[0]).toMatchObject({
      status: "success",
      dir: "/out/img0",
      iso: "/out/img0/x.iso",
      isoBytes: 1000,
    });
    expect(ends[1]).toMatchObject({ status: "failed", dir: "/out/img1.failed", error: "build 1 failed" });
    expect(ends[1]).not.toHaveProperty("iso");
    expect(r.events[0]).toMatchObject({ backend: "vm", steps: ["bootstrap"], image: "img0" });
  });

  it("stops everything on an interruption: running builds end interrupted, the rest never start", async () => {
    const t = trace();
    const ctl = new AbortController();
    setTimeout(() => ctl.abort(new InterruptedError("SIGINT")), 20);
    const outcomes = await runBuilds(refs(5), {
      jobs: 2,
      keepGoing: true,
      signal: ctl.signal,
      events: () => undefined,
      backend: "vm",
      steps: [],
      buildOne: fakeBuild([1, 10_000, 10_000, 10_000, 10_000], new Set(), t, ctl.signal),
    });
    expect(outcomes.map((o) => o.status)).toEqual([
      "success",
      "interrupted",
      "interrupted",
      "not-started",
      "not-started",
    ]);
    expect(outcomes[1]!.error).toBeInstanceOf(InterruptedError);
    expect(runExitCode(outcomes, ctl.signal.aborted)).toBe(ExitCode.interrupted);
  });

  it("says 0 only when every build passed", () => {
    const ok = { build: refs(1)[0]!, status: "success" as const, seconds: 1 };
    expect(runExitCode([ok, ok], false)).toBe(0);
    expect(runExitCode([ok, { ...ok, status: "failed" }], false)).toBe(1);
    expect(runExitCode([ok, { ...ok, status: "not-started" }], false)).toBe(1);
    expect(runExitCode([ok], true)).toBe(130);
  });
});
