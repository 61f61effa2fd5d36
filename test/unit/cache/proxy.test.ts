// The proxy's lifecycle with a fake operating system: the first build starts
// apt-cacher-ng, a second one joins it, the last one to leave stops it, dead
// builds and dead or hung proxies are noticed, and a prune waits for no one
// but refuses while a build uses the cache.
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { cachePaths, type CachePaths } from "../../../src/cache/paths.js";
import { acquirePackageCache, leaveAtExit, proxyStatus, withIdleCache } from "../../../src/cache/proxy.js";
import type { ProxySystem } from "../../../src/cache/system.js";
import { VerificationError } from "../../../src/errors.js";
import { tempDir } from "../../support/tmp.js";

interface FakeProc {
  argv: readonly string[];
  alive: boolean;
  /** It answers HTTP on its port (false: hung or not yet up). */
  answering: boolean;
  port: number;
}

/** A ProxySystem over an in-memory process table. */
class FakeSystem implements ProxySystem {
  procs = new Map<number, FakeProc>();
  /** Other vmlive processes, by PID: their start token. */
  vmlives = new Map<number, string>([[process.pid, "me"]]);
  nextPid = 50_000;
  nextPort = 21_000;
  installed = true;
  /** What a started proxy does: "answers", "dies" at once, or "hangs" (runs, never answers). */
  behaviour: "answers" | "dies" | "hangs" = "answers";
  killed: [number, string][] = [];
  starts = 0;

  constructor(private readonly paths: CachePaths) {}

  program() {
    return this.installed ? "/usr/sbin/apt-cacher-ng" : undefined;
  }
  start(argv: readonly string[], logFile: string) {
    this.starts++;
    const pid = this.nextPid++;
    const conf = readFileSync(path.join(this.paths.run, "acng.conf"), "utf8");
    const port = Number(/^Port: (\d+)$/m.exec(conf)?.[1]);
    const b = this.behaviour;
    this.procs.set(pid, { argv, alive: b !== "dies", answering: b === "answers", port });
    if (b === "dies") writeFileSync(logFile, "Port 21000 is busy, see the manual\n", { flag: "a" });
    return pid;
  }
  isProxy(pid: number, confDir: string) {
    const p = this.procs.get(pid);
    return !!p && p.alive && p.argv.includes(confDir);
  }
  processStart(pid: number) {
    return this.vmlives.get(pid);
  }
  async answers(port: number) {
    return [...this.procs.values()].some((p) => p.alive && p.answering && p.port === port);
  }
  async freePort() {
    return this.nextPort++;
  }
  kill(pid: number, signal: NodeJS.Signals) {
    this.killed.push([pid, signal]);
    const p = this.procs.get(pid);
    if (p) p.alive = false;
  }
  async sleep() {}
  running(): number[] {
    return [...this.procs.entries()].filter(([, p]) => p.alive).map(([pid]) => pid);
  }
}

function setup() {
  const paths = cachePaths(path.join(tempDir("vmlive-cache-proxy-"), "packages"));
  const system = new FakeSystem(paths);
  const said: string[] = [];
  const opts = { paths, system, say: (m: string) => said.push(m), startTimeoutMs: 200 };
  mkdirSync(paths.users, { recursive: true });
  return { paths, system, said, opts };
}

/** Pretend another vmlive process (PID `pid`) joined the cache. */
function otherUser(paths: CachePaths, system: FakeSystem, pid: number): void {
  system.vmlives.set(pid, `start-${pid}`);
  writeFileSync(
    path.join(paths.users, String(pid)),
    JSON.stringify({ pid, start: `start-${pid}`, what: "vmlive build other", since: "x" }),
  );
}

describe("the package cache's proxy", () => {
  it("starts apt-cacher-ng with its own config folder, records it, and stops it when the build leaves", async () => {
    const { paths, system, said, opts } = setup();
    const cache = await acquirePackageCache(opts);
    expect(cache).toBeDefined();
    expect(system.starts).toBe(1);
    const [pid] = system.running();
    expect(system.procs.get(pid!)!.argv).toEqual(["/usr/sbin/apt-cacher-ng", "-c", paths.run]);
    const rec = JSON.parse(readFileSync(paths.state, "utf8")) as { pid: number; port: number };
    expect(rec).toMatchObject({ pid, port: cache!.port });
    expect(cache!.proxyFor("host")).toBe(`http://127.0.0.1:${cache!.port}/`);
    expect(cache!.proxyFor("vm")).toBe(`http://10.0.2.2:${cache!.port}/`);
    expect(readdirSync(paths.users)).toEqual([String(process.pid)]);
    expect(said.join("\n")).toContain(`started apt-cacher-ng on port ${cache!.port}`);

    await cache!.release();
    expect(system.running()).toEqual([]);
    expect(system.killed).toEqual([[pid, "SIGTERM"]]);
    expect(existsSync(paths.state)).toBe(false);
    expect(readdirSync(paths.users)).toEqual([]);
    // Releasing twice does nothing more.
    await cache!.release();
    expect(system.killed).toHaveLength(1);
  });

  it("joins the proxy another build started, and leaves it running for that build", async () => {
    const { paths, system, said, opts } = setup();
    const first = await acquirePackageCache(opts);
    await first!.release();
    const again = await acquirePackageCache(opts);
    const [pid] = system.running();
    otherUser(paths, system, 4242);
    // A second process would find the record; here this process joins it again after its lease ended.
    await again!.release();
    expect(system.running()).toEqual([pid]);
    expect(existsSync(paths.state)).toBe(true);

    const third = await acquirePackageCache(opts);
    expect(system.starts).toBe(2);
    expect(third!.port).toBe(again!.port);
    expect(said.at(-1)).toBe(
      `package cache: sharing apt-cacher-ng on port ${third!.port} with vmlive process 4242`,
    );

    // The other build ends without leaving (killed): its file no longer counts.
    system.vmlives.delete(4242);
    await third!.release();
    expect(system.running()).toEqual([]);
    expect(readdirSync(paths.users)).toEqual([]);
  });

  it("does not count a reused PID as the build that died", async () => {
    const { paths, system, opts } = setup();
    const cache = await acquirePackageCache(opts);
    otherUser(paths, system, 4343);
    system.vmlives.set(4343, "a later process with the same pid");
    await cache!.release();
    expect(system.running()).toEqual([]);
  });

  it("builds in one process share one lease: the proxy stops with the last of them", async () => {
    const { system, opts } = setup();
    const [a, b] = await Promise.all([acquirePackageCache(opts), acquirePackageCache(opts)]);
    expect(system.starts).toBe(1);
    expect(a!.port).toBe(b!.port);
    await a!.release();
    expect(system.running()).toHaveLength(1);
    await b![Symbol.asyncDispose]();
    expect(system.running()).toEqual([]);
  });

  it("replaces a recorded proxy that died or hangs", async () => {
    const { paths, system, opts } = setup();
    writeFileSync(paths.state, JSON.stringify({ pid: 99_999, port: 20_001, started: "x" }));
    const cache = await acquirePackageCache(opts);
    expect(system.starts).toBe(1);
    expect(system.killed).toEqual([]);
    const [hung] = system.running();
    system.procs.get(hung!)!.answering = false;
    otherUser(paths, system, 4444);
    await cache!.release();

    const next = await acquirePackageCache(opts);
    expect(system.killed).toContainEqual([hung, "SIGTERM"]);
    expect(system.running()).not.toContain(hung);
    expect(system.starts).toBe(2);
    expect(JSON.parse(readFileSync(paths.state, "utf8"))).toMatchObject({ port: next!.port });
    system.vmlives.delete(4444);
    await next!.release();
  });

  it("never kills a recorded PID that is no longer its apt-cacher-ng", async () => {
    const { paths, system, opts } = setup();
    // PID 77 runs, but as something else (no config folder of ours on its command line).
    system.procs.set(77, { argv: ["/usr/bin/vim"], alive: true, answering: false, port: 0 });
    writeFileSync(paths.state, JSON.stringify({ pid: 77, port: 20_002, started: "x" }));
    const cache = await acquirePackageCache(opts);
    await cache!.release();
    expect(system.killed.map(([pid]) => pid)).not.toContain(77);
    expect(system.procs.get(77)!.alive).toBe(true);
  });

  it("tries three ports, then builds without the cache and says why", async () => {
    const { system, said, opts } = setup();
    system.behaviour = "dies";
    expect(await acquirePackageCache(opts)).toBeUndefined();
    expect(system.starts).toBe(3);
    expect(said.at(-1)).toMatch(
      /^package cache unavailable \(apt-cacher-ng did not start: Port 21000 is busy, see the manual.*\): every package comes from the mirror$/,
    );
  });

  it("kills a proxy that does not answer in time", async () => {
    const { system, said, opts } = setup();
    system.behaviour = "hangs";
    expect(await acquirePackageCache(opts)).toBeUndefined();
    expect(system.killed.map(([, s]) => s)).toEqual(["SIGKILL", "SIGKILL", "SIGKILL"]);
    expect(system.running()).toEqual([]);
    expect(said.at(-1)).toContain("did not answer on port");
  });

  it("without apt-cacher-ng, builds without the cache and says how to get it", async () => {
    const { system, said, opts } = setup();
    system.installed = false;
    expect(await acquirePackageCache(opts)).toBeUndefined();
    expect(said).toEqual([
      "apt-cacher-ng is not installed (./setup installs it): every package comes from the mirror",
    ]);
  });

  it("reports the running proxy and its builds", async () => {
    const { paths, system, opts } = setup();
    expect(await proxyStatus(paths, system)).toEqual({ running: undefined, users: [] });
    const cache = await acquirePackageCache(opts);
    const s = await proxyStatus(paths, system);
    expect(s.running).toMatchObject({ port: cache!.port });
    expect(s.users.map((u) => u.pid)).toEqual([process.pid]);
    await cache!.release();
  });
});

describe("withIdleCache (prune, clear)", () => {
  it("refuses while a build uses the cache, naming it", async () => {
    const { paths, system, opts } = setup();
    const cache = await acquirePackageCache(opts);
    const err = await withIdleCache(async () => "ran", { paths, system }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(VerificationError);
    expect((err as Error).message).toBe(
      `the package cache is in use by vmlive process ${process.pid} (${["vmlive", ...process.argv.slice(2)].join(" ")})`,
    );
    await cache!.release();
    expect(await withIdleCache(async () => "ran", { paths, system })).toBe("ran");
  });

  it("stops a proxy left running by a build that died, then runs", async () => {
    const { paths, system, opts } = setup();
    const cache = await acquirePackageCache(opts);
    otherUser(paths, system, 4545);
    await cache!.release();
    const [orphan] = system.running();
    system.vmlives.delete(4545);
    let during: number[] = [];
    await withIdleCache(
      async () => {
        during = system.running();
      },
      { paths, system },
    );
    expect(during).toEqual([]);
    expect(system.killed).toContainEqual([orphan, "SIGTERM"]);
  });
});

describe("leaveAtExit (vmlive ending without unwinding)", () => {
  it("stops the proxy when this was its last build", async () => {
    const { paths, system, opts } = setup();
    const cache = await acquirePackageCache(opts);
    const [pid] = system.running();
    leaveAtExit(paths, system);
    expect(system.running()).toEqual([]);
    expect(system.killed).toEqual([[pid, "SIGTERM"]]);
    expect(existsSync(paths.state)).toBe(false);
    expect(existsSync(paths.lock)).toBe(false);
    await cache!.release();
  });

  it("leaves it to another build that still uses it, and to a holder of the lock", async () => {
    const { paths, system, opts } = setup();
    const cache = await acquirePackageCache(opts);
    otherUser(paths, system, 4646);
    leaveAtExit(paths, system);
    expect(system.running()).toHaveLength(1);
    expect(readdirSync(paths.users)).toEqual(["4646"]);

    system.vmlives.delete(4646);
    writeFileSync(paths.lock, "1\n");
    leaveAtExit(paths, system);
    expect(system.running()).toHaveLength(1);
    expect(readFileSync(paths.lock, "utf8")).toBe("1\n");
    rmSync(paths.lock);
    await cache!.release();
    expect(system.running()).toEqual([]);
  });
});
