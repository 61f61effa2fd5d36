// `vmlive summary`: real build folders made in a temporary folder (nested as
// CI artifact downloads nest them), the Markdown read back as a table, the
// merged junit.xml read with a real XML parser, and the exit codes of the
// command run as a user runs it.
import { XMLParser, XMLValidator } from "fast-xml-parser";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import {
  failureCount,
  findBuildDirs,
  gatherBuilds,
  gatheredMarkdown,
  mergedJunit,
  outcome,
} from "../../../src/report/gather.js";
import { junitXml } from "../../../src/report/junit.js";
import type { BuildReport } from "../../../src/report/report.js";
import { main } from "../../../src/cli/main.js";
import { vmlive } from "../../support/cli.js";
import { tempDir } from "../../support/tmp.js";

function report(over: Partial<BuildReport> = {}): BuildReport {
  return {
    vmlive: "0.1.0",
    image: "live-minimal",
    suite: "bookworm",
    arch: "amd64",
    status: "success",
    started: "2026-12-01T02:00:00.000Z",
    finished: "2026-12-01T02:05:00.000Z",
    seconds: 291.3,
    machine: "host: ci (2 cpu)",
    sourceDateEpoch: 1796090400,
    steps: [
      { step: "bootstrap", seconds: 39.4, ok: true },
      { step: "customize", seconds: 119.1, ok: true },
    ],
    tools: {},
    hooks: [],
    artifacts: [{ name: "live-minimal-bookworm-amd64.iso", bytes: 245_366_784, sha256: "ab".repeat(32) }],
    packages: 168,
    config: {} as BuildReport["config"],
    ...over,
  };
}

const WAYS = ["cd-bios", "cd-uefi", "usb-bios", "usb-uefi"];
const bootTest = (failed: string[] = []): BuildReport["bootTest"] => ({
  ok: failed.length === 0,
  report: "boot/boot-report.json",
  ways: WAYS.map((way) => ({
    way,
    ok: !failed.includes(way),
    seconds: 60,
    screenshots: [],
    commands: [],
    ...(failed.includes(way) && { reason: `no login prompt within 600 s\nlast line: GRUB` }),
  })),
});

/** A build folder as vmlive build leaves it: report.json, junit.xml, logs/. */
function buildFolder(parent: string, name: string, r?: BuildReport | string): string {
  const dir = path.join(parent, name);
  mkdirSync(path.join(dir, "logs"), { recursive: true });
  writeFileSync(path.join(dir, "logs", "build.log"), "log\n");
  if (typeof r === "string") writeFileSync(path.join(dir, "report.json"), r);
  else if (r) {
    writeFileSync(path.join(dir, "report.json"), JSON.stringify(r, null, 2));
    writeFileSync(path.join(dir, "junit.xml"), junitXml(r));
  }
  return dir;
}

/** What a CI run downloads: one folder per artifact, each holding the job's out/ folder contents. */
function ciDownload(): string {
  const root = tempDir("vmlive-gather-");
  buildFolder(path.join(root, "vmlive-live-minimal-amd64"), "live-minimal-bookworm-amd64-20261201-020000", {
    ...report(),
    bootTest: bootTest(),
  });
  buildFolder(
    path.join(root, "vmlive-trixie-arm64-arm64"),
    "trixie-arm64-trixie-arm64-20261201-020500.failed",
    {
      ...report({
        image: "trixie-arm64",
        suite: "trixie",
        arch: "arm64",
        status: "failed",
        seconds: 130,
        error:
          "step customize failed: chroot: apt-get install: exit code 100\nE: Unable to locate package `nosuch`\n```",
        steps: [
          { step: "bootstrap", seconds: 40, ok: true },
          { step: "customize", seconds: 90, ok: false },
        ],
        artifacts: [],
      }),
    },
  );
  buildFolder(path.join(root, "vmlive-bookworm-i386-i386"), "bookworm-i386-bookworm-i386-20261201-021000", {
    ...report({ image: "bookworm-i386", arch: "i386", seconds: 3725 }),
    bootTest: bootTest(["usb-uefi"]),
  });
  // A job killed while writing: the folder's name, no report.json.
  buildFolder(
    path.join(root, "vmlive-xfce-desktop-amd64"),
    "xfce-desktop-bookworm-amd64-20261201-021500.failed",
  );
  buildFolder(
    path.join(root, "vmlive-trixie-armhf-armhf"),
    "trixie-armhf-trixie-armhf-20261201-022000",
    "{ not json",
  );
  // A build still running, and a folder that is no build: neither is gathered.
  buildFolder(
    path.join(root, "vmlive-live-minimal-amd64"),
    ".live-minimal-bookworm-amd64-20261201-030000.partial",
    report(),
  );
  mkdirSync(path.join(root, "vmlive-live-minimal-amd64", "notes"));
  return root;
}

/** The Markdown table's rows, each as its cells. */
function tableRows(md: string): string[][] {
  return md
    .split("\n")
    .filter((l) => l.startsWith("| "))
    .slice(2)
    .map((l) =>
      l
        .slice(2, -2)
        .split(" | ")
        .map((c) => c.trim()),
    );
}

const xml = (text: string) =>
  new XMLParser({
    ignoreAttributes: false,
    attributeNamePrefix: "",
    isArray: (n) => n === "testcase" || n === "testsuite",
  }).parse(text) as {
    testsuites: {
      testsuite: {
        name: string;
        failures: string;
        testcase: { name: string; failure?: { message: string } }[];
      }[];
    };
  };

describe("gathering build folders", () => {
  it("finds every build folder at any depth, and neither dot folders nor other folders", () => {
    const root = ciDownload();
    expect(findBuildDirs(root).map((d) => path.basename(d))).toEqual([
      "bookworm-i386-bookworm-i386-20261201-021000",
      "live-minimal-bookworm-amd64-20261201-020000",
      "trixie-arm64-trixie-arm64-20261201-020500.failed",
      "trixie-armhf-trixie-armhf-20261201-022000",
      "xfce-desktop-bookworm-amd64-20261201-021500.failed",
    ]);
  });

  it("tells each build's outcome, and names the folders whose report.json cannot be read", () => {
    const g = gatherBuilds([ciDownload()]);
    expect(Object.fromEntries(g.builds.map((b) => [`${b.image} ${b.arch}`, outcome(b)]))).toEqual({
      "bookworm-i386 i386": "boot failed",
      "live-minimal amd64": "ok",
      "trixie-arm64 arm64": "failed",
      "trixie-armhf armhf": "unreadable",
      "xfce-desktop amd64": "unreadable",
    });
    expect(g.builds.find((b) => b.image === "xfce-desktop")!.problem).toBe(
      "no report.json in the build folder",
    );
    expect(g.builds.find((b) => b.image === "trixie-armhf")!.problem).toMatch(
      /^report\.json is not valid JSON/,
    );
    expect(failureCount(g)).toBe(4);
  });

  it("says which field of a report.json is wrong", () => {
    const root = tempDir("vmlive-gather-field-");
    buildFolder(root, "x-bookworm-amd64-20261201-020000", JSON.stringify({ ...report(), status: "done" }));
    expect(gatherBuilds([root]).builds[0]!.problem).toMatch(/^report\.json: status: /);
  });

  it("takes a build folder itself, or its report.json, as well as folders holding them", () => {
    const root = ciDownload();
    const one = path.join(root, "vmlive-live-minimal-amd64", "live-minimal-bookworm-amd64-20261201-020000");
    expect(gatherBuilds([one]).builds.map((b) => b.image)).toEqual(["live-minimal"]);
    expect(gatherBuilds([path.join(one, "report.json"), one]).builds).toHaveLength(1);
  });

  it("counts an expected build without any folder as failed", () => {
    const root = ciDownload();
    const g = gatherBuilds(
      [root],
      [
        { image: "live-minimal", arch: "amd64" },
        { image: "live-minimal", arch: "arm64" },
        { image: "live-minimal", arch: "arm64" },
      ],
    );
    expect(g.missing).toEqual([{ image: "live-minimal", arch: "arm64" }]);
    expect(failureCount(g)).toBe(5);
  });
});

describe("the Markdown report", () => {
  const g = gatherBuilds([ciDownload()], [{ image: "live-minimal", arch: "arm64" }]);
  const md = gatheredMarkdown(g);

  it("has a table of every build: image, suite, arch, status, time, ISO size, boot ways ok", () => {
    expect(md.split("\n")[0]).toBe("## vmlive: 6 builds, 1 ok, 5 failed");
    expect(md).toContain("| image | suite | arch | status | time | ISO size | boot ok |");
    expect(tableRows(md)).toEqual([
      ["bookworm-i386", "bookworm", "i386", "built, boot FAILED", "62 min 5 s", "234.0 MiB", "3/4"],
      ["live-minimal", "bookworm", "amd64", "ok", "4 min 51 s", "234.0 MiB", "4/4"],
      ["trixie-arm64", "trixie", "arm64", "FAILED", "2 min 10 s", "-", "-"],
      ["trixie-armhf", "trixie", "armhf", "no report", "-", "-", "-"],
      ["xfce-desktop", "bookworm", "amd64", "no report", "-", "-", "-"],
      ["live-minimal", "-", "arm64", "no build folder", "-", "-", "-"],
    ]);
  });

  it("then each failure: the folder, the failed step and its log, the error, the ways that did not boot", () => {
    const failures = md.slice(md.indexOf("## Failures"));
    const section = (title: string) => {
      const start = failures.indexOf(`### ${title}`);
      expect(start, title).toBeGreaterThanOrEqual(0);
      const end = failures.indexOf("\n### ", start + 1);
      return failures.slice(start, end < 0 ? undefined : end);
    };
    const arm = section("trixie-arm64 trixie arm64: FAILED");
    expect(arm).toMatch(/Folder: `.*trixie-arm64-trixie-arm64-20261201-020500\.failed`/);
    expect(arm).toMatch(
      /Step \*\*customize\*\* failed after 1 min 30 s; the full log is `.*\.failed\/logs\/build\.log`/,
    );
    // The error holds ``` itself, so its block is fenced with more backticks.
    expect(arm).toContain("````text\nstep customize failed: chroot: apt-get install: exit code 100\n");
    expect(arm).toContain("\n```\n````");
    const i386 = section("bookworm-i386 bookworm i386: built, boot FAILED");
    expect(i386).toContain("- boot **usb-uefi** failed: no login prompt within 600 s");
    expect(i386).not.toContain("cd-bios");
    expect(section("xfce-desktop bookworm amd64: no report")).toContain(
      "no report.json in the build folder.",
    );
    expect(section("live-minimal arm64: no build folder")).toContain("stopped before the build began");
    expect(failures).not.toContain("### live-minimal bookworm amd64");
  });

  it("says so when there is nothing to gather", () => {
    const empty = tempDir("vmlive-gather-empty-");
    expect(gatheredMarkdown(gatherBuilds([empty]))).toBe(
      `## vmlive: 0 builds, 0 ok, 0 failed\n\nNo build folders under ${empty}.\n`,
    );
  });
});

describe("the merged junit.xml", () => {
  it("is valid XML with every build's test suites, and a failing suite for each build without a report", () => {
    const text = mergedJunit(gatherBuilds([ciDownload()], [{ image: "live-minimal", arch: "arm64" }]));
    expect(XMLValidator.validate(text)).toBe(true);
    const suites = xml(text).testsuites.testsuite;
    expect(suites.map((s) => `${s.name} ${s.failures}`)).toEqual([
      "build bookworm-i386-bookworm-i386 0",
      "boot bookworm-i386-bookworm-i386 1",
      "build live-minimal-bookworm-amd64 0",
      "boot live-minimal-bookworm-amd64 0",
      "build trixie-arm64-trixie-arm64 1",
      "build trixie-armhf-trixie-armhf 1",
      "build xfce-desktop-bookworm-amd64 1",
      "build live-minimal-arm64 1",
    ]);
    const arm = suites.find((s) => s.name === "build trixie-arm64-trixie-arm64")!;
    expect(arm.testcase.find((c) => c.name === "customize")!.failure!.message).toBe(
      "step customize failed: chroot: apt-get install: exit code 100",
    );
    const broken = suites.find((s) => s.name === "build trixie-armhf-trixie-armhf")!;
    expect(broken.testcase[0]!.failure!.message).toMatch(/report\.json is not valid JSON/);
  });
});

describe("vmlive summary", () => {
  it("exits 0 when every build passed, and writes the merged junit.xml", async () => {
    const root = tempDir("vmlive-summary-ok-");
    buildFolder(path.join(root, "a"), "live-minimal-bookworm-amd64-20261201-020000", {
      ...report(),
      bootTest: bootTest(),
    });
    const junit = path.join(root, "merged", "junit.xml");
    const r = await vmlive(["summary", root, "--junit", junit]);
    expect(r.stderr).toBe("");
    expect(r.exitCode).toBe(0);
    expect(r.stdout.split("\n")[0]).toBe("## vmlive: 1 build, 1 ok, 0 failed");
    expect(XMLValidator.validate(readFileSync(junit, "utf8"))).toBe(true);
  });

  it("exits 1 when a build failed, naming them, after printing the whole report; --no-fail exits 0", async () => {
    const root = ciDownload();
    const r = await vmlive(["summary", root, "--expect", "live-minimal:arm64"]);
    expect(r.exitCode).toBe(1);
    expect(r.stdout).toContain("## Failures");
    expect(r.stderr).toContain(
      "vmlive: 5 of 6 builds failed: bookworm-i386 i386, trixie-arm64 arm64, trixie-armhf armhf, " +
        "xfce-desktop amd64, live-minimal arm64",
    );
  });

  it("exits 0 with --no-fail whatever failed, with the same report", async () => {
    const r = await vmlive(["summary", ciDownload(), "--no-fail"]);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toContain("## Failures");
    expect(r.stderr).toBe("");
  });

  it("exits 1 when there are no build folders at all", async () => {
    const r = await vmlive(["summary", tempDir("vmlive-summary-none-")]);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain("vmlive: no build folders under");
  });

  it("exits 2 for a folder that does not exist, writing nothing", async () => {
    const junit = path.join(tempDir("vmlive-summary-bad-"), "junit.xml");
    const r = await vmlive(["summary", "/nonexistent/builds", "--junit", junit]);
    expect(r.stderr).toContain("vmlive: /nonexistent/builds does not exist");
    expect(r.exitCode).toBe(2);
    expect(existsSync(junit)).toBe(false);
  });

  it.each([
    [["summary", ".", "--expect", "live-minimal"], "--expect live-minimal: not IMAGE:ARCH"],
    [["summary", ".", "--expect", "live-minimal:mips"], "--expect live-minimal:mips: not IMAGE:ARCH"],
    [["summary"], "Not enough non-option arguments"],
  ])("refuses %j as a usage error", async (args, message) => {
    let err = "";
    const code = await main(args, { out: () => {}, err: (t) => void (err += t) });
    expect(err).toContain(message);
    expect(code).toBe(2);
  });
});
