// --git and --ref against a real repository made here: branch, tag and commit
// resolve to the right tree, and bad input is named.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { execa } from "execa";
import { beforeAll, describe, expect, it } from "vitest";
import { UsageError } from "../../src/errors.js";
import { buildMany } from "../../src/pipeline/build-many.js";
import type { BuildOptions } from "../../src/pipeline/build.js";
import type { BuildReport } from "../../src/report/report.js";
import { checkoutGit } from "../../src/source/git.js";
import { tempDir } from "../support/tmp.js";

let repo = "";
const commits: Record<string, string> = {};

beforeAll(async () => {
  repo = tempDir("vmlive-repo-");
  const git = (...args: string[]) =>
    execa("git", ["-C", repo, "-c", "user.name=t", "-c", "user.email=t@t", ...args]);
  await git("init", "--quiet", "--initial-branch=main");
  mkdirSync(path.join(repo, "images", "x"), { recursive: true });
  for (const v of ["one", "two"]) {
    writeFileSync(path.join(repo, "images", "x", "image.yaml"), `description: ${v}\n`);
    await git("add", ".");
    await git("commit", "--quiet", "-m", v);
    commits[v] = (await git("rev-parse", "HEAD")).stdout.trim();
  }
  await git("tag", "v1", commits.one!);
  await git("branch", "stable", commits.one!);
});

const description = (dir: string) => readFileSync(path.join(dir, "images", "x", "image.yaml"), "utf8");

describe("checkoutGit", () => {
  it("checks out HEAD, a branch, a tag and a commit, and records the commit", async () => {
    for (const [ref, want] of [
      [undefined, "two"],
      ["stable", "one"],
      ["v1", "one"],
      [commits.one!.slice(0, 10), "one"],
      ["main", "two"],
    ] as const) {
      await using co = await checkoutGit({ url: repo, ref });
      expect(description(co.dir)).toBe(`description: ${want}\n`);
      expect(co.source).toEqual({ url: repo, ref: ref ?? "HEAD", commit: commits[want] });
    }
  });

  it("removes its clone when disposed", async () => {
    let dir = "";
    {
      await using co = await checkoutGit({ url: repo, ref: "main" });
      dir = co.dir;
      expect(existsSync(dir)).toBe(true);
    }
    expect(existsSync(dir)).toBe(false);
  });

  it("gives every build of a --git run the clone to find its image in and the commit for its report", async () => {
    const seen: BuildOptions[] = [];
    const r = await buildMany({
      images: ["x"],
      jobs: 1,
      keepGoing: false,
      git: { url: repo, ref: "v1" },
      common: {
        backend: "host",
        accel: "tcg",
        clean: false,
        out: tempDir("vmlive-git-out-"),
        keepVm: false,
        quiet: true,
      },
      signal: new AbortController().signal,
      events: () => {},
      buildFn: async (o) => {
        seen.push(o);
        expect(description(o.cwd!)).toBe("description: one\n");
        return { dir: "/nowhere", report: { artifacts: [] } as unknown as BuildReport };
      },
    });
    expect(r.exitCode).toBe(0);
    expect(seen.map((o) => o.source)).toEqual([{ url: repo, ref: "v1", commit: commits.one }]);
    // The clone is gone when the run ends.
    expect(existsSync(seen[0]!.cwd!)).toBe(false);
  });

  it("names a ref that does not exist, a repository that does not, and option-like words", async () => {
    await expect(checkoutGit({ url: repo, ref: "nope" })).rejects.toThrow(
      /has no branch, tag or commit of that name/,
    );
    const err = await checkoutGit({ url: path.join(repo, "missing") }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UsageError);
    expect((err as Error).message).toMatch(/git could not clone/);
    await expect(checkoutGit({ url: "--upload-pack=touch /tmp/x" })).rejects.toThrow(/is not a repository/);
    await expect(checkoutGit({ url: repo, ref: "--orphan" })).rejects.toThrow(/is not a branch/);
  });
});
