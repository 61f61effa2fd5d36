// The bench's arithmetic: vmlive's overhead and the vmlive/live-build ratios
// against the targets, and which run kinds may be asked for.
import { describe, expect, it } from "vitest";
import { UsageError } from "../../../src/errors.js";
import { defaultBackends, parseBackends } from "../../../bench/builds.js";
import { RUN_KINDS, selectKinds } from "../../../bench/kinds.js";
import { liveBuildStages } from "../../../bench/live-build.js";
import { overhead, ratios, rebuildRatios, type RunLine } from "../../../bench/results.js";

function line(o: Partial<RunLine> & Pick<RunLine, "tool" | "run">): RunLine {
  return {
    bench: "build",
    backend: "host",
    ok: true,
    steps: {},
    total_s: 100,
    wall_s: 100,
    iso_bytes: 1000,
    boot_s: null,
    ...o,
  };
}

describe("overhead", () => {
  it("is vmlive's own time over the machine's", () => {
    expect(overhead(110, { count: 500, seconds: 100 })).toBe(0.1);
    expect(overhead(100, { count: 500, seconds: 100 })).toBe(0);
  });
  it("cannot be said without the machine's time", () => {
    expect(overhead(100, undefined)).toBeNull();
    expect(overhead(null, { count: 1, seconds: 1 })).toBeNull();
    expect(overhead(100, { count: 0, seconds: 0 })).toBeNull();
  });
});

describe("ratios", () => {
  it("divides vmlive's wall time and ISO size by live-build's, per run kind, against the targets", () => {
    const r = ratios([
      line({ tool: "vmlive", run: "cold", wall_s: 240, iso_bytes: 250 }),
      line({ tool: "vmlive", run: "warm", wall_s: 200, iso_bytes: 250 }),
      line({ tool: "live-build", run: "cold", wall_s: 400, iso_bytes: 200 }),
      line({ tool: "live-build", run: "warm", wall_s: 300, iso_bytes: 200 }),
    ]);
    expect(r).toEqual([
      {
        bench: "ratio",
        backend: "host",
        run: "cold",
        wall: 0.6,
        iso_bytes: 1.25,
        target_wall: 0.8,
        wall_met: true,
        iso_met: false,
      },
      {
        bench: "ratio",
        backend: "host",
        run: "warm",
        wall: 0.667,
        iso_bytes: 1.25,
        target_wall: 0.5,
        wall_met: false,
        iso_met: false,
      },
    ]);
  });
  it("leaves out a pair where either run failed", () => {
    expect(
      ratios([line({ tool: "vmlive", run: "cold" }), line({ tool: "live-build", run: "cold", ok: false })]),
    ).toEqual([]);
    expect(
      ratios([line({ tool: "vmlive", run: "cold", ok: false }), line({ tool: "live-build", run: "cold" })]),
    ).toEqual([]);
  });
  it("holds a warm variant to the warm target", () => {
    const [r] = ratios([
      line({ tool: "vmlive", run: "warm-from-customize", wall_s: 40 }),
      line({ tool: "live-build", run: "warm-from-customize", wall_s: 100 }),
    ]);
    expect(r?.target_wall).toBe(0.5);
    expect(r?.wall_met).toBe(true);
  });
});

describe("the changed-hook rebuild", () => {
  it("is held against the full build with the package cache warm, per backend", () => {
    const r = rebuildRatios([
      line({ tool: "vmlive", run: "cold", wall_s: 300 }),
      line({ tool: "vmlive", run: "clean", wall_s: 200 }),
      line({ tool: "vmlive", run: "hook-changed", wall_s: 40 }),
      line({ tool: "vmlive", backend: "vm", run: "clean", wall_s: 2000 }),
      line({ tool: "vmlive", backend: "vm", run: "hook-changed", wall_s: 600 }),
    ]);
    expect(r).toEqual([
      {
        bench: "rebuild",
        backend: "host",
        run: "hook-changed",
        of: "clean",
        wall: 0.2,
        target_wall: 0.25,
        wall_met: true,
      },
      {
        bench: "rebuild",
        backend: "vm",
        run: "hook-changed",
        of: "clean",
        wall: 0.3,
        target_wall: 0.25,
        wall_met: false,
      },
    ]);
  });
  it("says nothing when either run failed", () => {
    expect(
      rebuildRatios([
        line({ tool: "vmlive", run: "clean", wall_s: 200 }),
        line({ tool: "vmlive", run: "hook-changed", wall_s: 40, ok: false }),
      ]),
    ).toEqual([]);
  });
});

describe("run kinds", () => {
  it("runs cold before warm, all by default", () => {
    expect(selectKinds(undefined).map((k) => k.name)).toEqual(RUN_KINDS.map((k) => k.name));
    expect(selectKinds(["warm", "cold"]).map((k) => k.name)).toEqual(["cold", "warm"]);
    expect(RUN_KINDS[0]?.cold).toBe(true);
    expect(RUN_KINDS[0]?.vmliveArgs).toContain("--clean");
    // The changed hook is measured after the full build it is compared with, on its work area.
    const names = RUN_KINDS.map((k) => k.name);
    expect(names.indexOf("hook-changed")).toBe(names.indexOf("clean") + 1);
    expect(RUN_KINDS.find((k) => k.name === "hook-changed")?.changeHook).toBe(true);
  });
  it("refuses an unknown kind and a warm one without cold, naming the fix", () => {
    expect(() => selectKinds(["hot"])).toThrow(UsageError);
    expect(() => selectKinds(["hot"])).toThrow(/--kinds hot/);
    const e = (() => {
      try {
        selectKinds(["warm"]);
      } catch (err) {
        return err as UsageError;
      }
    })();
    expect(e?.hint).toBe("add cold: --kinds cold,warm");
  });
  it("keeps live-build's cache on a warm run: lb clean, never --purge", () => {
    const [cold, warm] = RUN_KINDS;
    expect(liveBuildStages(cold!).map(([n]) => n)).toEqual(["config", "bootstrap", "chroot", "binary"]);
    const stages = liveBuildStages(warm!);
    expect(stages[0]).toEqual(["clean", ["lb", "clean"]]);
  });
});

describe("backends", () => {
  it("takes host when root and the VM only when KVM works", async () => {
    expect(await defaultBackends(true, async () => false)).toEqual(["host"]);
    expect(await defaultBackends(true, async () => true)).toEqual(["host", "vm"]);
    expect(await defaultBackends(false, async () => false)).toEqual([]);
  });
  it("refuses an unknown backend", () => {
    expect(parseBackends(["host", "vm", "host"])).toEqual(["host", "vm"]);
    expect(() => parseBackends(["docker"])).toThrow(/--backends docker: no such backend/);
  });
});
