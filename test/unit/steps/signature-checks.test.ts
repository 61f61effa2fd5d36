// Nothing in vmlive turns archive signature checks off: no apt option, no
// source flag, no bootstrap flag that skips them, anywhere in the code, the
// builder VM's definition and script, the templates or the shipped images.
// (test/integration/archive-signatures.test.ts proves the checks bite.)
import { readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { parseImageConfig } from "../../../src/config/load.js";
import { PROJECT_ROOT } from "../../../src/paths.js";
import { bootstrapArgv, DEBIAN_KEYRING } from "../../../src/steps/bootstrap.js";

/** What would switch a check off, as apt, debootstrap and mmdebstrap spell it. */
const INSECURE =
  /trusted=yes|trusted\s*"?yes|allow-insecure|AllowInsecureRepositories|AllowDowngradeToInsecureRepositories|allow-unauthenticated|AllowUnauthenticated|no-check-gpg|--no-check-certificate|allow-weak|--force-yes|Check-Valid-Until\s*"?(false|no)/i;

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = path.join(dir, name);
    return statSync(p).isDirectory() ? files(p) : [p];
  });
}

describe("archive signature checks are never turned off", () => {
  it("no file vmlive runs or ships says how to skip them", () => {
    const scanned = ["src", "vm", "templates", "images", "hooks"].flatMap((d) =>
      files(path.join(PROJECT_ROOT, d)),
    );
    expect(scanned.length).toBeGreaterThan(50);
    const hits = scanned.flatMap((f) =>
      readFileSync(f, "utf8")
        .split("\n")
        .flatMap((line, i) =>
          INSECURE.test(line) ? [`${path.relative(PROJECT_ROOT, f)}:${i + 1}: ${line.trim()}`] : [],
        ),
    );
    expect(hits).toEqual([]);
  });

  it("the pattern finds what it is meant to find", () => {
    for (const bad of [
      "deb [trusted=yes] http://x bookworm main",
      "-o Acquire::AllowInsecureRepositories=true",
      "debootstrap --no-check-gpg bookworm /r",
      "apt-get install --allow-unauthenticated x",
      'APT::Get::AllowUnauthenticated "true";',
    ])
      expect(bad).toMatch(INSECURE);
  });

  it("both bootstrap tools trust exactly one keyring: the image's, else Debian's", () => {
    const c = (yaml: string) => parseImageConfig(`description: t\n${yaml}`, "image.yaml");
    const deb = bootstrapArgv(c("bootstrap: {tool: debootstrap}\n"), "/r", DEBIAN_KEYRING);
    expect(deb).toContain(`--keyring=${DEBIAN_KEYRING}`);
    const mm = bootstrapArgv(c("bootstrap: {tool: mmdebstrap}\n"), "/r", "/in/keyring.asc");
    expect(mm).toContain("--keyring=/in/keyring.asc");
    // mmdebstrap's --keyring alone would still trust the machine's /etc/apt/trusted.gpg.d.
    expect(mm.at(-1)).toBe("deb [signed-by=/in/keyring.asc] http://deb.debian.org/debian bookworm main");
  });
});
