// Debian version ordering, checked on the cases that trip up naive comparisons.
// test/integration/history-dpkg-versions.test.ts checks it against dpkg itself.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { compareVersions, parseVersion } from "../../../src/history/debian-version.js";

const sign = (n: number) => (n > 0 ? 1 : n < 0 ? -1 : 0);

describe("compareVersions", () => {
  it.each([
    // epoch beats everything after it
    ["1:2.0", "3.0", 1],
    ["1:2.0", "1:2.0", 0],
    ["2.0", "0:2.0", 0],
    ["1:1.0", "2:0.1", -1],
    // ~ sorts before the end, even before an empty string
    ["2.0~rc1", "2.0", -1],
    ["2.0~rc1", "2.0~rc2", -1],
    ["2.0~~", "2.0~", -1],
    ["2.0~rc1", "2.0~beta1", 1],
    // + sorts after the end: a stable update is newer than the release
    ["1.0+deb12u1", "1.0", 1],
    ["1.0+deb12u1", "1.0+deb12u2", -1],
    ["2.36-9+deb12u8", "2.36-9+deb12u10", -1],
    // digits compare by value, leading zeros do not count
    ["1.10", "1.9", 1],
    ["1.010", "1.10", 0],
    ["1.0", "1.0.0", -1],
    // letters before other characters
    ["1.0a", "1.0+", -1],
    ["1.0a", "1.0.", -1],
    // the revision is after the last hyphen, and a missing one equals 0
    ["1.0-1", "1.0-2", -1],
    ["1.0-0", "1.0", 0],
    ["1.2-3-4", "1.2-3-5", -1],
    ["1.2-3-4", "1.2-3", 1],
    ["7.2-1+deb12u1", "7.2-1", 1],
    ["1:20230131", "20230131", 1],
  ])("%s vs %s: %i", (a, b, want) => {
    expect(sign(compareVersions(a, b))).toBe(want);
    expect(sign(compareVersions(b, a))).toBe(sign(-want));
  });

  it("splits epoch, upstream and revision where dpkg does", () => {
    expect(parseVersion("1:2.0-3-4")).toEqual({ epoch: 1, upstream: "2.0-3", revision: "4" });
    expect(parseVersion("2.0~rc1")).toEqual({ epoch: 0, upstream: "2.0~rc1", revision: "" });
  });

  it("refuses an epoch that is not a number", () => {
    expect(() => parseVersion("a:1.0")).toThrow('not a Debian version: "a:1.0" (bad epoch)');
  });

  const version = fc
    .tuple(
      fc.option(fc.nat(3), { nil: undefined }),
      fc.stringMatching(/^[0-9][0-9a-z.+~]{0,6}$/),
      fc.option(fc.stringMatching(/^[0-9a-z.+~]{1,4}$/), { nil: undefined }),
    )
    .map(([e, u, r]) => `${e === undefined ? "" : `${e}:`}${u}${r === undefined ? "" : `-${r}`}`);

  it("is a total order: antisymmetric and transitive", () => {
    fc.assert(
      fc.property(version, version, version, (a, b, c) => {
        expect(sign(compareVersions(a, b))).toBe(sign(-compareVersions(b, a)));
        if (compareVersions(a, b) <= 0 && compareVersions(b, c) <= 0)
          expect(compareVersions(a, c)).toBeLessThanOrEqual(0);
      }),
      { numRuns: 2000 },
    );
  });
});
