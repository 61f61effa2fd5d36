// The package cache for real: apt-cacher-ng started by vmlive on this host,
// packages fetched through it by apt, a second vmlive process joining it,
// an https mirror going around it, and a bootstrapped, customized root
// filesystem that keeps nothing of it. Needs root, apt-cacher-ng, debootstrap
// and http(s)://deb.debian.org; about 3 minutes.
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { execa, type ResultPromise } from "execa";
import { afterAll, describe, expect, it } from "vitest";
import { cachePaths, transferLog, type CachePaths } from "../../src/cache/paths.js";
import { acquirePackageCache, proxyStatus, type PackageCache } from "../../src/cache/proxy.js";
import { listEntries, parseTransferLog } from "../../src/cache/store.js";
import { realProxySystem } from "../../src/cache/system.js";
import { aptProxyOptions } from "../../src/cache/through-proxy.js";
import { loadImage } from "../../src/config/load.js";
import { HostMachine } from "../../src/machine/host.js";
import { PROJECT_ROOT } from "../../src/paths.js";
import { workPaths, type BuildContext } from "../../src/pipeline/context.js";
import { bootstrapStep } from "../../src/steps/bootstrap.js";
import { customizeStep } from "../../src/steps/customize.js";
import { TSX } from "../support/cli.js";
import { tempDir } from "../support/tmp.js";

const has = (cmd: string) => {
  try {
    execFileSync("sh", ["-c", `command -v ${cmd} || test -x /usr/sbin/${cmd}`], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
};
const canRun = process.getuid?.() === 0 && has("apt-cacher-ng") && has("debootstrap");

const MIRROR = "http://deb.debian.org/debian";
const HELLO = /\/pool\/main\/h\/hello\/hello_[^/]+_amd64\.deb$/;

/** apt-get with a private state and the one-line sources.list `source`, through `proxy` when given. */
function aptIn(dir: string, source: string, proxy?: string): (...args: string[]) => Promise<string> {
  for (const d of ["lists/partial", "archives/partial", "debs"])
    mkdirSync(path.join(dir, d), { recursive: true });
  writeFileSync(path.join(dir, "sources.list"), source);
  const opts = [
    `Dir::State::Lists=${dir}/lists`,
    "Dir::State::status=/dev/null",
    `Dir::Cache=${dir}`,
    `Dir::Cache::Archives=${dir}/archives`,
    `Dir::Etc::SourceList=${dir}/sources.list`,
    "Dir::Etc::SourceParts=/nonexistent",
    "APT::Architecture=amd64",
    "APT::Sandbox::User=root",
  ].flatMap((o) => ["-o", o]);
  return async (...args) => {
    const r = await execa("apt-get", ["-q", ...opts, ...aptProxyOptions(proxy), ...args], {
      cwd: path.join(dir, "debs"),
      all: true,
      reject: false,
    });
    if (r.exitCode !== 0) throw new Error(`apt-get ${args.join(" ")} failed:\n${r.all}`);
    return r.all ?? "";
  };
}

const transfers = (p: CachePaths) => parseTransferLog(readFileSync(transferLog(p), "utf8"));

describe.runIf(canRun)("the package cache on this host", () => {
  const top = tempDir("vmlive-it-cache-");
  const paths = cachePaths(path.join(top, "packages"));
  const said: string[] = [];
  let cache: PackageCache | undefined;
  afterAll(async () => {
    await cache?.release();
    // Nothing may be mounted below the work area; rm --one-file-system would stop at a mount anyway.
    execFileSync("rm", ["-rf", "--one-file-system", top]);
  });

  it("starts apt-cacher-ng and serves a package the second time from its cache", async () => {
    cache = await acquirePackageCache({ paths, say: (m) => said.push(m) });
    expect(said.join("\n")).toMatch(/^package cache: started apt-cacher-ng on port \d+/);
    expect(cache).toBeDefined();
    const proxy = cache!.proxyFor("host");
    const src = `deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] ${MIRROR} bookworm main\n`;

    const first = aptIn(path.join(top, "apt1"), src, proxy);
    await first("update");
    await first("download", "hello");
    const second = aptIn(path.join(top, "apt2"), src, proxy);
    await second("update");
    await second("download", "hello");

    // The transfer log: fetched from the mirror once (I), served twice (O).
    const hello = transfers(paths).filter((t) => HELLO.test(t.path));
    expect(hello.filter((t) => t.dir === "in")).toHaveLength(1);
    expect(hello.filter((t) => t.dir === "out")).toHaveLength(2);
    // Both clients got the same real package.
    const deb = (d: string) => path.join(top, d, "debs", readdirSync(path.join(top, d, "debs"))[0]!);
    expect(readFileSync(deb("apt2"))).toEqual(readFileSync(deb("apt1")));
    expect(execFileSync("dpkg-deb", ["-f", deb("apt2"), "Package"], { encoding: "utf8" })).toBe("hello\n");
    // The cached file is where `vmlive cache` counts it.
    expect((await listEntries(paths)).some((e) => e.kind === "package" && HELLO.test(e.path))).toBe(true);
    // InRelease is asked of the mirror again each time (never served stale), by-hash indexes are not.
    const inRelease = transfers(paths).filter((t) => t.path.endsWith("/dists/bookworm/InRelease"));
    expect(inRelease.filter((t) => t.dir === "in")).toHaveLength(2);
  });

  it("serves two clients at once", async () => {
    cache ??= await acquirePackageCache({ paths });
    const proxy = cache!.proxyFor("host");
    const src = `deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] ${MIRROR} bookworm main\n`;
    const a = aptIn(path.join(top, "apt3"), src, proxy);
    const b = aptIn(path.join(top, "apt4"), src, proxy);
    await Promise.all([a("update"), b("update")]);
    await Promise.all([a("download", "cowsay", "sl"), b("download", "cowsay", "sl")]);
    for (const d of ["apt3", "apt4"])
      expect(readdirSync(path.join(top, d, "debs")).sort()).toEqual([
        expect.stringMatching(/^cowsay_.*_all\.deb$/),
        expect.stringMatching(/^sl_.*_amd64\.deb$/),
      ]);
    const cowsay = transfers(paths).filter((t) => /\/cowsay_[^/]+\.deb$/.test(t.path));
    expect(cowsay.filter((t) => t.dir === "out")).toHaveLength(2);
    expect(cowsay.filter((t) => t.dir === "in").length).toBeLessThanOrEqual(1);
  });

  it("a second vmlive process joins the running proxy, which runs on until the last one leaves", async () => {
    cache ??= await acquirePackageCache({ paths });
    // .mts: an ES module outside the project, for its top-level await.
    const script = path.join(top, "join.mts");
    writeFileSync(
      script,
      [
        `import { acquirePackageCache } from ${JSON.stringify(path.join(PROJECT_ROOT, "src/cache/proxy.ts"))};`,
        `import { cachePaths } from ${JSON.stringify(path.join(PROJECT_ROOT, "src/cache/paths.ts"))};`,
        `const cache = await acquirePackageCache({ paths: cachePaths(process.argv[2]), say: (m) => console.log(m) });`,
        `console.log("pid " + process.pid + " port " + cache?.port);`,
        `process.stdin.once("data", async () => { await cache?.release(); process.exit(0); });`,
      ].join("\n"),
    );
    const child = execa(TSX, [script, paths.root], { stdin: "pipe", all: true, reject: false });
    try {
      await joinedBySecond(child);
    } finally {
      // However the test ends, the second process leaves (and stops the proxy if it is the last).
      if (child.exitCode === null) child.stdin!.end("leave\n");
      await child;
    }
  });

  async function joinedBySecond(child: ResultPromise<{ stdin: "pipe"; all: true; reject: false }>) {
    let out = "";
    await new Promise<void>((resolve, reject) => {
      child.stdout!.on("data", (c: Buffer) => {
        out += c.toString();
        if (/port \d+\n/.test(out)) resolve();
      });
      void child.then((r) => reject(new Error(`the second process ended: ${r.all}`)));
    });
    // (tsx runs the script in a node process of its own: that one is the user.)
    const [, pid, port] = /pid (\d+) port (\d+)/.exec(out)!;
    expect(Number(port)).toBe(cache!.port);
    expect(out).toContain(`sharing apt-cacher-ng on port ${cache!.port} with vmlive process ${process.pid}`);
    const running = (await proxyStatus(paths)).running!;
    expect((await proxyStatus(paths)).users.map((u) => u.pid)).toEqual(
      [process.pid, Number(pid)].sort((a, b) => a - b),
    );

    // This process leaves first: the proxy stays for the other one.
    await cache!.release();
    cache = undefined;
    expect(realProxySystem.isProxy(running.pid, paths.run)).toBe(true);
    expect(await realProxySystem.answers(running.port)).toBe(true);

    child.stdin!.end("leave\n");
    expect((await child).exitCode).toBe(0);
    expect(realProxySystem.isProxy(running.pid, paths.run)).toBe(false);
    expect(existsSync(paths.state)).toBe(false);
    expect(await realProxySystem.answers(running.port)).toBe(false);
  }

  it("an https mirror goes around it: apt fetches directly and the proxy sees nothing", async () => {
    cache ??= await acquirePackageCache({ paths });
    const before = transfers(paths).length;
    const https = aptIn(
      path.join(top, "apt-https"),
      "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] https://deb.debian.org/debian bookworm main\n",
      // As customize's apt.conf.d file has it: the http proxy, https pinned to DIRECT.
      cache!.proxyFor("host"),
    );
    const out = await https("update");
    expect(out).toMatch(/Get:\d+ https:\/\/deb\.debian\.org\/debian bookworm InRelease/);
    expect(out).not.toMatch(/^[WE]: /m);
    await https("download", "hello");
    expect(readdirSync(path.join(top, "apt-https", "debs"))).toEqual([expect.stringMatching(/^hello_/)]);
    expect(transfers(paths).length).toBe(before);
  });

  it("bootstraps and customizes through it, and the root filesystem keeps nothing of it", async () => {
    cache ??= await acquirePackageCache({ paths });
    const imageDir = path.join(top, "images", "cache-image");
    mkdirSync(imageDir, { recursive: true });
    writeFileSync(
      path.join(imageDir, "image.yaml"),
      [
        "description: package cache integration test",
        "suite: bookworm",
        "arch: amd64",
        "bootstrap: {tool: debootstrap, variant: minbase}",
        "kernel: {flavour: none}",
        "packages: [less]",
        "user: {name: tester, password: tester, sudo: false}",
      ].join("\n") + "\n",
    );
    const work = workPaths(path.join(top, "work"));
    const lines: string[] = [];
    const stepSaid: string[] = [];
    const ctx: BuildContext = {
      image: loadImage(imageDir),
      machine: new HostMachine(),
      work,
      state: { done: [] },
      log: {
        say: (m) => stepSaid.push(m),
        output: { line: (_s, t) => lines.push(t) },
        file: path.join(top, "log"),
      },
      signal: new AbortController().signal,
      sourceDateEpoch: 1_700_000_000,
      outDir: top,
      logDir: top,
      packageCache: { proxy: cache!.proxyFor("host") },
    };
    const before = transfers(paths).length;
    try {
      await bootstrapStep.run(ctx);
      await customizeStep.run(ctx);
    } finally {
      await customizeStep.cleanup!(ctx);
      writeFileSync(path.join(top, "log"), lines.join("\n"));
    }
    expect(stepSaid).toContain(`debootstrap minbase bookworm amd64 from ${MIRROR} through the package cache`);
    expect(stepSaid).toContain(`apt-get update from ${MIRROR} through the package cache`);

    // debootstrap's and apt's downloads both went through the proxy.
    const now = transfers(paths).slice(before);
    expect(now.some((t) => t.dir === "out" && /\/pool\/main\/b\/base-files\//.test(t.path))).toBe(true);
    expect(now.some((t) => t.dir === "out" && /\/pool\/main\/l\/less\/less_/.test(t.path))).toBe(true);
    expect(readFileSync(path.join(work.rootfs, "usr/bin/less")).length).toBeGreaterThan(0);

    // Nothing of the proxy anywhere in the image's configuration.
    const port = String(cache!.port);
    const grep = spawnSync(
      "grep",
      [
        "-rIl",
        "-e",
        `127.0.0.1:${port}`,
        "-e",
        "Acquire::http::Proxy",
        "-e",
        "http_proxy",
        path.join(work.rootfs, "etc"),
      ],
      { encoding: "utf8" },
    );
    // Exit 1: grep read everything and found none of them.
    expect({ status: grep.status, files: grep.stdout }).toEqual({ status: 1, files: "" });
    expect(
      execFileSync("chroot", [work.rootfs, "apt-config", "dump", "Acquire"], { encoding: "utf8" }),
    ).not.toMatch(/Proxy/);
    expect(existsSync(path.join(work.rootfs, "etc/apt/apt.conf.d/00vmlive-build"))).toBe(false);
    expect(readFileSync(path.join(work.rootfs, "etc/apt/sources.list"), "utf8")).not.toContain(port);
  });
});
