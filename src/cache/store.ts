// What the package cache holds: the files apt-cacher-ng keeps (one per URL,
// HOST/PATH below its CacheDir, each with a .head of the HTTP headers), when
// each was last used, and which of them a prune removes.
import { readdir, readFile, rm, rmdir, stat } from "node:fs/promises";
import path from "node:path";
import { transferLog, type CachePaths } from "./paths.js";

export interface CacheEntry {
  /** Relative to the CacheDir, as in the transfer log: deb.debian.org/debian/pool/main/h/hello/hello_2.10-3_amd64.deb */
  path: string;
  /** The file and its .head together. */
  bytes: number;
  /** Milliseconds since the epoch it was last fetched or served. */
  lastUsed: number;
  kind: "package" | "index";
}

/** apt-cacher-ng's own bookkeeping below CacheDir, not a cached URL. */
const INTERNAL = "_xstore";
const PACKAGE = /\.(deb|udeb|ddeb)$/;

/** One line of the transfer log: TIME|I (fetched from the mirror) or O (served)|BYTES|CLIENT|PATH. */
export interface Transfer {
  /** Milliseconds since the epoch. */
  time: number;
  dir: "in" | "out";
  bytes: number;
  path: string;
}

export function parseTransferLog(text: string): Transfer[] {
  const out: Transfer[] = [];
  for (const line of text.split("\n")) {
    const f = line.split("|");
    if (f.length < 5 || (f[1] !== "I" && f[1] !== "O")) continue;
    const time = Number(f[0]);
    const bytes = Number(f[2]);
    if (!Number.isFinite(time) || !Number.isFinite(bytes)) continue;
    out.push({ time: time * 1000, dir: f[1] === "I" ? "in" : "out", bytes, path: f.slice(4).join("|") });
  }
  return out;
}

export async function readTransfers(p: CachePaths): Promise<Transfer[]> {
  return parseTransferLog(await readFile(transferLog(p), "utf8").catch(() => ""));
}

/** Every cached file, its size and when it was last used: the later of its download and its last serving. */
export async function listEntries(p: CachePaths, transfers?: readonly Transfer[]): Promise<CacheEntry[]> {
  const served = new Map<string, number>();
  for (const t of transfers ?? (await readTransfers(p)))
    served.set(t.path, Math.max(served.get(t.path) ?? 0, t.time));
  const out: CacheEntry[] = [];
  const walk = async (rel: string): Promise<void> => {
    const dirents = await readdir(path.join(p.files, rel), { withFileTypes: true }).catch(() => []);
    for (const d of dirents) {
      const r = rel ? `${rel}/${d.name}` : d.name;
      if (d.isDirectory()) {
        if (r !== INTERNAL) await walk(r);
      } else if (d.isFile() && !d.name.endsWith(".head")) {
        const s = await stat(path.join(p.files, r)).catch(() => undefined);
        if (!s) continue;
        const head = await stat(path.join(p.files, `${r}.head`)).catch(() => undefined);
        out.push({
          path: r,
          bytes: s.size + (head?.size ?? 0),
          lastUsed: Math.max(s.mtimeMs, served.get(r) ?? 0),
          kind: PACKAGE.test(d.name) ? "package" : "index",
        });
      }
    }
  };
  await walk("");
  return out.sort((a, b) => a.path.localeCompare(b.path));
}

export interface PruneRule {
  /** Remove what was not used for this many days. */
  olderThanDays?: number;
  /** Then remove the least recently used until the cache holds at most this many bytes. */
  maxBytes?: number;
}

/** The entries a prune removes, least recently used first. */
export function selectPrune(entries: readonly CacheEntry[], rule: PruneRule, now = Date.now()): CacheEntry[] {
  const byAge = [...entries].sort((a, b) => a.lastUsed - b.lastUsed || a.path.localeCompare(b.path));
  const cutoff = rule.olderThanDays === undefined ? -Infinity : now - rule.olderThanDays * 86_400_000;
  const gone = byAge.filter((e) => e.lastUsed < cutoff);
  if (rule.maxBytes !== undefined) {
    let total = byAge.reduce((n, e) => n + e.bytes, 0) - gone.reduce((n, e) => n + e.bytes, 0);
    for (const e of byAge.slice(gone.length)) {
      if (total <= rule.maxBytes) break;
      gone.push(e);
      total -= e.bytes;
    }
  }
  return gone;
}

/** Empty the cache: every cached file, apt-cacher-ng's bookkeeping and the transfer log. */
export async function clearAll(p: CachePaths): Promise<void> {
  const names = await readdir(p.files).catch(() => [] as string[]);
  for (const n of names) await rm(path.join(p.files, n), { recursive: true, force: true });
  await rm(transferLog(p), { force: true });
}

/** Remove entries (each file with its .head) and the folders they leave empty. */
export async function removeEntries(p: CachePaths, entries: readonly CacheEntry[]): Promise<void> {
  const dirs = new Set<string>();
  for (const e of entries) {
    const file = path.join(p.files, e.path);
    await rm(file, { force: true });
    await rm(`${file}.head`, { force: true });
    for (let d = path.dirname(e.path); d !== "."; d = path.dirname(d)) dirs.add(d);
  }
  // Deepest first; rmdir fails (and is ignored) on a folder that still holds something.
  for (const d of [...dirs].sort((a, b) => b.split("/").length - a.split("/").length))
    await rmdir(path.join(p.files, d)).catch(() => undefined);
}

export interface CacheTotals {
  bytes: number;
  packages: number;
  packageBytes: number;
  indexes: number;
  /** Bytes the proxy served, and how many of them it fetched from mirrors, over the transfer log. */
  served: number;
  fetched: number;
  /** When the transfer log begins (ms since the epoch), if it has lines. */
  since?: number;
}

export function totals(entries: readonly CacheEntry[], transfers: readonly Transfer[]): CacheTotals {
  const pk = entries.filter((e) => e.kind === "package");
  return {
    bytes: entries.reduce((n, e) => n + e.bytes, 0),
    packages: pk.length,
    packageBytes: pk.reduce((n, e) => n + e.bytes, 0),
    indexes: entries.length - pk.length,
    served: transfers.filter((t) => t.dir === "out").reduce((n, t) => n + t.bytes, 0),
    fetched: transfers.filter((t) => t.dir === "in").reduce((n, t) => n + t.bytes, 0),
    since: transfers.length ? transfers.reduce((m, t) => Math.min(m, t.time), Infinity) : undefined,
  };
}
