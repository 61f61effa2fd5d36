// BuildState lives in the work area as state.json, on the machine, so a
// later `--steps` run knows what earlier runs finished.
import type { Machine } from "../machine/machine.js";
import type { BuildState } from "./context.js";

export function stateFile(workRoot: string): string {
  return `${workRoot}/state.json`;
}

export async function loadState(m: Machine, workRoot: string, signal?: AbortSignal): Promise<BuildState> {
  const r = await m.exec(["cat", stateFile(workRoot)], { check: false, signal });
  if (r.exitCode !== 0) return { done: [] };
  try {
    return JSON.parse(r.stdout) as BuildState;
  } catch {
    return { done: [] };
  }
}

export async function saveState(
  m: Machine,
  workRoot: string,
  state: BuildState,
  signal?: AbortSignal,
): Promise<void> {
  // Written under a temporary name and renamed, so a crash never leaves half a file.
  const file = stateFile(workRoot);
  await m.exec(["sh", "-c", 'cat > "$1.tmp" && mv "$1.tmp" "$1"', "save-state", file], {
    stdin: JSON.stringify(state, null, 2) + "\n",
    signal,
  });
}
