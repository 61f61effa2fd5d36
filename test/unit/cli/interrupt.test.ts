// The first SIGINT or SIGTERM aborts the build's signal with an
// InterruptedError naming it (its exit code comes from that); later ones do
// not replace it, and run.ts ends vmlive at once on them.
import { expect, it } from "vitest";
import { InterruptedError } from "../../../src/errors.js";
import { interrupt, interrupted, throwIfInterrupted } from "../../../src/cli/interrupt.js";
import { reportError } from "../../../src/cli/report-error.js";

it("aborts once, with the first signal, and that signal decides the exit code", () => {
  expect(interrupted.aborted).toBe(false);
  expect(() => throwIfInterrupted()).not.toThrow();
  expect(interrupt("SIGTERM")).toBe(true);
  expect(interrupted.aborted).toBe(true);
  expect(interrupted.reason).toBeInstanceOf(InterruptedError);
  expect((interrupted.reason as InterruptedError).signal).toBe("SIGTERM");
  // A second signal (of either kind) is for run.ts to end at once; the reason stays the first one.
  expect(interrupt("SIGINT")).toBe(false);
  expect((interrupted.reason as InterruptedError).signal).toBe("SIGTERM");
  expect(() => throwIfInterrupted()).toThrow("interrupted by SIGTERM");
  expect(reportError(interrupted.reason).exitCode).toBe(143);
  expect(reportError(new InterruptedError("SIGINT")).exitCode).toBe(130);
});
