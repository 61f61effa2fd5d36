// vmlive's benchmarks: numbers printed as one JSON object per line on stdout
// (progress on stderr), never asserted. See docs/bench.md.
import yargs from "yargs";
import { hideBin } from "yargs/helpers";
import { interrupt, interrupted } from "../src/cli/interrupt.js";
import { reportError } from "../src/cli/report-error.js";
import { ACCEL_CHOICES, type AccelChoice } from "../src/machine/qemu/accel.js";
import { BUILDER_ARCHES, hostArch, type BuilderArch } from "../src/machine/qemu/definition.js";
import { benchBuilderBoot } from "./builder-boot.js";
import { benchBuilds, parseBackends } from "./builds.js";
import { RUN_KINDS, selectKinds } from "./kinds.js";
import { stderrProgress } from "./progress.js";

const BENCHES = ["builds", "builder-boot"] as const;
const list = (v: unknown): string[] =>
  (Array.isArray(v) ? v : [v]).flatMap((x) => String(x).split(",")).filter((x) => x !== "");

for (const sig of ["SIGINT", "SIGTERM"] as const)
  process.on(sig, () => {
    if (interrupt(sig))
      process.stderr.write(`\nbench: ${sig}: stopping and cleaning up (again to quit at once)\n`);
    else process.exit(130);
  });

const print = (line: object) => process.stdout.write(`${JSON.stringify(line)}\n`);

try {
  const a = await yargs(hideBin(process.argv))
    .scriptName("npm run bench --")
    .usage(
      "vmlive's benchmarks: one JSON line per run on stdout, progress on stderr.\n\n" +
        "builds (the default): images/live-minimal cold and warm on each backend, each ISO booted " +
        "once as cd-bios, and, when live-build is installed, the equivalent live-build config in " +
        "bench/live-build cold and warm too; then the ratios vmlive/live-build.\n\n" +
        "Cold: an empty package cache and --clean (live-build: a fresh folder). Warm: the same " +
        "again with the package cache warm and the work area kept (live-build: lb clean, which " +
        "keeps its cache/). Everything goes to a temporary folder with its own package cache, work " +
        "area and output, removed afterwards; other builds' package cache is never touched.\n\n" +
        "Backends: host when run as root, vm when KVM works. Under TCG a cold vm build takes about " +
        "100 minutes on 2 cores: ask for it with --backends host,vm.",
    )
    .wrap(100)
    .version(false)
    .option("only", {
      choices: BENCHES,
      default: "builds" as (typeof BENCHES)[number],
      describe: "which benchmark: builds, or builder-boot (the builder VM's boot-to-SSH time)",
    })
    .option("backends", {
      type: "array",
      string: true,
      describe:
        "builds: backends to build on, comma-separated: host, vm (default: host when root, vm when KVM works)",
    })
    .option("kinds", {
      type: "array",
      string: true,
      describe: `builds: run kinds, in this order: ${RUN_KINDS.map((k) => k.name).join(", ")} (default: all)`,
    })
    .option("boot", {
      type: "boolean",
      default: true,
      describe: "builds: boot each ISO once as cd-bios and time it (--no-boot skips it)",
    })
    .option("live-build", {
      type: "boolean",
      default: true,
      describe:
        "builds: also build bench/live-build with live-build, if installed (--no-live-build skips it)",
    })
    .option("keep", {
      type: "boolean",
      default: false,
      describe: "builds: keep the temporary folder (ISOs, logs, boot screenshots) and print where",
    })
    .option("accel", {
      choices: ACCEL_CHOICES,
      default: "auto" as AccelChoice,
      describe: "qemu accelerator for builder VMs and boots: auto takes KVM only when it really works",
    })
    .option("runs", { type: "number", default: 3, describe: "builder-boot: how many boots" })
    .option("release", {
      type: "string",
      default: "bookworm",
      describe: "builder-boot: the builder's release",
    })
    .option("arch", {
      choices: BUILDER_ARCHES,
      default: hostArch() as BuilderArch,
      describe: "builder-boot: the builder's architecture (another than the host's runs under emulation)",
    })
    .example("npm run bench", "host cold + warm, live-build cold + warm, a boot of each ISO")
    .example("npm run bench -- --no-boot --no-live-build", "only vmlive's builds, no boots")
    .example("npm run bench -- --backends host,vm", "also the builder VM (about 100 minutes cold under TCG)")
    .example("npm run bench -- --kinds cold --keep", "one cold build; keep its ISO and logs")
    .example("npm run bench -- --only builder-boot --runs 5", "the builder VM's boot time, 5 times")
    .example("npm run bench > bench.jsonl", "the JSON lines to a file, progress on the terminal")
    .strict()
    .help()
    .parse();

  const p = stderrProgress(a.accel, interrupted);
  if (a.only === "builder-boot")
    await benchBuilderBoot({
      runs: a.runs,
      release: a.release,
      arch: a.arch,
      accel: a.accel,
      say: p.say,
      print,
    });
  else
    await benchBuilds(
      {
        backends: a.backends ? parseBackends(list(a.backends)) : undefined,
        kinds: selectKinds(a.kinds ? list(a.kinds) : undefined),
        boot: a.boot,
        liveBuild: a["live-build"],
        keep: a.keep,
        print,
      },
      p,
    );
} catch (e) {
  const r = reportError(e);
  process.stderr.write(`${r.text.replace(/^vmlive:/gm, "bench:")}\n`);
  process.exitCode = r.exitCode;
}
