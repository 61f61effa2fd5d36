// `vmlive build` run in the test's own process, through main() with a
// captured Io: for unit tests of the command line (no child process).
import type { Io } from "../../src/cli/io.js";
import { main } from "../../src/cli/main.js";

/** `vmlive build ARGS`: its exit code and what it printed on stdout and stderr. */
export async function vmliveBuild(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const io: Io = { out: (t) => void (out += t + "\n"), err: (t) => void (err += t + "\n") };
  const code = await main(["build", ...args], io);
  return { code, out, err };
}
