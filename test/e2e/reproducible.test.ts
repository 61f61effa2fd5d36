// `vmlive build --check-reproducible` for real, with --backend host, on the
// small nightly image: two builds from scratch with one SOURCE_DATE_EPOCH
// must give the same squashfs and ISO, byte for byte. The sha256 the run
// reports is checked against the ISO it leaves, and the squashfs one against
// the squashfs xorriso extracts from it.
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { PROJECT_ROOT } from "../../src/paths.js";
import type { BuildReport } from "../../src/report/report.js";
import { sha256File } from "../../src/util/sha256.js";
import { vmlive } from "../support/cli.js";
import { tempDir } from "../support/tmp.js";

const isRoot = process.getuid?.() === 0;
const tmp = tempDir("vmlive-e2e-repro-");
const out = path.join(tmp, "out");
const EPOCH = "1764547200";

describe.runIf(isRoot)("vmlive build nightly-a --backend host --check-reproducible", () => {
  let r: Awaited<ReturnType<typeof vmlive>>;

  beforeAll(async () => {
    r = await vmlive(
      // zstd level 3 instead of mksquashfs's 15: two builds fit the test's budget on a 2-core machine.
      [
        ...["build", "nightly-a", "--backend", "host", "--check-reproducible", "--quiet", "--out", out],
        ...["--set", "squashfs.level=3"],
      ],
      {
        env: {
          VMLIVE_IMAGES: path.join(PROJECT_ROOT, "test", "fixtures", "nightly", "images"),
          VMLIVE_WORK_DIR: path.join(tmp, "work"),
          SOURCE_DATE_EPOCH: EPOCH,
        },
      },
    );
  });

  it("exits 0 and says both images are identical, with the epoch it took from the environment", () => {
    expect(r.exitCode, r.all).toBe(0);
    expect(r.all).toContain(`SOURCE_DATE_EPOCH=${EPOCH} (2025-12-01T00:00:00.000Z), from the environment`);
    expect(r.all).toMatch(
      /reproducible: squashfs SHA256 [0-9a-f]{64}, ISO SHA256 [0-9a-f]{64} identical in both builds/,
    );
  });

  it("leaves only the first build's folder, whose ISO and squashfs have the reported sha256", async () => {
    const dirs = readdirSync(out).filter(
      (d) => d.startsWith("nightly-a-bookworm-amd64-2") || d.startsWith("."),
    );
    expect(dirs).toHaveLength(1);
    const dir = path.join(out, dirs[0]!);
    const report = JSON.parse(readFileSync(path.join(dir, "report.json"), "utf8")) as BuildReport;
    expect(report.status).toBe("success");
    expect(report.sourceDateEpoch).toBe(Number(EPOCH));
    const iso = path.join(dir, "nightly-a-bookworm-amd64.iso");
    const [, sqSha, isoSha] = /squashfs SHA256 ([0-9a-f]{64}), ISO SHA256 ([0-9a-f]{64})/.exec(r.all)!;
    expect(await sha256File(iso)).toBe(isoSha);
    const sq = path.join(tmp, "filesystem.squashfs");
    execFileSync("xorriso", ["-osirrox", "on", "-indev", iso, "-extract", "/live/filesystem.squashfs", sq], {
      stdio: "ignore",
    });
    expect(await sha256File(sq)).toBe(sqSha);
    // The second build's work area is gone; the first's is kept as any build's is.
    expect(existsSync(path.join(tmp, "work", ".repro", "nightly-a-amd64", "host"))).toBe(false);
    expect(existsSync(path.join(tmp, "work", "nightly-a-amd64", "host"))).toBe(true);
  });
});
