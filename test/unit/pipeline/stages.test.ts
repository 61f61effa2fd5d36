import { describe, expect, it } from "vitest";
import { UsageError } from "../../../src/errors.js";
import type { BuildContext, BuildState } from "../../../src/pipeline/context.js";
import { runSteps, type StepTiming } from "../../../src/pipeline/runner.js";
import { keyOf, type StageKey, type StageName } from "../../../src/pipeline/stage-keys.js";
import {
  checkFrom,
  invalidateFrom,
  planStages,
  startStages,
  type PlanInput,
} from "../../../src/pipeline/stages.js";
import type { SnapshotInfo } from "../../../src/pipeline/snapshots.js";
import { STEPS } from "../../../src/steps/index.js";
import type { Step } from "../../../src/pipeline/steps.js";
import { FakeMachine } from "../../support/fake-machine.js";
import { stepContext } from "../../support/step-context.js";

const ALL = STEPS.map((s) => s.name);
const TAKEN = "2026-12-01T14:02:00.000Z";

/** A chain of keys as a build wants them; `edit` changes one stage's inputs (and so every key after it). */
function keys(edit: Partial<Record<StageName, Record<string, string>>> = {}): Record<StageName, StageKey> {
  const bootstrap = keyOf(undefined, { suite: "bookworm", ...edit.bootstrap });
  const packages = keyOf(bootstrap.key, { "the package list": "a", ...edit.packages });
  const hooks = keyOf(packages.key, { "hook 1 show-env.sh": "h1", "user.name": "live", ...edit.hooks });
  const boot = keyOf(hooks.key, { "iso.menu_title": "m", ...edit.boot });
  return { bootstrap, packages, hooks, boot };
}

/** The state.json of a finished build with these keys, and its two snapshots. */
function finished(k = keys()): { state: BuildState; snapshots: SnapshotInfo[] } {
  const at = TAKEN;
  return {
    state: {
      done: ALL.map((step) => ({ step, seconds: 1 })),
      stages: {
        bootstrap: { ...k.bootstrap, at },
        packages: { ...k.packages, at },
        hooks: { ...k.hooks, at },
        boot: { ...k.boot, at },
      },
    },
    snapshots: [
      { name: "bootstrap", key: k.bootstrap.key, taken: at },
      { name: "packages", key: k.packages.key, taken: at },
    ],
  };
}

const plan = (p: Partial<PlanInput> & Pick<PlanInput, "wanted">) =>
  planStages({ steps: STEPS, state: { done: [] }, snapshots: [], ...p });
const names = (steps: readonly Step[]) => steps.map((s) => s.name);

describe("planStages: a full build starts after the last stage whose key is unchanged", () => {
  it("a new work area runs everything", () => {
    const p = plan({ wanted: keys() });
    expect(p.start).toBe("bootstrap");
    expect(names(p.run)).toEqual(ALL);
    expect(p.reused).toEqual([]);
    expect(p.restore).toBeUndefined();
  });

  it("nothing changed: squash onward", () => {
    const p = plan({ wanted: keys(), ...finished() });
    expect(p.start).toBe("squash");
    expect(p.reused).toEqual(["bootstrap", "customize", "check", "boot"]);
    expect(names(p.run)).toEqual(["squash", "iso", "verify", "collect"]);
    expect(p.drop).toEqual([]);
  });

  it("only the boot menu changed: boot onward, naming the field", () => {
    const p = plan({ wanted: keys({ boot: { "iso.menu_title": "new" } }), ...finished() });
    expect(p.start).toBe("boot");
    expect(p.reused).toEqual(["bootstrap", "customize", "check"]);
    expect(p.lines.join("\n")).toMatch(/rerunning from boot because iso\.menu_title changed/);
  });

  it("one hook changed: from the hooks, on the packages snapshot, saying which hook", () => {
    const p = plan({ wanted: keys({ hooks: { "hook 1 show-env.sh": "h2" } }), ...finished() });
    expect(p.start).toBe("hooks");
    expect(p.restore).toBe("packages");
    expect(p.packagesReused).toBe(true);
    expect(names(p.run)[0]).toBe("customize");
    expect(p.reused).toEqual(["bootstrap"]);
    expect(p.lines[0]).toMatch(
      /^reuse: bootstrap and packages unchanged \(key [0-9a-f]{8}\.\.\., snapshot of 14:02\); rerunning from hooks because hook 1 show-env\.sh changed$/,
    );
    expect(p.drop).toEqual([]);
  });

  it("the package list changed: customize on the bootstrap snapshot; the packages snapshot is dropped", () => {
    const p = plan({ wanted: keys({ packages: { "the package list": "b" } }), ...finished() });
    expect(p.start).toBe("customize");
    expect(p.restore).toBe("bootstrap");
    expect(p.packagesReused).toBe(false);
    expect(p.drop).toEqual(["packages"]);
    expect(p.lines[0]).toMatch(/rerunning from customize because the package list changed/);
  });

  it("the mirror changed: everything, and both snapshots are dropped", () => {
    const p = plan({ wanted: keys({ bootstrap: { "mirror Release date": "new" } }), ...finished() });
    expect(p.start).toBe("bootstrap");
    expect(p.drop).toEqual(["bootstrap", "packages"]);
    expect(p.lines[0]).toMatch(/mirror Release date changed/);
  });

  it("no bootstrap key (mirror date unknown): everything, saying why, keeping the snapshots", () => {
    const { bootstrap: _b, ...rest } = keys();
    const p = plan({
      wanted: rest,
      ...finished(),
      keyProblem: "the mirror's Release date could not be read (x)",
    });
    expect(p.start).toBe("bootstrap");
    expect(p.drop).toEqual([]);
    expect(p.lines[0]).toMatch(/could not be read \(x\), so bootstrap is not reused/);
  });

  it("a customize that did not finish is not reused: it reruns from the packages snapshot", () => {
    const f = finished();
    invalidateFrom(f.state, STEPS, "customize", true);
    const p = plan({ wanted: keys(), ...f });
    expect(p.start).toBe("hooks");
    expect(p.lines[0]).toMatch(/because the last run left no finished hooks stage/);
  });

  it("a failed check reruns check (customize's result is kept)", () => {
    const f = finished();
    invalidateFrom(f.state, STEPS, "check");
    expect(plan({ wanted: keys(), ...f }).start).toBe("check");
  });

  it("a snapshot with another key is not used", () => {
    const f = finished();
    f.snapshots[1]!.key = "0".repeat(64);
    const p = plan({ wanted: keys({ hooks: { "user.name": "demo" } }), ...f });
    expect(p.start).toBe("customize");
    expect(p.drop).toEqual(["packages"]);
  });
});

describe("--from", () => {
  it("hooks restores the packages snapshot even when nothing changed", () => {
    const p = plan({ wanted: keys(), ...finished(), from: "hooks" });
    expect(p.start).toBe("hooks");
    expect(p.restore).toBe("packages");
    expect(p.drop).toEqual([]);
  });

  it("hooks says that the package list changed since the snapshot it reuses", () => {
    const p = plan({ wanted: keys({ packages: { "the package list": "b" } }), ...finished(), from: "hooks" });
    expect(p.lines.join("\n")).toMatch(/note: the package list changed since that snapshot; reused anyway/);
  });

  it("needs the snapshot it starts from, naming it and the fix", () => {
    const f = finished();
    const err = (() => {
      try {
        plan({ wanted: keys(), state: f.state, snapshots: [], from: "customize" });
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(UsageError);
    expect((err as UsageError).message).toMatch(/--from customize needs the snapshot of bootstrap/);
    expect((err as UsageError).hint).toMatch(/--from bootstrap/);
  });

  it("boot needs bootstrap, customize and check to have finished", () => {
    expect(() => plan({ wanted: keys(), from: "boot" })).toThrow(
      /--from boot needs bootstrap, customize and check from an earlier run/,
    );
    expect(plan({ wanted: keys(), ...finished(), from: "boot" }).reused).toEqual([
      "bootstrap",
      "customize",
      "check",
    ]);
  });

  it("bootstrap always works; an unknown name, --steps or --clean with it are usage errors", () => {
    expect(plan({ wanted: keys(), from: "bootstrap" }).run).toHaveLength(STEPS.length);
    expect(() => checkFrom("hook", { clean: false })).toThrow(/--from hook: no step or start point/);
    expect(() => checkFrom("boot", { steps: ["squash"], clean: false })).toThrow(UsageError);
    expect(() => checkFrom("boot", { clean: true })).toThrow(/--clean drops the work area/);
    expect(() => checkFrom("bootstrap", { clean: true })).not.toThrow();
    expect(() => checkFrom(undefined, { steps: ["iso"], clean: true })).not.toThrow();
  });
});

describe("invalidateFrom", () => {
  it("drops the step and later ones from done, and the stages they make", () => {
    const f = finished();
    invalidateFrom(f.state, STEPS, "boot");
    expect(f.state.done.map((d) => d.step)).toEqual(["bootstrap", "customize", "check"]);
    expect(Object.keys(f.state.stages!)).toEqual(["bootstrap", "packages", "hooks"]);
    invalidateFrom(f.state, STEPS, "customize");
    expect(Object.keys(f.state.stages!)).toEqual(["bootstrap"]);
  });
});

/** A step that only records that it ran. */
const fakeStep = (name: string, ran: string[]): Step => ({
  name,
  summary: name,
  verify: () => [],
  run: async (ctx) => {
    ran.push(name);
    // As customize does: the packages snapshot only when it installed the packages.
    if (name === "customize" && !ctx.stages?.packagesReused) await ctx.stages?.packagesInstalled(ctx);
  },
});

/** A work area on a FakeMachine: state.json in memory, snapshots listed as `listed` says. */
function workArea(state: BuildState, listed: SnapshotInfo[]) {
  const machine = new FakeMachine();
  machine.on(
    (a) => a[0] === "sh" && a[3] === "vmlive-snapshots",
    () => ({
      stdout: listed.map((s) => `${s.name} ${s.key} ${Date.parse(s.taken) / 1000}\n`).join(""),
    }),
  );
  machine.on("du", () => ({ stdout: "123456\t/x\n" }));
  const { ctx, said } = stepContext({ machine, root: "/w", state });
  return { machine, ctx, said };
}

describe("startStages with runSteps on a fake machine", () => {
  const steps = ALL;
  const silent = { stepStart: () => {}, stepEnd: () => {} };

  async function build(
    state: BuildState,
    listed: SnapshotInfo[],
    o: { from?: string; chosen?: string[]; releaseDate?: string; machine?: (m: FakeMachine) => void } = {},
  ) {
    // What the planning says and what the steps' log says, in one list.
    const { machine, ctx, said } = workArea(state, listed);
    o.machine?.(machine);
    const ran: string[] = [];
    const all = steps.map((n) => fakeStep(n, ran));
    const savedDone: string[][] = [];
    const started = await startStages({
      image: ctx.image,
      all,
      chosen: o.chosen && all.filter((s) => o.chosen!.includes(s.name)),
      from: o.from,
      state: ctx.state,
      env: { machine, work: ctx.work, say: (m) => said.push(m) },
      tools: {},
      save: async (c) => void savedDone.push(c.state.done.map((d) => d.step)),
      releaseDate: async () => (o.releaseDate ? { date: o.releaseDate } : { problem: "no answer" }),
    });
    const timings: StepTiming[] = started.reused.map((step) => ({
      step,
      seconds: 0,
      ok: true,
      reused: true,
    }));
    const c: BuildContext = { ...ctx, stages: started.run };
    await runSteps(c, started.steps, timings, () => ctx.log, silent, started.hooks);
    return { machine, ran, said, timings, state: c.state, savedDone };
  }

  it("a first build records every stage's key and keeps both snapshots, written as NAME.tmp and renamed", async () => {
    const b = await build({ done: [] }, [], { releaseDate: "D1" });
    expect(b.ran).toEqual(ALL);
    expect(Object.keys(b.state.stages ?? {})).toEqual(["bootstrap", "packages", "hooks", "boot"]);
    const cmds = b.machine.commands;
    const copy = cmds.indexOf("cp -a --reflink=auto -- /w/rootfs /w/snapshots/bootstrap.tmp");
    expect(copy).toBeGreaterThan(-1);
    expect(cmds[copy + 1]).toBe("mv -- /w/snapshots/bootstrap.tmp /w/snapshots/bootstrap");
    expect(cmds).toContain("cp -a --reflink=auto -- /w/rootfs /w/snapshots/packages.tmp");
    const keyWrite = b.machine.calls.find(
      (c) => c.argv[0] === "sh" && c.argv.includes("/w/snapshots/packages.key"),
    );
    expect(keyWrite?.argv.at(-1)).toBe(b.state.stages?.packages?.key);
    expect(b.timings.every((t) => !t.reused)).toBe(true);
  });

  it("a rebuild with a changed hook restores the packages snapshot and reports bootstrap reused", async () => {
    const first = await build({ done: [] }, [], { releaseDate: "D1" });
    const snaps: SnapshotInfo[] = [
      { name: "bootstrap", key: first.state.stages!.bootstrap!.key, taken: TAKEN },
      { name: "packages", key: first.state.stages!.packages!.key, taken: TAKEN },
    ];
    // The same image with an edited hook input: simulated by a recorded hooks key that differs.
    const state = structuredClone(first.state);
    state.stages!.hooks = { ...state.stages!.hooks!, key: "f".repeat(64), inputs: { "hook 1 x": "old" } };
    const b = await build(state, snaps, { releaseDate: "D1" });
    expect(b.said.join("\n")).toMatch(/reuse: bootstrap and packages unchanged .*rerunning from hooks/);
    expect(b.ran).toEqual(ALL.slice(1));
    expect(b.timings[0]).toEqual({ step: "bootstrap", seconds: 0, ok: true, reused: true });
    const cmds = b.machine.commands;
    expect(cmds).toContain("rm -rf --one-file-system -- /w/rootfs");
    expect(cmds).toContain("cp -a --reflink=auto -- /w/snapshots/packages /w/rootfs");
    // customize skipped the packages: no new packages snapshot.
    expect(cmds.some((c) => c.includes("packages.tmp"))).toBe(false);
    // Saved without customize and what follows before customize changed anything.
    expect(b.savedDone[0]).toEqual(["bootstrap"]);
    expect(b.state.stages?.hooks?.key).toBe(first.state.stages?.hooks?.key);
  });

  it("nothing changed: only squash onward runs, nothing is restored or copied", async () => {
    const first = await build({ done: [] }, [], { releaseDate: "D1" });
    const snaps: SnapshotInfo[] = [
      { name: "bootstrap", key: first.state.stages!.bootstrap!.key, taken: TAKEN },
      { name: "packages", key: first.state.stages!.packages!.key, taken: TAKEN },
    ];
    const b = await build(structuredClone(first.state), snaps, { releaseDate: "D1" });
    expect(b.ran).toEqual(["squash", "iso", "verify", "collect"]);
    expect(b.machine.commands.some((c) => c.startsWith("cp "))).toBe(false);
    expect(b.timings.filter((t) => t.reused).map((t) => t.step)).toEqual([
      "bootstrap",
      "customize",
      "check",
      "boot",
    ]);
  });

  it("a snapshot that cannot be copied (a full disk) is removed with a warning; the build goes on", async () => {
    const b = await build({ done: [] }, [], {
      releaseDate: "D1",
      machine: (m) =>
        m.on(/^cp -a --reflink=auto -- \/w\/rootfs \/w\/snapshots\/packages\.tmp$/, {
          exitCode: 1,
          stderr: "cp: error writing: No space left on device",
        }),
    });
    expect(b.ran).toEqual(ALL);
    expect(b.said.join("\n")).toMatch(/warning: no snapshot of packages kept \(.*cp -a/);
    const cmds = b.machine.commands;
    const failed = cmds.lastIndexOf("cp -a --reflink=auto -- /w/rootfs /w/snapshots/packages.tmp");
    expect(cmds.slice(failed)).toContain(
      "rm -rf --one-file-system -- /w/snapshots/packages /w/snapshots/packages.tmp",
    );
    expect(cmds.some((c) => c.startsWith("mv -- /w/snapshots/packages.tmp"))).toBe(false);
  });

  it("a mirror that does not answer: everything runs, no bootstrap snapshot is kept", async () => {
    const b = await build({ done: [] }, []);
    expect(b.ran).toEqual(ALL);
    expect(b.said.join("\n")).toMatch(
      /Release date could not be read \(no answer\), so bootstrap is not reused/,
    );
    expect(b.machine.commands.some((c) => c.includes("snapshots/bootstrap.tmp"))).toBe(false);
    expect(b.state.stages).toBeUndefined();
  });

  it("--steps runs what it names and still records the keys", async () => {
    const first = await build({ done: [] }, [], { releaseDate: "D1" });
    const b = await build(structuredClone(first.state), [], { chosen: ["boot", "squash"] });
    expect(b.ran).toEqual(["boot", "squash"]);
    expect(b.state.stages?.boot?.key).toBe(first.state.stages?.boot?.key);
    await expect(build({ done: [] }, [], { chosen: ["squash"] })).rejects.toThrow(
      /step squash needs bootstrap, customize, check, boot from an earlier run/,
    );
  });
});
