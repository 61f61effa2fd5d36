// Recording a finished build folder in the history: one transaction per build,
// so builds finishing at once each land whole, one after the other.
import path from "node:path";
import { readBuildFolder, type BuildRecord } from "./build-folder.js";
import { openHistory, type HistoryDb } from "./open.js";
import type { GitSource } from "../source/git.js";

export type { GitSource };

export interface RecordExtra {
  /** Where the image config came from, when it was a git checkout. */
  git?: GitSource;
}

/**
 * Record the build in `buildDir` (its report.json and manifest.tsv) in the
 * history at `historyFile`; returns its id. Recording the same folder again
 * updates that build (after a boot test was added to its report, say) and
 * keeps its id; git details recorded before stay unless new ones are given.
 */
export async function recordBuild(
  historyFile: string,
  buildDir: string,
  extra: RecordExtra = {},
): Promise<number> {
  const build = await readBuildFolder(buildDir);
  const db = openHistory(historyFile);
  try {
    return storeBuild(db, { ...build, folder: folderInHistory(historyFile, buildDir) }, extra);
  } finally {
    db.close();
  }
}

/** A build folder as the history names it: relative to the folder holding the database. */
export function folderInHistory(historyFile: string, buildDir: string): string {
  return path.relative(path.dirname(path.resolve(historyFile)), path.resolve(buildDir)) || ".";
}

/** Insert or update one build and all its rows; `build.folder` is already relative to the history. */
export function storeBuild(db: HistoryDb, build: BuildRecord, extra: RecordExtra = {}): number {
  const upsert = db.prepare<unknown[], { id: number }>(`
    INSERT INTO builds (folder, image, suite, arch, status, error, started, finished, seconds, vmlive,
      machine, kernel_version, iso_bytes, squashfs_bytes, package_count, has_manifest, boot_ok,
      git_url, git_ref, git_commit, tools_json, config_json, recorded)
    VALUES (@folder, @image, @suite, @arch, @status, @error, @started, @finished, @seconds, @vmlive,
      @machine, @kernel_version, @iso_bytes, @squashfs_bytes, @package_count, @has_manifest, @boot_ok,
      @git_url, @git_ref, @git_commit, @tools_json, @config_json, @recorded)
    ON CONFLICT (folder) DO UPDATE SET
      image = excluded.image, suite = excluded.suite, arch = excluded.arch, status = excluded.status,
      error = excluded.error, started = excluded.started, finished = excluded.finished,
      seconds = excluded.seconds, vmlive = excluded.vmlive, machine = excluded.machine,
      kernel_version = excluded.kernel_version, iso_bytes = excluded.iso_bytes,
      squashfs_bytes = excluded.squashfs_bytes, package_count = excluded.package_count,
      has_manifest = excluded.has_manifest, boot_ok = excluded.boot_ok,
      git_url = coalesce(excluded.git_url, git_url), git_ref = coalesce(excluded.git_ref, git_ref),
      git_commit = coalesce(excluded.git_commit, git_commit),
      tools_json = excluded.tools_json, config_json = excluded.config_json, recorded = excluded.recorded
    RETURNING id`);
  const children = ["steps", "artifacts", "packages", "boots"].map((t) =>
    db.prepare(`DELETE FROM ${t} WHERE build_id = ?`),
  );
  const step = db.prepare("INSERT INTO steps (build_id, position, step, seconds, ok) VALUES (?, ?, ?, ?, ?)");
  const artifact = db.prepare("INSERT INTO artifacts (build_id, name, bytes, sha256) VALUES (?, ?, ?, ?)");
  const pkg = db.prepare("INSERT INTO packages (build_id, name, arch, version) VALUES (?, ?, ?, ?)");
  const boot = db.prepare("INSERT INTO boots (build_id, way, ok, seconds) VALUES (?, ?, ?, ?)");

  // IMMEDIATE: take the write lock before reading, so a concurrent writer makes
  // this one wait (busy_timeout) instead of failing halfway through.
  return db
    .transaction(() => {
      const { id } = upsert.get({
        folder: build.folder,
        image: build.image,
        suite: build.suite,
        arch: build.arch,
        status: build.status,
        error: build.error ?? null,
        started: build.started,
        finished: build.finished,
        seconds: build.seconds,
        vmlive: build.vmlive ?? null,
        machine: build.machine ?? null,
        kernel_version: build.kernelVersion ?? null,
        iso_bytes: build.isoBytes ?? null,
        squashfs_bytes: build.squashfsBytes ?? null,
        package_count: build.packageCount ?? null,
        has_manifest: build.packages ? 1 : 0,
        boot_ok: build.boots ? (build.boots.length > 0 && build.boots.every((b) => b.ok) ? 1 : 0) : null,
        git_url: extra.git?.url ?? null,
        git_ref: extra.git?.ref ?? null,
        git_commit: extra.git?.commit ?? null,
        tools_json: JSON.stringify(build.tools),
        config_json: build.config === undefined ? null : JSON.stringify(build.config),
        recorded: new Date().toISOString(),
      })!;
      for (const c of children) c.run(id);
      build.steps.forEach((s, i) => step.run(id, i, s.step, s.seconds, s.ok ? 1 : 0));
      for (const a of build.artifacts) artifact.run(id, a.name, a.bytes, a.sha256);
      for (const p of build.packages ?? []) pkg.run(id, p.name, p.arch, p.version);
      for (const b of build.boots ?? []) boot.run(id, b.way, b.ok ? 1 : 0, b.seconds);
      return id;
    })
    .immediate();
}
