import { existsSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { PROJECT_ROOT } from "../../../src/paths.js";
import { UsageError } from "../../../src/errors.js";
import {
  buildTwiceAndCompare,
  describeComparison,
  parseSourceDateEpoch,
  secondWorkRoot,
  type BuildComparison,
} from "../../../src/pipeline/reproducible.js";
import { vmliveBuild } from "../../support/build-in-process.js";
import { tempDir } from "../../support/tmp.js";

const A = "a".repeat(64);
const B = "b".repeat(64);

describe("describeComparison", () => {
  it("says both hashes when everything is identical", () => {
    const c: BuildComparison = { iso: { a: A, b: A }, squashfs: { a: B, b: B } };
    expect(describeComparison(c)).toBe(
      `reproducible: squashfs SHA256 ${B}, ISO SHA256 ${A} identical in both builds`,
    );
  });

  it("names the first differing path and what differs, and the ISO's first byte", () => {
    const c: BuildComparison = {
      iso: { a: A, b: B },
      squashfs: { a: A, b: B },
      isoOffset: 123456,
      isoWhere: "file /live/filesystem.squashfs (byte 1000 of it)",
      squashfsDiff: {
        differing: 3,
        first: {
          path: "/var/log/dpkg.log",
          differences: ["content (first difference at byte 0)", "mtime x vs y"],
        },
      },
    };
    const text = describeComparison(c);
    expect(text).toMatch(/^not reproducible:/);
    expect(text).toContain(
      "first difference: /var/log/dpkg.log: content (first difference at byte 0); mtime x vs y (3 entries differ in all)",
    );
    expect(text).toContain("first at byte 123456, file /live/filesystem.squashfs (byte 1000 of it)");
  });

  it("says the squashfs is identical when only the ISO differs", () => {
    const c: BuildComparison = {
      iso: { a: A, b: B },
      squashfs: { a: A, b: A },
      isoOffset: 40000,
      isoWhere: "file /boot/grub/efi.img (byte 38 of it)",
    };
    expect(describeComparison(c)).toContain(`squashfs identical (SHA256 ${A})`);
    expect(describeComparison(c)).toContain("first at byte 40000, file /boot/grub/efi.img");
  });

  it("says so when every entry is the same but the images are not", () => {
    const c: BuildComparison = {
      iso: { a: A, b: B },
      squashfs: { a: A, b: B },
      squashfsDiff: { differing: 0, superblock: '"Creation or last append time x" vs "… y"' },
    };
    expect(describeComparison(c)).toContain(
      "every entry is the same; the images differ in how they were made",
    );
  });
});

describe("parseSourceDateEpoch", () => {
  it("takes whole seconds and refuses anything else, naming the fix", () => {
    expect(parseSourceDateEpoch("1764547200")).toBe(1764547200);
    expect(() => parseSourceDateEpoch("yesterday")).toThrow(UsageError);
    expect(() => parseSourceDateEpoch("-5")).toThrow(/not a whole number of seconds/);
  });
});

describe("buildTwiceAndCompare", () => {
  it("refuses --steps before building anything", async () => {
    let built = 0;
    const o = {
      image: "x",
      backend: "host" as const,
      accel: "auto" as const,
      clean: false,
      out: "/nonexistent",
      keepVm: false,
      quiet: true,
      steps: ["squash"],
      signal: new AbortController().signal,
    };
    await expect(
      buildTwiceAndCompare(o, () => {
        built++;
        throw new Error("no");
      }),
    ).rejects.toThrow(/cannot take --steps/);
    expect(built).toBe(0);
  });

  it("keeps the second build's work areas apart from the first's", () => {
    expect(secondWorkRoot("/w")).toBe("/w/.repro");
  });
});

describe("vmlive build --check-reproducible on the command line", () => {
  it("is explained in --help, with an example", async () => {
    const r = await vmliveBuild(["--help"]);
    expect(r.out).toMatch(/--check-reproducible\s+build each image twice from scratch/);
    expect(r.out).toContain("SOURCE_DATE_EPOCH=$(git log -1 --format=%ct)");
    expect(r.code).toBe(0);
  });

  it("refuses --steps with exit 2 before anything is built", async () => {
    const out = path.join(tempDir("vmlive-repro-cli-"), "out");
    const image = path.join(PROJECT_ROOT, "test/fixtures/nightly/images/nightly-a");
    const r = await vmliveBuild([
      image,
      "--check-reproducible",
      "--steps",
      "squash",
      "--out",
      out,
      "--quiet",
    ]);
    expect(r.err).toContain("--check-reproducible builds the whole image twice from scratch");
    expect(r.code).toBe(2);
    expect(existsSync(out)).toBe(false);
  });
});
