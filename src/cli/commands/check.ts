import type { CommandModule } from "yargs";
import { loadImage } from "../../config/load.js";
import { ConfigError, type ConfigProblem } from "../../errors.js";
import { selectSteps, verifyPlan } from "../../pipeline/plan.js";
import type { Io } from "../io.js";
import { setOption, type SetArgs } from "./options.js";

interface Args extends SetArgs {
  image: string[];
  steps?: string[];
}

/** Load, validate and verify on the host; throws ConfigError with every problem of every image. */
export function checkImages(
  refs: readonly string[],
  sets: readonly string[],
  io: Io,
  stepNames?: string[],
): void {
  const problems: ConfigProblem[] = [];
  const steps = selectSteps(stepNames);
  for (const ref of refs) {
    try {
      const img = loadImage(ref, { sets });
      const found = verifyPlan(img, steps);
      if (found.length) problems.push(...found);
      else {
        const c = img.config;
        io.out(
          `${img.displayFile}: ok (${c.suite} ${c.arch}, ${c.packages.length} packages, ` +
            `${c.hooks.length} hook${c.hooks.length === 1 ? "" : "s"}, ${c.iso.bootloaders.join("+")})`,
        );
      }
    } catch (e) {
      if (e instanceof ConfigError) problems.push(...e.problems);
      else throw e;
    }
  }
  if (problems.length) throw new ConfigError(problems);
}

export function checkCommand(io: Io): CommandModule<object, Args> {
  return {
    command: "check <image...>",
    describe: "Validate images and run every step's host-side checks; boots nothing",
    builder: (y) =>
      setOption(
        y
          .positional("image", {
            type: "string",
            array: true,
            demandOption: true,
            describe: "image name under images/, or a path to an image folder or image.yaml",
          })
          .option("steps", {
            type: "string",
            array: true,
            describe: "check only what these steps need (as for build --steps)",
          })
          .example("$0 check live-minimal", "check one image")
          .example("$0 check images/*/", "check every image")
          .example("$0 check live-minimal --set suite=trixie", "check a variation"),
      ) as never,
    handler: (a) => checkImages(a.image, a.set ?? [], io, a.steps),
  };
}
