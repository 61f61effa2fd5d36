import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { firstDifferentByte } from "../../../src/util/first-difference.js";

const dir = mkdtempSync(path.join(os.tmpdir(), "vmlive-firstdiff-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, content: Buffer): string {
  const p = path.join(dir, name);
  writeFileSync(p, content);
  return p;
}

describe("firstDifferentByte", () => {
  it("is undefined for identical files, also empty ones", async () => {
    const data = Buffer.alloc(3 * 1024 * 1024 + 17, 7);
    expect(await firstDifferentByte(file("a", data), file("b", Buffer.from(data)))).toBeUndefined();
    expect(
      await firstDifferentByte(file("e1", Buffer.alloc(0)), file("e2", Buffer.alloc(0))),
    ).toBeUndefined();
  });

  it("finds a single changed byte past the first chunk", async () => {
    const a = Buffer.alloc(2.5 * 1024 * 1024, 1);
    const b = Buffer.from(a);
    b[2 * 1024 * 1024 + 12345] = 2;
    b[2 * 1024 * 1024 + 99999] = 3;
    expect(await firstDifferentByte(file("c1", a), file("c2", b))).toBe(2 * 1024 * 1024 + 12345);
  });

  it("finds a difference at byte 0", async () => {
    expect(await firstDifferentByte(file("z1", Buffer.from("abc")), file("z2", Buffer.from("xbc")))).toBe(0);
  });

  it("names the end of the shorter file when one is a prefix of the other", async () => {
    const a = file("p1", Buffer.from("hello"));
    const b = file("p2", Buffer.from("hello world"));
    expect(await firstDifferentByte(a, b)).toBe(5);
    expect(await firstDifferentByte(b, a)).toBe(5);
  });
});
