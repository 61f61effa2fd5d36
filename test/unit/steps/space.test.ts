// Recognising a disk that filled up while mksquashfs or xorriso wrote. The
// fixtures are the tools' own lines, from mksquashfs 4.5.1 and xorriso 1.5.4
// writing to a full tmpfs (test/integration/resource-faults-disk.test.ts).
import { describe, expect, it } from "vitest";
import { CommandError, VerificationError } from "../../../src/errors.js";
import { noSpaceLine, outOfSpaceError, parseDf } from "../../../src/steps/space.js";
import { FakeMachine } from "../../support/fake-machine.js";
import { stepContext } from "../../support/step-context.js";

const MKSQUASHFS_FULL = [
  "Write failed because No space left on device",
  "FATAL ERROR: Failed to write to output filesystem",
  "Parallel mksquashfs: Using 1 processor",
  "Creating 4.0 filesystem on small/fs.squashfs, block size 131072.",
].join("\n");

const XORRISO_FULL_WHILE_WRITING = [
  "Added to ISO image: directory '/'='/tmp/rf/src'",
  "libburn : SORRY : Cannot write desired amount of 32768 bytes. write(2) returned -1. : No space left on device",
  "libburn : FATAL : Burn run failed",
  "xorriso : FATAL : -abort_on 'FAILURE' encountered 'FATAL' during image writing",
  "xorriso : NOTE : libburn has now been urged to cancel its operation",
  "xorriso : FAILURE : libburn indicates failure with writing.",
  "xorriso : NOTE : -return_with SORRY 32 triggered by problem severity FATAL",
].join("\n");

const XORRISO_FULL_BEFORE_WRITING = [
  "Media summary: 0 sessions, 0 data blocks, 0 data, 4032k free",
  "xorriso : FAILURE : Image size 6328s exceeds free space on media 2048s",
  "libisofs: MISHAP : Image write cancelled",
  "xorriso : NOTE : -return_with SORRY 32 triggered by problem severity FAILURE",
].join("\n");

const DF = "       Avail        Size\n      114688     8388608\n";

describe("noSpaceLine", () => {
  it("finds mksquashfs's ENOSPC line", () => {
    expect(noSpaceLine(MKSQUASHFS_FULL)).toBe("Write failed because No space left on device");
    expect(noSpaceLine("FATAL ERROR: Failed to write to output filesystem\n")).toBe(
      "FATAL ERROR: Failed to write to output filesystem",
    );
  });
  it("finds xorriso's, whether the disk filled while writing or before", () => {
    expect(noSpaceLine(XORRISO_FULL_WHILE_WRITING)).toMatch(
      /^libburn : SORRY : Cannot write .*No space left on device$/,
    );
    expect(noSpaceLine(XORRISO_FULL_BEFORE_WRITING)).toBe(
      "xorriso : FAILURE : Image size 6328s exceeds free space on media 2048s",
    );
  });
  it("does not take other failures for a full disk", () => {
    expect(noSpaceLine("FATAL ERROR: write failed\n")).toBeUndefined();
    expect(noSpaceLine("xorriso : FAILURE : Cannot find path '/boot/grub/eltorito.img'\n")).toBeUndefined();
    expect(noSpaceLine("")).toBeUndefined();
  });
});

describe("parseDf", () => {
  it("reads avail and size", () => {
    expect(parseDf(DF, "df")).toEqual({ free: 114688, size: 8388608 });
  });
  it("names the command when df says something else", () => {
    expect(() => parseDf("df: /x: No such file or directory\n", "df -B1 /x")).toThrow(
      /df -B1 \/x: expected a number/,
    );
  });
});

describe("outOfSpaceError", () => {
  const ctx = () => stepContext({ machine: new FakeMachine().on("df", { stdout: DF }) }).ctx;
  const failed = (tail: string, cause?: string) =>
    new CommandError(["mksquashfs", "/work/img/rootfs", "/work/img/iso/live/filesystem.squashfs"], "vm", {
      exitCode: 1,
      tail,
      cause,
    });

  it("says out of space, what was being done, the path and the numbers df gives after the failure", async () => {
    const c = ctx();
    const err = await outOfSpaceError(
      c,
      failed(MKSQUASHFS_FULL),
      "squashing /work/img/rootfs",
      "/work/img/iso",
    );
    expect(err).toBeInstanceOf(VerificationError);
    expect(err?.message).toBe(
      "out of space while squashing /work/img/rootfs: the filesystem of /work/img/iso has 112.0 KiB free of " +
        '8.0 MiB (114688 of 8388608 bytes) after mksquashfs said "Write failed because No space left on device"',
    );
    expect(err?.hint).toMatch(/free space/);
    const df = (c.machine as FakeMachine).calls.find((x) => x.argv[0] === "df");
    expect(df?.argv).toEqual(["df", "-B1", "--output=avail,size", "/work/img/iso"]);
  });
  it("leaves other failures alone", async () => {
    expect(await outOfSpaceError(ctx(), failed("FATAL ERROR: write failed"), "x", "/p")).toBeUndefined();
    expect(await outOfSpaceError(ctx(), new Error("No space left on device"), "x", "/p")).toBeUndefined();
    // A cancelled or timed-out command is reported as that, whatever it printed last.
    expect(await outOfSpaceError(ctx(), failed(MKSQUASHFS_FULL, "cancelled"), "x", "/p")).toBeUndefined();
  });
});
