// The package cache's proxy: one apt-cacher-ng on the host, shared by every
// vmlive process that builds. The first build starts it; later ones find it
// through run/proxy.json and join; each process that uses it has a file in
// run/users/, and the last one to leave stops it. Starting, joining, leaving
// and pruning all happen under one lock file, so two processes never start
// two proxies or stop one that another has just joined. A process that died
// without leaving is noticed by its PID and start time, and not counted.
import { linkSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { VerificationError } from "../errors.js";
import { acquireLock } from "../util/file-lock.js";
import { ACNG_CONF, acngArgv, acngConfig } from "./acng-config.js";
import { cachePaths, type CachePaths } from "./paths.js";
import { realProxySystem, type ProxySystem } from "./system.js";
import { proxyUrl, type CacheSite } from "./through-proxy.js";

/** run/proxy.json: the running apt-cacher-ng. */
export interface ProxyRecord {
  pid: number;
  port: number;
  /** ISO 8601 time it was started. */
  started: string;
}

/** run/users/PID: a vmlive process using the proxy. */
export interface UserRecord {
  pid: number;
  /** The process's start time (ProxySystem.processStart): a PID reused by another process does not match. */
  start: string;
  /** Its command line, for `vmlive cache`. */
  what: string;
  since: string;
}

/** A joined package cache. Release it (or let `await using` do so) when the build ends. */
export interface PackageCache extends AsyncDisposable {
  readonly port: number;
  readonly paths: CachePaths;
  /** The proxy's URL as seen from a machine on `site`. */
  proxyFor(site: CacheSite): string;
  release(): Promise<void>;
}

export interface CacheOptions {
  paths?: CachePaths;
  system?: ProxySystem;
  say?: (message: string) => void;
  /** The proxy apt-cacher-ng must reach the mirrors through; default the host's $http_proxy. */
  upstreamProxy?: string;
  /** How long apt-cacher-ng gets to answer after it was started. */
  startTimeoutMs?: number;
}

const START_TRIES = 3;
const STOP_WAIT_MS = 10_000;
const POLL_MS = 100;

interface Lease {
  port: number;
  leave(): Promise<void>;
}

/** Joins of this process, by cache folder: several builds in one process share one lease. */
const joined = new Map<string, { lease: Promise<Lease | undefined>; count: number }>();

/**
 * Join the package cache, starting its proxy if none runs. Undefined, with the
 * reason said, when it cannot be used (apt-cacher-ng missing, a folder not
 * writable, the proxy not starting): the build then fetches from the mirror.
 */
export async function acquirePackageCache(o: CacheOptions = {}): Promise<PackageCache | undefined> {
  const paths = o.paths ?? cachePaths();
  let entry = joined.get(paths.root);
  if (!entry) {
    entry = { lease: join(paths, o), count: 0 };
    joined.set(paths.root, entry);
  }
  entry.count++;
  const lease = await entry.lease;
  const e = entry;
  let released = false;
  const release = async () => {
    if (released) return;
    released = true;
    if (--e.count > 0) return;
    if (joined.get(paths.root) === e) joined.delete(paths.root);
    await lease?.leave();
  };
  if (!lease) {
    await release();
    return undefined;
  }
  return {
    port: lease.port,
    paths,
    proxyFor: (site) => proxyUrl(site, lease.port),
    release,
    [Symbol.asyncDispose]: release,
  };
}

function lockFor(paths: CachePaths, say: (m: string) => void) {
  return acquireLock(paths.lock, {
    onWait: (pid) =>
      say(`waiting for vmlive process ${pid}, which is starting, stopping or pruning the package cache`),
  });
}

async function join(paths: CachePaths, o: CacheOptions): Promise<Lease | undefined> {
  const system = o.system ?? realProxySystem;
  const say = o.say ?? (() => {});
  const program = system.program();
  if (program === undefined) {
    say("apt-cacher-ng is not installed (./setup installs it): every package comes from the mirror");
    return undefined;
  }
  let unlock: (() => Promise<void>) | undefined;
  try {
    for (const d of [paths.files, paths.log, paths.users]) await mkdir(d, { recursive: true });
    unlock = await lockFor(paths, say);
    let rec = await readRecord(paths);
    if (rec && system.isProxy(rec.pid, paths.run) && (await system.answers(rec.port))) {
      const others = (await liveUsers(paths, system)).filter((u) => u.pid !== process.pid);
      say(
        others.length
          ? `package cache: sharing apt-cacher-ng on port ${rec.port} with vmlive process ${others.map((u) => u.pid).join(", ")}`
          : `package cache: apt-cacher-ng on port ${rec.port}, ${paths.files}`,
      );
    } else {
      if (rec) await stopProxy(paths, system, rec);
      rec = await startProxy(paths, system, program, o);
      say(`package cache: started apt-cacher-ng on port ${rec.port}, ${paths.files}`);
    }
    const me: UserRecord = {
      pid: process.pid,
      start: system.processStart(process.pid) ?? "",
      what: ["vmlive", ...process.argv.slice(2)].join(" "),
      since: new Date().toISOString(),
    };
    await writeFile(path.join(paths.users, String(process.pid)), JSON.stringify(me) + "\n");
    // vmlive ended without unwinding (a second Ctrl-C, process.exit): leave all the same.
    const atExit = () => leaveAtExit(paths, system);
    process.once("exit", atExit);
    const port = rec.port;
    return {
      port,
      leave: async () => {
        process.removeListener("exit", atExit);
        await leave(paths, system, say);
      },
    };
  } catch (e) {
    say(
      `package cache unavailable (${e instanceof Error ? e.message : String(e)}): every package comes from the mirror`,
    );
    return undefined;
  } finally {
    await unlock?.();
  }
}

async function leave(paths: CachePaths, system: ProxySystem, say: (m: string) => void): Promise<void> {
  const unlock = await lockFor(paths, say);
  try {
    await rm(path.join(paths.users, String(process.pid)), { force: true });
    if ((await liveUsers(paths, system)).length > 0) return;
    const rec = await readRecord(paths);
    if (rec) await stopProxy(paths, system, rec);
  } finally {
    await unlock();
  }
}

/**
 * leave() for the moment the process exits, when nothing asynchronous runs any
 * more: remove this process's file and, if nobody else uses the proxy, stop
 * it. Only when the lock is free at once; otherwise whoever holds it (a build
 * joining, a prune) sees this process gone and decides.
 */
export function leaveAtExit(paths: CachePaths, system: ProxySystem): void {
  const mine = `${paths.lock}.${process.pid}`;
  try {
    rmSync(path.join(paths.users, String(process.pid)), { force: true });
    writeFileSync(mine, `${process.pid}\n`);
    linkSync(mine, paths.lock);
  } catch {
    return;
  } finally {
    rmSync(mine, { force: true });
  }
  try {
    for (const name of readdirSync(paths.users)) {
      const u = JSON.parse(readFileSync(path.join(paths.users, name), "utf8")) as UserRecord;
      if (system.processStart(u.pid) === u.start) return;
    }
    const rec = JSON.parse(readFileSync(paths.state, "utf8")) as ProxyRecord;
    if (system.isProxy(rec.pid, paths.run)) system.kill(rec.pid, "SIGTERM");
    rmSync(paths.state, { force: true });
  } catch {
    // An unreadable file: leave the decision to the next vmlive that takes the lock.
  } finally {
    rmSync(paths.lock, { force: true });
  }
}

async function startProxy(
  paths: CachePaths,
  system: ProxySystem,
  program: string,
  o: CacheOptions,
): Promise<ProxyRecord> {
  const consoleLog = path.join(paths.log, "apt-cacher-ng.out");
  let why = "";
  for (let attempt = 1; attempt <= START_TRIES; attempt++) {
    const port = await system.freePort();
    await writeFile(
      path.join(paths.run, ACNG_CONF),
      acngConfig(paths, { port, upstreamProxy: o.upstreamProxy ?? hostProxy() }),
    );
    const pid = system.start(acngArgv(program, paths), consoleLog);
    const deadline = Date.now() + (o.startTimeoutMs ?? 20_000);
    for (;;) {
      if (await system.answers(port)) {
        const rec: ProxyRecord = { pid, port, started: new Date().toISOString() };
        await writeFile(paths.state, JSON.stringify(rec) + "\n");
        return rec;
      }
      if (!system.isProxy(pid, paths.run)) {
        // Another program took the port after freePort looked, or apt-cacher-ng refused its config.
        why = (await lastLines(consoleLog)) || "it exited at once";
        break;
      }
      if (Date.now() > deadline) {
        system.kill(pid, "SIGKILL");
        why = `it did not answer on port ${port} within ${Math.round((o.startTimeoutMs ?? 20_000) / 1000)} s`;
        break;
      }
      await system.sleep(POLL_MS);
    }
  }
  throw new Error(`apt-cacher-ng did not start: ${why} (its output: ${consoleLog})`);
}

/** The host's own http proxy, which apt-cacher-ng must then use to reach the mirrors. */
function hostProxy(): string | undefined {
  const p = process.env.http_proxy ?? process.env.HTTP_PROXY;
  return p && /^https?:\/\/\S+$/.test(p) ? p : undefined;
}

async function lastLines(file: string): Promise<string> {
  const text = await readFile(file, "utf8").catch(() => "");
  return text.trim().split("\n").slice(-3).join("; ");
}

/** Stop the proxy of `rec` if it still runs (only if it is ours: a reused PID is left alone). */
async function stopProxy(paths: CachePaths, system: ProxySystem, rec: ProxyRecord): Promise<void> {
  if (system.isProxy(rec.pid, paths.run)) {
    system.kill(rec.pid, "SIGTERM");
    const deadline = Date.now() + STOP_WAIT_MS;
    while (system.isProxy(rec.pid, paths.run) && Date.now() < deadline) await system.sleep(POLL_MS);
    if (system.isProxy(rec.pid, paths.run)) system.kill(rec.pid, "SIGKILL");
  }
  await rm(paths.state, { force: true });
}

export async function readRecord(paths: CachePaths): Promise<ProxyRecord | undefined> {
  try {
    const r = JSON.parse(await readFile(paths.state, "utf8")) as Partial<ProxyRecord>;
    return Number.isInteger(r.pid) && Number.isInteger(r.port) ? (r as ProxyRecord) : undefined;
  } catch {
    return undefined;
  }
}

/** The processes using the proxy that still run; the files of those that died are removed. */
export async function liveUsers(paths: CachePaths, system: ProxySystem): Promise<UserRecord[]> {
  const names = await readdir(paths.users).catch(() => [] as string[]);
  const live: UserRecord[] = [];
  for (const name of names) {
    const file = path.join(paths.users, name);
    let u: UserRecord | undefined;
    try {
      u = JSON.parse(await readFile(file, "utf8")) as UserRecord;
    } catch {
      u = undefined;
    }
    if (u && Number.isInteger(u.pid) && system.processStart(u.pid) === u.start) live.push(u);
    else await rm(file, { force: true });
  }
  return live.sort((a, b) => a.pid - b.pid);
}

export interface ProxyStatus {
  /** The running proxy, if one runs. */
  running?: ProxyRecord;
  users: UserRecord[];
}

/** What runs now, for `vmlive cache`: read only, no lock. */
export async function proxyStatus(
  paths: CachePaths = cachePaths(),
  system: ProxySystem = realProxySystem,
): Promise<ProxyStatus> {
  const rec = await readRecord(paths);
  const names = await readdir(paths.users).catch(() => [] as string[]);
  const users: UserRecord[] = [];
  for (const name of names) {
    const u = await readFile(path.join(paths.users, name), "utf8")
      .then((t) => JSON.parse(t) as UserRecord)
      .catch(() => undefined);
    if (u && system.processStart(u.pid) === u.start) users.push(u);
  }
  return {
    running: rec && system.isProxy(rec.pid, paths.run) ? rec : undefined,
    users: users.sort((a, b) => a.pid - b.pid),
  };
}

/**
 * Run `fn` on a cache no build uses (prune, clear): under the lock, so no build
 * starts meanwhile (it waits), after stopping a proxy whose builds all ended.
 * Refuses while a build uses the cache.
 */
export async function withIdleCache<T>(
  fn: () => Promise<T>,
  o: { paths?: CachePaths; system?: ProxySystem; say?: (m: string) => void } = {},
): Promise<T> {
  const paths = o.paths ?? cachePaths();
  const system = o.system ?? realProxySystem;
  await mkdir(paths.root, { recursive: true });
  const unlock = await lockFor(paths, o.say ?? (() => {}));
  try {
    const users = await liveUsers(paths, system);
    if (users.length)
      throw new VerificationError(
        `the package cache is in use by ${users.map((u) => `vmlive process ${u.pid} (${u.what})`).join(", ")}`,
        "run it again when those builds have finished",
      );
    const rec = await readRecord(paths);
    if (rec) await stopProxy(paths, system, rec);
    return await fn();
  } finally {
    await unlock();
  }
}
