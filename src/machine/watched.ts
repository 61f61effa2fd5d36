// A Machine that says what it is about to run: each exec is announced (for
// the progress display's "current command") and then passed on unchanged.
import type { Machine } from "./machine.js";

export function watchExecs(m: Machine, onExec: (argv: readonly string[]) => void): Machine {
  return {
    get description() {
      return m.description;
    },
    site: m.site,
    exec: (argv, opts) => {
      onExec(argv);
      return m.exec(argv, opts);
    },
    upload: (from, to) => m.upload(from, to),
    download: (from, to) => m.download(from, to),
    // Watching a machine does not own it: whoever started it disposes of it.
    [Symbol.asyncDispose]: async () => undefined,
  };
}
