import { existsSync, mkdirSync, readlinkSync, readdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { buildFolders, foldersToPrune, pointLatest, prune } from "../../../src/output/retention.js";
import { tempDir } from "../../support/tmp.js";

const P = "live-minimal-bookworm-amd64";

describe("build folders", () => {
  it("finds one image/suite/arch's folders, oldest first, and nothing of a longer name", () => {
    const names = [
      `${P}-20261202-010000`,
      `${P}-20261201-010000.failed`,
      `${P}-20261201-010000`,
      `${P}-latest`,
      `${P}-extra-bookworm-amd64-20261201-010000`,
      `.${P}-20261203-010000.partial`,
      `live-minimal-trixie-amd64-20261201-010000`,
    ];
    expect(buildFolders(P, names).map((f) => f.name)).toEqual([
      `${P}-20261201-010000`,
      `${P}-20261201-010000.failed`,
      `${P}-20261202-010000`,
    ]);
  });
});

describe("--keep", () => {
  const f = (stamp: string, failed = false) => ({
    name: `${P}-${stamp}${failed ? ".failed" : ""}`,
    stamp,
    failed,
  });
  const nights = [
    f("20261201-010000"),
    f("20261202-010000", true),
    f("20261203-010000"),
    f("20261204-010000"),
    f("20261205-010000", true),
  ];

  it("keeps the N newest passed builds and the failures since the oldest of them", () => {
    expect(foldersToPrune(nights, 2).map((x) => x.stamp)).toEqual(["20261201-010000", "20261202-010000"]);
    expect(foldersToPrune(nights, 1).map((x) => x.stamp)).toEqual([
      "20261201-010000",
      "20261202-010000",
      "20261203-010000",
    ]);
  });

  it("0 keeps everything; with fewer passed builds than N only old failures beyond N go", () => {
    expect(foldersToPrune(nights, 0)).toEqual([]);
    expect(foldersToPrune(nights, 3)).toEqual([]);
    const failures = [f("20261201-010000", true), f("20261202-010000", true), f("20261203-010000", true)];
    expect(foldersToPrune(failures, 2).map((x) => x.stamp)).toEqual(["20261201-010000"]);
  });

  it("removes the folders on disk, never the one latest points to, and keeps other images", async () => {
    const out = tempDir("vmlive-out-");
    for (const n of [...nights.map((x) => x.name), "other-bookworm-amd64-20261201-010000"]) {
      mkdirSync(path.join(out, n));
      writeFileSync(path.join(out, n, "report.json"), "{}");
    }
    // latest is pinned to an old build (say a newer one was removed by hand): it stays.
    await pointLatest(out, P, nights[0]!.name);
    const gone = await prune(out, P, 1);
    expect(gone).toEqual([nights[1]!.name, nights[2]!.name]);
    expect(readdirSync(out).sort()).toEqual(
      [
        nights[0]!.name,
        nights[3]!.name,
        nights[4]!.name,
        `${P}-latest`,
        "other-bookworm-amd64-20261201-010000",
      ].sort(),
    );
  });
});

describe("latest", () => {
  it("is a relative symlink, replaced in place, and refuses to replace a real folder", async () => {
    const out = tempDir("vmlive-out-");
    mkdirSync(path.join(out, `${P}-20261201-010000`));
    mkdirSync(path.join(out, `${P}-20261202-010000`));
    await pointLatest(out, P, `${P}-20261201-010000`);
    const link = await pointLatest(out, P, `${P}-20261202-010000`);
    expect(readlinkSync(link)).toBe(`${P}-20261202-010000`);
    expect(existsSync(path.join(link, "."))).toBe(true);
    expect(readdirSync(out).filter((n) => n.includes(".new-"))).toEqual([]);

    mkdirSync(path.join(out, "x-bookworm-amd64-latest"));
    await expect(pointLatest(out, "x-bookworm-amd64", `${P}-20261201-010000`)).rejects.toThrow(
      /is not a symlink/,
    );
  });
});
