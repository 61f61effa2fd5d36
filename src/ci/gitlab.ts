// The GitLab CI pipeline: a `build` job with one parallel:matrix entry per
// image x arch (so only real pairs run), each with its cache and its build
// folder as artifacts, JUnit included; then a `summary` job that gathers them
// all and fails when a build failed. A pure function: settings in, YAML out.
import { renderYaml } from "./file.js";
import { checkMatrixSize } from "./matrix.js";
import {
  buildScript,
  CACHE_DIR,
  CACHE_KEY_FILES,
  CACHE_PATHS,
  OUT_DIR,
  SUMMARY_JUNIT,
  SUMMARY_MD,
  summaryCommand,
  WATCHED_PATHS,
} from "./jobs.js";
import { GENERATED_MARK, type CiSettings } from "./settings.js";

/** Debian bookworm with the Node.js vmlive is made for; jobs run in it as root. */
export const GITLAB_IMAGE = "node:20-bookworm";

/** GitLab globs name files, not folders: `images/**` becomes `images/**\/*`. */
const fileGlob = (p: string) => (p.endsWith("/**") ? `${p}/*` : p);

export function gitlabPipeline(s: CiSettings): string {
  checkMatrixSize("gitlab", s.builds);
  const tags = s.runsOn.length ? { tags: [...s.runsOn] } : {};
  const pipeline = {
    workflow: {
      rules: [
        { if: '$CI_PIPELINE_SOURCE == "schedule"' },
        { if: '$CI_PIPELINE_SOURCE == "web"' },
        { if: '$CI_PIPELINE_SOURCE == "push"', changes: WATCHED_PATHS.map(fileGlob) },
      ],
    },
    stages: ["build", "summary"],
    variables: { VMLIVE_CACHE_DIR: `$CI_PROJECT_DIR/${CACHE_DIR}` },
    build: {
      stage: "build",
      image: GITLAB_IMAGE,
      ...tags,
      // Capped by the project's and the runner's own timeouts; TCG builds take hours.
      timeout: "6h",
      parallel: {
        matrix: s.builds.map((b) => ({
          IMAGE: b.image,
          ARCH: b.arch,
          SUITE: b.suite,
          BOOT_TEST: String(b.bootTest),
        })),
      },
      cache: {
        // Shared by the images of one release and arch: same builder VM, mostly the same packages.
        key: { files: CACHE_KEY_FILES.map(fileGlob), prefix: "vmlive-$SUITE-$ARCH" },
        paths: CACHE_PATHS,
        // Also after a failed build: a builder image made on the way is worth keeping.
        when: "always",
      },
      // The job runs as root in its container: setup needs no sudo, nor does the host backend.
      script: ["./setup", buildScript(s.backend, "")],
      artifacts: {
        when: "always",
        name: "vmlive-$IMAGE-$ARCH",
        paths: [`${OUT_DIR}/`],
        reports: { junit: `${OUT_DIR}/*/junit.xml` },
        expire_in: "30 days",
      },
    },
    summary: {
      stage: "summary",
      image: GITLAB_IMAGE,
      ...tags,
      needs: [{ job: "build", artifacts: true }],
      // Failed builds are what the summary is for.
      when: "always",
      script: [
        "npm ci",
        // The exit code is vmlive's, after the summary is in the log, whatever shell the runner uses.
        `status=0\n${summaryCommand(s.builds, OUT_DIR)} > ${SUMMARY_MD} || status=$?\ncat ${SUMMARY_MD}\nexit "$status"\n`,
      ],
      artifacts: { when: "always", paths: [SUMMARY_MD, SUMMARY_JUNIT], expire_in: "30 days" },
    },
  };
  return renderYaml(pipeline, [
    `${GENERATED_MARK} ${s.version} (vmlive ci gitlab); edits are lost when it is made again:`,
    `  ${s.regenerate}`,
    `Builds ${s.builds.length} image x arch pair${s.builds.length === 1 ? "" : "s"} on schedules, on demand and on changes to ${WATCHED_PATHS.join(", ")}.`,
    `Schedule it in Build > Pipeline schedules with the cron "${s.schedule}" (UTC). See docs/ci.md.`,
  ]);
}
