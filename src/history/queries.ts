// Reading the history: the listing `vmlive history` shows, one build with all
// its rows for `vmlive diff`, and the look-ups that find "latest" and "previous".
import type { BuildRecord, BuildStatus } from "./build-folder.js";
import type { HistoryDb } from "./open.js";
import type { GitSource } from "./record.js";

/** A build from the history; `folder` is relative to the output folder. */
export interface StoredBuild extends BuildRecord {
  id: number;
  git?: GitSource;
  /** When it was last recorded (ISO 8601). */
  recorded: string;
}

/** One line of `vmlive history`, and one object of `vmlive history --json`. */
export interface HistoryRow {
  id: number;
  started: string;
  image: string;
  suite: string;
  arch: string;
  status: BuildStatus;
  seconds: number;
  isoBytes: number | null;
  packages: number | null;
  /** Ways that booted, of those tried; null without a boot test. */
  boot: { ok: number; ways: number } | null;
  folder: string;
  error: string | null;
}

export interface BuildFilter {
  image?: string;
  suite?: string;
  arch?: string;
  status?: BuildStatus;
}

const FILTER = `(@image IS NULL OR image = @image) AND (@suite IS NULL OR suite = @suite)
  AND (@arch IS NULL OR arch = @arch) AND (@status IS NULL OR status = @status)`;
const NEWEST_FIRST = "ORDER BY started DESC, id DESC";

const filterParams = (f: BuildFilter) => ({
  image: f.image ?? null,
  suite: f.suite ?? null,
  arch: f.arch ?? null,
  status: f.status ?? null,
});

/** Builds matching `f`, newest first; `limit` 0 means all. */
export function listBuilds(db: HistoryDb, f: BuildFilter & { limit?: number } = {}): HistoryRow[] {
  const rows = db
    .prepare<unknown[], Record<string, unknown>>(
      `SELECT id, started, image, suite, arch, status, seconds, iso_bytes, package_count, folder, error,
        (SELECT count(*) FROM boots WHERE build_id = builds.id) AS boot_ways,
        (SELECT count(*) FROM boots WHERE build_id = builds.id AND ok) AS boot_passed
       FROM builds WHERE ${FILTER} ${NEWEST_FIRST} LIMIT @limit`,
    )
    .all({ ...filterParams(f), limit: f.limit ? f.limit : -1 });
  return rows.map((r) => ({
    id: r.id as number,
    started: r.started as string,
    image: r.image as string,
    suite: r.suite as string,
    arch: r.arch as string,
    status: r.status as BuildStatus,
    seconds: r.seconds as number,
    isoBytes: r.iso_bytes as number | null,
    packages: r.package_count as number | null,
    boot: r.boot_ways ? { ok: r.boot_passed as number, ways: r.boot_ways as number } : null,
    folder: r.folder as string,
    error: r.error as string | null,
  }));
}

export function countBuilds(db: HistoryDb, f: BuildFilter): number {
  return db
    .prepare<unknown[], number>(`SELECT count(*) FROM builds WHERE ${FILTER}`)
    .pluck()
    .get(filterParams(f))!;
}

/** The newest build matching `f`. */
export function latestBuild(db: HistoryDb, f: BuildFilter): number | undefined {
  return db
    .prepare<unknown[], number>(`SELECT id FROM builds WHERE ${FILTER} ${NEWEST_FIRST} LIMIT 1`)
    .pluck()
    .get(filterParams(f));
}

/**
 * The build of the same image, suite and arch started just before `of`
 * (with `status`, when given). `of` may be a folder not in the history.
 */
export function previousBuild(
  db: HistoryDb,
  of: Pick<BuildRecord, "image" | "suite" | "arch" | "started"> & { id?: number },
  status?: BuildStatus,
): number | undefined {
  return db
    .prepare<unknown[], number>(
      `SELECT id FROM builds WHERE ${FILTER}
         AND (started < @started OR (started = @started AND id < @id)) ${NEWEST_FIRST} LIMIT 1`,
    )
    .pluck()
    .get({ ...filterParams({ ...of, status }), started: of.started, id: of.id ?? -1 });
}

/** The id of the build recorded from this folder (relative to the output folder). */
export function buildIdByFolder(db: HistoryDb, folder: string): number | undefined {
  return db.prepare<[string], number>("SELECT id FROM builds WHERE folder = ?").pluck().get(folder);
}

/** The images that have builds in the history, by name. */
export function historyImages(db: HistoryDb): string[] {
  return db.prepare<[], string>("SELECT DISTINCT image FROM builds ORDER BY image").pluck().all();
}

/** One build with its steps, artifacts, packages and boot ways. */
export function getBuild(db: HistoryDb, id: number): StoredBuild | undefined {
  const b = db.prepare<[number], Record<string, unknown>>("SELECT * FROM builds WHERE id = ?").get(id) as
    Record<string, unknown> | undefined;
  if (!b) return undefined;
  const opt = <T>(v: unknown) => (v === null ? undefined : (v as T));
  const steps = db
    .prepare<[number], { step: string; seconds: number; ok: number }>(
      "SELECT step, seconds, ok FROM steps WHERE build_id = ? ORDER BY position",
    )
    .all(id);
  const artifacts = db
    .prepare<[number], { name: string; bytes: number; sha256: string }>(
      "SELECT name, bytes, sha256 FROM artifacts WHERE build_id = ? ORDER BY name",
    )
    .all(id);
  const packages = db
    .prepare<[number], { name: string; version: string; arch: string }>(
      "SELECT name, version, arch FROM packages WHERE build_id = ? ORDER BY name, arch",
    )
    .all(id);
  const boots = db
    .prepare<[number], { way: string; ok: number; seconds: number }>(
      "SELECT way, ok, seconds FROM boots WHERE build_id = ? ORDER BY way",
    )
    .all(id);
  return {
    id,
    folder: b.folder as string,
    image: b.image as string,
    suite: b.suite as string,
    arch: b.arch as string,
    status: b.status as BuildStatus,
    error: opt(b.error),
    started: b.started as string,
    finished: b.finished as string,
    seconds: b.seconds as number,
    vmlive: opt(b.vmlive),
    machine: opt(b.machine),
    kernelVersion: opt(b.kernel_version),
    isoBytes: opt(b.iso_bytes),
    squashfsBytes: opt(b.squashfs_bytes),
    packageCount: opt(b.package_count),
    steps: steps.map((s) => ({ step: s.step, seconds: s.seconds, ok: s.ok === 1 })),
    artifacts,
    packages: b.has_manifest ? packages : undefined,
    boots: b.boot_ok === null ? undefined : boots.map((w) => ({ ...w, ok: w.ok === 1 })),
    tools: JSON.parse(b.tools_json as string) as Record<string, string>,
    config: b.config_json === null ? undefined : (JSON.parse(b.config_json as string) as unknown),
    git:
      b.git_url === null
        ? undefined
        : { url: b.git_url as string, ref: b.git_ref as string, commit: b.git_commit as string },
    recorded: b.recorded as string,
  };
}
