// `vmlive build` as a user meets it: usage errors before anything starts
// (exit 2, nothing in --out), and a run of several builds that ends with a
// table and exit code 1 when builds fail.
import { existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { vmliveBuild } from "../../support/build-in-process.js";
import { vmlive } from "../../support/cli.js";
import { tempDir } from "../../support/tmp.js";

/** An image folder holding `yaml` after a description line. */
function image(name: string, yaml = ""): string {
  const dir = path.join(tempDir("vmlive-build-cli-"), name);
  mkdirSync(dir);
  writeFileSync(path.join(dir, "image.yaml"), `description: ${name}\n${yaml}`);
  return dir;
}

describe("vmlive build, refusing before anything starts", () => {
  it.each([
    [[], "vmlive: name the images to build, or --all for every image under images/"],
    [["live-minimal", "--arch", "amd64,mips"], "vmlive: --arch mips: not an architecture vmlive builds"],
    [["live-minimal", "no-such-image"], 'vmlive: no image named "no-such-image" under images/'],
  ])("%j: exit 2, says why, creates nothing in --out", async (args, message) => {
    const out = path.join(tempDir("vmlive-build-out-"), "out");
    const r = await vmlive(["build", ...args, "--out", out]);
    expect(r.stderr).toContain(message);
    expect(r.stdout).toBe("");
    expect(r.exitCode).toBe(2);
    expect(existsSync(out)).toBe(false);
  });

  it.each([
    [["live-minimal", "--jobs", "0"], "--jobs 0: not a whole number of 1 or more"],
    [["live-minimal", "--jobs", "two"], "--jobs: not a whole number of 1 or more"],
    [["live-minimal", "--keep", "-1"], "--keep -1: not a whole number of 0 or more"],
    [
      ["live-minimal", "--json", "--progress", "tty"],
      "--json and --progress tty ask for two different displays",
    ],
    [["live-minimal", "--ref", "v1"], "--ref names a commit of the --git repository"],
    [["live-minimal", "--progress", "fancy"], "Invalid values"],
  ])("%j: a usage error", async (args, message) => {
    const r = await vmliveBuild(args);
    expect(r.err).toContain(message);
    expect(r.code).toBe(2);
  });

  it("lists the config problems of every image, and builds none of them", async () => {
    const out = path.join(tempDir("vmlive-build-out-"), "out");
    const r = await vmliveBuild([
      image("one", "suite: potato\n"),
      image("two", "arch: mips\n"),
      "--out",
      out,
    ]);
    expect(r.err).toMatch(/one\/image\.yaml:2: suite: not a Debian suite/);
    expect(r.err).toMatch(/two\/image\.yaml:2: arch: not an architecture vmlive builds/);
    expect(r.err).toContain("vmlive: 2 problems in the image config; nothing was built.");
    expect(r.code).toBe(2);
    expect(existsSync(out)).toBe(false);
  });

  it("explains every option in --help, with examples", async () => {
    const r = await vmliveBuild(["--help"]);
    for (const flag of [
      "--all",
      "--arch",
      "--jobs",
      "--keep-going",
      "--progress",
      "--json",
      "--keep ",
      "--scratch",
      "--git",
      "--ref",
      "--sign",
    ])
      expect(r.out).toContain(flag);
    expect(r.out).toContain("vmlive build --all --arch amd64,arm64");
    expect(r.out).toMatch(/exit code 0 when\s+all\s+passed, 1 when\s+any\s+failed/);
    expect(r.code).toBe(0);
  });
});

describe("vmlive build of several images", () => {
  // --boot-test refuses an image without a serial console when its build starts: a build
  // that fails at once, after every image passed the checks of the run.
  const noConsole = () => [image("first"), image("second")];

  it("ends with a table of the builds on stderr and exit 1; without --keep-going the rest never start", async () => {
    const out = tempDir("vmlive-build-out-");
    const r = await vmliveBuild([...noConsole(), "--boot-test", "--out", out, "--progress", "plain"]);
    expect(r.code).toBe(1);
    expect(r.out).toBe("");
    const table = r.err.slice(r.err.indexOf("image  "));
    expect(table.split("\n").slice(0, 3)).toEqual([
      expect.stringMatching(/^image +suite +arch +status +time +ISO +output folder or error$/),
      expect.stringMatching(/^first +bookworm +amd64 +FAILED .*the boot test watches the serial console/),
      expect.stringMatching(/^second +bookworm +amd64 +not started +- +- +-$/),
    ]);
    expect(r.err).toContain("2 builds: 0 passed, 1 failed, 1 not started");
    expect(r.err).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ first\/bookworm\/amd64 \[vmlive\] FAILED after/m);
    expect(readdirSync(out)).toEqual([]);
  });

  it("runs every build with --keep-going", async () => {
    const r = await vmliveBuild([
      ...noConsole(),
      "--boot-test",
      "--keep-going",
      "--out",
      tempDir("vmlive-o-"),
    ]);
    expect(r.code).toBe(1);
    expect(r.err).toContain("2 builds: 0 passed, 2 failed");
  });

  it("with one image tells its error as it always did, and prints no table", async () => {
    const r = await vmliveBuild([image("only"), "--boot-test", "--out", tempDir("vmlive-o-")]);
    expect(r.code).toBe(2);
    expect(r.err).toContain("the boot test watches the serial console");
    expect(r.err).not.toContain("output folder or error");
  });

  it("with --json prints only events on stdout, one JSON object a line", async () => {
    const r = await vmliveBuild([...noConsole(), "--boot-test", "--json", "--out", tempDir("vmlive-o-")]);
    const events = r.out
      .trimEnd()
      .split("\n")
      .map((l) => JSON.parse(l) as { type: string });
    expect(events.map((e) => e.type)).toEqual(["run-start", "build-start", "build-end", "run-end"]);
    expect(r.err).toContain("output folder or error");
    expect(r.code).toBe(1);
  });
});
