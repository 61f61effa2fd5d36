import { describe, expect, it } from "vitest";
import {
  formatOf,
  garbage,
  nextLayerNumber,
  reachable,
  type LayerManifest,
} from "../../../src/machine/qemu/rootfs-layers.js";

// A base, the bootstrap snapshot's layer over it, the packages snapshot over that, the active layer on top.
const m: LayerManifest = {
  active: "L-5.qcow2",
  layers: { "L-1.raw": null, "L-3.qcow2": "L-1.raw", "L-5.qcow2": "L-3.qcow2" },
  snapshots: {
    bootstrap: { file: "L-1.raw", key: "k1", taken: "2026-12-01T00:00:00Z" },
    packages: { file: "L-3.qcow2", key: "k2", taken: "2026-12-01T00:00:00Z" },
  },
};

describe("the root filesystem's layers", () => {
  it("need the active layer and every snapshot, with all they are backed by", () => {
    expect([...reachable(m)].sort()).toEqual(["L-1.raw", "L-3.qcow2", "L-5.qcow2"]);
    // After restoring bootstrap: a view over the base is active; packages still holds its layers.
    const restored = { ...m, active: "L-7.qcow2", layers: { ...m.layers, "L-7.qcow2": "L-1.raw" } };
    expect([...reachable(restored)].sort()).toEqual(["L-1.raw", "L-3.qcow2", "L-7.qcow2"]);
    const dropped = { ...restored, snapshots: { bootstrap: m.snapshots.bootstrap! } };
    expect([...reachable(dropped)].sort()).toEqual(["L-1.raw", "L-7.qcow2"]);
  });

  it("let go of unused views and replaced layers, and of nothing else in the folder", () => {
    const names = ["L-1.raw", "L-3.qcow2", "L-5.qcow2", "L-6.qcow2", "L-7.raw", "layers.json", "work.raw"];
    expect(garbage(m, names)).toEqual(["L-6.qcow2", "L-7.raw"]);
    // No manifest: every layer file is garbage, other files are not layers.
    expect(garbage(undefined, names)).toEqual(["L-1.raw", "L-3.qcow2", "L-5.qcow2", "L-6.qcow2", "L-7.raw"]);
  });

  it("are numbered past every layer file there is, used or not", () => {
    expect(nextLayerNumber([])).toBe(1);
    expect(nextLayerNumber(["L-1.raw", "L-12.qcow2", "L-3.qcow2", "layers.json", "L-x.qcow2"])).toBe(13);
  });

  it("are raw ext4 at the base and qcow2 above it", () => {
    expect(formatOf("L-1.raw")).toBe("raw");
    expect(formatOf("L-2.qcow2")).toBe("qcow2");
  });
});
