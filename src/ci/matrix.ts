// Which builds a generated CI file runs: every named image (or every image
// with --all) once per architecture, each pair checked now by loading the
// image as `vmlive build` would, so a pair that cannot build fails here and
// not after an hour in CI, and boot-tested where vmlive can boot it. Names
// end up as job names, artifact names and paths, so they are held to a safe
// alphabet.
import path from "node:path";
import { bootTestProblems } from "../boot/plan.js";
import { loadImage } from "../config/load.js";
import type { Arch, Suite } from "../config/schema/system.js";
import { UsageError } from "../errors.js";
import { imagesDir, listImageNames, locateImage } from "../images/locate.js";
import { parseArches } from "../pipeline/run-plan.js";

/** One job of the matrix. */
export interface CiBuild {
  image: string;
  suite: Suite;
  arch: Arch;
  /** Whether vmlive can boot it after the build (`vmlive build --boot-test`): its arch and serial console allow it. */
  bootTest: boolean;
}

export interface MatrixRequest {
  /** Image names (or paths to image folders under images/), as typed. */
  images: readonly string[];
  /** Every image under images/. */
  all: boolean;
  /** `--arch a,b` (repeatable): build each image for these instead of its own arch. */
  arches?: readonly string[];
  cwd?: string;
}

/** Letters, digits, . _ and -, starting with a letter or digit: safe as a job name, artifact name and path. */
export const CI_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** The image names the request means, each an image folder under images/. */
function imageNames(req: MatrixRequest, cwd: string): string[] {
  const where = path.relative(cwd, imagesDir(cwd)) || ".";
  if (req.all && req.images.length)
    throw new UsageError("--all takes every image; name images or give --all, not both");
  if (req.all) {
    const names = listImageNames(cwd);
    if (!names.length)
      throw new UsageError(`--all: no images under ${where}/`, "an image is a folder with an image.yaml");
    return names;
  }
  if (!req.images.length)
    throw new UsageError(
      "name the images the CI file builds, or give --all",
      `images under ${where}/: ${listImageNames(cwd).join(", ") || "none"} (see \`vmlive list\`)`,
    );
  return req.images.map((ref) => {
    const loc = locateImage(ref, cwd);
    // CI builds from a checkout, where only images/NAME is certain to be found again.
    if (path.dirname(loc.dir) !== imagesDir(cwd))
      throw new UsageError(
        `${ref}: a CI file builds images from ${where}/ in the checkout, and this image is elsewhere`,
        `move it to ${where}/${loc.name}/ and name it as ${loc.name}`,
      );
    return loc.name;
  });
}

/** Every (image, arch) pair to build, in the order asked, each once. Throws UsageError or ConfigError. */
export function planMatrix(req: MatrixRequest): CiBuild[] {
  const cwd = req.cwd ?? process.cwd();
  // The same reading of --arch as vmlive build's.
  const arches = parseArches(req.arches);
  const builds: CiBuild[] = [];
  for (const name of imageNames(req, cwd)) {
    if (!CI_NAME.test(name))
      throw new UsageError(
        `image "${name}": its name becomes a CI job name and a path, and may only hold letters, digits, ., _ and -`,
        "rename the image's folder",
      );
    // Loading with the arch set is what `vmlive build --arch` does: it checks the pair, and gives its suite.
    for (const arch of arches ?? [undefined]) {
      const c = loadImage(name, { cwd, sets: arch ? [`arch=${arch}`] : [] }).config;
      if (!builds.some((b) => b.image === name && b.arch === c.arch))
        builds.push({ image: name, suite: c.suite, arch: c.arch, bootTest: !bootTestProblems(c).length });
    }
  }
  return builds;
}

/** The most jobs one matrix may have on each CI engine. */
export const MATRIX_LIMITS = {
  // "A matrix can generate a maximum of 256 jobs per workflow run."
  github: 256,
  // GitLab refuses a parallel:matrix of more than 200 jobs.
  gitlab: 200,
} as const;

export function checkMatrixSize(engine: keyof typeof MATRIX_LIMITS, builds: readonly CiBuild[]): void {
  const limit = MATRIX_LIMITS[engine];
  if (builds.length > limit)
    throw new UsageError(
      `${builds.length} builds (images x architectures) are more than the ${limit} jobs ` +
        `${engine === "github" ? "a GitHub Actions matrix" : "a GitLab parallel:matrix"} may have`,
      "name fewer images or architectures, or split them over several files with --output",
    );
}
