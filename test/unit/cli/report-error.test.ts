import { describe, expect, it } from "vitest";
import { reportError } from "../../../src/cli/report-error.js";
import {
  CommandError,
  ConfigError,
  ExitWith,
  InterruptedError,
  StepError,
  UsageError,
  VerificationError,
} from "../../../src/errors.js";

describe("reportError: the one place errors become text and exit codes", () => {
  it("config and usage errors exit 2, with every problem and the hint", () => {
    const c = reportError(
      new ConfigError([
        { file: "images/x/image.yaml", path: "user.name", message: "bad", line: 3 },
        { file: "images/x/image.yaml", path: "suite", message: "worse" },
      ]),
    );
    expect(c.exitCode).toBe(2);
    expect(c.text).toContain("images/x/image.yaml:3: user.name: bad\nimages/x/image.yaml: suite: worse");
    expect(c.text).toContain("2 problems");
    const u = reportError(new UsageError("no image named x", "see vmlive list"));
    expect(u).toEqual({ text: "vmlive: no image named x\n  hint: see vmlive list", exitCode: 2 });
  });

  it("a failed command exits 1 naming where it ran, the argv, the exit code and stderr's tail", () => {
    const r = reportError(
      new StepError(
        "squash",
        new CommandError(["mksquashfs", "a b"], "vm", { exitCode: 1, tail: "disk full", logPath: "/l" }),
      ),
    );
    expect(r.exitCode).toBe(1);
    expect(r.text).toContain("step squash failed");
    expect(r.text).toContain("(vm): mksquashfs a b: exit code 1");
    expect(r.text).toContain("  | disk full");
    expect(r.text).toContain("full log: /l");
  });

  it("interruptions exit 130 for SIGINT and 143 for SIGTERM, also inside a step", () => {
    expect(reportError(new InterruptedError("SIGINT")).exitCode).toBe(130);
    expect(reportError(new InterruptedError("SIGTERM")).exitCode).toBe(143);
    expect(reportError(new StepError("customize", new InterruptedError("SIGTERM"))).exitCode).toBe(143);
  });

  it("verification failures exit 1; ExitWith passes a code on silently", () => {
    expect(reportError(new VerificationError("squashfs too small")).exitCode).toBe(1);
    expect(reportError(new ExitWith(7))).toEqual({ text: "", exitCode: 7 });
  });

  it("anything else is a bug, shown with its stack", () => {
    const r = reportError(new TypeError("x is undefined"));
    expect(r.exitCode).toBe(1);
    expect(r.text).toMatch(/internal error[\s\S]*TypeError: x is undefined/);
  });
});
