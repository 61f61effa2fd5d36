// A builder-VM work area for live-minimal, made from the shared host build's
// (test/support/live-minimal.ts) instead of built in the VM: a root
// filesystem with a kernel takes about 75 minutes to build under TCG, and
// the steps after squash (boot, iso, verify, collect) need one. The disk is
// made the way vmlive makes its work disks, with the host work area copied in
// (its ISO tree, inputs, GRUB images and state), and the root filesystem on
// the base disk of the VM's root filesystem layers; those steps then run in
// the VM for real.
import { execa } from "execa";
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { hostWorkDir } from "../../src/pipeline/build.js";
import { stateFile } from "../../src/pipeline/state.js";
import { definitionFor } from "../../src/machine/qemu/definition.js";
import { GUEST_WORK_AREA, makeWorkDisk, rootfsLayersDir } from "../../src/machine/qemu/qemu-machine.js";
import { seedLayers } from "../../src/machine/qemu/rootfs-layers.js";

/**
 * What of the host work area stays off the work disk: the stage snapshots (not read from boot on), the
 * state (rewritten), and the root filesystem, which goes on a disk of its own as the VM keeps it.
 */
const LEFT_OUT = ["snapshots", "state.json", "rootfs"];

/**
 * Make the VM work disk of IMAGE (amd64, bookworm builder) below `vmWorkRoot` from its host work area below
 * `hostWorkRoot`. Returns the disk's path.
 */
export async function seedVmWorkDisk(
  image: string,
  hostWorkRoot: string,
  vmWorkRoot: string,
): Promise<string> {
  const from = hostWorkDir(image, "amd64", "host", hostWorkRoot);
  const disk = path.join(hostWorkDir(image, "amd64", "vm", vmWorkRoot), "work.raw");
  mkdirSync(path.dirname(disk), { recursive: true });
  const staging = await mkdtemp(path.join(os.tmpdir(), "vmlive-seed-"));
  try {
    const area = path.join(staging, path.basename(GUEST_WORK_AREA));
    mkdirSync(area);
    // Hard links: instant, and mke2fs only reads them.
    const copied = readdirSync(from).filter((n) => !LEFT_OUT.includes(n));
    await execa("cp", ["-al", ...copied.map((n) => path.join(from, n)), area]);
    // The state names files by their path on the machine: the host's work area becomes the guest's.
    const state = readFileSync(stateFile(from), "utf8").split(from).join(GUEST_WORK_AREA);
    writeFileSync(stateFile(area), state);
    const bytes = definitionFor("bookworm", "amd64").work_disk;
    await makeWorkDisk(disk, bytes, staging);
    await seedLayers(rootfsLayersDir(disk), bytes, path.join(from, "rootfs"));
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
  return disk;
}
