// Ctrl-C while mksquashfs writes: the half-written image is removed by a
// command that the (aborted) build signal does not cancel, so no later
// --steps run can take it for a finished one.
import { describe, expect, it } from "vitest";
import { InterruptedError } from "../../../src/errors.js";
import { squashStep } from "../../../src/steps/squash.js";
import { FakeMachine } from "../../support/fake-machine.js";
import { stepContext } from "../../support/step-context.js";

const SQ = "/work/img/iso/live/filesystem.squashfs";

describe("squashStep.run when interrupted", () => {
  it("removes the half-written squashfs with a command the interruption does not cancel", async () => {
    const ac = new AbortController();
    const m = new FakeMachine()
      .on("du", { stdout: "1000000\t/work/img/rootfs\n" })
      .on("find", { stdout: ".".repeat(100) })
      .on("df", { stdout: "      Avail\n75775242240\n" })
      .on("nproc", { stdout: "2\n" })
      .on(
        (a) => a[0] === "mksquashfs" && a.length > 2,
        () => {
          // The user presses Ctrl-C while it writes: it is killed.
          ac.abort(new InterruptedError("SIGINT"));
          return { exitCode: 130, signal: "SIGINT" };
        },
      );
    const { ctx } = stepContext({ machine: m });
    await expect(squashStep.run({ ...ctx, signal: ac.signal })).rejects.toThrow();
    const after = m.calls.slice(m.calls.findIndex((c) => c.argv[0] === "mksquashfs" && c.argv.length > 2));
    const rm = after.find((c) => c.argv.join(" ") === `rm -f ${SQ}`);
    expect(rm, after.map((c) => c.argv.join(" ")).join("\n")).toBeDefined();
    expect(rm!.opts?.signal?.aborted ?? false).toBe(false);
  });
});
