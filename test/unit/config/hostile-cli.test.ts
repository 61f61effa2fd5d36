// Hostile input on the command line. `vmlive build IMAGE --backend vm` on
// hostile images, run as a user runs it: it exits 2 with the problem, and
// creates nothing, no output folder, no work area, no builder image, and
// starts no qemu. And `vmlive usb` refuses absurd sizes before it opens anything.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import type { Io } from "../../../src/cli/io.js";
import { main } from "../../../src/cli/main.js";
import { HOSTILE_CLASSES, hostileImage } from "../../fixtures/hostile/corpus.js";
import { vmlive } from "../../support/cli.js";
import { fakeIso } from "../../support/fake-iso.js";
import { tempDir } from "../../support/tmp.js";

const BY_NAME = new Map(
  Object.values(HOSTILE_CLASSES)
    .flat()
    .map((c) => [c.name, c]),
);
/** One case of each kind of refusal (schema, YAML parser, file reader, host-side checks); each run starts node. */
const CASES = [
  "host name with $()",
  "billion laughs",
  "image.yaml that is a FIFO (would block)",
  "hook below a folder that is a symlink to outside",
].map((n) => {
  const c = BY_NAME.get(n);
  if (!c) throw new Error(`no hostile case named ${n} in test/fixtures/hostile/corpus.ts`);
  return c;
});

/** Processes whose command line mentions `text` (a qemu would name its work disk below it). */
function processesMentioning(text: string): string[] {
  const found: string[] = [];
  for (const pid of readdirSync("/proc").filter((d) => /^[0-9]+$/.test(d))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ");
      if (cmd.includes(text)) found.push(`${pid}: ${cmd}`);
    } catch {
      // gone already
    }
  }
  return found;
}

describe("vmlive build on a hostile image", () => {
  it.each(CASES.map((c) => [c.name, c] as const))(
    "%s: exits 2, says why, and creates nothing",
    async (_n, c) => {
      const { root } = hostileImage(c);
      const out = path.join(root, "out");
      const work = path.join(root, "work");
      const cache = path.join(root, "cache");
      const r = await vmlive(["build", "test", "--backend", "vm", "--out", out], {
        cwd: root,
        env: { VMLIVE_IMAGES: path.join(root, "images"), VMLIVE_WORK_DIR: work, VMLIVE_CACHE_DIR: cache },
      });
      expect(r.exitCode, r.all).toBe(2);
      expect(r.stdout).toBe("");
      expect(r.stderr).toContain(c.message);
      expect(r.stderr).toContain(path.join("images", "test", "image.yaml"));
      expect(r.stderr).toMatch(/vmlive: 1 problem in the image config; nothing was built\.$/);
      for (const dir of [out, work, cache]) expect(existsSync(dir), dir).toBe(false);
      expect(processesMentioning(root)).toEqual([]);
    },
    60_000,
  );
});

describe("vmlive usb with an absurd size", () => {
  it.each([
    ["--persistence", "-1"],
    ["--persistence", "0"],
    ["--persistence", "NaN"],
    ["--persistence", "1e15"],
    ["--size", "-4G"],
    ["--size", "1P"],
    ["--size", "Infinity"],
  ])("%s %s: exits 2 naming the option, and writes nothing", async (flag, value) => {
    const dir = tempDir("vmlive-hostile-usb-");
    const iso = path.join(dir, "live.iso");
    fakeIso(iso);
    const target = path.join(dir, "stick.img");
    const err: string[] = [];
    const io: Io = { out: () => undefined, err: (t) => void err.push(t) };
    expect(await main(["usb", iso, target, flag, value], io)).toBe(2);
    expect(err.join("\n")).toContain(`${flag} ${value}: not a size`);
    expect(readdirSync(dir)).toEqual(["live.iso"]);
  });
});
