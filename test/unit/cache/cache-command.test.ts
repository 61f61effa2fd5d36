// `vmlive cache` as a user meets it, on a cache folder laid out as
// apt-cacher-ng lays it out: what it shows, prune and clear, and the refusals.
import { existsSync, mkdirSync, readdirSync, utimesSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { cachePaths, transferLog, type CachePaths } from "../../../src/cache/paths.js";
import { realProxySystem } from "../../../src/cache/system.js";
import type { Io } from "../../../src/cli/io.js";
import { main } from "../../../src/cli/main.js";
import { pruneRule } from "../../../src/cli/commands/cache.js";
import { UsageError } from "../../../src/errors.js";
import { tempDir } from "../../support/tmp.js";

const DAY = 86_400_000;
const POOL = "deb.debian.org/debian/pool/main";

async function vmliveCache(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const io: Io = { out: (t) => void (out += t + "\n"), err: (t) => void (err += t + "\n") };
  const code = await main(["cache", ...args], io);
  return { code, out, err };
}

function put(p: CachePaths, rel: string, bytes: number, ageDays: number): void {
  const file = path.join(p.files, rel);
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, Buffer.alloc(bytes));
  writeFileSync(`${file}.head`, "");
  const t = (Date.now() - ageDays * DAY) / 1000;
  utimesSync(file, t, t);
}

let saved: string | undefined;
let p: CachePaths;
beforeEach(() => {
  saved = process.env.VMLIVE_CACHE_DIR;
  process.env.VMLIVE_CACHE_DIR = tempDir("vmlive-cache-cli-");
  p = cachePaths();
  put(p, `${POOL}/o/old/old_1_amd64.deb`, 3 * 1024 * 1024, 40);
  put(p, `${POOL}/n/new/new_1_amd64.deb`, 1024 * 1024, 1);
  put(p, "deb.debian.org/debian/dists/bookworm/InRelease", 1024, 1);
  mkdirSync(p.log, { recursive: true });
  const now = Math.floor(Date.now() / 1000);
  writeFileSync(
    transferLog(p),
    `${now}|I|1048576|127.0.0.1|${POOL}/n/new/new_1_amd64.deb\n` +
      `${now}|O|1048576|127.0.0.1|${POOL}/n/new/new_1_amd64.deb\n` +
      `${now}|O|1048576|127.0.0.1|${POOL}/n/new/new_1_amd64.deb\n` +
      `${now}|O|1048576|127.0.0.1|${POOL}/n/new/new_1_amd64.deb\n`,
  );
});
afterEach(() => {
  if (saved === undefined) delete process.env.VMLIVE_CACHE_DIR;
  else process.env.VMLIVE_CACHE_DIR = saved;
});

describe("vmlive cache", () => {
  it("shows where the cache is, its size, its packages, its proxy and what it saved", async () => {
    const r = await vmliveCache([]);
    expect(r.code).toBe(0);
    const lines = r.out.trimEnd().split("\n");
    expect(lines[0]).toBe(`folder         ${p.files}`);
    expect(lines[1]).toBe("size           4.0 MiB: 2 packages (4.0 MiB), 1 index files");
    expect(lines[2]).toBe("proxy          not running: the next build starts it");
    expect(lines[3]).toBe("builds         none uses it now");
    expect(lines[4]).toMatch(
      /^served {9}3\.0 MiB since \d{4}-\d\d-\d\d, 1\.0 MiB of it fetched from mirrors: 67% from the cache$/,
    );
    expect(lines[5]).toMatch(/^apt-cacher-ng {2}/);
  });

  it("--json gives the same as data", async () => {
    const r = await vmliveCache(["--json"]);
    const info = JSON.parse(r.out) as { folder: string; totals: { packages: number; served: number } };
    expect(info.folder).toBe(p.files);
    expect(info.totals).toMatchObject({ packages: 2, served: 3 * 1048576 });
  });

  it("prune --dry-run lists what would go and removes nothing", async () => {
    const r = await vmliveCache(["prune", "--dry-run"]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(
      /^\d{4}-\d\d-\d\d {2}3\.0 MiB {2}deb\.debian\.org\/debian\/pool\/main\/o\/old\/old_1_amd64\.deb\n/,
    );
    expect(r.out).toContain("would remove 1 of 3 files (3.0 MiB); 1.0 MiB would stay");
    expect(existsSync(path.join(p.files, POOL, "o", "old", "old_1_amd64.deb"))).toBe(true);
  });

  it("prune removes what no build used for 30 days by default", async () => {
    const r = await vmliveCache(["prune"]);
    expect(r.code).toBe(0);
    expect(r.out).toBe("removed 1 files (1 packages, 3.0 MiB); the cache holds 1.0 MiB\n");
    expect(existsSync(path.join(p.files, POOL, "o"))).toBe(false);
    expect(existsSync(path.join(p.files, POOL, "n", "new", "new_1_amd64.deb"))).toBe(true);
  });

  it("prune --max-size keeps the most recently used", async () => {
    const r = await vmliveCache(["prune", "--max-size", "2M"]);
    expect(r.out).toBe("removed 1 files (1 packages, 3.0 MiB); the cache holds 1.0 MiB\n");
    const r2 = await vmliveCache(["prune", "--older-than", "0"]);
    expect(r2.out).toBe("removed 2 files (1 packages, 1.0 MiB); the cache holds 0 bytes\n");
  });

  it("clear empties it", async () => {
    const r = await vmliveCache(["clear"]);
    expect(r.code).toBe(0);
    expect(r.out).toBe(`cleared the package cache in ${p.files} (4.0 MiB)\n`);
    expect(readdirSync(p.files)).toEqual([]);
  });

  it("refuses to prune or clear while a build uses the cache (exit 1)", async () => {
    mkdirSync(p.users, { recursive: true });
    writeFileSync(
      path.join(p.users, String(process.pid)),
      JSON.stringify({
        pid: process.pid,
        start: realProxySystem.processStart(process.pid),
        what: "vmlive build x",
        since: "",
      }),
    );
    for (const args of [["prune"], ["clear"]]) {
      const r = await vmliveCache(args);
      expect(r.code).toBe(1);
      expect(r.err).toContain(
        `the package cache is in use by vmlive process ${process.pid} (vmlive build x)`,
      );
      expect(r.err).toContain("run it again when those builds have finished");
    }
    expect(existsSync(path.join(p.files, POOL, "o", "old", "old_1_amd64.deb"))).toBe(true);
    const shown = await vmliveCache([]);
    expect(shown.out).toContain(`builds         pid ${process.pid}: vmlive build x`);
  });

  it("refuses bad limits with exit 2", async () => {
    const r = await vmliveCache(["prune", "--max-size", "lots"]);
    expect(r.code).toBe(2);
    expect(r.err).toContain("--max-size lots: not a size");
    expect(() => pruneRule({ "older-than": -1 })).toThrow(UsageError);
    expect(pruneRule({})).toEqual({ olderThanDays: 30 });
    expect(pruneRule({ "max-size": "1G" })).toEqual({ olderThanDays: undefined, maxBytes: 2 ** 30 });
  });

  it("--help explains the options, with examples", async () => {
    const r = await vmliveCache(["prune", "--help"]);
    expect(r.out).toContain("--older-than");
    expect(r.out).toContain("--max-size");
    expect(r.out).toContain("Examples:");
  });
});
