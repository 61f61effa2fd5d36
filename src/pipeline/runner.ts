// Running the chosen steps in pipeline order, each timed and logged, with
// every started step's cleanup run in reverse order whatever happens.
import { StepError, UsageError } from "../errors.js";
import type { BuildContext } from "./context.js";
import { saveState } from "./state.js";
import type { Step } from "./steps.js";

export interface StepTiming {
  step: string;
  seconds: number;
  ok: boolean;
  /** Not run: the work area's result of an earlier run was reused (see stages.ts). */
  reused?: boolean;
}

/** What runs around each step: before it starts, and after it succeeded, both within its time. */
export interface StepHooks {
  before?(step: Step, ctx: BuildContext): Promise<void>;
  after?(step: Step, ctx: BuildContext): Promise<void>;
}

/**
 * The steps before the first chosen one must have finished in an earlier run
 * of this work area; otherwise there is nothing for the chosen ones to work on.
 */
export function checkPrerequisites(
  all: readonly Step[],
  chosen: readonly Step[],
  done: readonly string[],
): void {
  const first = chosen[0];
  if (!first) return;
  const before = all.slice(0, all.indexOf(first)).map((s) => s.name);
  const missing = before.filter((n) => !done.includes(n));
  if (missing.length)
    throw new UsageError(
      `step ${first.name} needs ${missing.join(", ")} from an earlier run, and this work area has none`,
      `run the whole build once, or add them: --steps ${[...missing, ...chosen.map((s) => s.name)].join(",")}`,
    );
}

/** Where the runner says that a step started and ended (the build log: its file and its events). */
export interface StepProgress {
  stepStart(step: string, summary: string): void;
  stepEnd(step: string, ok: boolean, seconds: number): void;
}

/** Each step runs with a context whose log is labelled with the step's name. */
export async function runSteps(
  base: BuildContext,
  steps: readonly Step[],
  timings: StepTiming[],
  logFor: (step: string) => BuildContext["log"],
  progress: StepProgress,
  hooks: StepHooks = {},
): Promise<void> {
  const started: Step[] = [];
  const ctxFor = (step: Step): BuildContext => ({ ...base, log: logFor(step.name) });
  try {
    for (const step of steps) {
      if (base.signal.aborted) throw base.signal.reason;
      started.push(step);
      const ctx = ctxFor(step);
      progress.stepStart(step.name, step.summary);
      const t0 = Date.now();
      try {
        await hooks.before?.(step, ctx);
        await step.run(ctx);
        await hooks.after?.(step, ctx);
      } catch (e) {
        const seconds = (Date.now() - t0) / 1000;
        timings.push({ step: step.name, seconds, ok: false });
        progress.stepEnd(step.name, false, seconds);
        throw new StepError(step.name, ctx.signal.aborted ? ctx.signal.reason : e);
      }
      const seconds = (Date.now() - t0) / 1000;
      timings.push({ step: step.name, seconds, ok: true });
      ctx.state.done = [...ctx.state.done.filter((d) => d.step !== step.name), { step: step.name, seconds }];
      await saveState(ctx.machine, ctx.work.root, ctx.state);
      progress.stepEnd(step.name, true, seconds);
    }
    // Interrupted while the last step finished its work anyway: the build still ends as interrupted.
    if (base.signal.aborted) throw base.signal.reason;
  } finally {
    for (const step of started.reverse()) {
      if (!step.cleanup) continue;
      // Cleanups run after an interruption too, so they get a signal that is not aborted.
      const ctx = { ...ctxFor(step), signal: new AbortController().signal };
      try {
        await step.cleanup(ctx);
      } catch (e) {
        // A cleanup that fails must not hide the build's own error; say it and go on.
        ctx.log.say(`cleanup failed: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
  }
}

export function fmtSeconds(s: number): string {
  return s < 60 ? `${s.toFixed(1)} s` : `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
}

/** Elapsed time as a clock that ticks: "07:05", "72:00" (minutes are not wrapped into hours). */
export function fmtClock(s: number): string {
  const whole = Math.max(0, Math.floor(s));
  return `${String(Math.floor(whole / 60)).padStart(2, "0")}:${String(whole % 60).padStart(2, "0")}`;
}
