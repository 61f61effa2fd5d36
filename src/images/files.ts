// Files an image refers to (hooks, overlay, keyring), found on the host and
// kept inside the folders they may come from, even through symlinks.
import { existsSync, openSync, readSync, closeSync, realpathSync, statSync } from "node:fs";
import path from "node:path";
import type { ImageLocation } from "./locate.js";

export type Found = { ok: true; path: string } | { ok: false; message: string };

/** The real path of `rel` under `base` if it exists and stays inside `base`. */
function inside(base: string, rel: string): Found | undefined {
  const p = path.resolve(base, rel);
  if (!existsSync(p)) return undefined;
  const real = realpathSync(p);
  const realBase = realpathSync(base);
  if (real !== realBase && !real.startsWith(realBase + path.sep))
    return { ok: false, message: `${rel} leads outside ${path.basename(base)}/ (through a symlink)` };
  return { ok: true, path: real };
}

/** A hook script: the image folder first, then the shared hooks/ folder. */
export function findHook(img: ImageLocation, rel: string): Found {
  const found = inside(img.dir, rel) ?? (existsSync(img.hooksDir) ? inside(img.hooksDir, rel) : undefined);
  if (!found)
    return {
      ok: false,
      message: `no hook script ${rel}: looked in ${shortDir(img.dir)}/ and ${shortDir(img.hooksDir)}/`,
    };
  if (!found.ok) return found;
  if (!statSync(found.path).isFile()) return { ok: false, message: `${rel} is not a file` };
  if (!startsWithShebang(found.path))
    return {
      ok: false,
      message: `${rel} does not start with #! (say which interpreter runs it, e.g. #!/bin/sh)`,
    };
  return found;
}

/** A folder or file inside the image folder (overlay, keyring). */
export function findInImage(img: ImageLocation, rel: string, kind: "folder" | "file"): Found {
  const found = inside(img.dir, rel);
  if (!found) return { ok: false, message: `${rel} does not exist in ${shortDir(img.dir)}/` };
  if (!found.ok) return found;
  const isDir = statSync(found.path).isDirectory();
  if (kind === "folder" ? !isDir : isDir) return { ok: false, message: `${rel} is not a ${kind}` };
  return found;
}

function startsWithShebang(file: string): boolean {
  const fd = openSync(file, "r");
  try {
    const buf = Buffer.alloc(2);
    return readSync(fd, buf, 0, 2, 0) === 2 && buf.toString() === "#!";
  } finally {
    closeSync(fd);
  }
}

function shortDir(dir: string): string {
  return path.relative(process.cwd(), dir) || ".";
}
