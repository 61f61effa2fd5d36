// The current command as the display shows it: one line, the chroot wrapper
// of machine/chroot.ts taken off (built with the real chrootArgv, so a change
// there that the display does not follow fails here).
import { describe, expect, it } from "vitest";
import { chrootArgv } from "../../../src/machine/chroot.js";
import { commandLine, insideChroot } from "../../../src/report/progress/command-line.js";

describe("the current command line", () => {
  it("shows the command inside the image, not the wrapper around it", () => {
    const argv = chrootArgv("/work/build/rootfs", ["apt-get", "install", "-y", "sudo"], { QEMU_CPU: "max" });
    expect(insideChroot(argv)).toEqual(["apt-get", "install", "-y", "sudo"]);
    expect(commandLine(argv)).toBe("chroot: apt-get install -y sudo");
  });

  it("keeps a command that only looks like an assignment after the environment", () => {
    expect(insideChroot(chrootArgv("/r", ["/tmp/vmlive-hooks/01-a.sh", "X=1"]))).toEqual([
      "/tmp/vmlive-hooks/01-a.sh",
      "X=1",
    ]);
  });

  it("quotes words with spaces and puts a multi-line script on one line", () => {
    expect(commandLine(["sh", "-c", 'set -e\nmkdir -p "$1"', "x", "/a b"])).toBe(
      `sh -c 'set -e mkdir -p "$1"' x '/a b'`,
    );
    expect(insideChroot(["mksquashfs", "a", "b"])).toBeUndefined();
    expect(commandLine([])).toBe("");
  });
});
