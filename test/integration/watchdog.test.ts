// The inactivity watchdog stops what hangs, not what works in silence.
import { describe, expect, it } from "vitest";
import { CommandError } from "../../src/errors.js";
import { run } from "../../src/process/run.js";

describe("the inactivity watchdog on the host", () => {
  it("lets a silent command that keeps a CPU busy run to its end", async () => {
    // About 4 s of pure computation with no output, against a 1 s watchdog.
    const r = await run(
      ["sh", "-c", "end=$(($(date +%s) + 4)); while [ $(date +%s) -lt $end ]; do :; done; echo done"],
      {
        idleTimeoutMs: 1_000,
      },
    );
    expect(r.stdout).toBe("done\n");
  });

  it("stops a silent command that does nothing, and says why", async () => {
    const t0 = Date.now();
    const err = await run(["sleep", "30"], { idleTimeoutMs: 1_000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CommandError);
    expect((err as CommandError).detail.cause).toMatch(/no output and no progress for 1 s/);
    expect(Date.now() - t0).toBeLessThan(10_000);
  });
});
