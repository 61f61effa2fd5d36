// A run of `vmlive build`: several images and arches, up to N at a time,
// each build its own machine and work area. Without keepGoing the first
// failure stops new builds from starting (running ones finish); an
// interruption stops everything. Every build's progress goes out as events.
import path from "node:path";
import { ExitCode } from "../errors.js";
import { builderArchFor, definitionFor } from "../machine/qemu/definition.js";
import { emitAt, type EventSink, type PlannedBuildRef } from "../report/events.js";
import { build, type BuildOptions, type BuildResult } from "./build.js";
import { boundJobs, hostResources, type HostResources } from "./jobs.js";
import { checkoutGit } from "../source/git.js";
import { selectSteps } from "./plan.js";
import { buildTwiceAndCompare } from "./reproducible.js";
import { planBuilds, type PlannedBuild } from "./run-plan.js";

export type BuildStatus = "success" | "failed" | "interrupted" | "not-started";

/** How one build of the run ended. */
export interface BuildOutcome {
  build: PlannedBuildRef;
  status: BuildStatus;
  seconds: number;
  /** The output folder (NAME, or NAME.failed), when the build got that far. */
  dir?: string;
  iso?: { path: string; bytes: number };
  /** What the build threw. */
  error?: unknown;
}

/** What a finished build hands back to the scheduler. */
export interface Built {
  dir: string;
  iso?: { path: string; bytes: number };
}

export interface ScheduleOptions<B extends PlannedBuildRef> {
  jobs: number;
  keepGoing: boolean;
  /** Aborted on Ctrl-C: no new build starts, running ones are stopped by the same signal. */
  signal: AbortSignal;
  events: EventSink;
  /** Named in build-start events. */
  backend: string;
  steps: readonly string[];
  /** Run one build; its events go to `events`. */
  buildOne(b: B, events: EventSink): Promise<Built>;
}

/** Run `builds` in order, at most `jobs` at once; one outcome per build, in the same order. */
export async function runBuilds<B extends PlannedBuildRef>(
  builds: readonly B[],
  o: ScheduleOptions<B>,
): Promise<BuildOutcome[]> {
  const outcomes: (BuildOutcome | undefined)[] = builds.map(() => undefined);
  let next = 0;
  let stopped = false;
  const worker = async () => {
    while (!stopped && !o.signal.aborted && next < builds.length) {
      const i = next++;
      outcomes[i] = await runOne(builds[i]!, o, (failed) => {
        if (failed && !o.keepGoing) stopped = true;
      });
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(o.jobs, builds.length)) }, worker));
  return outcomes.map((r, i) => r ?? { build: ref(builds[i]!), status: "not-started", seconds: 0 });
}

/** One build between its build-start and build-end; `ended` hears of a failure before anyone else does. */
async function runOne<B extends PlannedBuildRef>(
  b: B,
  o: ScheduleOptions<B>,
  ended: (failed: boolean) => void,
): Promise<BuildOutcome> {
  const t0 = Date.now();
  let folder: string | undefined;
  // The folder event says where a failed build's logs are: build() throws, so it cannot return it.
  const events: EventSink = (e) => {
    if (e.type === "folder") folder = e.dir;
    o.events(e);
  };
  const { build: label, image, suite, arch } = b;
  emitAt(o.events, {
    type: "build-start",
    build: label,
    image,
    suite,
    arch,
    backend: o.backend,
    steps: [...o.steps],
  });
  let outcome: BuildOutcome;
  try {
    const r = await o.buildOne(b, events);
    outcome = { build: ref(b), status: "success", seconds: (Date.now() - t0) / 1000, dir: r.dir, iso: r.iso };
  } catch (error) {
    const status = o.signal.aborted ? "interrupted" : "failed";
    outcome = { build: ref(b), status, seconds: (Date.now() - t0) / 1000, dir: folder, error };
  }
  // Before build-end goes out, so no build starts after a failure has been told.
  ended(outcome.status !== "success");
  emitAt(o.events, {
    type: "build-end",
    build: label,
    status: outcome.status as "success" | "failed" | "interrupted",
    seconds: outcome.seconds,
    ...(outcome.dir ? { dir: outcome.dir } : {}),
    ...(outcome.iso ? { iso: outcome.iso.path, isoBytes: outcome.iso.bytes } : {}),
    ...(outcome.error === undefined ? {} : { error: errorMessage(outcome.error) }),
  });
  return outcome;
}

function ref(b: PlannedBuildRef): PlannedBuildRef {
  return { build: b.build, image: b.image, suite: b.suite, arch: b.arch };
}

/** What a build threw, as report.json's `error` has it. */
export function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** 0 when every build passed, 130 when interrupted, 1 when anything failed or never started. */
export function runExitCode(outcomes: readonly BuildOutcome[], interrupted: boolean): number {
  if (interrupted) return ExitCode.interrupted;
  return outcomes.every((o) => o.status === "success") ? ExitCode.ok : ExitCode.failure;
}

export interface RunOptions {
  /** Image names or paths, as typed. */
  images: readonly string[];
  /** Every image under images/ too. */
  all?: boolean;
  /** `--arch` values (comma-separated architectures): each image once per architecture. */
  arches?: readonly string[];
  sets?: readonly string[];
  /** Builds at once (bounded by the host, see jobs.ts). */
  jobs: number;
  keepGoing: boolean;
  /** `--git URL --ref REF`: build the images of this repository at REF (see source/git.ts). */
  git?: { url: string; ref?: string };
  /** What every build of the run shares. */
  common: Omit<BuildOptions, "image" | "sets" | "events" | "signal">;
  signal: AbortSignal;
  events: EventSink;
  /** The build of one image (tests pass a fake). */
  buildFn?: (o: BuildOptions) => Promise<BuildResult>;
  /** This host's cores and memory (tests pass their own). */
  host?: HostResources;
}

export interface RunResult {
  outcomes: BuildOutcome[];
  exitCode: number;
}

/** Plan, bound the jobs, run every build, and say how it went. Throws only for usage and config errors. */
export async function buildMany(o: RunOptions): Promise<RunResult> {
  const started = Date.now();
  // --git: every image of the run comes from one clone, removed when the run ends.
  await using checkout = o.git
    ? await checkoutGit({
        ...o.git,
        signal: o.signal,
        say: (message) => emitAt(o.events, { type: "say", label: "git", message }),
      })
    : undefined;
  const c = checkout ? { ...o.common, cwd: checkout.dir, source: checkout.source } : o.common;
  const builds = planBuilds({
    images: o.images,
    all: o.all,
    arches: o.arches,
    sets: o.sets,
    steps: c.steps,
    backend: c.backend,
    cwd: c.cwd,
  });
  const vmBytes = c.backend === "vm" ? Math.max(...builds.map(builderMemory)) : undefined;
  const bound = boundJobs(o.jobs, builds.length, o.host ?? hostResources(), vmBytes);
  const steps = selectSteps(c.steps).map((s) => s.name);
  emitAt(o.events, { type: "run-start", builds: builds.map(ref), jobs: bound.jobs });
  if (bound.why) emitAt(o.events, { type: "say", label: "vmlive", message: bound.why });
  // --check-reproducible: each build is made twice and compared (reproducible.ts).
  const buildFn = o.buildFn ?? (c.checkReproducible ? buildTwiceAndCompare : build);
  const outcomes = await runBuilds(builds, {
    jobs: bound.jobs,
    keepGoing: o.keepGoing,
    signal: o.signal,
    events: o.events,
    backend: c.backend,
    steps,
    buildOne: async (b: PlannedBuild, events) => {
      const r = await buildFn({ ...c, image: b.ref, sets: b.sets, events, signal: o.signal });
      return { dir: r.dir, iso: isoOf(r) };
    },
  });
  const exitCode = runExitCode(outcomes, o.signal.aborted);
  const count = (s: BuildStatus) => outcomes.filter((x) => x.status === s).length;
  emitAt(o.events, {
    type: "run-end",
    passed: count("success"),
    failed: count("failed"),
    interrupted: count("interrupted"),
    notStarted: count("not-started"),
    seconds: (Date.now() - started) / 1000,
    exitCode,
  });
  return { outcomes, exitCode };
}

/** The memory of the builder VM a build runs in (vm/*.yaml). */
function builderMemory(b: PlannedBuild): number {
  return definitionFor(b.suite, builderArchFor(b.loaded.config)).memory;
}

function isoOf(r: BuildResult): Built["iso"] {
  const iso = r.report.artifacts?.find((a) => a.name.endsWith(".iso"));
  return iso ? { path: path.join(r.dir, iso.name), bytes: iso.bytes } : undefined;
}
