// The GitLab CI pipeline, read back with a YAML parser and checked for what
// each job must do; the summary job's script is run for real in sh against
// a stub vmlive.
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { isGenerated } from "../../../src/ci/file.js";
import { GITLAB_IMAGE, gitlabPipeline } from "../../../src/ci/gitlab.js";
import { UsageError } from "../../../src/errors.js";
import { tempDir } from "../../support/tmp.js";
import { BUILDS, manyBuilds, runWithStub, settings } from "./support.js";

interface Job {
  stage: string;
  image: string;
  tags?: string[];
  needs?: { job: string; artifacts: boolean }[];
  when?: string;
  parallel?: { matrix: Record<string, string>[] };
  cache?: { key: { files: string[]; prefix: string }; paths: string[]; when: string };
  script: string[];
  artifacts: { when: string; name?: string; paths: string[]; reports?: { junit: string } };
}
interface Pipeline {
  workflow: { rules: { if: string; changes?: string[] }[] };
  stages: string[];
  variables: Record<string, string>;
  build: Job;
  summary: Job;
}

const pipeline = (over = {}) =>
  parse(
    gitlabPipeline(settings({ runsOn: [], regenerate: "./bin/vmlive.js ci gitlab --all", ...over })),
  ) as Pipeline;

describe("gitlabPipeline", () => {
  it("says it is generated, how to make it again and which schedule to set up", () => {
    const text = gitlabPipeline(
      settings({ regenerate: "./bin/vmlive.js ci gitlab --all", schedule: "15 4 * * *" }),
    );
    expect(isGenerated(text)).toBe(true);
    const header = text
      .split("\n")
      .filter((l) => l.startsWith("#"))
      .join("\n");
    expect(header).toContain("./bin/vmlive.js ci gitlab --all");
    expect(header).toContain('"15 4 * * *"');
  });

  it("has one parallel:matrix entry per image x arch, so only real pairs run", () => {
    const p = pipeline();
    expect(p.build.parallel!.matrix).toEqual(
      BUILDS.map((b) => ({ IMAGE: b.image, ARCH: b.arch, SUITE: b.suite, BOOT_TEST: String(b.bootTest) })),
    );
    // One value per variable: GitLab would otherwise multiply them out.
    for (const entry of p.build.parallel!.matrix)
      for (const v of Object.values(entry)) expect(typeof v).toBe("string");
  });

  it("sets up and builds the entry with --boot-test, in a Debian image with Node.js", () => {
    const b = pipeline().build;
    expect(b.stage).toBe("build");
    expect(b.image).toBe(GITLAB_IMAGE);
    expect(b.script).toEqual([
      "./setup",
      './bin/vmlive.js build "$IMAGE" --arch "$ARCH" --boot-test="$BOOT_TEST" --backend vm --out out',
    ]);
    expect(pipeline({ backend: "host" }).build.script[1]).toBe(
      './bin/vmlive.js build "$IMAGE" --arch "$ARCH" --boot-test="$BOOT_TEST" --backend host --out out',
    );
  });

  it("caches the builder images and packages, keyed by vm/ and package-lock.json, saved always", () => {
    const p = pipeline();
    expect(p.variables.VMLIVE_CACHE_DIR).toBe("$CI_PROJECT_DIR/.cache/vmlive");
    expect(p.build.cache).toEqual({
      key: { files: ["vm/**/*", "package-lock.json"], prefix: "vmlive-$SUITE-$ARCH" },
      paths: [".cache/vmlive/builders", ".cache/vmlive/packages"],
      when: "always",
    });
  });

  it("keeps the build folder and its junit.xml as artifacts, also after a failure", () => {
    const a = pipeline().build.artifacts;
    expect(a.when).toBe("always");
    expect(a.paths).toEqual(["out/"]);
    expect(a.reports).toEqual({ junit: "out/*/junit.xml" });
    expect(a.name).toBe("vmlive-$IMAGE-$ARCH");
  });

  it("has a summary stage job that needs the build job and runs always", () => {
    const p = pipeline();
    expect(p.stages).toEqual(["build", "summary"]);
    expect(p.summary.stage).toBe("summary");
    expect(p.summary.needs).toEqual([{ job: "build", artifacts: true }]);
    expect(p.summary.when).toBe("always");
    expect(p.summary.script[0]).toBe("npm ci");
    expect(p.summary.script[1]).toContain(
      "./bin/vmlive.js summary out --junit vmlive-junit.xml --expect live-minimal:amd64 " +
        "--expect live-minimal:arm64 --expect trixie-armhf:armhf",
    );
    expect(p.summary.artifacts).toMatchObject({
      when: "always",
      paths: ["vmlive-summary.md", "vmlive-junit.xml"],
    });
  });

  it("runs for schedules, from the web, and for pushes that change images, hooks or vm", () => {
    expect(pipeline().workflow.rules).toEqual([
      { if: '$CI_PIPELINE_SOURCE == "schedule"' },
      { if: '$CI_PIPELINE_SOURCE == "web"' },
      { if: '$CI_PIPELINE_SOURCE == "push"', changes: ["images/**/*", "hooks/**/*", "vm/**/*"] },
    ]);
  });

  it("puts --runs-on on both jobs as runner tags, and no tags without it", () => {
    const tagged = pipeline({ runsOn: ["kvm", "linux"] });
    expect(tagged.build.tags).toEqual(["kvm", "linux"]);
    expect(tagged.summary.tags).toEqual(["kvm", "linux"]);
    expect(pipeline().build).not.toHaveProperty("tags");
  });

  it("refuses more than the 200 jobs GitLab allows in one parallel:matrix", () => {
    expect(() => gitlabPipeline(settings({ builds: manyBuilds(200) }))).not.toThrow();
    expect(() => gitlabPipeline(settings({ builds: manyBuilds(201) }))).toThrow(UsageError);
    expect(() => gitlabPipeline(settings({ builds: manyBuilds(201) }))).toThrow(
      /201 builds .* 200 jobs a GitLab parallel:matrix may have/,
    );
  });

  it("the summary script prints the summary and exits as vmlive summary did, under sh -e", async () => {
    const script = pipeline().summary.script[1]!;
    for (const code of [0, 1, 2]) {
      const d = tempDir("vmlive-gl-summary-");
      const r = await runWithStub(d, ["sh", "-e", "-c"], script, { stdout: `## report ${code}`, code });
      expect(r.exitCode).toBe(code);
      expect(r.stdout).toBe(`## report ${code}`);
      expect(readFileSync(path.join(d, "vmlive-summary.md"), "utf8")).toBe(`## report ${code}\n`);
    }
  });
});
