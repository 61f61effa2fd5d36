// Builds that finish at once each record their build: two processes writing
// to one new history file at the same moment lose no row.
import Database from "better-sqlite3";
import { execa } from "execa";
import path from "node:path";
import { expect, it } from "vitest";
import { historyFile } from "../../../src/history/open.js";
import { TSX } from "../../support/cli.js";
import { tempDir } from "../../support/tmp.js";
import { BASE_PACKAGES, writeBuild } from "./builds.js";

it("keeps every build when two processes record at the same time", async () => {
  const out = tempDir("vmlive-history-race-");
  const file = historyFile(out);
  const dirs = (image: string) =>
    Array.from({ length: 25 }, (_, i) =>
      writeBuild(out, {
        image,
        started: new Date(Date.UTC(2025, 0, 1, 0, i)).toISOString(),
        packages: { ...BASE_PACKAGES, [`pkg-${i}`]: `1.${i}` },
      }),
    );
  // Both also record one folder they share: it must end up there once.
  const shared = writeBuild(out, { image: "shared", started: "2025-02-01T00:00:00.000Z" });
  const script = path.join(import.meta.dirname, "record-many.ts");
  const startAt = String(Date.now() + 3000);
  const [p, q] = await Promise.all(
    [dirs("one"), dirs("two")].map((ds) =>
      execa(TSX, [script, file, startAt, ...ds, shared], { reject: false }),
    ),
  );
  expect(p!.stderr).toBe("");
  expect(q!.stderr).toBe("");
  expect([p!.exitCode, q!.exitCode]).toEqual([0, 0]);

  const db = new Database(file, { readonly: true });
  const count = (sql: string) => db.prepare(sql).pluck().get();
  expect(count("SELECT count(*) FROM builds")).toBe(51);
  expect(count("SELECT count(*) FROM builds WHERE image = 'shared'")).toBe(1);
  expect(count("SELECT count(*) FROM packages")).toBe(50 * 7 + 6);
  expect(count("SELECT count(*) FROM steps")).toBe(51 * 4);
  db.close();
}, 60_000);
