import type { Argv, CommandModule } from "yargs";
import { githubWorkflow } from "../../ci/github.js";
import { gitlabPipeline } from "../../ci/gitlab.js";
import { writeGenerated } from "../../ci/file.js";
import { planMatrix } from "../../ci/matrix.js";
import { parseArches } from "../../pipeline/run-plan.js";
import {
  checkRunnerLabels,
  checkSchedule,
  DEFAULT_OUTPUT,
  DEFAULT_RUNS_ON,
  DEFAULT_SCHEDULE,
  regenerateCommand,
  type CiEngine,
  type CiSettings,
} from "../../ci/settings.js";
import { BACKENDS, type Backend } from "../../pipeline/build.js";
import { VERSION } from "../../version.js";
import type { Io } from "../io.js";

interface Args {
  images: string[];
  all: boolean;
  arch?: string[];
  output: string;
  schedule: string;
  backend: Backend;
  "runs-on"?: string[];
  force: boolean;
}

const ENGINES: Record<CiEngine, { name: string; render: (s: CiSettings) => string; runsOn: string }> = {
  github: {
    name: "GitHub Actions workflow",
    render: githubWorkflow,
    runsOn: "runs-on label(s) of the runners, comma-separated (default: ubuntu-latest)",
  },
  gitlab: {
    name: "GitLab CI pipeline",
    render: gitlabPipeline,
    runsOn: "runner tag(s) the jobs need, comma-separated (default: none, any runner)",
  },
};

function engineCommand(engine: CiEngine, io: Io): CommandModule<object, Args> {
  const e = ENGINES[engine];
  return {
    command: `${engine} [images..]`,
    describe: `Write a ${e.name} (${DEFAULT_OUTPUT[engine]}): a job per image x arch, then one summary`,
    builder: (y: Argv) =>
      y
        .positional("images", {
          type: "string",
          array: true,
          default: [],
          describe: "images to build, names under images/ (or --all)",
        })
        .option("all", { type: "boolean", default: false, describe: "every image under images/" })
        .option("arch", {
          type: "string",
          array: true,
          requiresArg: true,
          describe:
            "build each image for these architectures (comma-separated or repeated), as `vmlive build --arch` " +
            "does; default: each image's own arch",
        })
        .option("output", {
          alias: "o",
          type: "string",
          default: DEFAULT_OUTPUT[engine],
          requiresArg: true,
          describe: "file to write; - for standard output",
        })
        .option("schedule", {
          type: "string",
          default: DEFAULT_SCHEDULE,
          requiresArg: true,
          describe:
            engine === "github"
              ? "cron schedule of the nightly run, in UTC"
              : "cron schedule to enter in GitLab's Build > Pipeline schedules (written in the header; GitLab keeps schedules outside the file)",
        })
        .option("backend", {
          choices: BACKENDS,
          default: "vm" as Backend,
          describe: "how the jobs build: vm (a builder VM, no root needed) or host (as root on the runner)",
        })
        .option("runs-on", { type: "string", array: true, requiresArg: true, describe: e.runsOn })
        .option("force", {
          type: "boolean",
          default: false,
          describe: "replace the output file even when vmlive did not write it",
        })
        .example(
          `$0 ci ${engine} --all`,
          `every image, each for its own arch, into ${DEFAULT_OUTPUT[engine]}`,
        )
        .example(`$0 ci ${engine} live-minimal --arch amd64,arm64`, "one image for two architectures")
        .example(`$0 ci ${engine} --all --schedule '30 3 * * 1-5'`, "weekdays at 03:30 UTC")
        .example(`$0 ci ${engine} --all --backend host`, "build as root on the runner instead of in a VM")
        .example(
          engine === "github"
            ? `$0 ci github --all --runs-on self-hosted,linux,kvm`
            : `$0 ci gitlab --all --runs-on kvm`,
          engine === "github" ? "on your own runners that have KVM" : "only on runners tagged kvm",
        )
        .example(`$0 ci ${engine} --all -o -`, "print it instead of writing it") as never,
    handler: async (a) => {
      const arches = parseArches(a.arch);
      const schedule = checkSchedule(a.schedule);
      const runsOn = a["runs-on"]?.length ? checkRunnerLabels(a["runs-on"]) : [...DEFAULT_RUNS_ON[engine]];
      const builds = planMatrix({ images: a.images, all: a.all, arches });
      const text = e.render({
        builds,
        backend: a.backend,
        schedule,
        runsOn,
        version: VERSION,
        regenerate: regenerateCommand(engine, {
          images: [...new Set(builds.map((b) => b.image))],
          all: a.all,
          arches,
          output: a.output,
          schedule,
          backend: a.backend,
          runsOn,
        }),
      });
      if (a.output === "-") {
        io.out(text);
        return;
      }
      await writeGenerated(a.output, text, a.force);
      io.out(
        `wrote ${a.output}: ${builds.length} build job${builds.length === 1 ? "" : "s"} ` +
          `(${builds.map((b) => `${b.image} ${b.arch}`).join(", ")}) and a summary job`,
      );
    },
  };
}

export function ciCommand(io: Io): CommandModule {
  return {
    command: "ci",
    describe: "Write a CI workflow (GitHub Actions or GitLab CI) that builds and boot-tests images",
    builder: (y) =>
      y
        .command(engineCommand("github", io))
        .command(engineCommand("gitlab", io))
        .demandCommand(1, "name the CI engine: github or gitlab")
        .epilogue(
          "Each image x arch is its own job: it sets up the runner with ./setup, restores the builder image and " +
            "package caches, runs `vmlive build IMAGE --arch ARCH --boot-test`, saves the caches and keeps its " +
            "build folder. A last job runs `vmlive summary` over all of them and fails when any build failed. " +
            "See docs/ci.md.",
        ),
    handler: () => {},
  };
}
