// What every bench run needs: where progress goes (stderr, so stdout holds
// only the JSON lines), the accelerator for boots and builder VMs, Ctrl-C.
import path from "node:path";
import type { OutputSink } from "../src/machine/machine.js";
import type { AccelChoice } from "../src/machine/qemu/accel.js";
import { REPO } from "./area.js";

export interface Progress {
  say(message: string): void;
  /** A child's output, each line prefixed with `label`; `keep` picks the lines shown (all when unset). */
  output(label: string, keep?: (line: string) => boolean): OutputSink;
  accel: AccelChoice;
  signal: AbortSignal;
}

export function stderrProgress(accel: AccelChoice, signal: AbortSignal): Progress {
  const say = (m: string) => process.stderr.write(`bench: ${m}\n`);
  return {
    say,
    output: (label, keep) => ({
      line: (_stream, text) => {
        if (!keep || keep(text)) process.stderr.write(`  ${label}| ${text}\n`);
      },
    }),
    accel,
    signal,
  };
}

/** vmlive from this checkout's source, as `npx tsx src/cli/run.ts` runs it. */
export function vmliveArgv(args: readonly string[]): string[] {
  return [path.join(REPO, "node_modules", ".bin", "tsx"), path.join(REPO, "src", "cli", "run.ts"), ...args];
}
