// What the cache holds and what a prune removes, on a real folder laid out as
// apt-cacher-ng lays it out (HOST/PATH files with a .head each) and a real
// transfer log.
import { existsSync, mkdirSync, readdirSync, utimesSync, writeFileSync } from "node:fs";
import path from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { cachePaths, transferLog } from "../../../src/cache/paths.js";
import {
  clearAll,
  listEntries,
  parseTransferLog,
  removeEntries,
  selectPrune,
  totals,
  type CacheEntry,
} from "../../../src/cache/store.js";
import { tempDir } from "../../support/tmp.js";

const DAY = 86_400_000;
const NOW = Date.UTC(2026, 11, 1);
const POOL = "deb.debian.org/debian/pool/main";

function cacheWith(files: Record<string, { bytes: number; mtime: number }>, log = "") {
  const p = cachePaths(path.join(tempDir("vmlive-cache-store-"), "packages"));
  for (const [rel, f] of Object.entries(files)) {
    const file = path.join(p.files, rel);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, Buffer.alloc(f.bytes));
    writeFileSync(`${file}.head`, "HTTP/1.1 200 OK\r\n\r\n");
    utimesSync(file, f.mtime / 1000, f.mtime / 1000);
  }
  mkdirSync(path.join(p.files, "_xstore", "rsnap"), { recursive: true });
  writeFileSync(path.join(p.files, "_xstore", "rsnap", "x"), "bookkeeping");
  mkdirSync(p.log, { recursive: true });
  writeFileSync(transferLog(p), log);
  return p;
}

const entry = (p: string, bytes: number, lastUsed: number): CacheEntry => ({
  path: p,
  bytes,
  lastUsed,
  kind: "package",
});

describe("the transfer log", () => {
  it("reads fetched (I) and served (O) lines, and skips others", () => {
    const t = parseTransferLog(
      [
        `1796123488|I|53344|127.0.0.1|${POOL}/h/hello/hello_2.10-3_amd64.deb`,
        `1796123489|O|53313|127.0.0.1|${POOL}/h/hello/hello_2.10-3_amd64.deb`,
        "garbage",
        "1796123490|E|0|127.0.0.1|/foo",
        "",
      ].join("\n"),
    );
    expect(t).toEqual([
      { time: 1796123488000, dir: "in", bytes: 53344, path: `${POOL}/h/hello/hello_2.10-3_amd64.deb` },
      { time: 1796123489000, dir: "out", bytes: 53313, path: `${POOL}/h/hello/hello_2.10-3_amd64.deb` },
    ]);
  });
});

describe("listEntries and totals", () => {
  it("lists each file with its .head, last used at its download or its last serving", async () => {
    const hello = `${POOL}/h/hello/hello_2.10-3_amd64.deb`;
    const p = cacheWith(
      {
        [hello]: { bytes: 1000, mtime: NOW - 10 * DAY },
        [`${POOL}/z/zsh/zsh_5.9_amd64.deb`]: { bytes: 3000, mtime: NOW - 2 * DAY },
        "deb.debian.org/debian/dists/bookworm/InRelease": { bytes: 500, mtime: NOW - DAY },
      },
      `${(NOW - 3 * DAY) / 1000}|O|1000|127.0.0.1|${hello}\n${(NOW - 3 * DAY) / 1000}|I|500|127.0.0.1|deb.debian.org/debian/dists/bookworm/InRelease\n`,
    );
    const head = "HTTP/1.1 200 OK\r\n\r\n".length;
    const entries = await listEntries(p);
    expect(entries).toEqual([
      {
        path: "deb.debian.org/debian/dists/bookworm/InRelease",
        bytes: 500 + head,
        lastUsed: NOW - DAY,
        kind: "index",
      },
      { path: hello, bytes: 1000 + head, lastUsed: NOW - 3 * DAY, kind: "package" },
      {
        path: `${POOL}/z/zsh/zsh_5.9_amd64.deb`,
        bytes: 3000 + head,
        lastUsed: NOW - 2 * DAY,
        kind: "package",
      },
    ]);
    const t = totals(entries, parseTransferLog(`1|O|1000|c|a\n2|I|400|c|b\n3|O|600|c|a\n`));
    expect(t).toEqual({
      bytes: 4500 + 3 * head,
      packages: 2,
      packageBytes: 4000 + 2 * head,
      indexes: 1,
      served: 1600,
      fetched: 400,
      since: 1000,
    });
  });

  it("an empty or missing cache has nothing", async () => {
    const p = cachePaths(path.join(tempDir("vmlive-cache-none-"), "packages"));
    expect(await listEntries(p)).toEqual([]);
    expect(totals([], [])).toMatchObject({ bytes: 0, packages: 0, served: 0, since: undefined });
  });
});

describe("selectPrune", () => {
  const entries = [
    entry("a.deb", 100, NOW - 40 * DAY),
    entry("b.deb", 200, NOW - 20 * DAY),
    entry("c.deb", 300, NOW - 5 * DAY),
    entry("d.deb", 400, NOW - 1 * DAY),
  ];
  const names = (e: CacheEntry[]) => e.map((x) => x.path);

  it("--older-than removes what was not used for that long", () => {
    expect(names(selectPrune(entries, { olderThanDays: 30 }, NOW))).toEqual(["a.deb"]);
    expect(names(selectPrune(entries, { olderThanDays: 10 }, NOW))).toEqual(["a.deb", "b.deb"]);
    expect(names(selectPrune(entries, { olderThanDays: 0 }, NOW))).toEqual([
      "a.deb",
      "b.deb",
      "c.deb",
      "d.deb",
    ]);
  });

  it("--max-size removes the least recently used until the rest fits", () => {
    expect(names(selectPrune(entries, { maxBytes: 1000 }, NOW))).toEqual([]);
    expect(names(selectPrune(entries, { maxBytes: 700 }, NOW))).toEqual(["a.deb", "b.deb"]);
    expect(names(selectPrune(entries, { maxBytes: 0 }, NOW))).toHaveLength(4);
  });

  it("both: the age first, then the size", () => {
    expect(names(selectPrune(entries, { olderThanDays: 30, maxBytes: 400 }, NOW))).toEqual([
      "a.deb",
      "b.deb",
      "c.deb",
    ]);
  });

  it("always leaves at most max bytes, and never removes a newer file while keeping an older one", () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ bytes: fc.nat(10_000), age: fc.nat(100) }), { maxLength: 30 }),
        fc.option(fc.nat(50_000), { nil: undefined }),
        fc.option(fc.nat(100), { nil: undefined }),
        (files, maxBytes, olderThanDays) => {
          const es = files.map((f, i) => entry(`f${i}.deb`, f.bytes, NOW - f.age * DAY));
          const gone = new Set(selectPrune(es, { maxBytes, olderThanDays }, NOW).map((e) => e.path));
          const kept = es.filter((e) => !gone.has(e.path));
          if (maxBytes !== undefined)
            expect(kept.reduce((n, e) => n + e.bytes, 0)).toBeLessThanOrEqual(maxBytes);
          if (olderThanDays !== undefined)
            for (const e of kept) expect(e.lastUsed).toBeGreaterThanOrEqual(NOW - olderThanDays * DAY);
          const newestGone = Math.max(...es.filter((e) => gone.has(e.path)).map((e) => e.lastUsed));
          for (const e of kept) expect(e.lastUsed).toBeGreaterThanOrEqual(newestGone);
        },
      ),
    );
  });
});

describe("removing", () => {
  it("removes each file with its .head and the folders left empty, nothing else", async () => {
    const p = cacheWith({
      [`${POOL}/h/hello/hello_2.10-3_amd64.deb`]: { bytes: 10, mtime: NOW },
      [`${POOL}/z/zsh/zsh_5.9_amd64.deb`]: { bytes: 10, mtime: NOW },
    });
    const hello = (await listEntries(p)).filter((e) => e.path.includes("hello"));
    await removeEntries(p, hello);
    expect(existsSync(path.join(p.files, POOL, "h"))).toBe(false);
    expect(readdirSync(path.join(p.files, POOL, "z", "zsh")).sort()).toEqual([
      "zsh_5.9_amd64.deb",
      "zsh_5.9_amd64.deb.head",
    ]);
    expect((await listEntries(p)).map((e) => e.path)).toEqual([`${POOL}/z/zsh/zsh_5.9_amd64.deb`]);
  });

  it("clear empties the cache folder and the transfer log", async () => {
    const p = cacheWith(
      { [`${POOL}/h/hello/hello_2.10-3_amd64.deb`]: { bytes: 10, mtime: NOW } },
      "1|O|1|c|x\n",
    );
    await clearAll(p);
    expect(readdirSync(p.files)).toEqual([]);
    expect(existsSync(transferLog(p))).toBe(false);
  });
});
