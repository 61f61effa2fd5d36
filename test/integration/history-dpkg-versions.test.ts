// The diff's version ordering must be dpkg's: random versions, each pair
// compared by compareVersions and by `dpkg --compare-versions`.
import fc from "fast-check";
import { expect, it } from "vitest";
import { compareVersions } from "../../src/history/debian-version.js";
import { run } from "../../src/process/run.js";

async function dpkgSign(a: string, b: string): Promise<number> {
  const is = async (op: string) =>
    (await run(["dpkg", "--compare-versions", a, op, b], { check: false })).exitCode === 0;
  return (await is("lt")) ? -1 : (await is("gt")) ? 1 : 0;
}

const sign = (n: number) => (n > 0 ? 1 : n < 0 ? -1 : 0);

// Versions dpkg accepts: an upstream part starting with a digit, from the
// characters Debian allows, with the separators where real versions have them.
const version = fc
  .tuple(
    fc.option(fc.nat(2), { nil: undefined }),
    fc.stringMatching(/^[0-9][0-9a-zA-Z.+~]{0,7}$/),
    fc.option(fc.stringMatching(/^[0-9a-zA-Z.+~]{1,5}$/), { nil: undefined }),
  )
  .map(([e, u, r]) => `${e === undefined ? "" : `${e}:`}${u}${r === undefined ? "" : `-${r}`}`);

// Pairs that share a prefix exercise the interesting part (what follows it).
const pair = fc.oneof(
  fc.tuple(version, version),
  fc
    .tuple(version, fc.stringMatching(/^[0-9a-z.+~]{0,3}$/), fc.stringMatching(/^[0-9a-z.+~]{0,3}$/))
    .map(([v, x, y]) => [v + x, v + y] as [string, string]),
);

it("orders versions exactly as dpkg --compare-versions does", async () => {
  await fc.assert(
    fc.asyncProperty(pair, async ([a, b]) => {
      expect(sign(compareVersions(a, b)), `${a} vs ${b}`).toBe(await dpkgSign(a, b));
    }),
    { numRuns: 300 },
  );
});
