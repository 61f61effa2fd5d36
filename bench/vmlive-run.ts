// One vmlive build of images/live-minimal as the bench runs it: vmlive from
// source in its own process (so its start-up counts), with the bench's cache
// and work area, its numbers read from the build's report.json.
import { existsSync } from "node:fs";
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import type { Backend } from "../src/pipeline/build.js";
import { run, tailLines } from "../src/process/run.js";
import type { BuildReport } from "../src/report/report.js";
import { changeHook, packageCacheDir, REPO, removeTree, runDir, type BenchArea } from "./area.js";
import { bootOnce } from "./boot-iso.js";
import type { RunKind } from "./kinds.js";
import { vmliveArgv, type Progress } from "./progress.js";
import { overhead, round, type RunLine } from "./results.js";

export const BENCH_IMAGE = "live-minimal";

export async function vmliveRun(
  area: BenchArea,
  backend: Backend,
  kind: RunKind,
  boot: boolean,
  p: Progress,
): Promise<RunLine> {
  // Cold: nothing in the package cache (the bench's own; other builds' cache is elsewhere).
  if (kind.cold) await removeTree(packageCacheDir(area));
  if (kind.changeHook) await changeHook(area);
  const out = runDir(area, "vmlive", backend, kind.name);
  const argv = vmliveArgv([
    "build",
    BENCH_IMAGE,
    "--backend",
    backend,
    "--accel",
    p.accel,
    "--out",
    out,
    "--quiet",
    ...kind.vmliveArgs,
  ]);
  p.say(`vmlive ${backend} ${kind.name}: ${argv.slice(2).join(" ")}`);
  const t0 = performance.now();
  const r = await run(argv, {
    cwd: REPO,
    env: area.env,
    check: false,
    signal: p.signal,
    output: p.output(`vmlive ${backend} ${kind.name}`),
  });
  const wall = round((performance.now() - t0) / 1000, 1);
  const found = await buildFolder(out);
  const report = found
    ? (JSON.parse(await readFile(path.join(found, "report.json"), "utf8")) as BuildReport)
    : undefined;
  const iso = report?.artifacts?.find((a) => a.name.endsWith(".iso"));
  const total = report ? round(report.seconds, 1) : null;
  const line: RunLine = {
    bench: "build",
    tool: "vmlive",
    backend,
    run: kind.name,
    ok: r.exitCode === 0 && report?.status === "success",
    ...(r.exitCode === 0 ? {} : { error: report?.error ?? `exit ${r.exitCode}: ${tailLines(r.stderr, 3)}` }),
    steps: Object.fromEntries((report?.steps ?? []).map((s) => [s.step, round(s.seconds, 1)])),
    total_s: total,
    wall_s: wall,
    iso_bytes: iso?.bytes ?? null,
    boot_s: null,
    commands: report?.commands,
    overhead: overhead(total, report?.commands),
  };
  if (boot && line.ok && iso && found)
    Object.assign(line, await bootOnce(path.join(found, iso.name), path.join(out, "boot"), [], p));
  return line;
}

/** The build folder a run left in its own --out: the passed one, else the failed one. */
async function buildFolder(out: string): Promise<string | undefined> {
  if (!existsSync(out)) return undefined;
  const names = (await readdir(out, { withFileTypes: true }))
    .filter((d) => d.isDirectory() && d.name.startsWith(`${BENCH_IMAGE}-`) && !d.name.startsWith("."))
    .map((d) => d.name)
    .sort((a, b) => Number(a.endsWith(".failed")) - Number(b.endsWith(".failed")));
  const name = names.find((n) => existsSync(path.join(out, n, "report.json")));
  return name && path.join(out, name);
}
