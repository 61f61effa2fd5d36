// The bench's own copy of the images: vmlive finds live-minimal and its shared
// hook there, and the hook-changed run edits only that copy.
import { createHash } from "node:crypto";
import { existsSync, readFileSync, rmSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { CHANGED_HOOK, changeHook, makeArea, REPO } from "../../../bench/area.js";
import { BENCH_IMAGE } from "../../../bench/vmlive-run.js";
import { loadImage } from "../../../src/config/load.js";
import { tempDir } from "../../support/tmp.js";

const sha = (f: string) => createHash("sha256").update(readFileSync(f)).digest("hex");

describe("the bench's images", () => {
  it("holds the image and its hook, and a changed hook leaves the repository's alone", async () => {
    const area = await makeArea(tempDir("vmlive-bench-area-"));
    try {
      const image = loadImage(path.join(area.env.VMLIVE_IMAGES!, BENCH_IMAGE));
      expect(image.config.hooks.map((h) => h.path)).toContain(CHANGED_HOOK);
      const copy = path.join(area.root, "hooks", CHANGED_HOOK);
      const repo = path.join(REPO, "hooks", CHANGED_HOOK);
      expect(sha(copy)).toBe(sha(repo));
      const before = sha(repo);
      await changeHook(area);
      expect(sha(copy)).not.toBe(before);
      expect(sha(repo)).toBe(before);
      expect(readFileSync(copy, "utf8")).toMatch(/changed for the bench at .*"\n$/);
    } finally {
      rmSync(area.root, { recursive: true, force: true });
    }
    expect(existsSync(area.root)).toBe(false);
  });
});
