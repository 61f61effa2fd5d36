// The GitHub Actions workflow: one matrix job per image x arch that sets up
// the runner, restores the caches, builds and boot-tests, saves the caches
// and uploads its build folder; then one job that gathers every folder into
// one summary and goes red when any build failed. A pure function: settings
// in, YAML text out.
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
import { DEFAULT_RUNS_ON, GENERATED_MARK, type CiSettings } from "./settings.js";

/** The actions the workflow uses, each at its current major version (they run on Node.js 24). */
export const ACTIONS = {
  checkout: "actions/checkout@v7",
  setupNode: "actions/setup-node@v7",
  cacheRestore: "actions/cache/restore@v6",
  cacheSave: "actions/cache/save@v6",
  upload: "actions/upload-artifact@v7",
  download: "actions/download-artifact@v8",
} as const;

/** The Node.js major vmlive is made for (package.json engines). */
const NODE_VERSION = "20";
const ARTIFACT_PREFIX = "vmlive-";
const SUMMARY_DIR = "builds";

const cacheKeyPrefix = "vmlive-${{ runner.os }}-${{ matrix.suite }}-${{ matrix.arch }}-";

const setupNode = {
  name: "Set up Node.js",
  uses: ACTIONS.setupNode,
  with: { "node-version": NODE_VERSION, cache: "npm" },
};

/** One label as a string, several as the list a runner must have all of. */
const runsOnOf = (s: CiSettings) => {
  const labels = s.runsOn.length ? s.runsOn : DEFAULT_RUNS_ON.github;
  return labels.length === 1 ? labels[0]! : [...labels];
};

function buildJob(s: CiSettings) {
  const host = s.backend === "host";
  return {
    name: "build ${{ matrix.image }} ${{ matrix.suite }} ${{ matrix.arch }}",
    "runs-on": runsOnOf(s),
    // TCG builds are long; 360 minutes is the most a GitHub-hosted job may take.
    "timeout-minutes": 360,
    strategy: {
      // One image failing says nothing about the others: let them all finish.
      "fail-fast": false,
      matrix: {
        include: s.builds.map((b) => ({
          image: b.image,
          suite: b.suite,
          arch: b.arch,
          boot_test: b.bootTest,
        })),
      },
    },
    env: { VMLIVE_CACHE_DIR: `\${{ github.workspace }}/${CACHE_DIR}` },
    steps: [
      { name: "Check out", uses: ACTIONS.checkout },
      setupNode,
      {
        name: "Restore the builder image and package caches",
        id: "cache",
        uses: ACTIONS.cacheRestore,
        with: {
          path: CACHE_PATHS.join("\n"),
          key: `${cacheKeyPrefix}\${{ hashFiles(${CACHE_KEY_FILES.map((f) => `'${f}'`).join(", ")}) }}`,
          // A cache made from other vm/ definitions still holds the unchanged builders and the packages.
          "restore-keys": cacheKeyPrefix,
        },
      },
      // setup asks sudo for what needs root and installs node_modules as this user.
      { name: "Set up the host (Debian packages, npm ci, dist/)", run: "./setup" },
      ...(host
        ? []
        : [
            {
              name: "Let the builder VM use KVM where the runner has it",
              run: "if [ -e /dev/kvm ]; then sudo chmod 0666 /dev/kvm; fi",
            },
          ]),
      {
        name: "Build and boot-test",
        env: {
          IMAGE: "${{ matrix.image }}",
          ARCH: "${{ matrix.arch }}",
          BOOT_TEST: "${{ matrix.boot_test }}",
        },
        run: buildScript(s.backend, 'sudo env "PATH=$PATH" "VMLIVE_CACHE_DIR=$VMLIVE_CACHE_DIR"'),
      },
      ...(host
        ? [
            {
              name: "Give the build folder and caches back to the runner's user",
              if: "always()",
              run: `for d in ${OUT_DIR} ${CACHE_DIR}; do if [ -e "$d" ]; then sudo chown -R "$(id -u):$(id -g)" "$d"; fi; done`,
            },
          ]
        : []),
      {
        name: "Job summary",
        if: "always()",
        run: `shopt -s nullglob\nfor f in ${OUT_DIR}/*/summary.md; do cat "$f" >> "$GITHUB_STEP_SUMMARY"; done\n`,
      },
      {
        name: "Save the caches",
        // Also after a failed build: a builder image made on the way is worth keeping.
        if: "always() && steps.cache.outputs.cache-hit != 'true'",
        uses: ACTIONS.cacheSave,
        with: { path: CACHE_PATHS.join("\n"), key: "${{ steps.cache.outputs.cache-primary-key }}" },
      },
      {
        name: "Upload the build folder",
        if: "always()",
        uses: ACTIONS.upload,
        with: {
          name: `${ARTIFACT_PREFIX}\${{ matrix.image }}-\${{ matrix.arch }}`,
          path: `${OUT_DIR}/`,
          "if-no-files-found": "warn",
        },
      },
    ],
  };
}

function summaryJob(s: CiSettings) {
  return {
    name: "summary",
    needs: "build",
    // Failed builds are what the summary is for.
    if: "always()",
    "runs-on": runsOnOf(s),
    steps: [
      { name: "Check out", uses: ACTIONS.checkout },
      setupNode,
      { name: "Install vmlive (npm ci builds dist/)", run: "npm ci" },
      {
        name: "Download the build folders",
        uses: ACTIONS.download,
        with: { pattern: `${ARTIFACT_PREFIX}*`, path: SUMMARY_DIR },
      },
      {
        name: "Summary of all builds",
        // The default bash of a step with shell: bash has pipefail: vmlive's exit code is the step's.
        run: `mkdir -p ${SUMMARY_DIR}\n${summaryCommand(s.builds, SUMMARY_DIR)} | tee ${SUMMARY_MD} >> "$GITHUB_STEP_SUMMARY"\n`,
      },
      {
        name: "Upload the summary",
        if: "always()",
        uses: ACTIONS.upload,
        with: {
          name: "vmlive-summary",
          path: `${SUMMARY_MD}\n${SUMMARY_JUNIT}`,
          "if-no-files-found": "warn",
        },
      },
    ],
  };
}

/** The workflow file's text. Throws UsageError when the matrix is larger than GitHub allows. */
export function githubWorkflow(s: CiSettings): string {
  checkMatrixSize("github", s.builds);
  const workflow = {
    name: "vmlive",
    on: {
      schedule: [{ cron: s.schedule }],
      workflow_dispatch: {},
      push: { paths: WATCHED_PATHS },
    },
    permissions: { contents: "read" },
    defaults: { run: { shell: "bash" } },
    jobs: { build: buildJob(s), summary: summaryJob(s) },
  };
  return renderYaml(workflow, [
    `${GENERATED_MARK} ${s.version} (vmlive ci github); edits are lost when it is made again:`,
    `  ${s.regenerate}`,
    `Builds ${s.builds.length} image x arch pair${s.builds.length === 1 ? "" : "s"} on the schedule "${s.schedule}" (UTC), on demand and on changes to ${WATCHED_PATHS.join(", ")}.`,
    "See docs/ci.md.",
  ]);
}
