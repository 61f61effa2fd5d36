// Where the package cache keeps its files on the host, all below
// cacheDir()/packages: the cached archive files, apt-cacher-ng's config and
// logs, and the record of the running proxy and the builds using it.
import path from "node:path";
import { cacheDir } from "../host/dirs.js";

export interface CachePaths {
  /** cacheDir()/packages: everything of the package cache. */
  root: string;
  /** apt-cacher-ng's CacheDir: one file per URL, as HOST/PATH, beside its .head. */
  files: string;
  /** apt-cacher-ng's LogDir: apt-cacher.log is the transfer log (one line per file fetched or served). */
  log: string;
  /** The running proxy's config folder (acng.conf), pid file and socket. */
  run: string;
  /** The running proxy: pid and port, as JSON. */
  state: string;
  /** One file per vmlive process using the proxy, named by its PID. */
  users: string;
  /** Held while the proxy is started, joined, left or stopped, and while the cache is pruned. */
  lock: string;
}

export function cachePaths(root: string = path.join(cacheDir(), "packages")): CachePaths {
  const run = path.join(root, "run");
  return {
    root,
    files: path.join(root, "files"),
    log: path.join(root, "log"),
    run,
    state: path.join(run, "proxy.json"),
    users: path.join(run, "users"),
    lock: path.join(root, "lock"),
  };
}

/** apt-cacher-ng's transfer log, the one that says what was fetched from the mirror and what was served. */
export function transferLog(p: CachePaths): string {
  return path.join(p.log, "apt-cacher.log");
}
