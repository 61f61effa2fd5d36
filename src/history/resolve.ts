// Which two builds `vmlive diff` compares. A reference is a build id, a build
// folder (in the history or not), or an image name (its latest successful
// build); what is left out is the build before, of the same image, suite and arch.
import { existsSync, statSync } from "node:fs";
import path from "node:path";
import { UsageError } from "../errors.js";
import { readBuildFolder, REPORT_FILE } from "./build-folder.js";
import { buildLabel as label, type DiffInput } from "./diff.js";
import type { HistoryDb } from "./open.js";
import { buildIdByFolder, getBuild, historyImages, latestBuild, previousBuild } from "./queries.js";
import { folderInHistory } from "./record.js";

export interface History {
  /** Undefined when the file does not exist yet. */
  db: HistoryDb | undefined;
  file: string;
}

const listHint = (h: History) =>
  `\`vmlive history --out ${path.dirname(h.file)}\` lists the builds with their ids`;

/** [older, newer] for `vmlive diff [a] [b]`. */
export async function resolveDiff(h: History, a?: string, b?: string): Promise<[DiffInput, DiffInput]> {
  if (a !== undefined && b !== undefined) return [await resolveOne(h, a), await resolveOne(h, b)];
  const ref = a ?? b;
  if (ref !== undefined) {
    const kind = await classify(h, ref);
    if (kind.image !== undefined) return latestPair(h, kind.image);
    const build = kind.build!;
    const prev = previousBuild(db(h, ref), build);
    if (prev === undefined)
      throw new UsageError(
        `${label(build)} is the first build of ${build.image} ${build.suite} ${build.arch} in ${h.file}: there is nothing before it to compare it with`,
        `name both builds: vmlive diff OLD NEW; ${listHint(h)}`,
      );
    return [stored(h, prev), build];
  }
  const images = h.db ? historyImages(h.db) : [];
  if (images.length === 1) return latestPair(h, images[0]!);
  if (!images.length) throw noHistory(h);
  throw new UsageError(
    `say which builds to compare: ${h.file} has builds of ${images.length} images (${images.join(", ")})`,
    `vmlive diff ${images[0]} compares its latest two successful builds; ${listHint(h)}`,
  );
}

/** The latest successful build of `image` and the successful one before it of the same suite and arch. */
function latestPair(h: History, image: string): [DiffInput, DiffInput] {
  const d = db(h, image);
  const id = latestBuild(d, { image, status: "success" });
  if (id === undefined) throw new UsageError(`${image} has no successful build in ${h.file}`, listHint(h));
  const b = stored(h, id);
  const prev = previousBuild(d, b, "success");
  if (prev === undefined)
    throw new UsageError(
      `${label(b)} is the only successful build of ${image} ${b.suite} ${b.arch} in ${h.file}: there is nothing to compare it with`,
      `build it again, or name two builds: vmlive diff OLD NEW; ${listHint(h)}`,
    );
  return [stored(h, prev), b];
}

async function resolveOne(h: History, ref: string): Promise<DiffInput> {
  const kind = await classify(h, ref);
  if (kind.build) return kind.build;
  const id = latestBuild(db(h, ref), { image: kind.image, status: "success" });
  if (id === undefined)
    throw new UsageError(`${kind.image} has no successful build in ${h.file}`, listHint(h));
  return stored(h, id);
}

/** A build (by id or folder), or an image name with builds in the history. */
async function classify(h: History, ref: string): Promise<{ build?: DiffInput; image?: string }> {
  if (/^[0-9]+$/.test(ref)) return { build: stored(h, Number(ref)) };
  const isDir = existsSync(ref) && statSync(ref).isDirectory();
  if (isDir && existsSync(path.join(ref, REPORT_FILE))) {
    const id = h.db && buildIdByFolder(h.db, folderInHistory(h.file, ref));
    return { build: id ? stored(h, id) : await readBuildFolder(ref) };
  }
  if (h.db && historyImages(h.db).includes(ref)) return { image: ref };
  if (isDir)
    throw new UsageError(
      `${ref} is not a build folder: it has no ${REPORT_FILE}`,
      "name a folder that vmlive build wrote",
    );
  if (!h.db || !historyImages(h.db).length) throw noHistory(h, ref);
  throw new UsageError(
    `${ref}: not a build id, a build folder or an image with builds in ${h.file}`,
    listHint(h),
  );
}

function stored(h: History, id: number): DiffInput {
  const b = h.db && getBuild(h.db, id);
  if (!b) throw h.db ? new UsageError(`there is no build ${id} in ${h.file}`, listHint(h)) : noHistory(h);
  return b;
}

function db(h: History, ref: string): HistoryDb {
  if (!h.db) throw noHistory(h, ref);
  return h.db;
}

export function noHistory(h: History, ref?: string): UsageError {
  return new UsageError(
    `${ref ? `${ref}: ` : ""}no builds recorded in ${h.file}${h.db ? "" : " (it does not exist)"}`,
    `vmlive build --out ${path.dirname(h.file)} records every build there; or compare two build folders: vmlive diff DIR1 DIR2`,
  );
}
