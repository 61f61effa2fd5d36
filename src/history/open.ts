// Opening the build history: one SQLite file in the output folder, shared by
// every build that writes there, several of which may finish at once.
import Database from "better-sqlite3";
import { mkdirSync } from "node:fs";
import path from "node:path";
import { UsageError } from "../errors.js";
import { migrate } from "./schema.js";

export const HISTORY_FILE = "history.sqlite";

/** The history database of an output folder (`--out`, default "out"). */
export function historyFile(out: string): string {
  return path.join(out, HISTORY_FILE);
}

/** How long a writer waits for another one's transaction before giving up. */
const BUSY_TIMEOUT_MS = 15_000;

export type HistoryDb = Database.Database;

/** Open (creating it and its folder if needed) and migrate the history database at `file`. */
export function openHistory(file: string): HistoryDb {
  mkdirSync(path.dirname(file), { recursive: true });
  let db: HistoryDb | undefined;
  try {
    // `timeout` is SQLite's busy timeout: a writer waits for the one before it.
    db = new Database(file, { timeout: BUSY_TIMEOUT_MS });
    // WAL: readers never block the writer and a writer never blocks readers;
    // writers take turns, waiting up to the busy timeout.
    const conn = db;
    retryBusy(() => conn.pragma("journal_mode = WAL"));
    db.pragma("foreign_keys = ON");
    migrate(db, file);
    return db;
  } catch (e) {
    db?.close();
    if (e instanceof Database.SqliteError && /NOTADB|CORRUPT|CANTOPEN|READONLY/.test(e.code))
      throw new UsageError(
        `${file}: cannot use the build history: ${e.message}`,
        `move the file away to start a new history, or pass another --out folder`,
      );
    throw e;
  }
}

/**
 * Run `f` again while SQLite says the database is busy without having waited:
 * two processes switching a new file to WAL at once both hold a read lock and
 * both want the exclusive one, and SQLite fails one at once rather than let
 * them wait for each other (its busy handler is not called for a deadlock).
 */
export function retryBusy<T>(f: () => T, timeoutMs = BUSY_TIMEOUT_MS): T {
  const end = Date.now() + timeoutMs;
  for (let pause = 5; ; pause = Math.min(pause * 2, 200)) {
    try {
      return f();
    } catch (e) {
      if (!(e instanceof Database.SqliteError && e.code.startsWith("SQLITE_BUSY")) || Date.now() > end)
        throw e;
      // openHistory is synchronous like the rest of better-sqlite3: sleep without an event loop turn.
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, pause);
    }
  }
}
