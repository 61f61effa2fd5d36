// The build steps, in pipeline order. The order is this array's, whatever
// order a user names steps in (`--steps iso,squash` runs squash, then iso).
import type { ConfigProblem } from "../errors.js";
import type { LoadedImage } from "../config/load.js";
import type { BuildContext } from "./context.js";

export interface Step {
  readonly name: string;
  readonly summary: string;
  /** Checks that need only the host and the image folder; run before any machine starts. */
  verify(image: LoadedImage): ConfigProblem[];
  /** Do the step's work on the machine. */
  run(ctx: BuildContext): Promise<void>;
  /** Undo what run() may have left half done (mounts, temporary files); runs in reverse step order, always. */
  cleanup?(ctx: BuildContext): Promise<void>;
}
