// `vmlive history` and `vmlive diff` as a user runs them: output and exit codes.
import { existsSync } from "node:fs";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import type { Io } from "../../../src/cli/io.js";
import { main } from "../../../src/cli/main.js";
import { historyFile } from "../../../src/history/open.js";
import { recordBuild } from "../../../src/history/record.js";
import { vmlive } from "../../support/cli.js";
import { tempDir } from "../../support/tmp.js";
import { BASE_PACKAGES, writeBuild } from "./builds.js";

const out = tempDir("vmlive-history-cli-");
const dirs: string[] = [];

beforeAll(async () => {
  const file = historyFile(out);
  const boots = (s: number): [string, boolean, number][] => [
    ["cd-bios", true, s],
    ["usb-uefi", true, s + 5],
  ];
  dirs.push(
    writeBuild(out, { started: "2025-01-01T02:00:00.000Z", isoBytes: 400_000_000, boots: boots(30) }),
    writeBuild(out, { started: "2025-01-02T02:00:00.000Z", status: "failed", packages: null, seconds: 70 }),
    // The config gained htop, and a stable update brought a new libc6.
    writeBuild(out, {
      started: "2025-01-03T02:00:00.000Z",
      isoBytes: 412_000_000,
      boots: boots(31),
      packages: { ...BASE_PACKAGES, htop: "3.2.2-2", libc6: "2.36-9+deb12u9" },
    }),
    writeBuild(out, { image: "xfce-desktop", started: "2025-01-04T02:00:00.000Z", isoBytes: 1_500_000_000 }),
  );
  for (const d of dirs) await recordBuild(file, d);
});

async function inProcess(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let o = "";
  let e = "";
  const io: Io = { out: (t) => void (o += t + "\n"), err: (t) => void (e += t + "\n") };
  const code = await main(args, io);
  return { code, out: o, err: e };
}

describe("vmlive history", () => {
  it("lists the builds newest first, one line each", async () => {
    const r = await vmlive(["history", "--out", out]);
    expect(r.exitCode).toBe(0);
    const lines = r.stdout.split("\n");
    expect(lines[0]).toMatch(/^id +date +image +suite +arch +status +time +ISO +packages +boot +folder$/);
    expect(lines.slice(1).map((l) => l.split(/ {2,}/)[0])).toEqual(["4", "3", "2", "1"]);
    expect(lines[2]).toMatch(
      /^3 +2025-01-03 02:00 +live-minimal +bookworm +amd64 +success +5 min 0 s +392\.9 MiB +7 +2\/2 ok +live-minimal-bookworm-amd64-20250103-020000$/,
    );
    expect(lines[3]).toMatch(
      / failed +1 min 10 s +- +- +- +live-minimal-bookworm-amd64-20250102-020000\.failed$/,
    );
  });

  it("filters and prints JSON rows", async () => {
    const r = await inProcess(["history", "live-minimal", "--status", "success", "--json", "--out", out]);
    expect(r.code).toBe(0);
    const rows = JSON.parse(r.out) as { id: number; isoBytes: number; boot: unknown }[];
    expect(rows.map((x) => x.id)).toEqual([3, 1]);
    expect(rows[0]).toMatchObject({ isoBytes: 412_000_000, boot: { ok: 2, ways: 2 }, packages: 7 });
    const limited = await inProcess(["history", "--limit", "1", "--out", out]);
    expect(limited.out).toContain("(the newest 1 of 4; --limit 0 shows all)");
  });

  it("says where it looked when there is no history, and creates none", async () => {
    const empty = tempDir("vmlive-history-empty-");
    const r = await vmlive(["history", "--out", empty]);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toBe(
      `no builds recorded in ${empty}/history.sqlite yet: every \`vmlive build --out ${empty}\` records its build there`,
    );
    expect(existsSync(historyFile(empty))).toBe(false);
    const none = await inProcess(["history", "live-minimal", "--suite", "sid", "--out", out]);
    expect(none.out).toContain(`no builds in ${out}/history.sqlite match live-minimal --suite sid`);
  });

  it("refuses a negative --limit", async () => {
    const r = await inProcess(["history", "--limit", "-1", "--out", out]);
    expect(r.code).toBe(2);
    expect(r.err).toContain("--limit -1: not a number of builds");
  });
});

describe("vmlive diff", () => {
  it("compares an image's latest two successful builds: the package its config added", async () => {
    const r = await vmlive(["diff", "live-minimal", "--out", out]);
    expect(r.stderr).toBe("");
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toMatch(
      /^build 1 \(live-minimal-bookworm-amd64-20250101-020000\): live-minimal bookworm amd64/,
    );
    expect(r.stdout).toContain("packages: 6 -> 7 (1 added, 0 removed, 1 upgraded, 0 downgraded)");
    expect(r.stdout).toMatch(/^ {2}added +htop +3\.2\.2-2$/m);
    expect(r.stdout).toMatch(/^ {2}upgraded +libc6 +2\.36-9\+deb12u8 -> 2\.36-9\+deb12u9$/m);
    expect(r.stdout).toMatch(
      /^ {2}ISO +381\.5 MiB -> 392\.9 MiB {2}\+11\.4 MiB \(\+12000000 bytes, \+3\.0%\)$/m,
    );
    expect(r.stdout).toMatch(/^ {2}usb-uefi +35\.0 s -> 36\.0 s {2}\+1\.0 s \(\+2\.9%\)$/m);
  });

  it("exits 1 naming each threshold crossed and what was measured", async () => {
    const r = await vmlive([
      "diff",
      "live-minimal",
      "--out",
      out,
      "--max-iso-growth",
      "2",
      "--max-boot-slowdown",
      "3",
    ]);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toBe(
      "vmlive: build 3 crosses 2 thresholds against build 1:\n" +
        "  --max-iso-growth 2: the ISO grew by 3.0% (381.5 MiB -> 392.9 MiB, +12000000 bytes)\n" +
        "  --max-boot-slowdown 3: cd-bios booted 3.3% slower (30.0 s -> 31.0 s)",
    );
    // The comparison itself is still printed, for the CI log.
    expect(r.stdout).toContain("packages: 6 -> 7");
    const ok = await inProcess([
      "diff",
      "live-minimal",
      "--out",
      out,
      "--max-iso-growth",
      "3.5",
      "--fail-on-removed",
    ]);
    expect(ok.code).toBe(0);
  });

  it("refuses to guess between images", async () => {
    const r = await vmlive(["diff", "--out", out]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain(
      `vmlive: say which builds to compare: ${out}/history.sqlite has builds of 2 images (live-minimal, xfce-desktop)`,
    );
  });

  it("compares an id with the build before it, and two folders, as JSON", async () => {
    const r = await inProcess(["diff", "3", "--json", "--out", out]);
    expect(r.code).toBe(0);
    const d = JSON.parse(r.out) as {
      from: { id: number };
      packages: unknown;
      notes: string[];
      regressions: [];
    };
    expect(d.from.id).toBe(2);
    expect(d.packages).toBeNull();
    expect(d.notes).toContain("build 2 has no package list: no manifest.tsv (the build failed)");
    expect(d.regressions).toEqual([]);

    // Folders work without any history: here, from another output folder.
    const r2 = await inProcess([
      "diff",
      dirs[0]!,
      dirs[2]!,
      "--json",
      "--out",
      tempDir("vmlive-history-none-"),
    ]);
    expect(r2.code).toBe(0);
    const d2 = JSON.parse(r2.out) as { from: { label: string }; packages: { added: { name: string }[] } };
    expect(d2.from.label).toBe(dirs[0]);
    expect(d2.packages.added.map((p) => p.name)).toEqual(["htop"]);
  });

  it.each([
    [["diff", "1"], "build 1 is the first build of live-minimal bookworm amd64 in"],
    [["diff", "99"], "there is no build 99 in"],
    [["diff", "no-such-image"], "no-such-image: not a build id, a build folder or an image with builds in"],
    [["diff", "xfce-desktop"], "build 4 is the only successful build of xfce-desktop bookworm amd64"],
    [["diff", "live-minimal", "--max-iso-growth", "-3"], "--max-iso-growth -3: not a percentage"],
    [["diff", "1", "2", "3"], "Unknown argument: 3"],
  ])("%j is a usage error", async (args, message) => {
    const r = await inProcess([...args, "--out", out]);
    expect(r.err).toContain(message);
    expect(r.code).toBe(2);
  });

  it("explains every option in --help", async () => {
    const r = await inProcess(["diff", "--help"]);
    expect(r.code).toBe(0);
    for (const o of [
      "--out",
      "--json",
      "--max-iso-growth",
      "--max-boot-slowdown",
      "--fail-on-removed",
      "--fail-on-downgraded",
    ])
      expect(r.out).toContain(o);
    expect(path.basename(dirs[0]!)).toBe("live-minimal-bookworm-amd64-20250101-020000");
  });
});
