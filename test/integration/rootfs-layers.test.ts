// The builder VM's root filesystem layers on the host side, with the real
// mke2fs, debugfs and qemu-img: what a VM start prepares, which disks it
// gets, and what is deleted afterwards. Taking and restoring need the guest
// and qemu's monitor: test/e2e/builder-vm.test.ts.
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import {
  collectGarbage,
  RootfsLayers,
  seedLayers,
  type LayerManifest,
} from "../../src/machine/qemu/rootfs-layers.js";
import { tempDir } from "../support/tmp.js";

const GiB = 2 ** 30;
const layers = (dir: string) =>
  readdirSync(dir)
    .filter((f) => f.startsWith("L-"))
    .sort();
const manifest = (dir: string) =>
  JSON.parse(readFileSync(path.join(dir, "layers.json"), "utf8")) as LayerManifest;

describe("the root filesystem's layers, before and after a VM", () => {
  it("start with one empty ext4 base, without lost+found, taking next to nothing on the host", async () => {
    const dir = path.join(tempDir("vmlive-layers-"), "rootfs");
    const l = await RootfsLayers.prepare(dir, 40 * GiB, "/work/build/rootfs");
    expect(l.drives()).toEqual([{ id: "L-1", file: path.join(dir, "L-1.raw"), format: "raw" }]);
    expect(manifest(dir)).toEqual({ active: "L-1.raw", layers: { "L-1.raw": null }, snapshots: {} });
    const ls = execFileSync("debugfs", ["-R", "ls -p /", path.join(dir, "L-1.raw")], { encoding: "utf8" });
    expect(ls).not.toContain("lost+found");
    const onDisk = Number(
      execFileSync("du", ["-B1", path.join(dir, "L-1.raw")], { encoding: "utf8" }).split("\t")[0],
    );
    expect(onDisk).toBeLessThan(32 * 2 ** 20);
  });

  it("give the VM the active layer first, a view per snapshot, then a fresh base; the unused go afterwards", async () => {
    const dir = path.join(tempDir("vmlive-layers-"), "rootfs");
    const tree = tempDir("vmlive-layers-");
    execFileSync("sh", ["-c", "mkdir -p etc && echo live > etc/hostname"], { cwd: tree });
    await seedLayers(dir, 2 * GiB, tree);
    // As a VM that took the packages snapshot left it: the base frozen, a qcow2 layer on top.
    execFileSync(
      "qemu-img",
      ["create", "-q", "-f", "qcow2", "-b", "L-1.raw", "-F", "raw", "L-2.qcow2", String(2 * GiB)],
      { cwd: dir },
    );
    const m: LayerManifest = {
      active: "L-2.qcow2",
      layers: { "L-1.raw": null, "L-2.qcow2": "L-1.raw" },
      snapshots: { packages: { file: "L-1.raw", key: "k2", taken: "2026-12-01T00:00:00.000Z" } },
    };
    execFileSync("sh", ["-c", 'printf %s "$1" > layers.json', "sh", JSON.stringify(m)], { cwd: dir });
    // A layer a crashed run left behind is gone before the VM starts.
    execFileSync("qemu-img", ["create", "-q", "-f", "qcow2", "L-9.qcow2", "1G"], { cwd: dir });
    const l = await RootfsLayers.prepare(dir, 2 * GiB, "/work/build/rootfs");
    expect(l.drives().map((d) => `${d.id} ${d.format}`)).toEqual(["L-2 qcow2", "L-4 qcow2", "L-3 raw"]);
    expect(layers(dir)).toEqual(["L-1.raw", "L-2.qcow2", "L-3.raw", "L-4.qcow2"]);
    // The view is an empty layer over the snapshot, named relatively.
    const info = JSON.parse(
      execFileSync("qemu-img", ["info", "--output=json", path.join(dir, "L-4.qcow2")], { encoding: "utf8" }),
    ) as {
      "backing-filename": string;
    };
    expect(info["backing-filename"]).toBe("L-1.raw");
    expect((await l.list()).map((s) => `${s.name} ${s.key}`)).toEqual(["packages k2"]);
    // Neither view nor fresh base was used: afterwards only what layers.json reaches is left.
    await collectGarbage(dir);
    expect(layers(dir)).toEqual(["L-1.raw", "L-2.qcow2"]);
  });
});
