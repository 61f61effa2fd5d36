// The history database's tables, as a list of migrations: migration N takes a
// database from user_version N to N+1, so a later vmlive adds columns or
// tables by appending one, and an old history file is brought up to date the
// first time a newer vmlive opens it.
import type Database from "better-sqlite3";
import { UsageError } from "../errors.js";

const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE builds (
    id INTEGER PRIMARY KEY,
    -- The build folder relative to the folder holding the database (the --out folder).
    folder TEXT NOT NULL UNIQUE,
    image TEXT NOT NULL,
    suite TEXT NOT NULL,
    arch TEXT NOT NULL,
    status TEXT NOT NULL,
    error TEXT,
    started TEXT NOT NULL,
    finished TEXT NOT NULL,
    seconds REAL NOT NULL,
    vmlive TEXT,
    machine TEXT,
    kernel_version TEXT,
    iso_bytes INTEGER,
    squashfs_bytes INTEGER,
    package_count INTEGER,
    -- 0 when the folder has no manifest.tsv (a build that failed before collect).
    has_manifest INTEGER NOT NULL,
    -- NULL when the ISO was never boot-tested; else 1 when every way booted.
    boot_ok INTEGER,
    git_url TEXT,
    git_ref TEXT,
    git_commit TEXT,
    tools_json TEXT NOT NULL,
    config_json TEXT,
    recorded TEXT NOT NULL
  );
  CREATE INDEX builds_by_target ON builds (image, suite, arch, started);
  CREATE INDEX builds_by_started ON builds (started);
  CREATE TABLE steps (
    build_id INTEGER NOT NULL REFERENCES builds (id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    step TEXT NOT NULL,
    seconds REAL NOT NULL,
    ok INTEGER NOT NULL,
    PRIMARY KEY (build_id, position)
  ) WITHOUT ROWID;
  CREATE TABLE artifacts (
    build_id INTEGER NOT NULL REFERENCES builds (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    bytes INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    PRIMARY KEY (build_id, name)
  ) WITHOUT ROWID;
  CREATE TABLE packages (
    build_id INTEGER NOT NULL REFERENCES builds (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    arch TEXT NOT NULL,
    version TEXT NOT NULL,
    PRIMARY KEY (build_id, name, arch)
  ) WITHOUT ROWID;
  CREATE TABLE boots (
    build_id INTEGER NOT NULL REFERENCES builds (id) ON DELETE CASCADE,
    way TEXT NOT NULL,
    ok INTEGER NOT NULL,
    seconds REAL NOT NULL,
    PRIMARY KEY (build_id, way)
  ) WITHOUT ROWID;
  `,
];

/** The user_version a database has once every migration this vmlive knows has run. */
export const SCHEMA_VERSION = MIGRATIONS.length;

/** Bring the database up to SCHEMA_VERSION; `file` is for messages. */
export function migrate(db: Database.Database, file: string): void {
  const version = () => db.pragma("user_version", { simple: true }) as number;
  const check = (v: number) => {
    if (v > SCHEMA_VERSION)
      throw new UsageError(
        `${file} has history schema version ${v}, newer than this vmlive knows (${SCHEMA_VERSION})`,
        "use the vmlive that wrote it (or a newer one), or another --out folder",
      );
  };
  check(version());
  if (version() === SCHEMA_VERSION) return;
  // IMMEDIATE takes the write lock first, so two vmlive processes opening a
  // new file at once do not both create the tables: the second waits, then
  // sees the version the first one set and has nothing left to do.
  db.transaction(() => {
    const from = version();
    check(from);
    for (let v = from; v < SCHEMA_VERSION; v++) db.exec(MIGRATIONS[v]!);
    db.pragma(`user_version = ${SCHEMA_VERSION}`);
  }).immediate();
}
