// What the jobs of both CI engines run, written once: the build of one
// matrix entry and the summary of them all. The image and arch come from the
// job's environment ($IMAGE, $ARCH), so no value is pasted into a script.
import { shellJoin } from "../process/quote.js";
import type { Backend } from "../pipeline/build.js";
import type { CiBuild } from "./matrix.js";

/** Where each build job puts its build folder (the one artifact it uploads). */
export const OUT_DIR = "out";
/** The cache folder in the checkout (VMLIVE_CACHE_DIR), so the CI engine's cache can save and restore it. */
export const CACHE_DIR = ".cache/vmlive";
/** What is kept between runs: the builder VM images and the downloaded packages. */
export const CACHE_PATHS = [`${CACHE_DIR}/builders`, `${CACHE_DIR}/packages`];
/** Files whose change makes a new cache: the builder VM definitions, and vmlive's version and dependencies. */
export const CACHE_KEY_FILES = ["vm/**", "package-lock.json"];
/** Changes that start a pipeline on push. */
export const WATCHED_PATHS = ["images/**", "hooks/**", "vm/**"];
/** The merged reports the summary job writes. */
export const SUMMARY_MD = "vmlive-summary.md";
export const SUMMARY_JUNIT = "vmlive-junit.xml";

/**
 * The build of one matrix entry, with its boot test when $BOOT_TEST is true
 * (false for what vmlive cannot boot). `asRoot` is the prefix that runs it as
 * root for the host backend (sudo, keeping PATH for the Node.js that setup
 * found, and the cache folder), or "" where the job is root already.
 */
export function buildScript(backend: Backend, asRoot: string): string {
  const tail = shellJoin(["--backend", backend, "--out", OUT_DIR]);
  const prefix = backend === "host" && asRoot ? `${asRoot} ` : "";
  return `${prefix}./bin/vmlive.js build "$IMAGE" --arch "$ARCH" --boot-test="$BOOT_TEST" ${tail}`;
}

/** `--expect IMAGE:ARCH` for every build, so a job that left no folder is reported too. */
export function summaryArgs(builds: readonly CiBuild[], dir: string): string[] {
  return [
    "./bin/vmlive.js",
    "summary",
    dir,
    "--junit",
    SUMMARY_JUNIT,
    ...builds.flatMap((b) => ["--expect", `${b.image}:${b.arch}`]),
  ];
}

export const summaryCommand = (builds: readonly CiBuild[], dir: string) =>
  shellJoin(summaryArgs(builds, dir));
