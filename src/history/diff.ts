// What changed from one build to another (packages, sizes, boot and step
// times) and which of those changes cross the thresholds the user set.
import { fmtSeconds } from "../pipeline/runner.js";
import { humanBytes } from "../steps/boot/machine-files.js";
import type { BuildRecord, BuildStatus } from "./build-folder.js";
import { diffPackages, type PackageDiff } from "./package-diff.js";

/** A build in the history (with its id) or read from a folder that is not. */
export type DiffInput = BuildRecord & { id?: number };

export interface BuildSummary {
  id: number | null;
  /** "build 7", or the folder when it is not in the history. */
  label: string;
  folder: string;
  image: string;
  suite: string;
  arch: string;
  status: BuildStatus;
  started: string;
  /** Whether the build folder had a package list (manifest.tsv). */
  manifest: boolean;
  bootTested: boolean;
}

/** A number in both builds; delta and percent are null when either side is unknown (or 0, for percent). */
export interface Change {
  from: number | null;
  to: number | null;
  delta: number | null;
  percent: number | null;
}

export interface BootChange extends Change {
  way: string;
  /** Whether the way booted; null when the build did not try it. */
  fromOk: boolean | null;
  toOk: boolean | null;
}

export interface StepChange extends Change {
  step: string;
}

export interface BuildDiff {
  from: BuildSummary;
  to: BuildSummary;
  /** Null when either build has no package list (it stopped before collect). */
  packages: (PackageDiff & { from: number; to: number }) | null;
  iso: Change;
  squashfs: Change;
  seconds: Change;
  boots: BootChange[];
  steps: StepChange[];
  /** What could not be compared, and why. */
  notes: string[];
}

const ENDED: Record<BuildStatus, string> = {
  success: "succeeded",
  failed: "failed",
  interrupted: "was interrupted",
};

/** "build 7", or the folder of a build that is not in the history. */
export const buildLabel = (b: DiffInput) => (b.id === undefined ? b.folder : `build ${b.id}`);

export function summarize(b: DiffInput): BuildSummary {
  return {
    id: b.id ?? null,
    label: buildLabel(b),
    folder: b.folder,
    image: b.image,
    suite: b.suite,
    arch: b.arch,
    status: b.status,
    started: b.started,
    manifest: b.packages !== undefined,
    bootTested: b.boots !== undefined,
  };
}

export function change(from: number | undefined | null, to: number | undefined | null): Change {
  const f = from ?? null;
  const t = to ?? null;
  const delta = f === null || t === null ? null : t - f;
  return { from: f, to: t, delta, percent: delta === null || !f ? null : (delta / f) * 100 };
}

export function diffBuilds(a: DiffInput, b: DiffInput): BuildDiff {
  const from = summarize(a);
  const to = summarize(b);
  const notes: string[] = [];
  for (const s of [from, to]) {
    if (!s.manifest)
      notes.push(`${s.label} has no package list: no manifest.tsv (the build ${ENDED[s.status]})`);
    if (!s.bootTested) notes.push(`${s.label} was not boot-tested (vmlive build --boot-test)`);
  }
  const ways = [...new Set([...(a.boots ?? []), ...(b.boots ?? [])].map((w) => w.way))];
  const stepNames = [...new Set([...a.steps, ...b.steps].map((s) => s.step))];
  return {
    from,
    to,
    packages:
      a.packages && b.packages
        ? { ...diffPackages(a.packages, b.packages), from: a.packages.length, to: b.packages.length }
        : null,
    iso: change(a.isoBytes, b.isoBytes),
    squashfs: change(a.squashfsBytes, b.squashfsBytes),
    seconds: change(a.seconds, b.seconds),
    boots: ways.map((way) => {
      const x = a.boots?.find((w) => w.way === way);
      const y = b.boots?.find((w) => w.way === way);
      return { way, fromOk: x?.ok ?? null, toOk: y?.ok ?? null, ...change(x?.seconds, y?.seconds) };
    }),
    steps: stepNames.map((step) => ({
      step,
      ...change(a.steps.find((s) => s.step === step)?.seconds, b.steps.find((s) => s.step === step)?.seconds),
    })),
    notes,
  };
}

/** The limits `vmlive diff` can enforce; each unset one is not checked. */
export interface Thresholds {
  /** Percent the ISO may grow by. */
  maxIsoGrowth?: number;
  /** Percent each boot way may take longer; a way that booted before must boot again. */
  maxBootSlowdown?: number;
  failOnRemoved?: boolean;
  failOnDowngraded?: boolean;
}

export interface Regression {
  /** The option, e.g. "--max-iso-growth". */
  threshold: string;
  limit: number | null;
  /** The measured percent or count; null when it could not be measured. */
  measured: number | null;
  message: string;
}

export function checkThresholds(d: BuildDiff, t: Thresholds): Regression[] {
  const out: Regression[] = [];
  const add = (threshold: string, limit: number | null, measured: number | null, what: string) =>
    out.push({
      threshold,
      limit,
      measured,
      message: `${threshold}${limit === null ? "" : ` ${limit}`}: ${what}`,
    });
  const missing = (s: BuildSummary, what: string) => `cannot be checked: ${s.label} has no ${what}`;

  if (t.maxIsoGrowth !== undefined) {
    const c = d.iso;
    const limit = t.maxIsoGrowth;
    if (c.from === null || c.to === null)
      add("--max-iso-growth", limit, null, missing(c.from === null ? d.from : d.to, "ISO"));
    else if (c.percent !== null && c.percent > limit)
      add(
        "--max-iso-growth",
        limit,
        c.percent,
        `the ISO grew by ${c.percent.toFixed(1)}% (${humanBytes(c.from)} -> ${humanBytes(c.to)}, +${c.delta} bytes)`,
      );
  }

  if (t.maxBootSlowdown !== undefined) {
    const limit = t.maxBootSlowdown;
    if (!d.from.bootTested) add("--max-boot-slowdown", limit, null, missing(d.from, "boot test"));
    for (const w of d.boots.filter((b) => b.fromOk)) {
      if (w.toOk === null)
        add(
          "--max-boot-slowdown",
          limit,
          null,
          `${w.way} booted in ${d.from.label} but was not tried in ${d.to.label}`,
        );
      else if (!w.toOk)
        add(
          "--max-boot-slowdown",
          limit,
          null,
          `${w.way} booted in ${d.from.label} and failed in ${d.to.label}`,
        );
      else if (w.percent !== null && w.percent > limit)
        add(
          "--max-boot-slowdown",
          limit,
          w.percent,
          `${w.way} booted ${w.percent.toFixed(1)}% slower (${fmtSeconds(w.from!)} -> ${fmtSeconds(w.to!)})`,
        );
    }
  }

  for (const [on, flag, kind] of [
    [t.failOnRemoved, "--fail-on-removed", "removed"],
    [t.failOnDowngraded, "--fail-on-downgraded", "downgraded"],
  ] as const) {
    if (!on) continue;
    if (!d.packages) {
      add(flag, null, null, missing(d.from.manifest ? d.to : d.from, "package list"));
      continue;
    }
    const list = d.packages[kind];
    if (list.length)
      add(
        flag,
        null,
        list.length,
        `${list.length} package${list.length === 1 ? "" : "s"} ${kind}: ${list.map((p) => p.name).join(", ")}`,
      );
  }
  return out;
}
