// Planning a run of `vmlive build`: which images, for which architectures,
// in which order; every image loaded and checked before anything starts, so
// a typo in the fifth image is reported before the first one takes an hour.
import path from "node:path";
import { loadImage, type LoadedImage } from "../config/load.js";
import { ARCHES, type Arch } from "../config/schema/system.js";
import { ConfigError, formatProblem, UsageError, type ConfigProblem } from "../errors.js";
import { imagesDir, listImageNames } from "../images/locate.js";
import { checkHostBackend } from "../machine/qemu/definition.js";
import { buildLabel, type PlannedBuildRef } from "../report/events.js";
import { selectSteps, verifyPlan } from "./plan.js";

/** One build of a run: an image for one architecture, loaded and checked. */
export interface PlannedBuild extends PlannedBuildRef {
  /** The image as the user named it. */
  ref: string;
  /** The --set overrides this build is loaded with (the user's, then arch=ARCH for --arch). */
  sets: string[];
  loaded: LoadedImage;
}

export interface PlanOptions {
  /** Image names or paths, as typed. */
  images: readonly string[];
  /** Every image under images/ as well. */
  all?: boolean;
  /** `--arch` values, each one or several comma-separated architectures. */
  arches?: readonly string[];
  sets?: readonly string[];
  /** `--steps`, to check what these steps need. */
  steps?: readonly string[];
  backend?: string;
  /** Where images/ is looked up. */
  cwd?: string;
}

/** `--arch amd64,arm64 --arch i386` as architectures, in order, each once; undefined when none given. */
export function parseArches(values: readonly string[] | undefined): Arch[] | undefined {
  if (!values?.length) return undefined;
  const names = values
    .flatMap((v) => v.split(","))
    .map((v) => v.trim())
    .filter(Boolean);
  const bad = names.filter((n) => !(ARCHES as readonly string[]).includes(n));
  if (bad.length)
    throw new UsageError(
      `--arch ${bad.join(",")}: not ${bad.length === 1 ? "an architecture" : "architectures"} vmlive builds`,
      `use one or more of ${ARCHES.join(", ")}, comma-separated (--arch amd64,arm64)`,
    );
  if (names.length === 0)
    throw new UsageError("--arch names no architecture", `use one or more of ${ARCHES.join(", ")}`);
  return [...new Set(names as Arch[])];
}

/** The images named, plus every image under images/ with --all, each name once. */
export function imageRefs(o: Pick<PlanOptions, "images" | "all" | "cwd">): string[] {
  const cwd = o.cwd ?? process.cwd();
  const refs = [...o.images, ...(o.all ? listImageNames(cwd) : [])];
  if (refs.length === 0)
    throw new UsageError(
      o.all
        ? `--all: there are no images under ${path.relative(cwd, imagesDir(cwd)) || "."}/`
        : "name the images to build, or --all for every image under images/",
      o.all
        ? "create images/NAME/image.yaml, or set $VMLIVE_IMAGES"
        : "see `vmlive list` for the images there are",
    );
  return [...new Set(refs)];
}

/**
 * Every (image, arch) build of a run, in order: each image once per --arch
 * (or once for the arch its image.yaml says), the same image and arch once
 * however it was named. Throws with every problem of every image at once.
 */
export function planBuilds(o: PlanOptions): PlannedBuild[] {
  const arches = parseArches(o.arches);
  const refs = imageRefs(o);
  const steps = selectSteps(o.steps);
  const usage: UsageError[] = [];
  const problems: ConfigProblem[] = [];
  const seen = new Set<string>();
  const builds: PlannedBuild[] = [];
  for (const ref of refs)
    for (const arch of arches ?? [undefined]) {
      const sets = [...(o.sets ?? []), ...(arch ? [`arch=${arch}`] : [])];
      let loaded: LoadedImage;
      try {
        loaded = loadImage(ref, { sets, cwd: o.cwd });
        if (o.backend === "host") checkHostBackend(loaded);
      } catch (e) {
        if (e instanceof ConfigError) problems.push(...e.problems);
        else if (e instanceof UsageError) usage.push(e);
        else throw e;
        continue;
      }
      const c = loaded.config;
      const key = `${loaded.file}\0${c.arch}`;
      if (seen.has(key)) continue;
      seen.add(key);
      problems.push(...verifyPlan(loaded, steps));
      const id = { image: loaded.name, suite: c.suite, arch: c.arch };
      builds.push({ ...id, build: buildLabel(id), ref, sets, loaded });
    }
  if (usage.length) {
    // A usage error (an image that does not exist) exits 2 like a config one; say all of them.
    if (usage.length === 1 && problems.length === 0) throw usage[0];
    const lines = [...new Set(usage.map((u) => u.message)), ...dedupe(problems).map(formatProblem)];
    const hints = [...new Set(usage.map((u) => u.hint).filter((h) => h !== undefined))];
    throw new UsageError(
      `${lines.length} problems with the images named; nothing was built:\n  ${lines.join("\n  ")}`,
      hints.join("; ") || undefined,
    );
  }
  if (problems.length) throw new ConfigError(dedupe(problems));
  return builds;
}

/** The same problem found for two arches of one image is said once. */
function dedupe(problems: readonly ConfigProblem[]): ConfigProblem[] {
  const seen = new Set<string>();
  return problems.filter((p) => {
    const k = formatProblem(p);
    return !seen.has(k) && (seen.add(k), true);
  });
}
