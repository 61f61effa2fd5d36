import { describe, expect, it } from "vitest";
import { UsageError } from "../../../src/errors.js";
import type { BuildContext, BuildState } from "../../../src/pipeline/context.js";
import { runSteps, type StepTiming } from "../../../src/pipeline/runner.js";
import { keyOf, type StageKey, type StageName } from "../../../src/pipeline/stage-keys.js";
import {
  bootChangesRootfs,
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
  const squash = keyOf(hooks.key, { "squashfs.level": "l", ...edit.squash });
  return { bootstrap, packages, hooks, boot, squash };
}

const SQUASHFS = "/w/iso/live/filesystem.squashfs";

/** The state.json of a finished build with these keys, its two snapshots, and its squashfs as it is now. */
function finished(
  k = keys(),
  /** Its size now; null: not there. */
  bytesNow: number | null = 5000,
): Pick<PlanInput, "state" | "snapshots" | "squashfs"> {
  const at = TAKEN;
  return {
    state: {
      done: ALL.map((step) => ({ step, seconds: 1 })),
      stages: {
        bootstrap: { ...k.bootstrap, at },
        packages: { ...k.packages, at },
        hooks: { ...k.hooks, at },
        boot: { ...k.boot, at },
        squash: { ...k.squash, at },
      },
      squashfs: { path: SQUASHFS, bytes: 5000, files: 3 },
    },
    snapshots: [
      { name: "bootstrap", key: k.bootstrap.key, taken: at },
      { name: "packages", key: k.packages.key, taken: at },
    ],
    squashfs: { path: SQUASHFS, recorded: 5000, bytes: bytesNow ?? undefined },
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

  it("nothing changed: iso onward, the squashfs reused, saying so with its key", () => {
    const p = plan({ wanted: keys(), ...finished() });
    expect(p.start).toBe("iso");
    expect(p.reused).toEqual(["bootstrap", "customize", "check", "boot", "squash"]);
    expect(names(p.run)).toEqual(["iso", "verify", "collect"]);
    expect(p.drop).toEqual([]);
    expect(p.lines).toContain(
      `reuse: squashfs unchanged (key ${keys().squash.key.slice(0, 8)}..., 4.9 KiB in ${SQUASHFS}); rerunning from iso`,
    );
  });

  it("only the boot menu changed: boot onward, naming the field; boot leaves the squashfs, so it is reused", () => {
    const p = plan({ wanted: keys({ boot: { "iso.menu_title": "new" } }), ...finished() });
    expect(p.start).toBe("boot");
    expect(p.reused).toEqual(["bootstrap", "customize", "check", "squash"]);
    expect(names(p.run)).toEqual(["boot", "iso", "verify", "collect"]);
    expect(p.lines.join("\n")).toMatch(/rerunning from boot because iso\.menu_title changed/);
    expect(p.lines.join("\n")).toMatch(/reuse: squashfs unchanged .*; boot leaves it alone/);
  });

  it("only the boot menu changed where boot remakes the initrd in the rootfs: squash reruns after boot", () => {
    const p = plan({
      wanted: keys({ boot: { "iso.menu_title": "new" } }),
      ...finished(),
      bootChangesRootfs: true,
    });
    expect(names(p.run)).toEqual(["boot", "squash", "iso", "verify", "collect"]);
    expect(p.lines.join("\n")).toMatch(
      /squash reruns too because boot makes the initrd in the root filesystem again on this machine/,
    );
    // Without a boot rerun the squashfs is what boot left in the rootfs last time: reused.
    expect(plan({ wanted: keys(), ...finished(), bootChangesRootfs: true }).reused).toContain("squash");
  });

  it("squashfs.level changed: squash onward, naming the field", () => {
    const p = plan({ wanted: keys({ squash: { "squashfs.level": "19" } }), ...finished() });
    expect(p.start).toBe("squash");
    expect(p.reused).toEqual(["bootstrap", "customize", "check", "boot"]);
    expect(names(p.run)).toEqual(["squash", "iso", "verify", "collect"]);
    expect(p.lines[0]).toMatch(/; rerunning from squash because squashfs\.level changed$/);
  });

  it("the squashfs file missing or of another size: squash runs, saying why", () => {
    const missing = plan({ wanted: keys(), ...finished(keys(), null) });
    expect(names(missing.run)[0]).toBe("squash");
    expect(missing.lines[0]).toMatch(`rerunning from squash because ${SQUASHFS} is missing`);
    const other = plan({ wanted: keys(), ...finished(keys(), 4096) });
    expect(names(other.run)[0]).toBe("squash");
    expect(other.lines[0]).toMatch(
      `rerunning from squash because ${SQUASHFS} is 4096 bytes, not the 5000 state.json records`,
    );
    const none = plan({ wanted: keys(), ...finished(), squashfs: undefined });
    expect(none.lines[0]).toMatch(/because state\.json records no squashfs$/);
  });

  it("a squash that did not finish (its record dropped when it started) is not reused", () => {
    const f = finished();
    invalidateFrom(f.state, STEPS, "squash");
    expect(f.state.stages?.squash).toBeUndefined();
    const p = plan({ wanted: keys(), ...f });
    expect(names(p.run)).toEqual(["squash", "iso", "verify", "collect"]);
    expect(p.lines[0]).toMatch(/because the last run left no finished squash stage$/);
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
    invalidateFrom(f.state, STEPS, "customize", { packagesReused: true });
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

  it("squash runs it whatever the keys say", () => {
    const p = plan({ wanted: keys(), ...finished(), from: "squash" });
    expect(names(p.run)).toEqual(["squash", "iso", "verify", "collect"]);
    expect(p.reused).toEqual(["bootstrap", "customize", "check", "boot"]);
  });

  it("boot runs squash after it too", () => {
    expect(names(plan({ wanted: keys(), ...finished(), from: "boot" }).run)).toContain("squash");
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
    // boot does not change what squash packed: its key stays (its `done` goes, as it is later).
    expect(Object.keys(f.state.stages!)).toEqual(["bootstrap", "packages", "hooks", "squash"]);
    invalidateFrom(f.state, STEPS, "customize");
    expect(Object.keys(f.state.stages!)).toEqual(["bootstrap"]);
  });

  it("keeps what the plan reuses after the step; boot that writes into the rootfs drops squash", () => {
    const f = finished();
    invalidateFrom(f.state, STEPS, "boot", { keep: ["bootstrap", "customize", "check", "squash"] });
    expect(f.state.done.map((d) => d.step)).toEqual(["bootstrap", "customize", "check", "squash"]);
    expect(Object.keys(f.state.stages!)).toEqual(["bootstrap", "packages", "hooks", "squash"]);
    const g = finished();
    invalidateFrom(g.state, STEPS, "boot", { bootChangesRootfs: true });
    expect(Object.keys(g.state.stages!)).toEqual(["bootstrap", "packages", "hooks"]);
  });
});

describe("bootChangesRootfs", () => {
  // builder.arch host: the builder VM is of this machine's architecture, x64 here.
  it.runIf(process.arch === "x64")(
    "is true where boot makes a 32-bit image's initrd again under qemu-user, false for a native image",
    () => {
      const armhf = stepContext({ yaml: "arch: armhf\nbuilder:\n  arch: host\n" }).ctx;
      expect(bootChangesRootfs(armhf.image, new FakeMachine())).toBe(true);
      const amd64 = stepContext({ yaml: "arch: amd64\n" }).ctx;
      expect(bootChangesRootfs(amd64.image, new FakeMachine())).toBe(false);
    },
  );
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
    // As squash does: the file it wrote, recorded.
    if (name === "squash") ctx.state.squashfs = { path: SQUASHFS, bytes: 5000, files: 3 };
  },
});

/** A work area on a FakeMachine: state.json in memory, snapshots listed as `listed` says, the squashfs `squashfsBytes` big. */
function workArea(
  state: BuildState,
  listed: SnapshotInfo[],
  squashfsBytes: number | undefined,
  yaml?: string,
) {
  const machine = new FakeMachine();
  machine.on(
    (a) => a.join(" ") === `stat -c %s ${SQUASHFS}`,
    () =>
      squashfsBytes === undefined
        ? { exitCode: 1, stderr: `stat: cannot statx '${SQUASHFS}': No such file or directory` }
        : { stdout: `${squashfsBytes}\n` },
  );
  machine.on(
    (a) => a[0] === "sh" && a[3] === "vmlive-snapshots",
    () => ({
      stdout: listed.map((s) => `${s.name} ${s.key} ${Date.parse(s.taken) / 1000}\n`).join(""),
    }),
  );
  machine.on("du", () => ({ stdout: "123456\t/x\n" }));
  const { ctx, said } = stepContext({ machine, root: "/w", state, yaml });
  return { machine, ctx, said };
}

describe("startStages with runSteps on a fake machine", () => {
  const steps = ALL;
  const silent = { stepStart: () => {}, stepEnd: () => {} };

  async function build(
    state: BuildState,
    listed: SnapshotInfo[],
    o: {
      from?: string;
      chosen?: string[];
      releaseDate?: string;
      machine?: (m: FakeMachine) => void;
      /** The size of the squashfs in the work area; default 5000, as the fake squash records it. */
      squashfsBytes?: number | null;
      /** image.yaml of the image built. */
      yaml?: string;
    } = {},
  ) {
    // What the planning says and what the steps' log says, in one list.
    const { machine, ctx, said } = workArea(
      state,
      listed,
      o.squashfsBytes === null ? undefined : (o.squashfsBytes ?? 5000),
      o.yaml,
    );
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
    expect(Object.keys(b.state.stages ?? {})).toEqual(["bootstrap", "packages", "hooks", "boot", "squash"]);
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
    // The squashfs packed the old hooks' rootfs: made again, its record made after the new hooks key.
    expect(b.ran).toContain("squash");
    expect(b.state.stages?.squash?.key).toBe(first.state.stages?.squash?.key);
  });

  /** A first build of `yaml`, then the snapshots it left. */
  async function firstBuild(yaml?: string) {
    const first = await build({ done: [] }, [], { releaseDate: "D1", yaml });
    const snaps: SnapshotInfo[] = [
      { name: "bootstrap", key: first.state.stages!.bootstrap!.key, taken: TAKEN },
      { name: "packages", key: first.state.stages!.packages!.key, taken: TAKEN },
    ];
    return { first, snaps };
  }

  it("nothing changed: only iso onward runs; squash is reused, saying so; nothing is restored or copied", async () => {
    const { first, snaps } = await firstBuild();
    const b = await build(structuredClone(first.state), snaps, { releaseDate: "D1" });
    expect(b.ran).toEqual(["iso", "verify", "collect"]);
    expect(b.machine.commands.some((c) => c.startsWith("cp "))).toBe(false);
    expect(b.machine.commands).toContain(`stat -c %s ${SQUASHFS}`);
    expect(b.timings.filter((t) => t.reused).map((t) => t.step)).toEqual([
      "bootstrap",
      "customize",
      "check",
      "boot",
      "squash",
    ]);
    expect(b.said).toContain(
      `reuse: squashfs unchanged (key ${first.state.stages!.squash!.key.slice(0, 8)}..., 4.9 KiB in ${SQUASHFS}); rerunning from iso`,
    );
    // The reused squash keeps its record for the next build.
    expect(b.state.done.map((d) => d.step)).toContain("squash");
    expect(b.state.stages?.squash).toEqual(first.state.stages?.squash);
  });

  it("a config field customize reads changed (hostname): customize onward, squash runs", async () => {
    const { first, snaps } = await firstBuild("hostname: one\n");
    const b = await build(structuredClone(first.state), snaps, {
      releaseDate: "D1",
      yaml: "hostname: two\n",
    });
    expect(b.said[0]).toMatch(/rerunning from hooks because hostname changed/);
    expect(b.ran).toEqual(ALL.slice(1));
    expect(b.state.stages?.squash?.key).not.toBe(first.state.stages?.squash?.key);
  });

  it("squashfs.level changed: squash onward only, naming the field, and the new key is recorded", async () => {
    const { first, snaps } = await firstBuild();
    const yaml = "squashfs:\n  level: 19\n";
    const b = await build(structuredClone(first.state), snaps, { releaseDate: "D1", yaml });
    expect(b.ran).toEqual(["squash", "iso", "verify", "collect"]);
    expect(b.said[0]).toMatch(/rerunning from squash because squashfs\.level changed$/);
    expect(b.state.stages?.squash?.key).not.toBe(first.state.stages?.squash?.key);
    // And the build after that reuses the new squashfs.
    const c = await build(structuredClone(b.state), snaps, { releaseDate: "D1", yaml });
    expect(c.ran).toEqual(["iso", "verify", "collect"]);
  });

  it("only the boot menu changed: boot runs, squash is reused and keeps its record", async () => {
    const { first, snaps } = await firstBuild();
    const b = await build(structuredClone(first.state), snaps, {
      releaseDate: "D1",
      yaml: "iso:\n  menu_title: other\n",
    });
    expect(b.ran).toEqual(["boot", "iso", "verify", "collect"]);
    expect(b.timings.find((t) => t.step === "squash")).toEqual({
      step: "squash",
      seconds: 0,
      ok: true,
      reused: true,
    });
    // boot's start saved state.json without it and later steps, but with squash.
    expect(b.savedDone[0]).toEqual(["bootstrap", "customize", "check", "squash"]);
    expect(Object.keys(b.state.stages!)).toContain("squash");
  });

  it("the squashfs file missing or of another size: squash runs, saying why", async () => {
    const { first, snaps } = await firstBuild();
    const gone = await build(structuredClone(first.state), snaps, { releaseDate: "D1", squashfsBytes: null });
    expect(gone.ran).toEqual(["squash", "iso", "verify", "collect"]);
    expect(gone.said[0]).toMatch(`rerunning from squash because ${SQUASHFS} is missing`);
    const other = await build(structuredClone(first.state), snaps, { releaseDate: "D1", squashfsBytes: 77 });
    expect(other.ran).toEqual(["squash", "iso", "verify", "collect"]);
    expect(other.said[0]).toMatch(`because ${SQUASHFS} is 77 bytes, not the 5000 state.json records`);
  });

  it("--from squash and --steps squash run it although nothing changed", async () => {
    const { first, snaps } = await firstBuild();
    const from = await build(structuredClone(first.state), snaps, { releaseDate: "D1", from: "squash" });
    expect(from.ran).toEqual(["squash", "iso", "verify", "collect"]);
    const steps = await build(structuredClone(first.state), snaps, { chosen: ["squash"] });
    expect(steps.ran).toEqual(["squash"]);
    expect(steps.state.stages?.squash?.key).toBe(first.state.stages?.squash?.key);
  });

  it("a squash that is interrupted leaves no record, so the next build runs it again", async () => {
    const { first, snaps } = await firstBuild();
    const ac = new AbortController();
    const { machine, ctx } = workArea(structuredClone(first.state), snaps, 5000);
    // What state.json holds when the process is gone: the last save.
    let onDisk: BuildState = first.state;
    const all = ALL.map((n) => fakeStep(n, []));
    const squash = all.find((s) => s.name === "squash")!;
    squash.run = async () => {
      ac.abort(new Error("interrupted"));
      throw new Error("interrupted");
    };
    const started = await startStages({
      image: ctx.image,
      all,
      from: "squash",
      state: ctx.state,
      env: { machine, work: ctx.work, say: () => {} },
      tools: {},
      save: async (c) => void (onDisk = structuredClone(c.state)),
      releaseDate: async () => ({ date: "D1" }),
    });
    await expect(
      runSteps(
        { ...ctx, signal: ac.signal, stages: started.run },
        started.steps,
        [],
        () => ctx.log,
        silent,
        started.hooks,
      ),
    ).rejects.toThrow();
    expect(onDisk.stages?.squash).toBeUndefined();
    expect(onDisk.done.map((d) => d.step)).toEqual(["bootstrap", "customize", "check", "boot"]);
    const b = await build(onDisk, snaps, { releaseDate: "D1" });
    expect(b.ran[0]).toBe("squash");
    expect(b.said[0]).toMatch(/because the last run left no finished squash stage$/);
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
