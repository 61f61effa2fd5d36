// Which way snapshots go: through a machine's own rootfsSnapshots (the builder VM's qcow2 layers)
// when it keeps them for this work area's rootfs, as copies in the work area otherwise.
import { describe, expect, it } from "vitest";
import type { RootfsSnapshots } from "../../../src/machine/machine.js";
import { workPaths } from "../../../src/pipeline/context.js";
import {
  dropSnapshot,
  emptyRootfs,
  listSnapshots,
  restoreSnapshot,
  takeSnapshot,
  type SnapshotEnv,
} from "../../../src/pipeline/snapshots.js";
import { FakeMachine } from "../../support/fake-machine.js";

const work = workPaths("/work/build");

/** Snapshots that record what was asked of them. */
function recorder(path: string): RootfsSnapshots & { asked: string[] } {
  const asked: string[] = [];
  return {
    path,
    asked,
    list: async () => (
      asked.push("list"),
      [
        { name: "packages", key: "k2", taken: "2026-12-01T00:00:00.000Z" },
        { name: "other", key: "k9", taken: "2026-12-01T00:00:00.000Z" },
      ]
    ),
    take: async (name, key) => (
      asked.push(`take ${name} ${key}`),
      { seconds: 0.4, bytes: 2 ** 20, what: "qcow2 layer L-3.qcow2" }
    ),
    restore: async (name) => void asked.push(`restore ${name}`),
    drop: async (name) => void asked.push(`drop ${name}`),
    empty: async () => void asked.push("empty"),
  };
}

function env(m: FakeMachine): SnapshotEnv & { said: string[] } {
  const said: string[] = [];
  return { machine: m, work, say: (s) => said.push(s), said };
}

describe("snapshots", () => {
  it("go to the machine's own snapshots when they are of this rootfs, copying nothing", async () => {
    const own = recorder(work.rootfs);
    const m = Object.assign(new FakeMachine(), { rootfsSnapshots: own });
    const e = env(m);
    expect((await listSnapshots(e)).map((s) => s.name)).toEqual(["packages"]);
    await takeSnapshot(e, "bootstrap", "k1".padEnd(64, "0"));
    await restoreSnapshot(e, "packages");
    await dropSnapshot(e, "bootstrap");
    await emptyRootfs(e);
    expect(own.asked).toEqual([
      "list",
      `take bootstrap ${"k1".padEnd(64, "0")}`,
      "restore packages",
      "drop bootstrap",
      "empty",
    ]);
    // The only command: removing copies an older vmlive left in the work area.
    expect(m.commands).toEqual(["rm -rf --one-file-system -- /work/build/snapshots"]);
    expect(e.said[0]).toBe("snapshot bootstrap: qcow2 layer L-3.qcow2, 1.0 MiB, in 0.4 s (key k10000000000)");
  });

  it("are copies in the work area when the machine keeps none, or none of this rootfs", async () => {
    for (const m of [
      new FakeMachine(),
      Object.assign(new FakeMachine(), { rootfsSnapshots: recorder("/elsewhere") }),
    ]) {
      const e = env(m);
      await restoreSnapshot(e, "packages");
      await emptyRootfs(e);
      expect(m.commands).toEqual([
        "rm -rf --one-file-system -- /work/build/rootfs",
        "cp -a --reflink=auto -- /work/build/snapshots/packages /work/build/rootfs",
        "rm -rf --one-file-system -- /work/build/rootfs",
      ]);
    }
  });
});
