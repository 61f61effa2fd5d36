// One build, from image reference to output folder: load and check the
// image, start the machine, run the steps, write the report, and make the
// output folder look finished only when everything passed.
import { existsSync } from "node:fs";
import { mkdir, rename, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { loadImage, type LoadedImage } from "../config/load.js";
import { bootAllWays } from "../boot/boot-all.js";
import { bootTable, buildBootTest, wayDetails, type BuildBootTest } from "../boot/boot-report.js";
import { missingForBoot } from "../boot/firmware.js";
import { bootTestProblems, planFromConfig } from "../boot/plan.js";
import { acquirePackageCache } from "../cache/proxy.js";
import { cacheOffReason } from "../cache/settings.js";
import { ConfigError, UsageError, VerificationError } from "../errors.js";
import { workDir } from "../host/dirs.js";
import { HostMachine } from "../machine/host.js";
import type { Machine } from "../machine/machine.js";
import { CommandClock, watchExecs } from "../machine/watched.js";
import { chooseAccel, type AccelChoice } from "../machine/qemu/accel.js";
import { GUEST_WORK_AREA, QemuMachine } from "../machine/qemu/qemu-machine.js";
import { startBuilder } from "../machine/qemu/start-builder.js";
import { builderArchFor, checkHostBackend } from "../machine/qemu/definition.js";
import { run } from "../process/run.js";
import { BuildLog } from "../report/build-log.js";
import { buildLabel, type EventSink } from "../report/events.js";
import { JUNIT_FILE, junitXml } from "../report/junit.js";
import { makeReport, type BuildReport } from "../report/report.js";
import { SUMMARY_FILE, summaryMarkdown } from "../report/summary.js";
import { STEPS } from "../steps/index.js";
import { workPaths, type BuildState } from "./context.js";
import { selectSteps, verifyPlan } from "./plan.js";
import { fmtSeconds, runSteps, type StepTiming } from "./runner.js";
import { checkFrom, startStages } from "./stages.js";
import { loadState, saveState } from "./state.js";
import { historyFile } from "../history/open.js";
import { recordBuild } from "../history/record.js";
import { pointLatest, prune } from "../output/retention.js";
import { checkSigningKey, SIGNATURE_FILE, signChecksums } from "../output/sign.js";
import type { GitSource } from "../source/git.js";
import { sha256File } from "../util/sha256.js";

/** The steps that download Debian packages, through the package cache when it is on. */
const FETCHING_STEPS: readonly string[] = ["bootstrap", "customize", "boot"];

export const BACKENDS = ["vm", "host"] as const;
export type Backend = (typeof BACKENDS)[number];

export interface BuildOptions {
  image: string;
  sets?: readonly string[];
  backend: Backend;
  accel: AccelChoice;
  /** Step names to run (pipeline order is kept); all when empty. */
  steps?: readonly string[];
  /** Start at this step (or `hooks`, inside customize), reusing what the work area has before it. */
  from?: string;
  /** Drop the kept work area, and its snapshots, first. */
  clean: boolean;
  /** Root of the output folders. */
  out: string;
  keepVm: boolean;
  quiet: boolean;
  /** Boot the finished ISO in qemu the ways image.yaml's boot_test names. */
  bootTest?: boolean;
  /** Keep this many passed builds of the image, suite and arch in `out` (see output/retention.ts); 0 or unset: all. */
  keep?: number;
  /** A scratch build: not recorded in the build history. */
  scratch?: boolean;
  /** GPG key that signs SHA256SUMS (SHA256SUMS.sign). */
  signKey?: string;
  /** false: fetch every package from the mirror, not through the shared package cache (--no-cache); default: VMLIVE_CACHE decides. */
  cache?: boolean;
  /** Where images/ and hooks/ are looked up (a git checkout); default the current folder. */
  cwd?: string;
  /** The git repository and commit the image came from, for the report. */
  source?: GitSource;
  /** Where the build's progress goes, as events (report/events.ts); the build log gets everything regardless. */
  events?: EventSink;
  signal: AbortSignal;
  /** Every timestamp in the image and ISO is clamped to this; default $SOURCE_DATE_EPOCH, else the start time. */
  sourceDateEpoch?: number;
  /** Root of the work areas instead of workDir() (--check-reproducible's second build has its own). */
  workRoot?: string;
  /** Build twice from scratch and compare squashfs and ISO byte for byte (pipeline/reproducible.ts). */
  checkReproducible?: boolean;
}

/** The host's work area of one image and architecture on one backend (a folder, or the VM's work disk). */
export function hostWorkDir(image: string, arch: string, backend: Backend, root = workDir()): string {
  return path.join(root, `${image}-${arch}`, backend);
}

export interface BuildResult {
  dir: string;
  report: BuildReport;
}

export async function build(o: BuildOptions): Promise<BuildResult> {
  const image = loadImage(o.image, { sets: o.sets, cwd: o.cwd });
  const steps = selectSteps(o.steps);
  checkFrom(o.from, o);
  const problems = verifyPlan(image, steps);
  if (problems.length) throw new ConfigError(problems);
  // Whatever stops the boot test is said now, not after an hour of building.
  if (o.bootTest) checkBootTestable(image, steps);
  if (o.backend === "host") checkHostBackend(image);
  if (o.backend === "host" && process.getuid?.() !== 0)
    throw new UsageError(
      "--backend host runs debootstrap and chroot, which need root",
      "run it as root, or use the default VM backend",
    );
  if (o.signKey !== undefined) await checkSigningKey(o.signKey);
  const cacheOff = cacheOffReason(o.cache);

  const c = image.config;
  const started = new Date();
  const name = `${image.name}-${c.suite}-${c.arch}-${stamp(started)}`;
  const outRoot = path.resolve(o.out);
  const partial = path.join(outRoot, `.${name}.partial`);
  const logDir = path.join(partial, "logs");
  await mkdir(logDir, { recursive: true });
  const label = buildLabel({ image: image.name, suite: c.suite, arch: c.arch });
  const log = new BuildLog(path.join(logDir, "build.log"), o.events, label, o.quiet);
  const sourceDateEpoch =
    o.sourceDateEpoch ?? Number(process.env.SOURCE_DATE_EPOCH ?? Math.floor(started.getTime() / 1000));

  // Each backend keeps its own work area: a folder here, or the VM's work disk.
  const hostWork = hostWorkDir(image.name, c.arch, o.backend, o.workRoot);
  const timings: StepTiming[] = [];
  // The machine's share of the wall time; the rest is vmlive's own (docs/bench.md).
  const commands = new CommandClock();
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
    // Joined before the machine starts, so a builder image made now fetches through it too; left after the machine stops.
    if (cacheOff) log.say("cache", `package cache off (${cacheOff}): every package comes from the mirror`);
    // Only steps that fetch packages (and a builder image that may be made) need it.
    const fetches = o.backend === "vm" || steps.some((s) => FETCHING_STEPS.includes(s.name));
    await using cache =
      cacheOff || !fetches ? undefined : await acquirePackageCache({ say: (m) => log.say("cache", m) });
    await using machine = await startMachine(o, image, hostWork, logDir, (m) => log.say("machine", m));
    machineDescription = machine.description;
    if (machine instanceof QemuMachine) builderImage = machine.builderImage;
    const work = workPaths(o.backend === "host" ? hostWork : GUEST_WORK_AREA);
    await machine.exec(["mkdir", "-p", work.root, work.out, work.input], { signal: o.signal });
    tools = await toolVersions(machine);
    const watched = watchExecs(machine, (argv) => log.command(argv, machine.site), commands);
    // What earlier runs left in the work area decides what this one reuses (stages.ts).
    state = await loadState(machine, work.root, o.signal);
    const stages = await startStages({
      image,
      all: STEPS,
      chosen: o.steps?.length ? steps : undefined,
      from: o.from,
      state,
      env: { machine: watched, work, signal: o.signal, say: (m) => log.say("vmlive", m) },
      tools,
      pinnedEpoch: o.sourceDateEpoch ?? (process.env.SOURCE_DATE_EPOCH ? sourceDateEpoch : undefined),
      save: (x) => saveState(x.machine, x.work.root, x.state, x.signal),
    });
    for (const step of stages.reused) timings.push({ step, seconds: 0, ok: true, reused: true });
    const ctx = {
      image,
      machine: watched,
      work,
      state,
      log: log.forStep("vmlive"),
      signal: o.signal,
      sourceDateEpoch,
      outDir: partial,
      logDir,
      packageCache: cache && { proxy: cache.proxyFor(machine.site) },
      stages: stages.run,
    };
    await runSteps(ctx, stages.steps, timings, (s) => log.forStep(s), log, stages.hooks);
    if (o.signKey !== undefined && state.artifacts) {
      log.say("vmlive", `signing SHA256SUMS with ${o.signKey}`);
      const sig = await signChecksums(partial, o.signKey, o.signal);
      state.artifacts.push({
        name: SIGNATURE_FILE,
        bytes: (await stat(sig)).size,
        sha256: await sha256File(sig),
      });
    }
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
    // Reused steps are listed first as they are planned; the report gives them in pipeline order.
    steps: inPipelineOrder(timings),
    commands: commands.totals(),
    tools,
    config: c,
    source: o.source,
    state,
  });
  await writeReports(partial, report);
  // Only a build that passed gets the plain name; a failed one keeps its logs under a name that says so.
  const dir = path.join(outRoot, failure === undefined ? name : `${name}.failed`);
  log.say(
    "vmlive",
    failure === undefined
      ? `built in ${fmtSeconds(report.seconds)}: ${dir}`
      : `failed after ${fmtSeconds(report.seconds)}; logs and report in ${dir}`,
  );
  await rename(partial, dir);
  // The log moved with its folder; from here on it is written there.
  const moved = new BuildLog(
    path.join(dir, "logs", "build.log"),
    o.events,
    label,
    o.quiet,
    started.getTime(),
  );
  moved.emit({ type: "folder", dir });
  const prefix = `${image.name}-${c.suite}-${c.arch}`;
  // Into the history (unless --scratch), then --keep: a build's record outlives its folder.
  const tidy = async () => {
    if (!o.scratch) await record(outRoot, dir, o.source, (m) => moved.say("vmlive", m));
    for (const gone of await prune(outRoot, prefix, o.keep ?? 0))
      moved.say("vmlive", `--keep ${o.keep}: removed ${gone}`);
  };
  if (failure !== undefined) {
    await tidy();
    throw failure;
  }
  if (o.bootTest) {
    report.bootTest = await bootTestBuilt(image, dir, report, o, (m) => moved.say("boot", m));
    for (const w of report.bootTest.ways)
      moved.emit({ type: "boot-way", way: w.way, ok: w.ok, seconds: w.seconds, reason: w.reason });
    await writeReports(dir, report);
    const failed = report.bootTest.ways.filter((w) => !w.ok).map((w) => w.way);
    if (o.signal.aborted) throw o.signal.reason;
    if (failed.length) {
      await tidy();
      throw new VerificationError(
        `the ISO was built and stays in ${dir}, but did not pass the boot test: ${failed.join(", ")}`,
        `serial logs, screenshots and ${report.bootTest.report} in ${dir}; ` +
          `boot it again with vmlive boot ${isoIn(dir, report)} --ways ${failed.join(",")}`,
      );
    }
  }
  // `latest` is the newest ISO that passed everything it was asked to (not a --steps run without
  // one, nor a --scratch try-out).
  if (!o.scratch && report.artifacts?.some((a) => a.name.endsWith(".iso")))
    await pointLatest(outRoot, prefix, path.basename(dir));
  await tidy();
  return { dir, report };
}

/** Record a build folder in OUT/history.sqlite. A history that cannot be written does not undo a finished build. */
async function record(
  outRoot: string,
  dir: string,
  git: GitSource | undefined,
  say: (m: string) => void,
): Promise<void> {
  const file = historyFile(outRoot);
  try {
    const id = await recordBuild(file, dir, { git });
    say(`recorded as build ${id} in ${file}`);
  } catch (e) {
    say(`warning: not recorded in ${file}: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/** report.json, and the same build as junit.xml and summary.md for CI engines and people. */
async function writeReports(dir: string, report: BuildReport): Promise<void> {
  await writeFile(path.join(dir, "report.json"), JSON.stringify(report, null, 2) + "\n");
  await writeFile(path.join(dir, JUNIT_FILE), junitXml(report));
  await writeFile(path.join(dir, SUMMARY_FILE), summaryMarkdown(report));
}

function checkBootTestable(image: LoadedImage, steps: readonly { name: string }[]): void {
  if (!steps.some((s) => s.name === "collect"))
    throw new UsageError(
      "--boot-test boots the ISO that the collect step puts in the output folder",
      "add collect to --steps",
    );
  const problems = bootTestProblems(image.config);
  if (problems.length)
    throw new ConfigError(
      problems.map((p) => ({ file: image.displayFile, path: p.path, message: p.message })),
    );
  // No ISO yet: only what it will be booted as matters here.
  const plan = planFromConfig("", image.config)!;
  const missing = missingForBoot(plan.arch, plan.ways, plan.secureBoot);
  if (missing.length)
    throw new VerificationError(`--boot-test: this host cannot boot the ISO:\n  ${missing.join("\n  ")}`);
}

/** Boot the ISO of a finished build every way its image names; the serial logs and screenshots go to boot/. */
async function bootTestBuilt(
  image: LoadedImage,
  dir: string,
  report: BuildReport,
  o: BuildOptions,
  say: (m: string) => void,
): Promise<BuildBootTest> {
  const plan = planFromConfig(isoIn(dir, report), image.config)!;
  const accel = await chooseAccel(o.accel, say);
  const boot = await bootAllWays(plan, { accel, logDir: path.join(dir, "boot"), signal: o.signal, say });
  say(`\n${bootTable(boot)}`);
  for (const w of boot.ways) {
    const details = wayDetails(w, path.join(dir, "boot"));
    if (details && !w.ok) say(details);
  }
  return buildBootTest(boot, "boot");
}

function isoIn(dir: string, report: BuildReport): string {
  const iso = report.artifacts?.find((a) => a.name.endsWith(".iso"));
  if (!iso || !existsSync(path.join(dir, iso.name)))
    throw new VerificationError(`there is no ISO in ${dir} to boot`);
  return path.join(dir, iso.name);
}

/** Step timings in pipeline order, whatever order they were added in (reused steps come first). */
export function inPipelineOrder(timings: readonly StepTiming[]): StepTiming[] {
  const at = (t: StepTiming) => STEPS.findIndex((s) => s.name === t.step);
  return [...timings].sort((a, b) => at(a) - at(b));
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
  if (o.backend === "host") return new HostMachine({ logDir });
  return startBuilder({
    release: image.config.suite,
    arch: builderArchFor(image.config),
    accel: o.accel,
    logDir,
    mirror: image.config.mirror.build,
    cache: o.cache,
    keep: o.keepVm,
    workDisk: path.join(hostWork, "work.raw"),
    say,
    signal: o.signal,
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
