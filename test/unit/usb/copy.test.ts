// Writing the ISO and reading it back, on real files in a temporary folder.
import { createHash, randomBytes } from "node:crypto";
import { open, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { progressReporter, readBackSha256, writeIso, zeroRange } from "../../../src/usb/copy.js";
import { tempDir } from "../../support/tmp.js";

const sha = (b: Buffer) => createHash("sha256").update(b).digest("hex");

describe("writeIso and readBackSha256", () => {
  it("writes the ISO at the start of a larger target and hashes what it wrote", async () => {
    const dir = tempDir("vmlive-usb-copy-");
    const iso = path.join(dir, "a.iso");
    const data = randomBytes(9 * 1024 * 1024 + 2048); // more than two 4 MiB chunks, not a whole one
    await writeFile(iso, data);
    const target = path.join(dir, "t.img");
    const fh = await open(target, "w");
    await fh.truncate(data.length + 1024 * 1024);
    const lines: string[] = [];
    const sent = await writeIso(iso, fh, data.length, (l) => lines.push(l));
    await fh.close();
    expect(sent).toBe(sha(data));
    const back = await readFile(target);
    expect(back.length).toBe(data.length + 1024 * 1024);
    expect(back.subarray(0, data.length).equals(data)).toBe(true);
    expect(await readBackSha256(target, data.length, () => {})).toBe(sent);
    expect(lines.at(-1)).toMatch(/^writing: 9\.0 MiB of 9\.0 MiB \(100%\), /);
  });

  it("a read-back of a changed target gives another sha256", async () => {
    const dir = tempDir("vmlive-usb-copy-");
    const file = path.join(dir, "t.img");
    const data = randomBytes(1024 * 1024);
    await writeFile(file, data);
    const fh = await open(file, "r+");
    await zeroRange(fh, 4096, 512);
    await fh.close();
    const got = await readBackSha256(file, data.length, () => {});
    expect(got).not.toBe(sha(data));
    const changed = Buffer.from(data);
    changed.fill(0, 4096, 4608);
    expect(got).toBe(sha(changed));
  });

  it("a target shorter than the ISO is reported, not hashed as if whole", async () => {
    const file = path.join(tempDir("vmlive-usb-copy-"), "short.img");
    await writeFile(file, randomBytes(1000));
    await expect(readBackSha256(file, 4096, () => {})).rejects.toThrow(
      /ended after 1000 bytes while reading back 4096/,
    );
  });

  it("an ISO that is shorter than it was said to be is not taken as written", async () => {
    const dir = tempDir("vmlive-usb-copy-");
    const iso = path.join(dir, "a.iso");
    await writeFile(iso, randomBytes(4096));
    const fh = await open(path.join(dir, "t.img"), "w");
    await expect(writeIso(iso, fh, 8192, () => {})).rejects.toThrow(/read 4096 bytes, expected 8192/);
    await fh.close();
  });
});

describe("progressReporter", () => {
  it("speaks at most every 5 seconds, and always at the end", () => {
    let t = 0;
    const lines: string[] = [];
    const report = progressReporter(
      "writing",
      100 * 1024 * 1024,
      (l) => lines.push(l),
      () => t,
    );
    t = 1000;
    report(10 * 1024 * 1024);
    t = 5000;
    report(50 * 1024 * 1024);
    t = 6000;
    report(60 * 1024 * 1024);
    t = 8000;
    report(100 * 1024 * 1024);
    expect(lines).toEqual([
      "writing: 50.0 MiB of 100.0 MiB (50%), 10.0 MiB/s",
      "writing: 100.0 MiB of 100.0 MiB (100%), 12.5 MiB/s",
    ]);
  });
});
