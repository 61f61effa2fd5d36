// One build, from image reference to output folder: load and check the
// image, start the machine, run the steps, write the report, and make the
// output folder look finished only when everything passed.
import { existsSync } from "node:fs";
import { mkdir, rename, writeFile } from "node:fs/promises";
import path from "node:path";
import { loadImage, type LoadedImage } from "../config/load.js";
import { ConfigError, UsageError } from "../errors.js";
import { workDir } from "../host/dirs.js";
import { HostMachine } from "../machine/host.js";
import type { Machine } from "../machine/machine.js";
import type { AccelChoice } from "../machine/qemu/accel.js";
import { QemuMachine } from "../machine/qemu/qemu-machine.js";
import { startBuilder } from "../machine/qemu/start-builder.js";
import { run } from "../process/run.js";
import { BuildLog, type Console } from "../report/build-log.js";
import { makeReport, type BuildReport } from "../report/report.js";
import { STEPS } from "../steps/index.js";
import { workPaths, type BuildState } from "./context.js";
import { selectSteps, verifyPlan } from "./plan.js";
import { checkPrerequisites, fmtSeconds, runSteps, type StepTiming } from "./runner.js";
import { loadState } from "./state.js";

export const BACKENDS = ["vm", "host"] as const;
export type Backend = (typeof BACKENDS)[number];

export interface BuildOptions {
  image: string;
  sets?: readonly string[];
  backend: Backend;
  accel: AccelChoice;
  /** Step names to run (pipeline order is kept); all when empty. */
  steps?: readonly string[];
  /** Drop the kept work area first. */
  clean: boolean;
  /** Root of the output folders. */
  out: string;
  keepVm: boolean;
  quiet: boolean;
  console: Console;
  signal: AbortSignal;
}

export interface BuildResult {
  dir: string;
  report: BuildReport;
}

export async function build(o: BuildOptions): Promise<BuildResult> {
  const image = loadImage(o.image, { sets: o.sets });
  const steps = selectSteps(o.steps);
  const problems = verifyPlan(image, steps);
  if (problems.length) throw new ConfigError(problems);
  if (o.backend === "host" && process.getuid?.() !== 0)
    throw new UsageError(
      "--backend host runs debootstrap and chroot, which need root",
      "run it as root, or use the default VM backend",
    );

  const c = image.config;
  const started = new Date();
  const name = `${image.name}-${c.suite}-${c.arch}-${stamp(started)}`;
  const outRoot = path.resolve(o.out);
  const partial = path.join(outRoot, `.${name}.partial`);
  const logDir = path.join(partial, "logs");
  await mkdir(logDir, { recursive: true });
  const log = new BuildLog(path.join(logDir, "build.log"), o.console, o.quiet);
  const sourceDateEpoch = Number(process.env.SOURCE_DATE_EPOCH ?? Math.floor(started.getTime() / 1000));

  // Each backend keeps its own work area: a folder here, or the VM's work disk.
  const hostWork = path.join(workDir(), image.name, o.backend);
  const timings: StepTiming[] = [];
  let state: BuildState = { done: [] };
  let machineDescription = "";
  let builderImage: string | undefined;
  let tools: Record<string, string> = {};
  let failure: unknown;
  try {
    log.say(
      "vmlive",
      `building ${image.displayFile} (${c.suite} ${c.arch}): ${steps.map((s) => s.name).join(", ")}`,
    );
    // --one-file-system: never walk into anything mounted below the work area.
    if (o.clean && existsSync(hostWork)) await run(["rm", "-rf", "--one-file-system", hostWork]);
    await mkdir(hostWork, { recursive: true });
    await using machine = await startMachine(o, image, hostWork, logDir, (m) => log.say("machine", m));
    machineDescription = machine.description;
    if (machine instanceof QemuMachine) builderImage = machine.builderImage;
    const work = workPaths(o.backend === "host" ? hostWork : "/work/build");
    await machine.exec(["mkdir", "-p", work.root, work.out, work.input], { signal: o.signal });
    tools = await toolVersions(machine);
    if (steps.length < STEPS.length) {
      state = await loadState(machine, work.root, o.signal);
      checkPrerequisites(
        STEPS,
        steps,
        state.done.map((d) => d.step),
      );
    }
    const ctx = {
      image,
      machine,
      work,
      state,
      log: log.forStep("vmlive"),
      signal: o.signal,
      sourceDateEpoch,
      outDir: partial,
      logDir,
    };
    await runSteps(ctx, steps, timings, (s) => log.forStep(s));
  } catch (e) {
    failure = e;
  }

  const finished = new Date();
  const report = makeReport({
    image: image.name,
    suite: c.suite,
    arch: c.arch,
    status: failure === undefined ? "success" : o.signal.aborted ? "interrupted" : "failed",
    error: failure === undefined ? undefined : failure instanceof Error ? failure.message : String(failure),
    started: started.toISOString(),
    finished: finished.toISOString(),
    seconds: (finished.getTime() - started.getTime()) / 1000,
    machine: machineDescription,
    builderImage,
    sourceDateEpoch,
    steps: timings,
    tools,
    config: c,
    state,
  });
  await writeFile(path.join(partial, "report.json"), JSON.stringify(report, null, 2) + "\n");
  // Only a build that passed gets the plain name; a failed one keeps its logs under a name that says so.
  const dir = path.join(outRoot, failure === undefined ? name : `${name}.failed`);
  log.say(
    "vmlive",
    failure === undefined
      ? `built in ${fmtSeconds(report.seconds)}: ${dir}`
      : `failed after ${fmtSeconds(report.seconds)}; logs and report in ${dir}`,
  );
  await rename(partial, dir);
  if (failure !== undefined) throw failure;
  return { dir, report };
}

function stamp(d: Date): string {
  return d.toISOString().replace(/[-:]/g, "").replace("T", "-").slice(0, 15);
}

async function startMachine(
  o: BuildOptions,
  image: LoadedImage,
  hostWork: string,
  logDir: string,
  say: (m: string) => void,
): Promise<Machine> {
  if (o.backend === "host") return new HostMachine();
  return startBuilder({
    release: image.config.suite,
    accel: o.accel,
    logDir,
    mirror: image.config.mirror.build,
    keep: o.keepVm,
    workDisk: path.join(hostWork, "work.raw"),
    say,
  });
}

/** Versions of the tools that made the image, for the report. */
async function toolVersions(m: Machine): Promise<Record<string, string>> {
  const pkgs = ["debootstrap", "mmdebstrap", "squashfs-tools", "xorriso", "grub-common", "shim-signed"];
  const r = await m.exec(["dpkg-query", "-W", "-f", "${Package}\\t${Version}\\n", ...pkgs], { check: false });
  return Object.fromEntries(
    r.stdout
      .trim()
      .split("\n")
      .filter((l) => l.includes("\t") && !l.endsWith("\t"))
      .map((l) => l.split("\t") as [string, string]),
  );
}
