// A nightly run for real, with --backend host: two small images and one that
// fails at once, in one `vmlive build --keep-going --jobs 2`; then the first
// image again with one more package, and `vmlive history` and `vmlive diff`
// on what was recorded. The folders, checksums, JUnit files and summaries are
// read with real parsers and compared with the files.
import { existsSync, readdirSync, readFileSync, readlinkSync } from "node:fs";
import path from "node:path";
import { XMLParser } from "fast-xml-parser";
import { beforeAll, describe, expect, it } from "vitest";
import type { BuildReport } from "../../src/report/report.js";
import { PROJECT_ROOT } from "../../src/paths.js";
import { sha256File } from "../../src/util/sha256.js";
import { vmlive } from "../support/cli.js";
import { tempDir } from "../support/tmp.js";

const isRoot = process.getuid?.() === 0;
const tmp = tempDir("vmlive-e2e-nightly-");
const out = path.join(tmp, "out");
const env = {
  VMLIVE_IMAGES: path.join(PROJECT_ROOT, "test", "fixtures", "nightly", "images"),
  VMLIVE_WORK_DIR: path.join(tmp, "work"),
};
const folders = (image: string) =>
  readdirSync(out)
    .filter((d) => d.startsWith(`${image}-bookworm-amd64-`) && /\d{6}(\.failed)?$/.test(d))
    .sort();
const report = (dir: string) =>
  JSON.parse(readFileSync(path.join(out, dir, "report.json"), "utf8")) as BuildReport;

describe.runIf(isRoot)("a nightly run of several images", () => {
  let first: Awaited<ReturnType<typeof vmlive>>;

  beforeAll(async () => {
    first = await vmlive(
      [
        ...["build", "nightly-a", "nightly-b", "nightly-broken"],
        ...["--backend", "host", "--keep-going", "--jobs", "2", "--quiet", "--out", out],
      ],
      { env },
    );
  });

  it("builds the two good images although the third fails, and exits 1", () => {
    expect(first.exitCode, first.all).toBe(1);
    expect(folders("nightly-a")).toHaveLength(1);
    expect(folders("nightly-b")).toHaveLength(1);
    expect(folders("nightly-broken")).toEqual([expect.stringMatching(/\.failed$/)]);
    for (const image of ["nightly-a", "nightly-b"]) {
      expect(report(folders(image)[0]!).status).toBe("success");
      expect(readlinkSync(path.join(out, `${image}-bookworm-amd64-latest`))).toBe(folders(image)[0]);
    }
    expect(existsSync(path.join(out, "nightly-broken-bookworm-amd64-latest"))).toBe(false);
    const broken = report(folders("nightly-broken")[0]!);
    expect(broken.status).toBe("failed");
    expect(broken.error).toContain("127.0.0.1:9");
  });

  it("ends with a table of the three builds", () => {
    const table = first.stderr.slice(first.stderr.lastIndexOf("nightly-a") - 200);
    for (const image of ["nightly-a", "nightly-b", "nightly-broken"]) expect(table).toContain(image);
    expect(first.stderr).toMatch(/nightly-broken.*failed/);
  });

  it("gives each folder checksums that match its files, and JUnit XML that parses", async () => {
    for (const dir of [...folders("nightly-a"), ...folders("nightly-b")]) {
      const r = report(dir);
      expect((r.artifacts ?? []).map((a) => a.name)).toEqual(
        expect.arrayContaining([expect.stringMatching(/\.iso$/), "manifest.tsv", "SHA256SUMS"]),
      );
      for (const a of r.artifacts ?? [])
        expect(await sha256File(path.join(out, dir, a.name)), a.name).toBe(a.sha256);
      const sums = readFileSync(path.join(out, dir, "SHA256SUMS"), "utf8");
      for (const line of sums.trim().split("\n")) {
        const [hash, name] = line.split(/\s+\*?/);
        expect(await sha256File(path.join(out, dir, name!))).toBe(hash);
      }
      const junit = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: "" }).parse(
        readFileSync(path.join(out, dir, "junit.xml"), "utf8"),
      );
      expect(junit.testsuites).toBeDefined();
    }
  });

  it("records every build in the history, and diffs a rebuild with one more package", async () => {
    const again = await vmlive(
      ["build", "nightly-a", "--backend", "host", "--quiet", "--out", out, "--set", "packages=[less, nano]"],
      { env },
    );
    expect(again.exitCode, again.all).toBe(0);
    expect(folders("nightly-a")).toHaveLength(2);

    const history = await vmlive(["history", "--out", out, "--json"], { env });
    expect(history.exitCode, history.all).toBe(0);
    const rows = JSON.parse(history.stdout) as { image: string; status: string }[];
    expect(rows.map((r) => `${r.image} ${r.status}`).sort()).toEqual([
      "nightly-a success",
      "nightly-a success",
      "nightly-b success",
      "nightly-broken failed",
    ]);

    const diff = await vmlive(["diff", "nightly-a", "--out", out], { env });
    expect(diff.exitCode, diff.all).toBe(0);
    expect(diff.stdout).toMatch(/added[^\n]*\n?[^\n]*nano/i);
    const json = await vmlive(["diff", "nightly-a", "--out", out, "--json"], { env });
    const d = JSON.parse(json.stdout) as { packages: { added: { name: string }[] } };
    expect(d.packages.added.map((p) => p.name)).toContain("nano");
    expect(d.packages.added.map((p) => p.name)).not.toContain("less");
  });

  it("keeps a --scratch build out of the history and off the latest pointer", async () => {
    const latest = readlinkSync(path.join(out, "nightly-a-bookworm-amd64-latest"));
    const r = await vmlive(
      ["build", "nightly-a", "--backend", "host", "--quiet", "--out", out, "--steps", "collect", "--scratch"],
      { env },
    );
    expect(r.exitCode, r.all).toBe(0);
    expect(existsSync(r.stdout.trim())).toBe(true);
    expect(readlinkSync(path.join(out, "nightly-a-bookworm-amd64-latest"))).toBe(latest);
    const history = await vmlive(["history", "nightly-a", "--out", out, "--json"], { env });
    expect((JSON.parse(history.stdout) as unknown[]).length).toBe(2);
  });

  it("gathers the folders into one summary that goes red for the failed build", async () => {
    const r = await vmlive(["summary", out], { env });
    expect(r.exitCode, r.all).toBe(1);
    for (const image of ["nightly-a", "nightly-b", "nightly-broken"]) expect(r.stdout).toContain(image);
  });
});
