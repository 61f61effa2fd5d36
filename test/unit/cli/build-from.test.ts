// `vmlive build --from`: refused before anything starts when it cannot work.
import { existsSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import type { Io } from "../../../src/cli/io.js";
import { main } from "../../../src/cli/main.js";
import { tempDir } from "../../support/tmp.js";

describe("vmlive build --from", () => {
  it.each([
    [
      ["--from", "hook"],
      "vmlive: --from hook: no step or start point of that name",
      "start at one of bootstrap, customize, hooks",
    ],
    [
      ["--from", "boot", "--steps", "squash"],
      "vmlive: --from and --steps both say which steps run",
      "use --from STEP",
    ],
    [
      ["--from", "hooks", "--clean"],
      "vmlive: --clean drops the work area, so --from hooks would find nothing",
      "drop --clean",
    ],
  ])("%j: exit 2 with the problem and the fix, nothing in --out", async (args, message, hint) => {
    const out = path.join(tempDir("vmlive-build-from-"), "out");
    let err = "";
    const io: Io = { out: () => {}, err: (t) => void (err += t + "\n") };
    const code = await main(["build", "live-minimal", "--backend", "host", ...args, "--out", out], io);
    expect(code).toBe(2);
    expect(err).toContain(message);
    expect(err).toContain(hint);
    expect(existsSync(out)).toBe(false);
  });

  it("is explained in --help, with examples", async () => {
    let text = "";
    const io: Io = { out: (t) => void (text += t + "\n"), err: (t) => void (text += t + "\n") };
    expect(await main(["build", "--help"], io)).toBe(0);
    expect(text).toMatch(/--from\s+start at this step/);
    expect(text).toContain("vmlive build live-minimal --from hooks");
    expect(text).toMatch(/--clean\s+drop the kept work area .* with its snapshots/s);
  });
});
