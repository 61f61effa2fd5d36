// The GitHub Actions workflow, read back with a YAML parser and checked for
// what each job must do, then by GitHub's own workflow parser; its shell
// steps are run for real against a stub vmlive.
import { readFileSync, writeFileSync, mkdirSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { ACTIONS, githubWorkflow } from "../../../src/ci/github.js";
import { isGenerated } from "../../../src/ci/file.js";
import type { CiBuild } from "../../../src/ci/matrix.js";
import { UsageError } from "../../../src/errors.js";
import { tempDir } from "../../support/tmp.js";
import { BUILDS, manyBuilds, runWithStub, settings, workflowErrors } from "./support.js";

interface Step {
  name: string;
  id?: string;
  uses?: string;
  run?: string;
  if?: string;
  env?: Record<string, string>;
  with?: Record<string, string>;
}
interface Job {
  name: string;
  needs?: string | string[];
  if?: string;
  "runs-on": string | string[];
  env?: Record<string, string>;
  strategy?: { "fail-fast": boolean; matrix: { include: Record<string, string>[] } };
  steps: Step[];
}
interface Workflow {
  on: { schedule: { cron: string }[]; workflow_dispatch: unknown; push: { paths: string[] } };
  permissions: Record<string, string>;
  jobs: { build: Job; summary: Job };
}

const workflow = (over = {}) => parse(githubWorkflow(settings(over))) as Workflow;
const step = (job: Job, name: RegExp) => {
  const s = job.steps.find((x) => name.test(x.name));
  if (!s) throw new Error(`no step ${name} in ${job.steps.map((x) => x.name).join(", ")}`);
  return s;
};

describe("githubWorkflow", () => {
  it("says it is generated and how to make it again", () => {
    const text = githubWorkflow(settings());
    expect(isGenerated(text)).toBe(true);
    const header = text.split("\n").filter((l) => l.startsWith("#"));
    expect(header.join("\n")).toContain("./bin/vmlive.js ci github live-minimal trixie-armhf");
    expect(header.join("\n")).toContain("docs/ci.md");
  });

  it("has one matrix job per image x arch, and none fails the others", () => {
    const w = workflow();
    expect(w.jobs.build.strategy!["fail-fast"]).toBe(false);
    expect(w.jobs.build.strategy!.matrix.include).toEqual(
      BUILDS.map((b) => ({ image: b.image, suite: b.suite, arch: b.arch, boot_test: b.bootTest })),
    );
  });

  it("runs nightly on the schedule, on demand, and on pushes that change images, hooks or vm", () => {
    const w = workflow({ schedule: "30 3 * * 1-5" });
    expect(w.on.schedule).toEqual([{ cron: "30 3 * * 1-5" }]);
    expect(w.on).toHaveProperty("workflow_dispatch");
    expect(w.on.push.paths).toEqual(["images/**", "hooks/**", "vm/**"]);
    expect(w.permissions).toEqual({ contents: "read" });
  });

  it("uses every action at a pinned major version", () => {
    const w = workflow();
    const uses = [...w.jobs.build.steps, ...w.jobs.summary.steps].flatMap((s) => (s.uses ? [s.uses] : []));
    expect(uses.length).toBeGreaterThanOrEqual(8);
    for (const u of uses) expect(u).toMatch(/^actions\/[a-z-]+(\/[a-z]+)?@v\d+$/);
    expect(new Set(uses)).toEqual(new Set(Object.values(ACTIONS)));
  });

  it("checks out, restores the caches, sets up, builds and boot-tests, saves the caches and uploads, in order", () => {
    const steps = workflow().jobs.build.steps;
    const order = [
      /^Check out/,
      /Node/,
      /^Restore the builder image and package caches/,
      /^Set up the host/,
      /KVM/,
      /^Build and boot-test/,
      /^Job summary/,
      /^Save the caches/,
      /^Upload the build folder/,
    ];
    expect(steps.map((s) => order.findIndex((re) => re.test(s.name)))).toEqual(order.map((_, i) => i));
  });

  it("keys the cache by the vm/ definitions and package-lock.json, per release and arch, and saves it always", () => {
    const job = workflow().jobs.build;
    const restore = step(job, /^Restore/);
    expect(restore.uses).toBe(ACTIONS.cacheRestore);
    expect(restore.with!.key).toContain("${{ hashFiles('vm/**', 'package-lock.json') }}");
    expect(restore.with!.key).toContain("${{ matrix.suite }}-${{ matrix.arch }}");
    expect(restore.with!.path!.split("\n")).toEqual([".cache/vmlive/builders", ".cache/vmlive/packages"]);
    expect(job.env!.VMLIVE_CACHE_DIR).toBe("${{ github.workspace }}/.cache/vmlive");
    const save = step(job, /^Save/);
    expect(save.if).toMatch(/^always\(\) && steps\.cache\.outputs\.cache-hit != 'true'$/);
    expect(save.with!.key).toBe("${{ steps.cache.outputs.cache-primary-key }}");
    expect(save.with!.path).toBe(restore.with!.path);
  });

  it("sets the host up with ./setup and builds the matrix entry with --boot-test", () => {
    const job = workflow().jobs.build;
    expect(step(job, /^Set up the host/).run).toBe("./setup");
    const b = step(job, /^Build/);
    expect(b.env).toEqual({
      IMAGE: "${{ matrix.image }}",
      ARCH: "${{ matrix.arch }}",
      BOOT_TEST: "${{ matrix.boot_test }}",
    });
    expect(b.run).toBe(
      './bin/vmlive.js build "$IMAGE" --arch "$ARCH" --boot-test="$BOOT_TEST" --backend vm --out out',
    );
  });

  it("always shows the summary and uploads the build folder, named by image and arch", () => {
    const job = workflow().jobs.build;
    expect(step(job, /^Job summary/).if).toBe("always()");
    const up = step(job, /^Upload/);
    expect(up.if).toBe("always()");
    expect(up.with).toMatchObject({ name: "vmlive-${{ matrix.image }}-${{ matrix.arch }}", path: "out/" });
  });

  it("has a summary job that needs the builds, runs always and fails when vmlive summary does", () => {
    const job = workflow().jobs.summary;
    expect(job.needs).toBe("build");
    expect(job.if).toBe("always()");
    expect(step(job, /^Download/).with).toEqual({ pattern: "vmlive-*", path: "builds" });
    const run = step(job, /^Summary/).run!;
    expect(run).toContain(
      "./bin/vmlive.js summary builds --junit vmlive-junit.xml --expect live-minimal:amd64 " +
        "--expect live-minimal:arm64 --expect trixie-armhf:armhf",
    );
    expect(run).toContain('>> "$GITHUB_STEP_SUMMARY"');
  });

  it("builds as root with --backend host and gives the files back to the runner's user", () => {
    const job = workflow({ backend: "host" }).jobs.build;
    expect(step(job, /^Build/).run).toBe(
      'sudo env "PATH=$PATH" "VMLIVE_CACHE_DIR=$VMLIVE_CACHE_DIR" ./bin/vmlive.js build "$IMAGE" --arch "$ARCH" ' +
        '--boot-test="$BOOT_TEST" --backend host --out out',
    );
    expect(step(job, /^Give the build folder/).if).toBe("always()");
    expect(job.steps.some((s) => /KVM/.test(s.name))).toBe(false);
  });

  it("runs on one label as a string and on several as a list", () => {
    expect(workflow().jobs.build["runs-on"]).toBe("ubuntu-latest");
    const w = workflow({ runsOn: ["self-hosted", "linux", "kvm"] });
    expect(w.jobs.build["runs-on"]).toEqual(["self-hosted", "linux", "kvm"]);
    expect(w.jobs.summary["runs-on"]).toEqual(["self-hosted", "linux", "kvm"]);
  });

  it("quotes names that YAML would otherwise read as numbers, booleans or null", () => {
    const odd: CiBuild[] = ["1.10", "on", "null", "0x1F", "yes"].map((image) => ({
      image,
      suite: "bookworm",
      arch: "amd64",
      bootTest: true,
    }));
    expect(workflow({ builds: odd }).jobs.build.strategy!.matrix.include.map((e) => e.image)).toEqual(
      odd.map((b) => b.image),
    );
  });

  it("refuses a matrix larger than GitHub runs", () => {
    expect(() => githubWorkflow(settings({ builds: manyBuilds(256) }))).not.toThrow();
    expect(() => githubWorkflow(settings({ builds: manyBuilds(257) }))).toThrow(UsageError);
    expect(() => githubWorkflow(settings({ builds: manyBuilds(257) }))).toThrow(/257 builds .* 256 jobs/);
  });

  it("is a valid workflow for GitHub's own parser, for every backend and runner choice", async () => {
    const d = tempDir("vmlive-gh-");
    const files = [
      settings(),
      settings({ backend: "host" }),
      settings({ runsOn: ["self-hosted", "linux", "kvm"], schedule: "*/30 1-5 * JAN-MAR MON" }),
      settings({
        builds: ["1.10", "on"].map(
          (image) => ({ image, suite: "trixie", arch: "arm64", bootTest: false }) as CiBuild,
        ),
      }),
    ].map((s, i) => {
      const f = path.join(d, `w${i}.yml`);
      writeFileSync(f, githubWorkflow(s));
      return f;
    });
    // The checker must be able to fail: a job-level env may not use the runner context.
    const bad = path.join(d, "bad.yml");
    writeFileSync(
      bad,
      readFileSync(files[0]!, "utf8").replace("${{ github.workspace }}", "${{ runner.temp }}"),
    );
    const errors = await workflowErrors([...files, bad]);
    for (const f of files) expect(errors[f], f).toEqual([]);
    expect(errors[bad]!.join("\n")).toMatch(/runner/);
  });
});

describe("the workflow's shell steps", () => {
  // As GitHub runs a step of a job whose default shell is bash.
  const BASH = ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c"];

  it("the summary step puts the summary in the job summary and fails when vmlive summary fails", async () => {
    const run = step(workflow().jobs.summary, /^Summary/).run!;
    for (const code of [0, 1]) {
      const d = tempDir("vmlive-gh-summary-");
      const summaryFile = path.join(d, "step-summary.md");
      const r = await runWithStub(
        d,
        BASH,
        run,
        { stdout: `## report ${code}`, code },
        {
          GITHUB_STEP_SUMMARY: summaryFile,
        },
      );
      expect(r.exitCode).toBe(code);
      expect(readFileSync(summaryFile, "utf8")).toBe(`## report ${code}\n`);
      expect(readFileSync(path.join(d, "vmlive-summary.md"), "utf8")).toBe(`## report ${code}\n`);
      expect(readFileSync(path.join(d, "argv"), "utf8")).toMatch(
        /^summary builds --junit vmlive-junit.xml --expect/,
      );
    }
  });

  it("the job summary step adds the build's summary.md, and passes when there is no build folder", async () => {
    const run = step(workflow().jobs.build, /^Job summary/).run!;
    const d = tempDir("vmlive-gh-job-summary-");
    const summaryFile = path.join(d, "step-summary.md");
    const empty = await runWithStub(
      d,
      BASH,
      run,
      { stdout: "", code: 0 },
      { GITHUB_STEP_SUMMARY: summaryFile },
    );
    expect(empty.exitCode).toBe(0);
    mkdirSync(path.join(d, "out", "live-minimal-bookworm-amd64-20261201-020000"), { recursive: true });
    writeFileSync(
      path.join(d, "out", "live-minimal-bookworm-amd64-20261201-020000", "summary.md"),
      "## Built\n",
    );
    const one = await runWithStub(
      d,
      BASH,
      run,
      { stdout: "", code: 0 },
      { GITHUB_STEP_SUMMARY: summaryFile },
    );
    expect(one.exitCode).toBe(0);
    expect(readFileSync(summaryFile, "utf8")).toBe("## Built\n");
  });
});
