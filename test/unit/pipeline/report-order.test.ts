import { describe, expect, it } from "vitest";
import { inPipelineOrder } from "../../../src/pipeline/build.js";

describe("inPipelineOrder", () => {
  it("puts a reused squash after the boot step that ran, keeping each entry", () => {
    const timings = [
      { step: "bootstrap", seconds: 0, ok: true, reused: true },
      { step: "squash", seconds: 0, ok: true, reused: true },
      { step: "boot", seconds: 0.5, ok: true },
      { step: "iso", seconds: 1.3, ok: false },
    ];
    expect(inPipelineOrder(timings).map((t) => t.step)).toEqual(["bootstrap", "boot", "squash", "iso"]);
    expect(inPipelineOrder(timings)).toHaveLength(4);
  });
});
