// Host-side checks of the files an image refers to (keyring, hooks, overlay),
// run by the steps' verify() before any machine starts.
import type { ConfigProblem } from "../errors.js";
import type { LoadedImage } from "../config/load.js";
import { findHook, findInImage } from "../images/files.js";

export function problem(img: LoadedImage, path: string, message: string): ConfigProblem {
  return { file: img.displayFile, path, message };
}

export function verifyKeyring(img: LoadedImage): ConfigProblem[] {
  const k = img.config.bootstrap.keyring;
  if (k === null) return [];
  const f = findInImage(img, k, "file");
  return f.ok ? [] : [problem(img, "bootstrap.keyring", f.message)];
}

export function verifyHooksAndOverlay(img: LoadedImage): ConfigProblem[] {
  const out: ConfigProblem[] = [];
  img.config.hooks.forEach((h, i) => {
    const f = findHook(img, h.path);
    if (!f.ok) out.push(problem(img, `hooks.${i}.path`, f.message));
  });
  const o = img.config.overlay;
  if (o !== null) {
    const f = findInImage(img, o, "folder");
    if (!f.ok) out.push(problem(img, "overlay", f.message));
  }
  return out;
}
