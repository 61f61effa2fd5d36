// Where vmlive keeps things on the host. Nothing here creates a folder: the
// callers that write make what they need.
import os from "node:os";
import path from "node:path";

type Env = Readonly<Record<string, string | undefined>>;

/** Downloads and builder images, reused between builds: $VMLIVE_CACHE_DIR, else the XDG cache folder. */
export function cacheDir(env: Env = process.env, home: string = os.homedir()): string {
  if (env.VMLIVE_CACHE_DIR) return path.resolve(env.VMLIVE_CACHE_DIR);
  // The XDG spec says to ignore a relative XDG_CACHE_HOME.
  const xdg = env.XDG_CACHE_HOME;
  if (xdg && path.isAbsolute(xdg)) return path.join(xdg, "vmlive");
  return path.join(home, ".cache", "vmlive");
}

/** Scratch space for builds in progress: $VMLIVE_WORK_DIR, else ./work, as an absolute path. */
export function workDir(env: Env = process.env, cwd: string = process.cwd()): string {
  return path.resolve(cwd, env.VMLIVE_WORK_DIR || "work");
}
