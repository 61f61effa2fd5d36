// Planning a build: which steps run, in pipeline order, and every host-side
// problem found before any machine starts.
import type { ConfigProblem } from "../errors.js";
import { UsageError } from "../errors.js";
import type { LoadedImage } from "../config/load.js";
import { STEPS } from "../steps/index.js";
import type { Step } from "./steps.js";

/** Every host-side problem of an image, from every step. */
export function verifyPlan(img: LoadedImage, steps: readonly Step[] = STEPS): ConfigProblem[] {
  return steps.flatMap((s) => s.verify(img));
}

/** The steps named (comma-separated, any order), in pipeline order; all of them when none are named. */
export function selectSteps(names: readonly string[] | undefined, steps: readonly Step[] = STEPS): Step[] {
  if (!names || names.length === 0) return [...steps];
  const wanted = new Set(
    names
      .flatMap((n) => n.split(","))
      .map((n) => n.trim())
      .filter(Boolean),
  );
  const unknown = [...wanted].filter((n) => !steps.some((s) => s.name === n));
  if (unknown.length)
    throw new UsageError(
      `no step named ${unknown.join(", ")}`,
      `steps, in the order they run: ${steps.map((s) => s.name).join(", ")}`,
    );
  return steps.filter((s) => wanted.has(s.name));
}
