// What `vmlive cache` shows: where the package cache is, what it holds, what
// its proxy serves and whether builds use it.
import { humanBytes } from "../steps/boot/machine-files.js";
import { cachePaths, type CachePaths } from "./paths.js";
import { proxyStatus, type ProxyStatus } from "./proxy.js";
import { cacheOffReason } from "./settings.js";
import { listEntries, readTransfers, totals, type CacheTotals } from "./store.js";
import { realProxySystem, type ProxySystem } from "./system.js";

export interface CacheInfo {
  /** The folder of the cached files. */
  folder: string;
  totals: CacheTotals;
  proxy: ProxyStatus;
  /** apt-cacher-ng's path, unset when it is not installed. */
  program?: string;
  /** Why builds do not use it (VMLIVE_CACHE=off), if they do not. */
  off?: string;
}

export async function inspectCache(
  paths: CachePaths = cachePaths(),
  system: ProxySystem = realProxySystem,
): Promise<CacheInfo> {
  const transfers = await readTransfers(paths);
  const entries = await listEntries(paths, transfers);
  return {
    folder: paths.files,
    totals: totals(entries, transfers),
    proxy: await proxyStatus(paths, system),
    program: system.program(),
    off: cacheOffReason(undefined),
  };
}

/** The lines `vmlive cache` prints, label and text. */
export function cacheInfoLines(info: CacheInfo): [string, string][] {
  const t = info.totals;
  const lines: [string, string][] = [["folder", info.folder]];
  lines.push([
    "size",
    t.packages + t.indexes === 0
      ? "empty: nothing cached yet"
      : `${humanBytes(t.bytes)}: ${t.packages} packages (${humanBytes(t.packageBytes)}), ${t.indexes} index files`,
  ]);
  const p = info.proxy;
  lines.push([
    "proxy",
    p.running
      ? `apt-cacher-ng on 127.0.0.1:${p.running.port} (pid ${p.running.pid}) since ${p.running.started}`
      : "not running: the next build starts it",
  ]);
  lines.push([
    "builds",
    p.users.length ? p.users.map((u) => `pid ${u.pid}: ${u.what}`).join("; ") : "none uses it now",
  ]);
  if (t.served > 0) {
    const fromCache = Math.max(0, t.served - t.fetched);
    lines.push([
      "served",
      `${humanBytes(t.served)} since ${new Date(t.since ?? 0).toISOString().slice(0, 10)}, ` +
        `${humanBytes(t.fetched)} of it fetched from mirrors: ${Math.round((100 * fromCache) / t.served)}% from the cache`,
    ]);
  }
  lines.push([
    "apt-cacher-ng",
    info.program ?? "not installed: builds fetch every package from the mirror (./setup installs it)",
  ]);
  lines.push([
    "builds use it",
    info.off
      ? `no: ${info.off} (unset it, or build with --cache)`
      : "yes (vmlive build --no-cache or VMLIVE_CACHE=off fetch from the mirror directly)",
  ]);
  return lines;
}
