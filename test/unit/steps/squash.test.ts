// The squash step against a FakeMachine scripted with what the real tools
// printed for the ISO prototype (/tmp/proto-iso: a 625 MB bookworm root,
// 13304 entries, squashed with zstd to 194,617,344 bytes).
import { describe, expect, it } from "vitest";
import { parseImageConfig } from "../../../src/config/load.js";
import { VerificationError } from "../../../src/errors.js";
import { countListing, mksquashfsArgv, parseSuperblock, squashStep } from "../../../src/steps/squash.js";
import { FakeMachine } from "../../support/fake-machine.js";
import { stepContext } from "../../support/step-context.js";

const SQ = "/work/img/iso/live/filesystem.squashfs";

// `unsquashfs -s` of the prototype's filesystem.squashfs (squashfs-tools 4.5.1).
const SUPERBLOCK = `Found a valid SQUASHFS 4:0 superblock on ${SQ}.
Creation or last append time Sun Nov 22 02:37:40 2026
Filesystem size 194614189 bytes (190052.92 Kbytes / 185.60 Mbytes)
Compression zstd
Block size 131072
Filesystem is exportable via NFS
Inodes are compressed
Data is compressed
Uids/Gids (Id table) are compressed
Fragments are compressed
Always-use-fragments option is not specified
Xattrs are compressed
Duplicates are removed
Number of fragments 1968
Number of inodes 13302
Number of ids 7
Number of xattr ids 0
`;
const ROOT_BYTES = 654733312; // du -sx --block-size=1 of the prototype's root
const ENTRIES = 13304; // find ROOT | wc -l, and unsquashfs -l | wc -l
const SQ_BYTES = 194617344;
// `unsquashfs -l`: "squashfs-root", then one line per entry (first lines real, the rest made up to the real count).
const LISTING = [
  "squashfs-root",
  "squashfs-root/bin",
  "squashfs-root/boot",
  "squashfs-root/boot/System.map-6.1.0-50-amd64",
  "squashfs-root/boot/config-6.1.0-50-amd64",
  "squashfs-root/boot/initrd.img-6.1.0-50-amd64",
  "squashfs-root/boot/vmlinuz-6.1.0-50-amd64",
  "squashfs-root/dev",
  ...Array.from({ length: ENTRIES - 8 }, (_, i) => `squashfs-root/usr/share/f${i}`),
].join("\n");
const HELP_45 = `SYNTAX:mksquashfs source1 source2 ...  FILESYSTEM [OPTIONS] [-e list of exclude
dirs/files]

Filesystem build options:
-comp <comp>		select <comp> compression
-b <block_size>		set data block to <block_size>.  Default 128 Kbytes.
-noappend		do not append to existing filesystem
Filesystem filter options:
-exit-on-error		treat normally ignored errors as fatal
-no-progress		don't display the progress bar
`;

const context = (yaml: string, m: FakeMachine) => stepContext({ yaml, machine: m }).ctx;

function builder(): FakeMachine {
  return new FakeMachine()
    .on("du", { stdout: `${ROOT_BYTES}\t/work/img/rootfs\n` })
    .on("find", { stdout: ".".repeat(ENTRIES) })
    .on("df", { stdout: "      Avail\n75775242240\n" })
    .on("nproc", { stdout: "2\n" })
    .on((a) => a[0] === "mksquashfs" && a[1] === "-help", { stdout: HELP_45 })
    .on((a) => a[0] === "mksquashfs" && a[1] === "-version", {
      stdout: "mksquashfs version 4.5.1 (2022/03/17)\n",
    })
    .on("stat", { stdout: `${SQ_BYTES}\n` })
    .on((a) => a[0] === "unsquashfs" && a[1] === "-s", { stdout: SUPERBLOCK })
    .on((a) => a[0] === "unsquashfs" && a[1] === "-l", { stdout: `${LISTING}\n` });
}

describe("squash helpers", () => {
  it("reads the superblock", () => {
    expect(parseSuperblock(SUPERBLOCK)).toEqual({
      compression: "zstd",
      blockSize: 131072,
      bytes: 194614189,
      inodes: 13302,
    });
    expect(parseSuperblock("FATAL ERROR: Can't find a valid SQUASHFS superblock on x\n")).toBeUndefined();
  });
  it("counts listing entries, ignoring 4.4's header lines", () => {
    expect(countListing(LISTING)).toBe(ENTRIES);
    expect(
      countListing(
        "Parallel unsquashfs: Using 2 processors\n3 inodes (2 blocks) to write\n\nsquashfs-root\nsquashfs-root/a\n",
      ),
    ).toBe(2);
  });
  it("builds mksquashfs's argv from the config", () => {
    const c = parseImageConfig("description: t\nsquashfs: {compression: xz, block_size: 1M}", "i.yaml");
    expect(mksquashfsArgv("/r", "/o.sq", c.squashfs, 4, true)).toEqual([
      "mksquashfs",
      "/r",
      "/o.sq",
      "-noappend",
      "-comp",
      "xz",
      "-b",
      "1048576",
      "-processors",
      "4",
      "-exit-on-error",
      "-no-progress",
    ]);
    const z = parseImageConfig("description: t\nsquashfs: {level: 19}", "i.yaml");
    expect(mksquashfsArgv("/r", "/o.sq", z.squashfs, 2, false)).toEqual([
      "mksquashfs",
      "/r",
      "/o.sq",
      "-noappend",
      "-comp",
      "zstd",
      "-Xcompression-level",
      "19",
      "-b",
      "131072",
      "-processors",
      "2",
      "-no-progress",
    ]);
  });
});

describe("squashStep.run", () => {
  it("squashes with the machine's processors, SOURCE_DATE_EPOCH and -exit-on-error, and records the numbers", async () => {
    const m = builder();
    const ctx = context("", m);
    await squashStep.run(ctx);
    const call = m.calls.find((c) => c.argv[0] === "mksquashfs" && c.argv[1] === "/work/img/rootfs")!;
    expect(call.argv).toEqual([
      "mksquashfs",
      "/work/img/rootfs",
      SQ,
      "-noappend",
      "-comp",
      "zstd",
      "-b",
      "131072",
      "-processors",
      "2",
      "-exit-on-error",
      "-no-progress",
    ]);
    expect(call.opts?.env).toEqual({ SOURCE_DATE_EPOCH: "1700000000" });
    expect(call.opts?.output).toBe(ctx.log.output);
    expect(m.commands).toContain("find /work/img/rootfs -xdev -printf .");
    expect(m.commands).toContain("df -B1 --output=avail /work/img/iso/live");
    expect(ctx.state.rootfs).toEqual({ bytes: ROOT_BYTES, files: ENTRIES });
    expect(ctx.state.squashfs).toEqual({ path: SQ, bytes: SQ_BYTES, files: ENTRIES });
    expect(ctx.state.tools?.mksquashfs).toBe("mksquashfs version 4.5.1 (2022/03/17)");
  });

  it("leaves -exit-on-error out, with a warning, where mksquashfs lacks it", async () => {
    const m = builder().on((a) => a[0] === "mksquashfs" && a[1] === "-help", {
      stderr: "-comp <comp>\n-noappend\n",
    });
    const { ctx, said } = stepContext({ machine: m });
    await squashStep.run(ctx);
    expect(m.commands.find((c) => c.startsWith("mksquashfs /work"))).not.toContain("-exit-on-error");
    expect(said.join("\n")).toMatch(/warning: .*no -exit-on-error/);
  });

  const fails = async (m: FakeMachine, re: RegExp, yaml = "") => {
    const err = await squashStep.run(context(yaml, m)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(VerificationError);
    expect((err as Error).message).toMatch(re);
    return m;
  };

  it("fails before squashing when there is no room", async () => {
    const m = await fails(
      builder().on("df", { stdout: "      Avail\n104857600\n" }),
      /^out of space: need 624\.4 MiB, have 100\.0 MiB/,
    );
    expect(m.commands.some((c) => c.startsWith("mksquashfs /work"))).toBe(false);
  });

  it("fails on a squashfs of a few KB, and removes it", async () => {
    const m = await fails(
      builder().on("stat", { stdout: "4096\n" }),
      /is 4\.0 KiB \(4096 bytes\), less than 1\.0 MiB/,
    );
    expect(m.commands.at(-1)).toBe(`rm -f ${SQ}`);
  });

  it("fails on a squashfs implausibly small against the rootfs", async () => {
    await fails(
      builder().on("stat", { stdout: "20000000\n" }),
      /19\.1 MiB \(20000000 bytes\) from a root filesystem of 624\.4 MiB: smaller than 1\/20/,
    );
  });

  it("fails when unsquashfs cannot read the superblock", async () => {
    await fails(
      builder().on((a) => a[0] === "unsquashfs" && a[1] === "-s", {
        exitCode: 1,
        stderr: `FATAL ERROR: Can't find a valid SQUASHFS superblock on ${SQ}\n`,
      }),
      /cannot read the superblock .* \(exit code 1\): FATAL ERROR: Can't find a valid SQUASHFS superblock/,
    );
  });

  it("fails on a truncated image (the superblock claims more than the file has)", async () => {
    await fails(
      builder()
        .on("stat", { stdout: "100000000\n" })
        .on((a) => a[0] === "unsquashfs" && a[1] === "-s", { stdout: SUPERBLOCK }),
      /truncated: its superblock says 194614189 bytes, the file has 100000000/,
    );
  });

  it("fails when the compression is not the one asked for", async () => {
    await fails(builder(), /compressed with zstd, not xz/, "squashfs: {compression: xz}");
  });

  it("fails when the entry count differs from the rootfs", async () => {
    await fails(
      builder().on((a) => a[0] === "unsquashfs" && a[1] === "-l", {
        stdout: LISTING.split("\n").slice(0, -3).join("\n"),
      }),
      /holds 13301 entries, the root filesystem 13304 \(find -xdev\): 3 missing/,
    );
  });

  it("fails when mksquashfs fails", async () => {
    const m = builder().on((a) => a[0] === "mksquashfs" && a[1] === "/work/img/rootfs", {
      exitCode: 1,
      stderr: "FATAL ERROR: write failed\n",
    });
    await expect(squashStep.run(context("", m))).rejects.toThrow(/exit code 1/);
  });
});
