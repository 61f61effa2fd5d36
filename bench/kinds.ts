// The kinds of run the bench makes of each build, in the order they run:
// each starts from what the one before left (the package cache, the work area).
import { UsageError } from "../src/errors.js";

export interface RunKind {
  /** The name in the JSON lines: cold, warm, ... */
  name: string;
  /** Start from nothing: an empty package cache and `vmlive build --clean` (live-build: a fresh folder). */
  cold: boolean;
  /** More `vmlive build` arguments for this kind. */
  vmliveArgs: readonly string[];
  /** Whether live-build has an equivalent of this kind (it has no --from). */
  liveBuild: boolean;
  /** Change one hook script of the bench's copy of the image first (area.ts changeHook). */
  changeHook?: boolean;
}

export const RUN_KINDS: readonly RunKind[] = [
  { name: "cold", cold: true, vmliveArgs: ["--clean"], liveBuild: true },
  // Package cache warm, work area kept; live-build keeps its cache/ (packages and the bootstrap stage).
  { name: "warm", cold: false, vmliveArgs: [], liveBuild: true },
  // Stage reuse makes the warm run above reuse everything; this one redoes what live-build's warm
  // run redoes (its bootstrap stage is cached, the chroot is built again), for a like-for-like figure.
  { name: "warm-from-customize", cold: false, vmliveArgs: ["--from", "customize"], liveBuild: false },
  // A full build again, packages cached: what a changed hook's rebuild is held against.
  { name: "clean", cold: false, vmliveArgs: ["--clean"], liveBuild: false },
  // One hook script edited, as someone iterating on it does: the rebuild starts at the hooks.
  { name: "hook-changed", cold: false, vmliveArgs: [], liveBuild: false, changeHook: true },
];

/**
 * The kinds asked for by name (--kinds), in RUN_KINDS order. A warm kind
 * needs the cold run before it: it measures what that run left behind.
 */
export function selectKinds(names: readonly string[] | undefined): RunKind[] {
  if (!names || names.length === 0) return [...RUN_KINDS];
  const unknown = names.filter((n) => !RUN_KINDS.some((k) => k.name === n));
  if (unknown.length)
    throw new UsageError(
      `--kinds ${unknown.join(",")}: no such run kind`,
      `use ${RUN_KINDS.map((k) => k.name).join(", ")}`,
    );
  const kinds = RUN_KINDS.filter((k) => names.includes(k.name));
  if (!kinds.some((k) => k.cold))
    throw new UsageError(
      `--kinds ${names.join(",")}: a warm run measures what the cold run before it left`,
      `add cold: --kinds cold,${names.join(",")}`,
    );
  return kinds;
}
