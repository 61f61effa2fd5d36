// Running vmlive the way a user does: a child process, from the repo root.
import { execa, type ResultPromise } from "execa";
import path from "node:path";
import { PROJECT_ROOT } from "../../src/paths.js";

export const TSX = path.join(PROJECT_ROOT, "node_modules", ".bin", "tsx");
export const CLI = path.join(PROJECT_ROOT, "src", "cli", "run.ts");

/** Start `vmlive ARGS` (from source, so tests never run a stale build). */
export function vmlive(
  args: readonly string[],
  opts: { cwd?: string; env?: Record<string, string> } = {},
): ResultPromise<{ reject: false; all: true }> {
  return execa(TSX, [CLI, ...args], {
    cwd: opts.cwd ?? PROJECT_ROOT,
    env: opts.env,
    reject: false,
    all: true,
  });
}
