// What `vmlive diff` finds between two builds, and when it turns that into a failure.
import { describe, expect, it } from "vitest";
import { readBuildFolder } from "../../../src/history/build-folder.js";
import { checkThresholds, diffBuilds, type Thresholds } from "../../../src/history/diff.js";
import { diffText } from "../../../src/history/diff-text.js";
import { diffPackages } from "../../../src/history/package-diff.js";
import { tempDir } from "../../support/tmp.js";
import { BASE_PACKAGES, writeBuild, type FakeBuild } from "./builds.js";

const rows = (m: Record<string, string>) =>
  Object.entries(m).map(([n, version]) => {
    const [name, arch] = n.split(":");
    return { name: name!, version, arch: arch ?? "amd64" };
  });

describe("diffPackages", () => {
  it("sorts changes by Debian version rules, not by text", () => {
    const d = diffPackages(
      rows({ a: "2.0", b: "2.0~rc1", c: "1.0", d: "1.0+deb12u1", e: "9.9", f: "1.0", g: "1.0-0", h: "1.9" }),
      rows({ a: "1:1.0", b: "2.0", c: "1.0+deb12u1", d: "1.0", e: "10.0~rc1", f: "1.0", g: "1.0", i: "1" }),
    );
    expect(d.upgraded).toEqual([
      { name: "a", arch: "amd64", from: "2.0", to: "1:1.0" },
      { name: "b", arch: "amd64", from: "2.0~rc1", to: "2.0" },
      { name: "c", arch: "amd64", from: "1.0", to: "1.0+deb12u1" },
      { name: "e", arch: "amd64", from: "9.9", to: "10.0~rc1" },
    ]);
    expect(d.downgraded).toEqual([{ name: "d", arch: "amd64", from: "1.0+deb12u1", to: "1.0" }]);
    expect(d.added).toEqual([{ name: "i", version: "1", arch: "amd64" }]);
    expect(d.removed).toEqual([{ name: "h", version: "1.9", arch: "amd64" }]);
  });

  it("keeps a package that became Architecture: all, and matches multiarch ones by architecture", () => {
    const d = diffPackages(
      rows({ "x:amd64": "1", "libc6:amd64": "2.36-9", "libc6:i386": "2.36-9" }),
      rows({ "x:all": "2", "libc6:amd64": "2.36-9+deb12u1" }),
    );
    expect(d.upgraded.map((p) => `${p.name}:${p.arch}`)).toEqual(["libc6:amd64", "x:all"]);
    expect(d.removed).toEqual([{ name: "libc6", version: "2.36-9", arch: "i386" }]);
    expect(d.added).toEqual([]);
  });
});

async function twoBuilds(changes: Partial<FakeBuild>) {
  const out = tempDir("vmlive-diff-");
  const a = await readBuildFolder(
    writeBuild(out, {
      started: "2025-01-01T02:00:00.000Z",
      isoBytes: 400 * 2 ** 20,
      squashfsBytes: 380 * 2 ** 20,
      boots: [
        ["cd-bios", true, 30],
        ["usb-uefi", true, 40],
      ],
    }),
  );
  const b = await readBuildFolder(
    writeBuild(out, {
      started: "2025-01-02T02:00:00.000Z",
      isoBytes: 420 * 2 ** 20,
      squashfsBytes: 399 * 2 ** 20,
      boots: [
        ["cd-bios", true, 33],
        ["usb-uefi", true, 40],
      ],
      packages: { ...BASE_PACKAGES, htop: "3.2.2-2", nano: "7.2-1" },
      steps: [
        ["bootstrap", 50],
        ["customize", 260],
        ["squash", 30],
        ["iso", 10],
      ],
      seconds: 350,
      ...changes,
    }),
  );
  return { a: { ...a, id: 1 }, b: { ...b, id: 2 } };
}

describe("diffBuilds", () => {
  it("measures size, boot time and step time changes in bytes, seconds and percent", async () => {
    const { a, b } = await twoBuilds({});
    const d = diffBuilds(a, b);
    expect(d.iso).toEqual({ from: 400 * 2 ** 20, to: 420 * 2 ** 20, delta: 20 * 2 ** 20, percent: 5 });
    expect(d.squashfs.percent).toBeCloseTo(5);
    expect(d.boots).toEqual([
      { way: "cd-bios", fromOk: true, toOk: true, from: 30, to: 33, delta: 3, percent: 10 },
      { way: "usb-uefi", fromOk: true, toOk: true, from: 40, to: 40, delta: 0, percent: 0 },
    ]);
    expect(d.steps.find((s) => s.step === "customize")).toMatchObject({
      from: 200,
      to: 260,
      delta: 60,
      percent: 30,
    });
    expect(d.seconds).toMatchObject({ delta: 50 });
    expect(d.packages).toMatchObject({
      from: 6,
      to: 7,
      added: [{ name: "htop" }],
      downgraded: [{ name: "nano" }],
    });
    expect(d.notes).toEqual([]);

    const text = diffText(d);
    expect(text).toContain("packages: 6 -> 7 (1 added, 0 removed, 0 upgraded, 1 downgraded)");
    expect(text).toMatch(/^ {2}added +htop +3\.2\.2-2$/m);
    expect(text).toMatch(/^ {2}downgraded +nano +7\.2-1\+deb12u1 -> 7\.2-1$/m);
    expect(text).toMatch(/^ {2}ISO +400\.0 MiB -> 420\.0 MiB {2}\+20\.0 MiB \(\+20971520 bytes, \+5\.0%\)$/m);
    expect(text).toMatch(/^ {2}cd-bios +30\.0 s -> 33\.0 s {2}\+3\.0 s \(\+10\.0%\)$/m);
    expect(text).toMatch(/^ {2}customize +3 min 20 s -> 4 min 20 s {2}\+1 min 0 s \(\+30\.0%\)$/m);
  });

  it("says what it cannot compare when a build failed before it had a package list", async () => {
    const { a, b } = await twoBuilds({
      status: "failed",
      packages: null,
      isoBytes: undefined,
      boots: undefined,
    });
    const d = diffBuilds(a, b);
    expect(d.packages).toBeNull();
    expect(d.iso).toEqual({ from: 400 * 2 ** 20, to: null, delta: null, percent: null });
    expect(d.notes).toEqual([
      "build 2 has no package list: no manifest.tsv (the build failed)",
      "build 2 was not boot-tested (vmlive build --boot-test)",
    ]);
    const text = diffText(d);
    expect(text).toContain("packages: not compared (see the notes below)");
    expect(text).toMatch(/^ {2}ISO +400\.0 MiB -> -$/m);
  });
});

describe("checkThresholds", () => {
  const check = async (t: Thresholds, changes = {}) => {
    const { a, b } = await twoBuilds(changes);
    return checkThresholds(diffBuilds(a, b), t).map((r) => r.message);
  };

  it("passes when every change is within its limit", async () => {
    expect(await check({ maxIsoGrowth: 5, maxBootSlowdown: 10, failOnRemoved: true })).toEqual([]);
  });

  it("names the threshold and the measured value of each change past it", async () => {
    expect(await check({ maxIsoGrowth: 4.9, maxBootSlowdown: 9, failOnDowngraded: true })).toEqual([
      "--max-iso-growth 4.9: the ISO grew by 5.0% (400.0 MiB -> 420.0 MiB, +20971520 bytes)",
      "--max-boot-slowdown 9: cd-bios booted 10.0% slower (30.0 s -> 33.0 s)",
      "--fail-on-downgraded: 1 package downgraded: nano",
    ]);
    expect(await check({ failOnRemoved: true }, { packages: { bash: "5.2.15-2+b7" } })).toEqual([
      "--fail-on-removed: 5 packages removed: base, libc6, live-boot, nano, tzdata",
    ]);
  });

  it("fails a way that booted before and no longer does, and a check it cannot make", async () => {
    expect(await check({ maxBootSlowdown: 50 }, { boots: [["cd-bios", false, 600]] })).toEqual([
      "--max-boot-slowdown 50: cd-bios booted in build 1 and failed in build 2",
      "--max-boot-slowdown 50: usb-uefi booted in build 1 but was not tried in build 2",
    ]);
    expect(
      await check(
        { maxIsoGrowth: 5, failOnRemoved: true },
        { status: "failed", packages: null, isoBytes: undefined },
      ),
    ).toEqual([
      "--max-iso-growth 5: cannot be checked: build 2 has no ISO",
      "--fail-on-removed: cannot be checked: build 2 has no package list",
    ]);
  });
});
