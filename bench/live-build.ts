// live-build's side of the bench: bench/live-build copied to a folder of its
// own and built there stage by stage (what `lb build` runs: bootstrap, chroot,
// binary; the installer stage does nothing without debian-installer), each
// stage timed. Cold is a fresh copy; warm is `lb clean` (which keeps lb's
// cache/: the downloaded packages and the bootstrap stage) and the same again.
import { cp, stat } from "node:fs/promises";
import path from "node:path";
import { run, tailLines } from "../src/process/run.js";
import { REPO, removeTree, runDir, type BenchArea } from "./area.js";
import { bootOnce } from "./boot-iso.js";
import type { RunKind } from "./kinds.js";
import type { Progress } from "./progress.js";
import { round, type RunLine } from "./results.js";

export const LIVE_BUILD_CONFIG = path.join(REPO, "bench", "live-build");
/** What `lb binary` names an amd64 iso-hybrid image. */
export const LIVE_BUILD_ISO = "live-image-amd64.hybrid.iso";
/** Its boot: no report.json beside it says how, so the bench does (the same as image.yaml's defaults). */
const BOOT_SETTINGS = ["--arch", "amd64", "--success", "login:", "--timeout", "600"];

/** live-build's version, or undefined when it is not installed (the bench then skips it). */
export async function liveBuildVersion(): Promise<string | undefined> {
  const r = await run(["dpkg-query", "-W", "-f", "${Version}", "live-build"], { check: false }).catch(
    () => undefined,
  );
  const which = await run(["sh", "-c", "command -v lb"], { check: false });
  return r?.exitCode === 0 && which.exitCode === 0 ? r.stdout.trim() : undefined;
}

/** The stages of one run, as lb commands. */
export function liveBuildStages(kind: RunKind): [string, string[]][] {
  return [
    ...(kind.cold ? [] : ([["clean", ["lb", "clean"]]] as [string, string[]][])),
    ["config", ["lb", "config"]],
    ["bootstrap", ["lb", "bootstrap"]],
    ["chroot", ["lb", "chroot"]],
    ["binary", ["lb", "binary"]],
  ];
}

export async function liveBuildRun(
  area: BenchArea,
  kind: RunKind,
  boot: boolean,
  p: Progress,
): Promise<RunLine> {
  const dir = area.liveBuild;
  if (kind.cold) {
    await removeLiveBuild(area);
    await cp(LIVE_BUILD_CONFIG, dir, { recursive: true });
  }
  p.say(`live-build ${kind.name} in ${dir}`);
  const steps: Record<string, number> = {};
  let error: string | undefined;
  const t0 = performance.now();
  for (const [name, argv] of liveBuildStages(kind)) {
    const s0 = performance.now();
    const r = await run(argv, {
      cwd: dir,
      check: false,
      signal: p.signal,
      // lb's own progress lines ("P: ..."), not every line of debootstrap and apt.
      output: p.output(`lb ${kind.name}`, (l) => l.startsWith("P:") || l.startsWith("E:")),
    });
    steps[name] = round((performance.now() - s0) / 1000, 1);
    if (r.exitCode !== 0) {
      error = `${argv.join(" ")} exited ${r.exitCode}: ${tailLines(`${r.stdout}${r.stderr}`, 3)}`;
      break;
    }
  }
  const wall = round((performance.now() - t0) / 1000, 1);
  const iso = path.join(dir, LIVE_BUILD_ISO);
  const bytes = error
    ? null
    : await stat(iso).then(
        (s) => s.size,
        () => null,
      );
  const line: RunLine = {
    bench: "build",
    tool: "live-build",
    backend: "host",
    run: kind.name,
    ok: error === undefined && bytes !== null,
    ...(error ? { error } : bytes === null ? { error: `no ${LIVE_BUILD_ISO} after lb binary` } : {}),
    steps,
    total_s: round(
      Object.values(steps).reduce((a, b) => a + b, 0),
      1,
    ),
    wall_s: wall,
    iso_bytes: bytes,
    boot_s: null,
  };
  if (boot && line.ok)
    Object.assign(
      line,
      await bootOnce(iso, path.join(runDir(area, "live-build", kind.name), "boot"), BOOT_SETTINGS, p),
    );
  return line;
}

/** lb clean --purge first: it unmounts whatever a stopped lb left mounted in its chroot. */
export async function removeLiveBuild(area: BenchArea): Promise<void> {
  const dir = area.liveBuild;
  await run(["lb", "clean", "--purge"], { cwd: dir, check: false }).catch(() => undefined);
  await removeTree(dir);
}
