// The argv of the builder VM's two ext4 disks: the root disk filled from the
// builder's root filesystem at a size, the work disk empty or filled, no reserve.
import { describe, expect, it } from "vitest";
import { mkext4Argv } from "../../../src/machine/qemu/ext4.js";

describe("mkext4Argv", () => {
  it("makes the root disk from a folder at a size", () => {
    expect(mkext4Argv("/t/root.raw", "vmliveroot", { from: "/t/rootfs", size: "1200M" })).toEqual([
      "mke2fs",
      "-q",
      "-t",
      "ext4",
      "-L",
      "vmliveroot",
      "-E",
      "root_owner=0:0",
      "-d",
      "/t/rootfs",
      "/t/root.raw",
      "1200M",
    ]);
  });
  it("makes the work disk on an existing sparse file, with no blocks reserved and the journal left sparse", () => {
    expect(mkext4Argv("/w/work.raw", "vmlivework", { noReserve: true, sparse: true })).toEqual([
      "mke2fs",
      "-q",
      "-t",
      "ext4",
      "-L",
      "vmlivework",
      "-E",
      "root_owner=0:0,lazy_journal_init=1",
      "-m",
      "0",
      "/w/work.raw",
    ]);
  });
});
