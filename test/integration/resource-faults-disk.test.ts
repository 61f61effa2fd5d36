// A disk that fills up while mksquashfs or xorriso writes: the real tools, on
// this host (HostMachine, as root), writing to a small tmpfs. The steps check
// the free space before they start, so a disk that is simply too small never
// reaches the tools. What this test makes is the other case, another writer
// taking the space in between: the machine runs a filler right before the tool
// starts, like another build or a growing log would. mksquashfs then fails
// writing ("No space left on device"); xorriso sees the space gone before it
// writes ("exceeds free space on media"). Either way the step must say "out of
// space" with the numbers df gives after the failure, and leave no output file.
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, rmSync, statfsSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseImageConfig } from "../../src/config/load.js";
import { VerificationError } from "../../src/errors.js";
import { HostMachine } from "../../src/machine/host.js";
import type { ExecOptions, ExecResult } from "../../src/machine/machine.js";
import { workPaths, type BuildContext } from "../../src/pipeline/context.js";
import { bootPaths } from "../../src/steps/boot/layout.js";
import { humanBytes } from "../../src/steps/boot/machine-files.js";
import { isoPath, isoStep } from "../../src/steps/iso.js";
import { squashfsPath, squashStep } from "../../src/steps/squash.js";

const MiB = 1024 * 1024;
const TMPFS_BYTES = 16 * MiB;
const toolsThere = ["/usr/bin/mksquashfs", "/usr/bin/unsquashfs", "/usr/bin/xorriso"].every((p) =>
  existsSync(p),
);
const isRoot = process.getuid?.() === 0;

/** The HostMachine, with `before` run right before the first command `when` matches. */
class FillingMachine extends HostMachine {
  lines: string[] = [];
  constructor(
    private readonly when: (argv: readonly string[]) => boolean,
    private before: (() => void) | undefined,
  ) {
    super();
  }
  override exec(argv: readonly string[], opts?: ExecOptions): Promise<ExecResult> {
    if (this.before && this.when(argv)) {
      this.before();
      this.before = undefined;
    }
    return super.exec(argv, opts);
  }
}

let tmp: string;
const mounts: string[] = [];

function tmpfs(name: string): string {
  const dir = path.join(tmp, name);
  mkdirSync(dir, { recursive: true });
  execFileSync("mount", ["-t", "tmpfs", "-o", `size=${TMPFS_BYTES}`, "tmpfs", dir]);
  mounts.push(dir);
  return dir;
}

function context(root: string, yaml: string, machine: FillingMachine): BuildContext {
  return {
    image: {
      name: "full",
      dir: tmp,
      file: path.join(tmp, "image.yaml"),
      hooksDir: tmp,
      displayFile: "image.yaml",
      config: parseImageConfig(`description: test\n${yaml}`, "image.yaml"),
    },
    machine,
    work: workPaths(root),
    state: { done: [] },
    log: {
      say: (m) => machine.lines.push(`say: ${m}`),
      output: { line: (s, t) => machine.lines.push(`${s}: ${t}`) },
      file: path.join(tmp, "build.log"),
    },
    signal: new AbortController().signal,
    sourceDateEpoch: 1_700_000_000,
    outDir: tmp,
    logDir: tmp,
  };
}

/** "out of space while ...: the filesystem of P has F free of S (f of s bytes)": the numbers, checked against statfs. */
function expectNumbers(message: string, dir: string): void {
  const m = /has (\S+ \S+) free of (\S+ \S+) \(([0-9]+) of ([0-9]+) bytes\)/.exec(message);
  expect(m, message).not.toBeNull();
  const [, freeH, sizeH, free, size] = m!;
  const st = statfsSync(dir);
  expect(Number(size)).toBe(st.blocks * st.bsize);
  expect(Number(size)).toBe(TMPFS_BYTES);
  expect(sizeH).toBe(humanBytes(TMPFS_BYTES));
  // Read after the failure, with the filler still there: what is left is less than 1 MiB.
  expect(Number(free)).toBe(st.bavail * st.bsize);
  expect(Number(free)).toBeLessThan(MiB);
  expect(freeH).toBe(humanBytes(Number(free)));
}

describe.runIf(toolsThere && isRoot && process.platform === "linux")(
  "resource faults: the disk fills up during squash and iso",
  () => {
    beforeAll(() => {
      tmp = mkdtempSync(path.join(os.tmpdir(), "vmlive-full-"));
    });
    afterAll(() => {
      for (const m of mounts.reverse()) execFileSync("umount", ["-l", m], { stdio: "ignore" });
      rmSync(tmp, { recursive: true, force: true });
    });

    it("disk full during squash: out of space with the numbers, no squashfs left", async () => {
      const root = path.join(tmp, "squash");
      const work = workPaths(root);
      // 12 MiB that does not compress: the pre-check (needs the rootfs size, 12 MiB) passes on 16 MiB.
      mkdirSync(path.join(work.rootfs, "etc"), { recursive: true });
      writeFileSync(path.join(work.rootfs, "payload.bin"), randomBytes(12 * MiB));
      writeFileSync(path.join(work.rootfs, "etc/hostname"), "full\n");
      mkdirSync(work.isoTree, { recursive: true });
      const disk = tmpfs("squash/iso/live");
      // Another writer takes all but 512 KiB right before mksquashfs starts.
      const filler = path.join(disk, "other-build.log");
      const machine = new FillingMachine(
        (a) => a[0] === "mksquashfs" && a[1] === work.rootfs,
        () => writeFileSync(filler, Buffer.alloc(TMPFS_BYTES - 512 * 1024)),
      );
      const ctx = context(root, "", machine);
      const err = (await squashStep.run(ctx).catch((e: unknown) => e)) as Error;
      console.log(err.message);
      expect(err).toBeInstanceOf(VerificationError);
      const out = squashfsPath(work.isoTree);
      expect(err.message).toMatch(
        new RegExp(
          `^out of space while squashing ${work.rootfs}: the filesystem of ${work.isoTree}/live has `,
        ),
      );
      expect(err.message).toContain('after mksquashfs said "');
      expect(err.message).toMatch(/No space left on device|Failed to write to output filesystem/);
      expectNumbers(err.message, disk);
      expect((err as VerificationError).hint).toMatch(/free space/);
      // mksquashfs's own words are in the log, and no half-written image remains.
      expect(machine.lines.join("\n")).toMatch(/No space left on device/);
      expect(existsSync(out)).toBe(false);
    });

    it("disk full during iso: out of space with the numbers, no ISO or .partial left", async () => {
      const root = path.join(tmp, "iso");
      const work = workPaths(root);
      const tree = work.isoTree;
      // What the boot and squash steps leave, as stand-ins: xorriso copies them, it does not boot them.
      mkdirSync(path.join(tree, "live"), { recursive: true });
      mkdirSync(path.join(tree, "boot/grub"), { recursive: true });
      writeFileSync(path.join(tree, "live/vmlinuz"), randomBytes(MiB));
      writeFileSync(path.join(tree, "live/initrd.img"), randomBytes(2 * MiB));
      writeFileSync(path.join(tree, "live/filesystem.squashfs"), randomBytes(6 * MiB));
      writeFileSync(path.join(tree, "boot/grub/grub.cfg"), "set timeout=5\n");
      execFileSync("truncate", ["-s", "2M", bootPaths(work).efiImage]);
      execFileSync("mkfs.vfat", [bootPaths(work).efiImage], { stdio: "ignore" });
      mkdirSync(work.out, { recursive: true });
      const disk = tmpfs("iso/out");
      const filler = path.join(disk, "other-build.iso");
      const machine = new FillingMachine(
        (a) => a[0] === "xorriso" && a[1] !== "-version",
        () => writeFileSync(filler, Buffer.alloc(TMPFS_BYTES - 512 * 1024)),
      );
      const ctx = context(root, "iso: {bootloaders: [uefi]}\n", machine);
      const err = (await isoStep.run(ctx).catch((e: unknown) => e)) as Error;
      await isoStep.cleanup?.(ctx);
      console.log(err.message);
      expect(err).toBeInstanceOf(VerificationError);
      const iso = isoPath(ctx);
      expect(err.message).toMatch(
        new RegExp(`^out of space while writing ${iso}: the filesystem of ${work.out} has `),
      );
      expect(err.message).toMatch(
        /after xorriso said ".*(exceeds free space on media|No space left on device)/,
      );
      expectNumbers(err.message, disk);
      expect(existsSync(iso)).toBe(false);
      expect(existsSync(`${iso}.partial`)).toBe(false);
    });
  },
);
