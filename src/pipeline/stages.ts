// Stage reuse: which steps a build runs, given the stage keys it wants now
// (stage-keys.ts), the keys state.json recorded for what the work area holds,
// and the snapshots kept there (snapshots.ts). A full build starts from the
// first stage whose key changed, and skips squash as well when the squashfs
// it made is still there and packs the same root filesystem (boot, which may
// rerun before it, leaves both alone); `--from STEP` forces the start; `--steps`
// runs what it names, as before. Either way the keys are recorded and the
// snapshots taken as the steps finish, so the next build can reuse them.
import { UsageError } from "../errors.js";
import type { LoadedImage } from "../config/load.js";
import type { BuildContext, BuildState } from "./context.js";
import {
  BOOT_TOOLS,
  changedInputs,
  mirrorReleaseDate,
  PREVIOUS_STAGE,
  SQUASH_TOOLS,
  STAGES,
  stageKey,
  wantedKeys,
  type KeySources,
  type StageKey,
  type StageName,
} from "./stage-keys.js";
import {
  dropSnapshot,
  listSnapshots,
  restoreSnapshot,
  takeSnapshot,
  type SnapshotEnv,
  type SnapshotInfo,
  type SnapshotName,
} from "./snapshots.js";
import { checkPrerequisites, type StepHooks } from "./runner.js";
import type { Step } from "./steps.js";
import { humanBytes, parseCount } from "../steps/boot/machine-files.js";
import { initrdNeedsTmpfsModules, machineProcessArch } from "../steps/boot/initrd.js";
import { squashfsPath } from "../steps/squash.js";
import { STEPS } from "../steps/index.js";

/** A stage's key as state.json records it, with when it was made. */
export interface StageRecord extends StageKey {
  at: string;
}

/**
 * Where a build (re)starts: a step, or "hooks", inside customize after the package installation.
 * A function, as the steps import this module: STEPS is read when it is called, not at load.
 */
export function startPoints(): string[] {
  const names = STEPS.map((s) => s.name);
  names.splice(names.indexOf("customize") + 1, 0, "hooks");
  return names;
}

/** What a build does about its stages, for the steps (BuildContext.stages) and the report. */
export interface StagePlan {
  /** The step or point the build starts at. */
  start: string;
  /** The steps run, in pipeline order. */
  run: Step[];
  /** The steps not run because their results in the work area were reused, in pipeline order. */
  reused: string[];
  /** The snapshot put back as the rootfs before the first step. */
  restore?: SnapshotName;
  /** customize starts after the package installation: the packages snapshot was restored. */
  packagesReused: boolean;
  /** What the log says about it, one line each. */
  lines: string[];
  /** Snapshots whose key is no longer wanted: removed before the build. */
  drop: SnapshotName[];
}

export interface PlanInput {
  steps: readonly Step[];
  wanted: Partial<Record<StageName, StageKey>>;
  state: BuildState;
  snapshots: readonly SnapshotInfo[];
  /** `--from`. */
  from?: string;
  /** Why the bootstrap key could not be made (the mirror's Release date could not be read). */
  keyProblem?: string;
  /** The squashfs state.json records, as it is in the work area now (squashfsOnDisk). */
  squashfs?: SquashfsOnDisk;
  /** The boot step writes into the root filesystem on this machine (bootChangesRootfs). */
  bootChangesRootfs?: boolean;
}

/** The squashfs of the last build: where state.json says it is, its recorded size, and its size now. */
export interface SquashfsOnDisk {
  path: string;
  recorded: number;
  /** Its size in bytes now; undefined when it is not there. */
  bytes: number | undefined;
}

const short = (key: string | undefined) => (key ? `${key.slice(0, 8)}...` : "none");
const clock = (iso: string) => new Date(iso).toISOString().slice(11, 16);
const list = (names: readonly string[]) =>
  names.length <= 1 ? names.join("") : `${names.slice(0, -1).join(", ")} and ${names.at(-1)}`;

/** The steps from the start point on (hooks is a point inside customize). */
function stepsFrom(steps: readonly Step[], start: string): Step[] {
  const name = start === "hooks" ? "customize" : start;
  const i = steps.findIndex((s) => s.name === name);
  return i < 0 ? [...steps] : steps.slice(i);
}

/** Why a stage is rerun: the inputs that changed since the work area's result, or that it has none. */
function why(stage: StageName, recorded: StageKey | undefined, wanted: StageKey | undefined): string {
  if (!recorded) return `the last run left no finished ${stage} stage`;
  const changed = changedInputs(recorded, wanted);
  if (changed.length === 0) return `an earlier stage changed`;
  return `${list(changed.slice(0, 4))}${changed.length > 4 ? ` and ${changed.length - 4} more` : ""} changed`;
}

/** Where a build starts, what it says about it, and a later step it reuses all the same (squash, when boot reruns). */
interface Start {
  start: string;
  lines: string[];
  skip?: string;
}

/**
 * Whether the squashfs in the work area is what squash would make now: its
 * key unchanged, squash finished after check passed, the file where and as
 * big as state.json recorded it, and (when boot reruns) a boot that leaves the
 * root filesystem alone. boot empties only boot/, EFI/ and .disk/ of the ISO
 * tree, so live/filesystem.squashfs survives it. `why` says why not.
 */
function squashReuse(
  p: PlanInput,
  bootRuns: boolean,
): { reused: true; line: string } | { reused: false; why: string } {
  const rec = p.state.stages?.squash;
  const sq = p.squashfs;
  const no = (why: string) => ({ reused: false as const, why });
  if (bootRuns && p.bootChangesRootfs)
    return no("boot makes the initrd in the root filesystem again on this machine");
  if (!rec || !p.state.done.some((d) => d.step === "squash") || !p.state.done.some((d) => d.step === "check"))
    return no("the last run left no finished squash stage");
  if (rec.key !== p.wanted.squash?.key) return no(why("squash", rec, p.wanted.squash));
  if (!sq) return no("state.json records no squashfs");
  if (sq.bytes === undefined) return no(`${sq.path} is missing`);
  if (sq.bytes !== sq.recorded)
    return no(`${sq.path} is ${sq.bytes} bytes, not the ${sq.recorded} state.json records`);
  return {
    reused: true,
    line: `reuse: squashfs unchanged (key ${short(rec.key)}, ${humanBytes(sq.bytes)} in ${sq.path})`,
  };
}

/** The start point of a full build: after the last stage whose result the work area holds with the wanted key. */
function autoStart(p: PlanInput): Start {
  const w = p.wanted;
  const rec = p.state.stages ?? {};
  const done = new Set(p.state.done.map((d) => d.step));
  const snap = new Map(p.snapshots.map((s) => [s.name, s]));
  if (!w.bootstrap)
    return {
      start: "bootstrap",
      lines: [`reuse: none; ${p.keyProblem ?? "the bootstrap key is unknown"}, so bootstrap is not reused`],
    };
  const same = (s: StageName) => rec[s] !== undefined && rec[s].key === w[s]?.key;
  const rootfsDone = same("hooks") && done.has("bootstrap") && done.has("customize");
  const reusedText = (what: string, key: string | undefined, at?: string) =>
    `reuse: ${what} unchanged (key ${short(key)}${at ? `, snapshot of ${clock(at)}` : ""})`;
  if (rootfsDone && done.has("check") && same("boot") && done.has("boot")) {
    const before = reusedText("bootstrap, customize, check and boot", w.boot?.key);
    const sq = squashReuse(p, false);
    return sq.reused
      ? { start: "iso", lines: [before, `${sq.line}; rerunning from iso`] }
      : { start: "squash", lines: [`${before}; rerunning from squash because ${sq.why}`] };
  }
  if (rootfsDone && done.has("check")) {
    const sq = squashReuse(p, true);
    return {
      start: "boot",
      lines: [
        `${reusedText("bootstrap, customize and check", w.hooks?.key)}; rerunning from boot because ${why("boot", rec.boot, w.boot)}`,
        sq.reused ? `${sq.line}; boot leaves it alone` : `reuse: squash reruns too because ${sq.why}`,
      ],
      skip: sq.reused ? "squash" : undefined,
    };
  }
  if (rootfsDone)
    return {
      start: "check",
      lines: [
        `${reusedText("bootstrap and customize", w.hooks?.key)}; rerunning from check, which did not pass last time`,
      ],
    };
  const packages = snap.get("packages");
  if (packages && packages.key === w.packages?.key)
    return {
      start: "hooks",
      lines: [
        `${reusedText("bootstrap and packages", packages.key, packages.taken)}; rerunning from hooks because ${why("hooks", rec.hooks, w.hooks)}`,
      ],
    };
  const bootstrap = snap.get("bootstrap");
  if (bootstrap && bootstrap.key === w.bootstrap.key)
    return {
      start: "customize",
      lines: [
        `${reusedText("bootstrap", bootstrap.key, bootstrap.taken)}; rerunning from customize because ` +
          (rec.packages ? why("packages", rec.packages, w.packages) : "there is no snapshot of its packages"),
      ],
    };
  return {
    start: "bootstrap",
    lines: [
      `reuse: none; rerunning from bootstrap because ` +
        (rec.bootstrap
          ? why("bootstrap", rec.bootstrap, w.bootstrap)
          : p.state.done.length === 0 && p.snapshots.length === 0
            ? "the work area holds no earlier build"
            : "this work area has no bootstrap snapshot"),
    ],
  };
}

function checkStartName(from: string): void {
  if (!startPoints().includes(from))
    throw new UsageError(
      `--from ${from}: no step or start point of that name`,
      `start at one of ${startPoints().join(", ")} (hooks: inside customize, after the package installation)`,
    );
}

/** `--from`: the start point asked for, if the work area has what it needs. */
function forcedStart(p: PlanInput, from: string): Start {
  checkStartName(from);
  const rec = p.state.stages ?? {};
  const done = p.state.done.map((d) => d.step);
  const needSnapshot = (name: SnapshotName, earlier: string) => {
    const s = p.snapshots.find((x) => x.name === name);
    if (!s || !done.includes("bootstrap") || s.key !== rec[name]?.key)
      throw new UsageError(
        `--from ${from} needs the snapshot of ${name} from an earlier run, and this work area has none that matches it`,
        `run the whole build once (without --steps or --from), or start earlier: --from ${earlier}`,
      );
    return s;
  };
  const lines = [`reuse: --from ${from}`];
  if (from === "customize") {
    const s = needSnapshot("bootstrap", "bootstrap");
    lines[0] += `: restoring the snapshot of bootstrap of ${clock(s.taken)}`;
  } else if (from === "hooks") {
    const s = needSnapshot("packages", "customize");
    lines[0] += `: restoring the snapshot of packages of ${clock(s.taken)}`;
    const changed = changedInputs(s.key === rec.packages?.key ? rec.packages : undefined, p.wanted.packages);
    if (changed.length)
      lines.push(`reuse: note: ${list(changed)} changed since that snapshot; reused anyway`);
  } else if (from !== "bootstrap") {
    const before = p.steps
      .slice(
        0,
        p.steps.findIndex((s) => s.name === from),
      )
      .map((s) => s.name);
    const missing = before.filter((n) => !done.includes(n));
    if (missing.length)
      throw new UsageError(
        `--from ${from} needs ${list(missing)} from an earlier run, and this work area has ${missing.length === 1 ? "it" : "them"} not finished`,
        `run the whole build once (without --steps or --from), or start earlier: --from ${missing[0]}`,
      );
  }
  return { start: from, lines };
}

/** Plan a full build (or one with --from): where it starts, what it restores and reuses, what it drops. */
export function planStages(p: PlanInput): StagePlan {
  const { start, lines, skip } = p.from !== undefined ? forcedStart(p, p.from) : autoStart(p);
  const run = stepsFrom(p.steps, start).filter((s) => s.name !== skip);
  const reused = p.steps.filter((s) => !run.includes(s)).map((s) => s.name);
  // Stale snapshots go first, to free their space; not when the keys could not be made (that may pass).
  const drop =
    p.from === undefined && p.wanted.bootstrap
      ? p.snapshots.filter((s) => s.key !== p.wanted[s.name]?.key).map((s) => s.name)
      : [];
  return {
    start,
    run,
    reused,
    restore: start === "customize" ? "bootstrap" : start === "hooks" ? "packages" : undefined,
    packagesReused: start === "hooks",
    lines,
    drop,
  };
}

/** How a step that starts changes the work area, beyond itself and the steps after it. */
export interface InvalidateOptions {
  /** customize starts after the package installation: the packages stage stays. */
  packagesReused?: boolean;
  /** boot writes into the root filesystem on this machine: the squashfs no longer matches it. */
  bootChangesRootfs?: boolean;
  /** Later steps whose results this build reuses although an earlier step reruns (squash after boot). */
  keep?: readonly string[];
}

/**
 * The stages whose recorded keys go when a step starts: the ones it makes, and
 * squash whenever the root filesystem squash packed may change (customize, a
 * boot that writes the initrd into it) or was not checked (check reruns).
 */
function stagesOf(step: string, o: InvalidateOptions): StageName[] {
  if (step === "bootstrap") return [...STAGES];
  if (step === "customize")
    return o.packagesReused ? ["hooks", "boot", "squash"] : ["packages", "hooks", "boot", "squash"];
  if (step === "check") return ["squash"];
  if (step === "boot") return o.bootChangesRootfs ? ["boot", "squash"] : ["boot"];
  if (step === "squash") return ["squash"];
  return [];
}

/**
 * Before a step runs, the work area no longer holds what it and later steps
 * made: they leave `done`, their stages' keys go, and it is saved before the
 * step changes anything, so an interrupted step is never taken for a finished one.
 * Only what `keep` names stays, as the plan found that this step does not change it.
 */
export function invalidateFrom(
  state: BuildState,
  steps: readonly Step[],
  step: string,
  o: InvalidateOptions = {},
): void {
  const keep = o.keep ?? [];
  const later = new Set(
    steps
      .slice(steps.findIndex((s) => s.name === step))
      .map((s) => s.name)
      .filter((n) => n === step || !keep.includes(n)),
  );
  state.done = state.done.filter((d) => !later.has(d.step));
  const gone = stagesOf(step, o).filter((s) => s === step || !keep.includes(s));
  if (state.stages)
    state.stages = Object.fromEntries(
      Object.entries(state.stages).filter(([s]) => !gone.includes(s as StageName)),
    ) as BuildState["stages"];
}

/** What customize needs from the stage plan (BuildContext.stages). */
export interface StageRun {
  /** The packages snapshot was restored: customize skips the package installation. */
  packagesReused: boolean;
  /** Called by customize right after the package installation: record the key, take the snapshot. */
  packagesInstalled(ctx: BuildContext): Promise<void>;
}

export interface StageRunOptions {
  image: LoadedImage;
  sources: KeySources;
  plan: Pick<StagePlan, "restore" | "packagesReused" | "reused">;
  /** The boot step writes into the root filesystem on this machine (bootChangesRootfs). */
  bootChangesRootfs: boolean;
  steps: readonly Step[];
  save(ctx: BuildContext): Promise<void>;
}

const envOf = (ctx: BuildContext): SnapshotEnv => ({
  machine: ctx.machine,
  work: ctx.work,
  signal: ctx.signal,
  say: (m) => ctx.log.say(m),
});

/** Record a stage's key (after the recorded key of its PREVIOUS_STAGE) as what the work area now holds; undefined when it has none. */
function record(ctx: BuildContext, o: StageRunOptions, stage: StageName): StageRecord | undefined {
  const rec = ctx.state.stages ?? {};
  const previous = PREVIOUS_STAGE[stage];
  const k = stageKey(stage, previous ? rec[previous]?.key : undefined, o.image, o.sources);
  if (!k) return undefined;
  const r = { ...k, at: new Date().toISOString() };
  ctx.state.stages = { ...rec, [stage]: r };
  return r;
}

/** A snapshot that cannot be taken (a full disk) costs the next build time, not this one its result. */
async function snapshot(ctx: BuildContext, name: SnapshotName, key: string): Promise<void> {
  try {
    await takeSnapshot(envOf(ctx), name, key);
  } catch (e) {
    if (ctx.signal.aborted) throw e;
    ctx.log.say(
      `warning: no snapshot of ${name} kept (${e instanceof Error ? e.message.split("\n")[0] : String(e)})`,
    );
    await dropSnapshot(envOf(ctx), name).catch(() => undefined);
  }
}

/** The runner's hooks and customize's StageRun for one build. */
export function stageRun(o: StageRunOptions): { hooks: StepHooks; run: StageRun } {
  let first = true;
  const hooks: StepHooks = {
    before: async (step, ctx) => {
      const restore = first ? o.plan.restore : undefined;
      const packagesReused = first && o.plan.packagesReused;
      first = false;
      invalidateFrom(ctx.state, o.steps, step.name, {
        packagesReused: packagesReused && step.name === "customize",
        bootChangesRootfs: o.bootChangesRootfs,
        // The steps the plan reuses after this one (squash when boot reruns) keep their records.
        keep: o.plan.reused,
      });
      await o.save(ctx);
      if (restore) await restoreSnapshot(envOf(ctx), restore);
    },
    after: async (step, ctx) => {
      if (step.name === "bootstrap") {
        const r = record(ctx, o, "bootstrap");
        if (r) await snapshot(ctx, "bootstrap", r.key);
        else ctx.log.say("no snapshot of bootstrap kept: its key is unknown");
      }
      if (step.name === "customize") record(ctx, o, "hooks");
      if (step.name === "boot") record(ctx, o, "boot");
      if (step.name === "squash") record(ctx, o, "squash");
    },
  };
  const run: StageRun = {
    packagesReused: o.plan.packagesReused,
    packagesInstalled: async (ctx) => {
      const r = record(ctx, o, "packages");
      if (!r) return ctx.log.say("no snapshot of packages kept: the bootstrap key is unknown");
      await snapshot(ctx, "packages", r.key);
      await o.save(ctx);
    },
  };
  return { hooks, run };
}

/** Remove the snapshots the plan found stale, saying so. */
export async function dropStale(env: SnapshotEnv, names: readonly SnapshotName[]): Promise<void> {
  for (const n of names) {
    env.say(`reuse: removing the snapshot of ${n}: its key is no longer wanted`);
    await dropSnapshot(env, n);
  }
}

/** `--from` as asked, checked before anything starts: a known start point, not with --steps, nor after --clean. */
export function checkFrom(from: string | undefined, o: { steps?: readonly string[]; clean: boolean }): void {
  if (from === undefined) return;
  checkStartName(from);
  if (o.steps?.length)
    throw new UsageError(
      "--from and --steps both say which steps run",
      "use --from STEP for that step and all after it, or --steps a,b for exactly those",
    );
  if (o.clean && from !== "bootstrap")
    throw new UsageError(
      `--clean drops the work area, so --from ${from} would find nothing to start from`,
      "drop --clean, or start with bootstrap (a plain build with --clean does that)",
    );
}

export interface StartStagesOptions {
  image: LoadedImage;
  /** The whole pipeline. */
  all: readonly Step[];
  /** `--steps`, when given: exactly these run (after their prerequisites are checked). */
  chosen?: readonly Step[];
  from?: string;
  /** state.json as loaded; changed in place (a build from bootstrap starts with an empty one). */
  state: BuildState;
  env: SnapshotEnv;
  /** The machine's tool versions (the boot key has GRUB's and shim's, the squash key squashfs-tools'). */
  tools: Readonly<Record<string, string>>;
  /** SOURCE_DATE_EPOCH when the user set it. */
  pinnedEpoch?: number;
  save(ctx: BuildContext): Promise<void>;
  /** The mirror's Release date; default: fetched (stage-keys.ts). */
  releaseDate?: (mirror: string, suite: string) => ReturnType<typeof mirrorReleaseDate>;
}

export interface StartedStages {
  /** The steps to run, in order. */
  steps: Step[];
  /** The steps reused (not run), in order. */
  reused: string[];
  hooks: StepHooks;
  run: StageRun;
}

/**
 * Decide what this build runs and reuses, say it, and drop stale snapshots.
 * With --steps only the chosen steps run (their prerequisites checked as
 * before); keys are recorded and snapshots taken either way.
 */
export async function startStages(o: StartStagesOptions): Promise<StartedStages> {
  const c = o.image.config;
  const planning = o.chosen === undefined;
  const needsDate = planning || o.chosen!.some((s) => s.name === "bootstrap");
  const date = needsDate ? await (o.releaseDate ?? mirrorReleaseDate)(c.mirror.build, c.suite) : undefined;
  const sources: KeySources = {
    releaseDate: date && "date" in date ? date.date : undefined,
    pinnedEpoch: o.pinnedEpoch === undefined ? undefined : String(o.pinnedEpoch),
    tools: pick(o.tools, [...BOOT_TOOLS, ...SQUASH_TOOLS]),
  };
  const bootRootfs = bootChangesRootfs(o.image, o.env.machine);
  const keyProblem =
    date && "problem" in date ? `the mirror's Release date could not be read (${date.problem})` : undefined;
  if (!planning) {
    checkPrerequisites(
      o.all,
      o.chosen!,
      o.state.done.map((d) => d.step),
    );
    if (keyProblem) o.env.say(`reuse: ${keyProblem}; a bootstrap now is not kept for reuse`);
    const { hooks, run } = stageRun({
      image: o.image,
      sources,
      plan: { packagesReused: false, reused: [] },
      bootChangesRootfs: bootRootfs,
      steps: o.all,
      save: o.save,
    });
    return { steps: [...o.chosen!], reused: [], hooks, run };
  }
  const plan = planStages({
    steps: o.all,
    wanted: wantedKeys(o.image, sources),
    state: o.state,
    snapshots: await listSnapshots(o.env),
    from: o.from,
    keyProblem,
    squashfs: await squashfsOnDisk(o.env, o.state),
    bootChangesRootfs: bootRootfs,
  });
  for (const l of plan.lines) o.env.say(l);
  await dropStale(o.env, plan.drop);
  if (plan.start === "bootstrap") {
    // A build from scratch starts with nothing from earlier runs, as before stage reuse.
    for (const k of Object.keys(o.state)) delete (o.state as unknown as Record<string, unknown>)[k];
    o.state.done = [];
  }
  const { hooks, run } = stageRun({
    image: o.image,
    sources,
    plan,
    bootChangesRootfs: bootRootfs,
    steps: o.all,
    save: o.save,
  });
  return { steps: plan.run, reused: plan.reused, hooks, run };
}

/**
 * Whether the boot step writes into the root filesystem on this machine: it
 * makes a 32-bit image's initrd again there when qemu-user runs its programs
 * (steps/boot/initrd.ts), so the squashfs must be made after it again.
 */
export function bootChangesRootfs(image: LoadedImage, machine: SnapshotEnv["machine"]): boolean {
  // machineProcessArch reads only the machine's site and the image's config.
  return initrdNeedsTmpfsModules(image.config.arch, machineProcessArch({ image, machine } as BuildContext));
}

/** The squashfs state.json records, with its size now; undefined when none is recorded where squash writes it. */
export async function squashfsOnDisk(
  env: SnapshotEnv,
  state: BuildState,
): Promise<SquashfsOnDisk | undefined> {
  const rec = state.squashfs;
  if (!rec || rec.path !== squashfsPath(env.work.isoTree)) return undefined;
  const r = await env.machine.exec(["stat", "-c", "%s", rec.path], { check: false, signal: env.signal });
  return {
    path: rec.path,
    recorded: rec.bytes,
    bytes: r.exitCode === 0 ? parseCount(r.stdout, `stat -c %s ${rec.path}`) : undefined,
  };
}

function pick(r: Readonly<Record<string, string>>, keys: readonly string[]): Record<string, string> {
  return Object.fromEntries(keys.filter((k) => r[k] !== undefined).map((k) => [k, r[k]!]));
}
