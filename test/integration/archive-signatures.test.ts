// Archive signatures are always checked: a bootstrap against the real Debian
// mirror with a keyring that does not hold the archive's key (a throwaway key
// made here with gpg, as bootstrap.keyring of an image) fails at the Release
// file, naming the keyring and the fix, with debootstrap and with mmdebstrap.
// Needs root, gpg, debootstrap, mmdebstrap and http://deb.debian.org.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { acquirePackageCache, type PackageCache } from "../../src/cache/proxy.js";
import { loadImage } from "../../src/config/load.js";
import { VerificationError } from "../../src/errors.js";
import { HostMachine } from "../../src/machine/host.js";
import { workPaths, type BuildContext } from "../../src/pipeline/context.js";
import { bootstrapStep, DEBIAN_KEYRING } from "../../src/steps/bootstrap.js";

const has = (tool: string) => {
  try {
    execFileSync("sh", ["-c", `command -v ${tool}`], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
};
const canRun = process.getuid?.() === 0 && ["gpg", "debootstrap", "mmdebstrap"].every(has);
const MIRROR = "http://deb.debian.org/debian";

/** The shared package cache (as builds use it); the signatures are checked by apt and gpgv behind it all the same. */
let cache: PackageCache | undefined;

function context(imageDir: string, work: BuildContext["work"], lines: string[]): BuildContext {
  return {
    packageCache: cache && { proxy: cache.proxyFor("host") },
    image: loadImage(imageDir),
    machine: new HostMachine(),
    work,
    state: { done: [] },
    log: {
      say: () => undefined,
      output: { line: (_s, t) => lines.push(t) },
      file: path.join(work.root, "build.log"),
    },
    signal: new AbortController().signal,
    sourceDateEpoch: 1_700_000_000,
    outDir: work.root,
    logDir: work.root,
  };
}

describe.runIf(canRun)("archive signatures: a bootstrap with the wrong keyring", () => {
  const top = mkdtempSync(path.join(os.tmpdir(), "vmlive-it-sig-"));
  let keyring = "";
  let fingerprint = "";

  beforeAll(async () => {
    cache = await acquirePackageCache();
    // A key of our own, in a GNUPGHOME of its own: it has signed nothing Debian publishes.
    const home = path.join(top, "gnupg");
    mkdirSync(home, { mode: 0o700 });
    const gpg = (...args: string[]) =>
      execFileSync("gpg", ["--homedir", home, "--batch", "--pinentry-mode", "loopback", ...args], {
        encoding: "utf8",
      });
    gpg(
      "--passphrase",
      "",
      "--quick-generate-key",
      "vmlive test key <test@vmlive.invalid>",
      "ed25519",
      "sign",
      "1d",
    );
    fingerprint = /^fpr:+([0-9A-F]{40}):/m.exec(gpg("--with-colons", "--list-keys"))![1]!;
    keyring = path.join(top, "throwaway.gpg");
    writeFileSync(keyring, execFileSync("gpg", ["--homedir", home, "--export", fingerprint]));
  });
  afterAll(async () => {
    await cache?.release();
    execFileSync("rm", ["-rf", "--one-file-system", top]);
  });

  for (const tool of ["debootstrap", "mmdebstrap"] as const)
    it(`${tool}: fails at the Release file within a minute, naming the keyring and the fix`, async () => {
      const imageDir = path.join(top, "images", `sig-${tool}`);
      mkdirSync(imageDir, { recursive: true });
      execFileSync("cp", [keyring, path.join(imageDir, "archive-key.gpg")]);
      writeFileSync(
        path.join(imageDir, "image.yaml"),
        [
          "description: a keyring without Debian's key",
          "suite: bookworm",
          "arch: amd64",
          `mirror: {build: "${MIRROR}"}`,
          `bootstrap: {tool: ${tool}, variant: ${tool === "mmdebstrap" ? "essential" : "minbase"}, keyring: archive-key.gpg}`,
        ].join("\n") + "\n",
      );
      const work = workPaths(path.join(top, `work-${tool}`));
      const lines: string[] = [];
      const ctx = context(imageDir, work, lines);
      const t0 = Date.now();
      const err = await bootstrapStep.run(ctx).then(
        () => undefined,
        (e: unknown) => e,
      );
      const seconds = (Date.now() - t0) / 1000;
      console.log(`${tool} with the wrong keyring: failed in ${seconds.toFixed(1)} s\n${String(err)}`);
      expect(err, lines.join("\n")).toBeInstanceOf(VerificationError);
      expect(seconds).toBeLessThan(60);
      const e = err as VerificationError;
      // What failed, and why: the mirror's Release file is not signed by a key in this keyring.
      expect(e.message).toContain(
        `${tool} of bookworm amd64 from ${MIRROR}: the signature of its Release file`,
      );
      expect(e.message).toContain("bootstrap.keyring: archive-key.gpg");
      expect(e.message).toMatch(/NO_PUBKEY|unknown key|not signed|signatures couldn't be verified/i);
      // The fix: a keyring with the archive's key, or Debian's own; never turning the check off.
      expect(e.hint).toContain("/usr/share/keyrings/debian-archive-keyring.gpg");
      expect(e.hint).toMatch(/no option to turn signature checks off/);
      // Nothing was installed from an archive that could not be verified.
      expect(existsSync(path.join(work.rootfs, "usr", "bin", "dpkg"))).toBe(false);
    }, 120_000);

  it("mmdebstrap with the right key as bootstrap.keyring (only it trusted): bootstraps", async () => {
    const imageDir = path.join(top, "images", "sig-right");
    mkdirSync(imageDir, { recursive: true });
    execFileSync("cp", [DEBIAN_KEYRING, path.join(imageDir, "archive-key.gpg")]);
    writeFileSync(
      path.join(imageDir, "image.yaml"),
      "description: Debian's own key as the image's keyring\nsuite: bookworm\narch: amd64\n" +
        "bootstrap: {tool: mmdebstrap, variant: essential, keyring: archive-key.gpg}\n",
    );
    const work = workPaths(path.join(top, "work-right"));
    const lines: string[] = [];
    const ctx = context(imageDir, work, lines);
    await bootstrapStep.run(ctx).catch((e: unknown) => {
      throw new Error(`${String(e)}\n${lines.slice(-30).join("\n")}`);
    });
    expect(existsSync(path.join(work.rootfs, "usr", "bin", "dpkg"))).toBe(true);
    // apt trusted the image's keyring alone for the mirror (mmdebstrap keeps the line it was given).
    expect(readFileSync(path.join(work.rootfs, "etc", "apt", "sources.list"), "utf8")).toContain(
      `deb [signed-by=${work.input}/keyring.gpg] http://deb.debian.org/debian bookworm main`,
    );
  }, 300_000);
});
