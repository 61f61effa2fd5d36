import type { CommandModule } from "yargs";
import { ExitWith, UsageError } from "../../errors.js";
import { BACKENDS, type Backend } from "../../pipeline/build.js";
import { buildMany } from "../../pipeline/build-many.js";
import type { AccelChoice } from "../../machine/qemu/accel.js";
import { ARCHES } from "../../config/schema/system.js";
import {
  chooseProgress,
  PROGRESS_MODES,
  startProgress,
  type ProgressMode,
} from "../../report/progress/progress.js";
import { summaryTable } from "../../report/progress/summary-table.js";
import { checkFrom, startPoints } from "../../pipeline/stages.js";
import { STEPS } from "../../steps/index.js";
import { interrupted } from "../interrupt.js";
import { processIo, type Io } from "../io.js";
import { setOption, type SetArgs } from "./options.js";
import { accelOption } from "./vm.js";

interface Args extends SetArgs {
  images?: string[];
  all: boolean;
  arch?: string[];
  jobs: number;
  "keep-going": boolean;
  progress?: ProgressMode;
  json: boolean;
  backend: Backend;
  accel: AccelChoice;
  steps?: string[];
  from?: string;
  clean: boolean;
  out: string;
  keep?: number;
  scratch: boolean;
  git?: string;
  ref?: string;
  sign?: string;
  "keep-vm": boolean;
  cache?: boolean;
  quiet: boolean;
  "boot-test": boolean;
  "check-reproducible": boolean;
}

/** A whole number of at least `min` for option `name`, or a UsageError saying what it takes. */
function count(name: string, value: number | undefined, min: number, meaning: string): number | undefined {
  if (value === undefined) return undefined;
  if (!Number.isInteger(value) || value < min)
    throw new UsageError(
      `--${name}${Number.isNaN(value) ? "" : ` ${value}`}: not a whole number of ${min} or more`,
      meaning,
    );
  return value;
}

export function buildCommand(io: Io): CommandModule<object, Args> {
  return {
    command: "build [images..]",
    describe: "Build images into hybrid live ISOs (BIOS and UEFI, CD and USB stick), one or many in a run",
    builder: (y) =>
      accelOption(
        setOption(
          y
            .positional("images", {
              type: "string",
              array: true,
              describe: "image names under images/, or paths to image folders or image.yaml files",
            })
            .option("all", {
              type: "boolean",
              default: false,
              describe: "build every image under images/ (as `vmlive list` shows them)",
            })
            .option("arch", {
              type: "string",
              array: true,
              requiresArg: true,
              describe:
                `build each image once per architecture (comma-separated: ${ARCHES.join(", ")}), ` +
                "as with --set arch=ARCH; default: the arch in its image.yaml",
            })
            .option("jobs", {
              alias: "j",
              type: "number",
              default: 1,
              requiresArg: true,
              describe:
                "builds that run at once, each its own builder VM or work area; lowered (and said) when " +
                "this host has fewer cores, or less free memory than the builder VMs take",
            })
            .option("keep-going", {
              alias: "k",
              type: "boolean",
              default: false,
              describe:
                "run every build even after one failed (without it, a failure lets the running builds " +
                "finish and starts no more)",
            })
            .option("progress", {
              choices: PROGRESS_MODES,
              describe:
                "how progress is shown: tty, a live step list per build (default on a terminal); plain, " +
                "timestamped lines (default otherwise, e.g. in CI); json, one JSON event per line on " +
                "stdout (see docs/events.md)",
            })
            .option("json", {
              type: "boolean",
              default: false,
              describe: "the same as --progress json: stdout carries only the events",
            })
            .option("backend", {
              choices: BACKENDS,
              default: "vm" as Backend,
              describe: "vm: a disposable builder VM for the image's release; host: this machine, as root",
            })
            .option("steps", {
              type: "string",
              array: true,
              describe: `run only these steps (comma-separated; always in pipeline order: ${STEPS.map((s) => s.name).join(", ")}) against the kept work area`,
            })
            .option("from", {
              type: "string",
              requiresArg: true,
              describe:
                `start at this step (${startPoints().join(", ")}; hooks: inside customize, after the ` +
                "package installation) and run every step after it, reusing what the kept work area holds " +
                "before it (its snapshots of bootstrap and packages); without it a full build starts after " +
                "the last stage whose key is unchanged (see docs/stages.md)",
            })
            .option("clean", {
              type: "boolean",
              default: false,
              describe:
                "drop the kept work area (./work/IMAGE-ARCH/BACKEND, or $VMLIVE_WORK_DIR) with its snapshots, " +
                "and start from scratch: nothing of an earlier build is reused",
            })
            .option("out", {
              type: "string",
              default: "out",
              describe: "output folder; each build gets IMAGE-SUITE-ARCH-DATE inside it",
            })
            .option("keep", {
              type: "number",
              requiresArg: true,
              describe:
                "keep only the newest N finished builds of each image, suite and arch in the output folder " +
                "(0, the default: keep all)",
            })
            .option("scratch", {
              type: "boolean",
              default: false,
              describe: "a scratch build: not recorded in the build history, and not made the -latest one",
            })
            .option("git", {
              type: "string",
              requiresArg: true,
              describe:
                "build the images of a git repository at REF (branch, tag or commit; default HEAD); " +
                "the commit goes into the report",
            })
            .option("ref", {
              type: "string",
              requiresArg: true,
              describe: "with --git: the branch, tag or commit to build (default HEAD)",
            })
            .option("sign", {
              type: "string",
              requiresArg: true,
              describe: "sign SHA256SUMS with this GPG key (a key ID or fingerprint in your keyring)",
            })
            .option("keep-vm", {
              type: "boolean",
              default: false,
              describe: "leave the builder VM running afterwards and say how to reach it",
            })
            .option("cache", {
              type: "boolean",
              describe:
                "fetch packages through the shared package cache on this host (the default; see `vmlive cache`); " +
                "--no-cache fetches everything from the mirror, as VMLIVE_CACHE=off does",
            })
            .option("quiet", {
              alias: "q",
              type: "boolean",
              default: false,
              describe: "show progress lines only, not every command's output (the log has all)",
            })
            .option("boot-test", {
              type: "boolean",
              default: false,
              describe:
                "then boot the ISO in qemu the ways image.yaml's boot_test names (default: every way); " +
                "results in report.json, serial logs and screenshots in boot/",
            })
            .option("check-reproducible", {
              type: "boolean",
              default: false,
              describe:
                "build each image twice from scratch (--clean, the second in its own work area) with the same " +
                "SOURCE_DATE_EPOCH ($SOURCE_DATE_EPOCH, else the first build's start time) and compare squashfs " +
                "and ISO byte for byte; a difference exits 1 naming the first differing path or byte and keeps " +
                "the second build as NAME.repro (see docs/reproducible.md)",
            }),
        ),
      )
        .example("$0 build live-minimal", "build the default image in a builder VM")
        .example("$0 build live-minimal --backend host", "build on this machine (root)")
        .example("$0 build live-minimal --steps squash,iso", "redo squashfs and ISO from the kept work area")
        .example(
          "$0 build live-minimal --backend host",
          "again after editing a hook: bootstrap and packages come from their snapshots, hooks rerun",
        )
        .example("$0 build live-minimal --from hooks", "rerun the hooks and all after them, whatever changed")
        .example("$0 build live-minimal --from bootstrap", "rebuild every stage, whatever the keys say")
        .example("$0 build live-minimal --clean", "drop the work area and its snapshots first")
        .example("$0 build live-minimal --backend host --boot-test", "build, then boot the ISO four ways")
        .example("$0 build trixie-arm64 --set iso.timeout=0 --out /srv/iso", "a variation, elsewhere")
        .example(
          "$0 build --all --arch amd64,arm64 --jobs 2 --keep-going",
          "the nightly run: every image for two arches, two at a time, a table at the end",
        )
        .example("$0 build live-minimal xfce-desktop --json > events.jsonl", "machine-readable progress")
        .example(
          "SOURCE_DATE_EPOCH=$(git log -1 --format=%ct) $0 build live-minimal --backend host --check-reproducible",
          "build twice and prove both give the same squashfs and ISO",
        )
        .example(
          "$0 build --all --git https://example.org/images.git --ref v2 --keep 5 --sign 0xABCD1234",
          "build a tagged repository, keep five builds each, sign the checksums",
        )
        .epilogue(
          "With several builds the run ends with a table of them on stderr; exit code 0 when all " +
            "passed, 1 when any failed or did not start, 2 for a usage or config error (nothing is " +
            "built: every image is checked first), 130 when interrupted (Ctrl-C stops all builds).\n\n" +
            "A build reuses what the kept work area holds from the last one: it starts after the last " +
            "stage (bootstrap, the package installation, the rest of customize, boot) whose key (a sha256 " +
            "of everything that made it, the mirror's Release date included) is unchanged, and says why; " +
            "squash, iso, verify and collect always run (docs/stages.md).",
        ) as never,
    handler: async (a) => {
      const jobs = count("jobs", a.jobs, 1, "how many builds run at once, e.g. --jobs 2")!;
      const keep = count("keep", a.keep, 0, "how many finished builds to keep, e.g. --keep 5; 0 keeps all");
      checkFrom(a.from, a);
      if (a.ref !== undefined && a.git === undefined)
        throw new UsageError("--ref names a commit of the --git repository", "add --git URL, or drop --ref");
      // Only the real stderr can be a terminal; an Io of a test never is.
      const terminal = io === processIo ? process.stderr : undefined;
      const mode = chooseProgress({ progress: a.progress, json: a.json, isTTY: terminal?.isTTY === true });
      const progress = startProgress(mode, {
        out: (t) => io.out(t),
        err: (t) => io.err(t),
        terminal: terminal ?? { write: (t) => io.err(t) },
      });
      // Ctrl-C's message is written straight to stderr: the live block makes way for it first.
      const makeWay = () => progress.clear?.();
      interrupted.addEventListener("abort", makeWay, { once: true });
      let run;
      try {
        run = await buildMany({
          images: a.images ?? [],
          all: a.all,
          arches: a.arch,
          sets: a.set ?? [],
          jobs,
          keepGoing: a["keep-going"],
          git: a.git === undefined ? undefined : { url: a.git, ref: a.ref },
          common: {
            backend: a.backend,
            accel: a.accel,
            steps: a.steps,
            from: a.from,
            clean: a.clean,
            out: a.out,
            keep,
            scratch: a.scratch,
            signKey: a.sign,
            keepVm: a["keep-vm"],
            cache: a.cache,
            quiet: a.quiet,
            bootTest: a["boot-test"],
            checkReproducible: a["check-reproducible"],
          },
          signal: interrupted,
          events: (e) => progress.handle(e),
        });
      } finally {
        interrupted.removeEventListener("abort", makeWay);
        progress.close();
      }
      const [only, ...others] = run.outcomes;
      if (only && others.length === 0) {
        // One build: its ISO on stdout, its error told as any error is.
        if (only.status !== "success") throw only.error ?? interrupted.reason;
        if (mode !== "json") io.out(only.iso?.path ?? only.dir ?? "");
        return;
      }
      io.err(summaryTable(run.outcomes));
      if (interrupted.aborted) throw interrupted.reason;
      if (run.exitCode !== 0) throw new ExitWith(run.exitCode);
    },
  };
}
