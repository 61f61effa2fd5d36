import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { acquireLock } from "../../../src/util/file-lock.js";

const dirs: string[] = [];
const tmp = () => {
  const d = mkdtempSync(path.join(os.tmpdir(), "vmlive-lock-"));
  dirs.push(d);
  return d;
};
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

describe("acquireLock", () => {
  it("writes our PID and removes the lock on release", async () => {
    const f = path.join(tmp(), "x.lock");
    const release = await acquireLock(f);
    expect(readFileSync(f, "utf8").trim()).toBe(String(process.pid));
    await release();
    expect(existsSync(f)).toBe(false);
  });

  it("waits while a live process holds it, and gets it once released", async () => {
    const f = path.join(tmp(), "x.lock");
    const first = await acquireLock(f);
    let waitedFor: number | undefined;
    const second = acquireLock(f, { pollMs: 20, onWait: (pid) => (waitedFor = pid) });
    await new Promise((r) => setTimeout(r, 100));
    expect(waitedFor).toBe(process.pid);
    await first();
    const release = await second;
    expect(existsSync(f)).toBe(true);
    await release();
  });

  it("takes over a lock whose owner died", async () => {
    const f = path.join(tmp(), "x.lock");
    writeFileSync(f, "999999999\n"); // no such process
    const release = await acquireLock(f, { timeoutMs: 2_000 });
    expect(readFileSync(f, "utf8").trim()).toBe(String(process.pid));
    await release();
  });

  it("gives up after its timeout, naming the holder", async () => {
    const f = path.join(tmp(), "x.lock");
    const first = await acquireLock(f);
    await expect(acquireLock(f, { pollMs: 10, timeoutMs: 50 })).rejects.toThrow(`held by PID ${process.pid}`);
    await first();
  });
});
