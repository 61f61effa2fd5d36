// The build benchmark: images/live-minimal cold and warm on each backend,
// live-build's equivalent beside it, then the ratios. Every run prints its
// JSON line as soon as it ends, so a long bench shows its numbers as it goes.
import os from "node:os";
import { probeKvm } from "../src/host/kvm.js";
import { BACKENDS, type Backend } from "../src/pipeline/build.js";
import { UsageError } from "../src/errors.js";
import { VERSION } from "../src/version.js";
import { makeArea, removeTree } from "./area.js";
import type { RunKind } from "./kinds.js";
import { liveBuildRun, liveBuildVersion, removeLiveBuild } from "./live-build.js";
import type { Progress } from "./progress.js";
import { ratios, rebuildRatios, TARGETS, type RunLine } from "./results.js";
import { vmliveRun } from "./vmlive-run.js";

export interface BuildsOptions {
  /** Backends asked for; undefined: host when root, vm when KVM works. */
  backends?: readonly Backend[];
  kinds: readonly RunKind[];
  boot: boolean;
  liveBuild: boolean;
  /** Keep the temporary folder (ISOs, logs) and say where. */
  keep: boolean;
  print: (line: object) => void;
}

/** The backends a bench runs when none are named: what this machine can build on in reasonable time. */
export async function defaultBackends(
  isRoot: boolean,
  kvmUsable: () => Promise<boolean>,
): Promise<Backend[]> {
  const out: Backend[] = [];
  if (isRoot) out.push("host");
  // Under TCG a cold VM build takes well over an hour: only when asked for.
  if (await kvmUsable()) out.push("vm");
  return out;
}

export function parseBackends(list: readonly string[]): Backend[] {
  const bad = list.filter((b) => !(BACKENDS as readonly string[]).includes(b));
  if (bad.length)
    throw new UsageError(`--backends ${bad.join(",")}: no such backend`, `use ${BACKENDS.join(", ")}`);
  return [...new Set(list)] as Backend[];
}

export async function benchBuilds(o: BuildsOptions, p: Progress): Promise<RunLine[]> {
  const isRoot = process.getuid?.() === 0;
  const kvm = await probeKvm({ bootTest: true });
  const backends = o.backends ?? (await defaultBackends(isRoot, async () => kvm.usable));
  if (backends.includes("host") && !isRoot)
    throw new UsageError(
      "--backends host builds with debootstrap and chroot, which need root",
      "run the bench as root",
    );
  if (backends.length === 0)
    throw new UsageError(
      `nothing to build on: not root (no host backend) and ${kvm.reason}`,
      "run as root, or ask for the VM under TCG with --backends vm (a cold build takes about 100 minutes)",
    );
  const lbVersion = o.liveBuild ? await liveBuildVersion() : undefined;
  if (o.liveBuild && !lbVersion) p.say("live-build not installed: skipped");
  if (o.liveBuild && lbVersion && !isRoot) p.say("live-build needs root: skipped");
  const withLb = o.liveBuild && lbVersion !== undefined && isRoot;
  o.print({
    bench: "machine",
    date: new Date().toISOString(),
    cores: os.cpus().length,
    load: os.loadavg().map((n) => Math.round(n * 100) / 100),
    kvm: kvm.usable,
    kvm_reason: kvm.reason,
    vmlive: VERSION,
    live_build: withLb ? lbVersion : null,
    backends,
    kinds: o.kinds.map((k) => k.name),
  });

  const area = await makeArea();
  const lines: RunLine[] = [];
  const emit = (l: RunLine) => {
    lines.push(l);
    o.print(l);
  };
  try {
    for (const backend of backends)
      for (const kind of o.kinds) emit(await vmliveRun(area, backend, kind, o.boot, p));
    if (withLb)
      for (const kind of o.kinds.filter((k) => k.liveBuild)) emit(await liveBuildRun(area, kind, o.boot, p));
    for (const r of ratios(lines)) o.print(r);
    for (const r of rebuildRatios(lines)) o.print(r);
    for (const l of lines)
      if (l.overhead !== undefined && l.overhead !== null && l.overhead > TARGETS.overhead)
        p.say(
          `vmlive ${l.backend} ${l.run}: overhead ${(l.overhead * 100).toFixed(1)} % is over the ${TARGETS.overhead * 100} % target`,
        );
  } finally {
    if (o.keep) p.say(`kept ${area.root}`);
    else {
      if (withLb) await removeLiveBuild(area);
      await removeTree(area.root);
    }
  }
  return lines;
}
