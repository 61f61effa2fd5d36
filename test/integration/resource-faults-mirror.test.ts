// A mirror that does not answer: the real debootstrap and mmdebstrap on this
// host (HostMachine, as root) against a closed port on 127.0.0.1. Nothing
// listens on port 9 (discard), so every connection is refused at once; the
// package cache is not in between (it is never used for a mirror on 127.0.0.1).
// The build must fail within seconds, naming the URL and how often it was tried.
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cachePaths } from "../../src/cache/paths.js";
import { acquirePackageCache } from "../../src/cache/proxy.js";
import { parseImageConfig } from "../../src/config/load.js";
import { VerificationError } from "../../src/errors.js";
import { HostMachine } from "../../src/machine/host.js";
import { workPaths, type BuildContext } from "../../src/pipeline/context.js";
import { bootstrapStep, DEBIAN_KEYRING, DEBOOTSTRAP_MIRROR_WAITS_MS } from "../../src/steps/bootstrap.js";

const MIRROR = "http://127.0.0.1:9/debian";
const isRoot = process.getuid?.() === 0;
const have = (p: string) => existsSync(p);

let tmp: string;

/** True when something listens on 127.0.0.1:9, which would make this test about something else. */
function portOpen(): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(9, "127.0.0.1");
    s.once("connect", () => (s.destroy(), resolve(true)));
    s.once("error", () => resolve(false));
  });
}

function context(name: string, tool: string, mirror = MIRROR): BuildContext & { said: string[] } {
  const said: string[] = [];
  return {
    image: {
      name,
      dir: tmp,
      file: path.join(tmp, "image.yaml"),
      hooksDir: tmp,
      displayFile: "image.yaml",
      config: parseImageConfig(
        `description: test\nsuite: bookworm\narch: amd64\nmirror: {build: '${mirror}'}\nbootstrap: {tool: ${tool}}\n`,
        "image.yaml",
      ),
    },
    machine: new HostMachine(),
    work: workPaths(path.join(tmp, name)),
    state: { done: [] },
    log: { say: (m) => said.push(m), output: { line: () => undefined }, file: path.join(tmp, `${name}.log`) },
    signal: new AbortController().signal,
    sourceDateEpoch: 1_700_000_000,
    outDir: tmp,
    logDir: tmp,
    said,
  };
}

async function failing(ctx: BuildContext): Promise<{ err: VerificationError; seconds: number }> {
  const t0 = Date.now();
  const err = await bootstrapStep.run(ctx).catch((e: unknown) => e);
  const seconds = (Date.now() - t0) / 1000;
  expect(err).toBeInstanceOf(VerificationError);
  return { err: err as VerificationError, seconds };
}

describe.runIf(isRoot && process.platform === "linux" && have(DEBIAN_KEYRING))(
  "resource faults: a mirror that does not answer",
  () => {
    beforeAll(async () => {
      tmp = mkdtempSync(path.join(os.tmpdir(), "vmlive-mirror-"));
      expect(await portOpen()).toBe(false);
    });
    afterAll(() => rmSync(tmp, { recursive: true, force: true }));

    it.runIf(have("/usr/sbin/debootstrap"))(
      "mirror not answering, debootstrap: retried, then the URL and the tries",
      async () => {
        const ctx = context("deb", "debootstrap");
        const { err, seconds } = await failing(ctx);
        console.log(`debootstrap against ${MIRROR} failed after ${seconds.toFixed(1)} s:\n${err.message}`);
        const tries = DEBOOTSTRAP_MIRROR_WAITS_MS.length + 1;
        expect(err.message).toMatch(
          new RegExp(
            `^debootstrap of bookworm amd64 could not reach the mirror ${MIRROR} \\(tried ${tries} times,`,
          ),
        );
        expect(err.message).toContain(`Failed getting release file ${MIRROR}/dists/bookworm/Release`);
        expect(err.hint).toMatch(
          /check the mirror URL \(mirror\.build: http:\/\/127\.0\.0\.1:9\/debian\), the network and any proxy/,
        );
        // Each retry was said, with its wait; all of them together take seconds, not minutes.
        expect(ctx.said.filter((s) => s.includes("did not answer"))).toHaveLength(tries - 1);
        const waited = DEBOOTSTRAP_MIRROR_WAITS_MS.reduce((a, b) => a + b, 0) / 1000;
        expect(seconds).toBeGreaterThanOrEqual(waited);
        expect(seconds).toBeLessThan(waited + 30);
      },
      60_000,
    );

    it.runIf(have("/usr/bin/mmdebstrap"))(
      "mirror not answering, mmdebstrap: apt's retries counted, then the URL and the tries",
      async () => {
        const ctx = context("mm", "mmdebstrap");
        const { err, seconds } = await failing(ctx);
        console.log(`mmdebstrap against ${MIRROR} failed after ${seconds.toFixed(1)} s:\n${err.message}`);
        // apt's Acquire::Retries (3 by default): the first try and three more.
        expect(err.message).toMatch(
          new RegExp(`^mmdebstrap of bookworm amd64 could not reach the mirror ${MIRROR} \\(tried 4 times,`),
        );
        expect(err.message).toMatch(/Could not connect to 127\.0\.0\.1:9 .*Connection refused/);
        expect(err.hint).toContain("check the mirror URL (mirror.build: http://127.0.0.1:9/debian)");
        // vmlive does not run mmdebstrap again on top of apt's own retries.
        expect(ctx.said.some((s) => s.includes("did not answer"))).toBe(false);
        expect(seconds).toBeLessThan(60);
      },
      120_000,
    );

    // A name in .invalid never resolves (RFC 6761): apt-cacher-ng, asked for it, answers with an error.
    it.runIf(have("/usr/sbin/apt-cacher-ng") && have("/usr/sbin/debootstrap"))(
      "mirror not answering behind the package cache: the message names the mirror and the cache",
      async () => {
        const dead = "http://vmlive-dead-mirror.invalid/debian";
        const cache = await acquirePackageCache({ paths: cachePaths(path.join(tmp, "packages")) });
        expect(cache).toBeDefined();
        try {
          const proxy = cache!.proxyFor("host");
          const ctx = context("cached", "debootstrap", dead);
          ctx.packageCache = { proxy };
          const { err, seconds } = await failing(ctx);
          console.log(
            `debootstrap against ${dead} through ${proxy} failed after ${seconds.toFixed(1)} s:\n${err.message}`,
          );
          expect(err.message).toContain(
            `could not reach the mirror ${dead} through the package cache at ${proxy}`,
          );
          expect(err.message).toContain(`Failed getting release file ${dead}/dists/bookworm/Release`);
          expect(err.hint).toContain("--no-cache");
          expect(seconds).toBeLessThan(60);
        } finally {
          await cache!.release();
        }
      },
      120_000,
    );
  },
);
