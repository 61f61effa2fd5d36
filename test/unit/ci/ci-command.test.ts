// `vmlive ci github|gitlab` as a user runs it, on the repository's own
// images: what it writes, what it refuses to overwrite, its usage errors.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import type { Io } from "../../../src/cli/io.js";
import { main } from "../../../src/cli/main.js";
import { listImageNames } from "../../../src/images/locate.js";
import { tempDir } from "../../support/tmp.js";

async function vmlive(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const io: Io = {
    out: (t) => void (out += t.endsWith("\n") ? t : t + "\n"),
    err: (t) => void (err += t + "\n"),
  };
  const code = await main(args, io);
  return { code, out, err };
}

describe("vmlive ci", () => {
  it("writes the GitHub workflow for every image, each for its own arch", async () => {
    const file = path.join(tempDir("vmlive-ci-"), ".github", "workflows", "vmlive.yml");
    const r = await vmlive(["ci", "github", "--all", "--output", file]);
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    expect(r.out).toMatch(new RegExp(`^wrote ${file}: ${listImageNames().length} build jobs \\(`));
    const w = parse(readFileSync(file, "utf8")) as {
      jobs: { build: { strategy: { matrix: { include: { image: string; arch: string }[] } } } };
    };
    const pairs = w.jobs.build.strategy.matrix.include.map((e) => `${e.image}:${e.arch}`);
    expect(pairs).toEqual(
      expect.arrayContaining(["live-minimal:amd64", "trixie-arm64:arm64", "trixie-armhf:armhf"]),
    );
    expect(pairs).toHaveLength(listImageNames().length);
    expect(readFileSync(file, "utf8")).toContain(`#   ./bin/vmlive.js ci github --all --output ${file}`);
  });

  it("prints the GitLab pipeline with -o -, for the images and arches named", async () => {
    const r = await vmlive(["ci", "gitlab", "live-minimal", "--arch", "amd64,i386", "-o", "-"]);
    expect(r.code).toBe(0);
    const p = parse(r.out) as { build: { parallel: { matrix: Record<string, string>[] } } };
    expect(p.build.parallel.matrix.map((e) => `${e.IMAGE}:${e.ARCH}:${e.SUITE}`)).toEqual([
      "live-minimal:amd64:bookworm",
      "live-minimal:i386:bookworm",
    ]);
  });

  it("replaces a file it wrote, but not someone else's unless --force", async () => {
    const d = tempDir("vmlive-ci-own-");
    const file = path.join(d, ".gitlab-ci.yml");
    expect((await vmlive(["ci", "gitlab", "live-minimal", "-o", file])).code).toBe(0);
    expect((await vmlive(["ci", "gitlab", "xfce-desktop", "-o", file])).code).toBe(0);
    expect(readFileSync(file, "utf8")).toContain("IMAGE: xfce-desktop");

    writeFileSync(file, "# my own pipeline\ntest:\n  script: [make]\n");
    const refused = await vmlive(["ci", "gitlab", "live-minimal", "-o", file]);
    expect(refused.code).toBe(2);
    expect(refused.err).toContain(`${file} exists and was not written by vmlive`);
    expect(refused.err).toContain("--force");
    expect(readFileSync(file, "utf8")).toBe("# my own pipeline\ntest:\n  script: [make]\n");

    expect((await vmlive(["ci", "gitlab", "live-minimal", "-o", file, "--force"])).code).toBe(0);
    expect(readFileSync(file, "utf8")).toContain("IMAGE: live-minimal");
  });

  it.each([
    [["ci", "github"], "name the images the CI file builds, or give --all"],
    [["ci", "github", "--all", "--arch", "sparc"], "--arch sparc: not an architecture vmlive builds"],
    [["ci", "github", "--all", "--schedule", "every night"], '--schedule "every night": has 2 fields, not 5'],
    [["ci", "gitlab", "--all", "--runs-on", "a b"], '--runs-on "a b": not a runner label'],
    [["ci", "github", "no-such-image"], 'no image named "no-such-image"'],
    [["ci", "jenkins", "--all"], "Unknown argument"],
    [["ci"], "name the CI engine: github or gitlab"],
  ])("refuses %j with exit 2", async (args, message) => {
    const d = tempDir("vmlive-ci-bad-");
    const file = path.join(d, "out.yml");
    const r = await vmlive([...args, ...(args.length > 1 ? ["-o", file] : [])]);
    expect(r.err).toContain(message);
    expect(r.code).toBe(2);
    expect(existsSync(file)).toBe(false);
  });

  it("refuses a folder as the output file", async () => {
    const d = tempDir("vmlive-ci-dir-");
    const r = await vmlive(["ci", "github", "--all", "-o", d]);
    expect(r.err).toContain(`${d} is a folder`);
    expect(r.code).toBe(2);
  });

  it("explains every option in --help, with examples", async () => {
    const r = await vmlive(["ci", "github", "--help"]);
    expect(r.code).toBe(0);
    for (const o of [
      "--all",
      "--arch",
      "--output",
      "--schedule",
      "--backend",
      "--runs-on",
      "--force",
      "Examples:",
    ])
      expect(r.out).toContain(o);
  });
});
