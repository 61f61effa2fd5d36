import { describe, expect, it } from "vitest";
import { parseGptPartitions, parseReportLba, whatHolds } from "../../../src/util/iso-layout.js";

// xorriso 1.5.4 `-find / -exec report_lba` of a small ISO made with -partition_offset 16.
const REPORT = `Report layout: xt , Startlba ,   Blocks , Filesize , ISO image path
File data lba:  0 ,       54 ,        2 ,     4096 , '/live/filesystem.squashfs'
File data lba:  0 ,       56 ,        1 ,        6 , '/it'\\''s'
`;

describe("parseReportLba", () => {
  it("reads each file's start (2048-byte blocks) and size", () => {
    expect(parseReportLba(REPORT)).toEqual([
      { name: "/live/filesystem.squashfs", start: 54 * 2048, bytes: 4096 },
      { name: "/it's", start: 56 * 2048, bytes: 6 },
    ]);
  });
});

describe("parseGptPartitions", () => {
  it("reads GPT partitions in 512-byte blocks", () => {
    const text =
      "GPT start and size :   1        64      9000\nGPT start and size :   2      9064      8192\n";
    expect(parseGptPartitions(text)).toEqual([
      { name: "GPT partition 1", start: 64 * 512, bytes: 9000 * 512 },
      { name: "GPT partition 2", start: 9064 * 512, bytes: 8192 * 512 },
    ]);
  });
});

describe("whatHolds", () => {
  const files = parseReportLba(REPORT);
  const parts = [
    { name: "GPT partition 1", start: 32768, bytes: 200_000 },
    { name: "GPT partition 2", start: 300_000, bytes: 4096 },
  ];
  it("names the file and the offset inside it", () => {
    expect(whatHolds(54 * 2048 + 100, files, parts)).toBe("file /live/filesystem.squashfs (byte 100 of it)");
  });
  it("names the system area", () => {
    expect(whatHolds(446, files, parts)).toMatch(/^the system area/);
  });
  it("names the smallest partition around an offset outside every file", () => {
    expect(whatHolds(300_100, files, parts)).toMatch(/ISO's own structures.*, in GPT partition 2$/);
    expect(whatHolds(40_000, files, parts)).toMatch(/, in GPT partition 1$/);
  });
});
