// Recording build folders in the history and reading them back.
import Database from "better-sqlite3";
import { writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { Worker } from "node:worker_threads";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { UsageError, VerificationError } from "../../../src/errors.js";
import { historyFile, openHistory, retryBusy } from "../../../src/history/open.js";
import {
  getBuild,
  historyImages,
  latestBuild,
  listBuilds,
  previousBuild,
} from "../../../src/history/queries.js";
import { recordBuild } from "../../../src/history/record.js";
import { SCHEMA_VERSION } from "../../../src/history/schema.js";
import { tempDir } from "../../support/tmp.js";
import { writeBuild } from "./builds.js";

const withDb = <T>(file: string, f: (db: Database.Database) => T): T => {
  const db = openHistory(file);
  try {
    return f(db);
  } finally {
    db.close();
  }
};

describe("recordBuild", () => {
  it("records two builds with all their rows and lists them newest first", async () => {
    const out = tempDir("vmlive-history-");
    const file = historyFile(out);
    const a = writeBuild(out, {
      started: "2025-01-01T02:00:00.000Z",
      isoBytes: 400_000_000,
      squashfsBytes: 380_000_000,
    });
    const b = writeBuild(out, {
      started: "2025-01-02T02:00:00.000Z",
      isoBytes: 410_000_000,
      boots: [
        ["cd-bios", true, 30.5],
        ["usb-uefi", false, 600],
      ],
    });
    const idA = await recordBuild(file, a);
    const idB = await recordBuild(file, b, {
      git: { url: "https://example.org/images.git", ref: "main", commit: "c0ffee" },
    });
    expect(idB).not.toBe(idA);

    const rows = withDb(file, (db) => listBuilds(db));
    expect(rows.map((r) => r.id)).toEqual([idB, idA]);
    expect(rows[0]).toMatchObject({
      image: "live-minimal",
      suite: "bookworm",
      arch: "amd64",
      status: "success",
      isoBytes: 410_000_000,
      packages: 6,
      boot: { ok: 1, ways: 2 },
      folder: "live-minimal-bookworm-amd64-20250102-020000",
    });
    expect(rows[1]!.boot).toBeNull();

    const got = withDb(file, (db) => getBuild(db, idB))!;
    expect(got.git).toEqual({ url: "https://example.org/images.git", ref: "main", commit: "c0ffee" });
    expect(got.steps.map((s) => s.step)).toEqual(["bootstrap", "customize", "squash", "iso"]);
    expect(got.artifacts.map((x) => x.name)).toEqual(["live-minimal-bookworm-amd64.iso", "manifest.tsv"]);
    expect(got.packages).toContainEqual({ name: "tzdata", version: "2024a-0+deb12u1", arch: "all" });
    expect(got.boots).toEqual([
      { way: "cd-bios", ok: true, seconds: 30.5 },
      { way: "usb-uefi", ok: false, seconds: 600 },
    ]);
    expect(got.config).toMatchObject({ name: "live-minimal" });

    // The database is a real SQLite file with the documented tables and version.
    const raw = new Database(file, { readonly: true });
    expect(raw.pragma("user_version", { simple: true })).toBe(SCHEMA_VERSION);
    expect(raw.pragma("journal_mode", { simple: true })).toBe("wal");
    expect(raw.prepare("SELECT count(*) FROM packages").pluck().get()).toBe(12);
    raw.close();
  });

  it("updates a folder recorded again, keeping its id and its git details", async () => {
    const out = tempDir("vmlive-history-");
    const file = historyFile(out);
    const dir = writeBuild(out, { started: "2025-01-01T02:00:00.000Z", isoBytes: 1000 });
    const git = { url: "u", ref: "r", commit: "c" };
    const id = await recordBuild(file, dir, { git });
    // The boot test ran afterwards and rewrote report.json; a package was added too.
    writeBuild(out, {
      started: "2025-01-01T02:00:00.000Z",
      isoBytes: 1000,
      boots: [["cd-bios", true, 20]],
      packages: { bash: "5.2.15-2+b7", htop: "3.2.2-2" },
    });
    expect(await recordBuild(file, dir)).toBe(id);
    const b = withDb(file, (db) => getBuild(db, id))!;
    expect(b.boots).toEqual([{ way: "cd-bios", ok: true, seconds: 20 }]);
    expect(b.packages!.map((p) => p.name)).toEqual(["bash", "htop"]);
    expect(b.git).toEqual(git);
    expect(withDb(file, (db) => listBuilds(db)).length).toBe(1);
  });

  it("records a failed build without a manifest, and knows it has no package list", async () => {
    const out = tempDir("vmlive-history-");
    const file = historyFile(out);
    const dir = writeBuild(out, {
      started: "2025-01-01T02:00:00.000Z",
      status: "failed",
      error: "step bootstrap failed: exit code 1",
      packages: null,
      steps: [["bootstrap", 12]],
    });
    expect(path.basename(dir)).toMatch(/\.failed$/);
    const id = await recordBuild(file, dir);
    const b = withDb(file, (db) => getBuild(db, id))!;
    expect(b.status).toBe("failed");
    expect(b.error).toBe("step bootstrap failed: exit code 1");
    expect(b.packages).toBeUndefined();
    expect(b.packageCount).toBeUndefined();
    expect(b.isoBytes).toBeUndefined();
    expect(withDb(file, (db) => listBuilds(db))[0]).toMatchObject({
      packages: null,
      isoBytes: null,
      boot: null,
    });
  });

  it("finds the latest and the previous build of an image, suite and arch", async () => {
    const out = tempDir("vmlive-history-");
    const file = historyFile(out);
    const ids: Record<string, number> = {};
    for (const [key, b] of Object.entries({
      a: { started: "2025-01-01T00:00:00.000Z" },
      trixie: { started: "2025-01-02T00:00:00.000Z", suite: "trixie" },
      failed: { started: "2025-01-03T00:00:00.000Z", status: "failed" as const, packages: null },
      other: { started: "2025-01-04T00:00:00.000Z", image: "xfce-desktop" },
      b: { started: "2025-01-05T00:00:00.000Z" },
    }))
      ids[key] = await recordBuild(file, writeBuild(out, b));
    withDb(file, (db) => {
      expect(historyImages(db)).toEqual(["live-minimal", "xfce-desktop"]);
      expect(latestBuild(db, { image: "live-minimal" })).toBe(ids.b);
      const b = getBuild(db, ids.b!)!;
      expect(previousBuild(db, b)).toBe(ids.failed);
      expect(previousBuild(db, b, "success")).toBe(ids.a);
      expect(previousBuild(db, getBuild(db, ids.a!)!)).toBeUndefined();
      expect(listBuilds(db, { suite: "trixie" }).map((r) => r.id)).toEqual([ids.trixie]);
      expect(listBuilds(db, { status: "failed" }).map((r) => r.id)).toEqual([ids.failed]);
      expect(listBuilds(db, { image: "live-minimal", limit: 2 }).map((r) => r.id)).toEqual([
        ids.b,
        ids.failed,
      ]);
    });
  });

  it("says what is wrong with a folder that is not a build", async () => {
    const out = tempDir("vmlive-history-");
    const file = historyFile(out);
    await expect(recordBuild(file, path.join(out, "nothing"))).rejects.toThrow(
      /nothing\/report\.json: cannot read the build report: no such file/,
    );
    const dir = writeBuild(out, { started: "2025-01-01T00:00:00.000Z" });
    writeFileSync(path.join(dir, "report.json"), JSON.stringify({ image: "x", status: "done" }));
    const e = await recordBuild(file, dir).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(VerificationError);
    expect((e as Error).message).toContain("not a vmlive build report");
    expect((e as Error).message).toMatch(/^ {2}status: /m);
    expect((e as Error).message).toMatch(/^ {2}suite: /m);

    const dir2 = writeBuild(out, { started: "2025-01-02T00:00:00.000Z" });
    writeFileSync(path.join(dir2, "manifest.tsv"), "bash\t5.2\tamd64\nbroken line\n");
    await expect(recordBuild(file, dir2)).rejects.toThrow(
      /manifest\.tsv:2: expected package<TAB>version<TAB>architecture, got "broken line"/,
    );
  });
});

describe("openHistory", () => {
  it("brings an empty (version 0) file up to the current schema", () => {
    const file = path.join(tempDir("vmlive-history-"), "history.sqlite");
    new Database(file).close();
    withDb(file, (db) => {
      expect(db.pragma("user_version", { simple: true })).toBe(SCHEMA_VERSION);
      const tables = db
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        .pluck()
        .all();
      expect(tables).toEqual(["artifacts", "boots", "builds", "packages", "steps"]);
    });
    // Opening again runs nothing twice.
    withDb(file, (db) => expect(db.pragma("user_version", { simple: true })).toBe(SCHEMA_VERSION));
  });

  it("refuses a history written by a newer vmlive, and a file that is not a database", () => {
    const dir = tempDir("vmlive-history-");
    const newer = path.join(dir, "newer.sqlite");
    const db = new Database(newer);
    db.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    db.close();
    expect(() => openHistory(newer)).toThrow(UsageError);
    expect(() => openHistory(newer)).toThrow(`newer than this vmlive knows (${SCHEMA_VERSION})`);

    const junk = path.join(dir, "junk.sqlite");
    writeFileSync(junk, "this is not SQLite, but long enough to be read as a header of one ".repeat(20));
    expect(() => openHistory(junk)).toThrow(UsageError);
    expect(() => openHistory(junk)).toThrow(`${junk}: cannot use the build history`);
  });
});

describe("opening while another process switches the file to WAL", () => {
  // Switching a new file to WAL takes the write lock; SQLite answers a second
  // opener's switch with SQLITE_BUSY at once (a possible deadlock: no waiting),
  // which two builds finishing together into a new history file would hit.
  it("waits for the other connection instead of failing at once", async () => {
    const file = path.join(tempDir("vmlive-history-"), "history.sqlite");
    const worker = new Worker(
      `const Database = require(${JSON.stringify(createRequire(import.meta.url).resolve("better-sqlite3"))});
       const { parentPort, workerData } = require("node:worker_threads");
       const db = new Database(workerData);
       db.exec("BEGIN IMMEDIATE; CREATE TABLE other (x); INSERT INTO other VALUES (1)");
       parentPort.postMessage("holding the write lock");
       Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 400);
       db.exec("COMMIT");
       db.close();`,
      { eval: true, workerData: file },
    );
    await new Promise((r) => worker.once("message", r));
    const t0 = Date.now();
    withDb(file, (db) => {
      expect(Date.now() - t0).toBeGreaterThan(200);
      expect(db.pragma("journal_mode", { simple: true })).toBe("wal");
      expect(db.prepare("SELECT count(*) FROM other").pluck().get()).toBe(1);
    });
    await worker.terminate();
  });

  it("gives up on other errors at once, and on SQLITE_BUSY after its time", () => {
    let calls = 0;
    const busy = () => {
      calls++;
      throw new Database.SqliteError("database is locked", "SQLITE_BUSY");
    };
    expect(() => retryBusy(busy, 100)).toThrow("database is locked");
    expect(calls).toBeGreaterThan(2);
    calls = 0;
    expect(() =>
      retryBusy(() => {
        calls++;
        throw new Database.SqliteError("no such table: x", "SQLITE_ERROR");
      }),
    ).toThrow("no such table");
    expect(calls).toBe(1);
  });
});
