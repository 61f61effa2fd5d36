import { describe, expect, it } from "vitest";
import {
  firstDifferentLine,
  listedDifferences,
  mergeListings,
  parseGetfattr,
  parseListing,
  type ListedEntry,
} from "../../../src/util/squashfs-compare.js";

// Real `unsquashfs -lln -UTC` output of a small image (squashfs-tools 4.5.1), one name with a newline.
const LISTING = `drwxr-xr-x 0/0                      90 2026-12-01 14:35 squashfs-root
drwxr-xr-x 0/0                      24 2026-12-01 14:35 squashfs-root/d
-rw-r--r-- 0/0                       3 2026-12-01 14:35 squashfs-root/d/a
prw-r--r-- 0/0                       0 2026-12-01 14:35 squashfs-root/fifo
lrwxrwxrwx 0/0                       3 2026-12-01 14:35 squashfs-root/link -> d/a
-rw-r--r-- 0/0                       1 2026-12-01 14:35 squashfs-root/new
line
crw-r--r-- 0/0                   1,  3 2026-12-01 14:35 squashfs-root/null
-rw-r--r-- 1000/100                  0 2026-12-01 14:35 squashfs-root/sp ace
`;

describe("parseListing", () => {
  const e = parseListing(LISTING);
  it("reads every entry in order, the root as /", () => {
    expect(e.map((x) => x.path)).toEqual([
      "/",
      "/d",
      "/d/a",
      "/fifo",
      "/link",
      "/new\nline",
      "/null",
      "/sp ace",
    ]);
  });
  it("reads mode, owner, size, device numbers, time and link targets", () => {
    expect(e[2]).toEqual({
      path: "/d/a",
      mode: "-rw-r--r--",
      owner: "0/0",
      size: "3",
      time: "2026-12-01 14:35",
    });
    expect(e[4]!.target).toBe("d/a");
    expect(e[6]!.size).toBe("1,3");
    expect(e[7]!.owner).toBe("1000/100");
  });
});

const entry = (path: string, over: Partial<ListedEntry> = {}): ListedEntry => ({
  path,
  mode: "-rw-r--r--",
  owner: "0/0",
  size: "3",
  time: "2025-12-01 00:00",
  ...over,
});

describe("listedDifferences", () => {
  it("names each aspect that differs, with both values", () => {
    expect(listedDifferences(entry("/x"), entry("/x"))).toEqual([]);
    expect(
      listedDifferences(
        entry("/x"),
        entry("/x", { mode: "-rwxr-xr-x", owner: "0/42", time: "2026-01-01 10:00" }),
      ),
    ).toEqual([
      "mode -rw-r--r-- vs -rwxr-xr-x",
      "owner 0/0 vs 0/42",
      "mtime 2025-12-01 00:00 vs 2026-01-01 10:00 (UTC)",
    ]);
    expect(listedDifferences(entry("/l", { target: "a" }), entry("/l", { target: "b" }))).toEqual([
      "target a vs b",
    ]);
  });
});

describe("mergeListings", () => {
  it("keeps the images' order and puts entries only one image has where they belong", () => {
    const a = ["/", "/a", "/b", "/d"].map((p) => entry(p));
    const b = ["/", "/a", "/c", "/d", "/e"].map((p) => entry(p));
    const m = mergeListings(a, b);
    expect(m.map((x) => [x.path, Boolean(x.a), Boolean(x.b)])).toEqual([
      ["/", true, true],
      ["/a", true, true],
      ["/b", true, false],
      ["/c", false, true],
      ["/d", true, true],
      ["/e", false, true],
    ]);
  });
});

describe("parseGetfattr", () => {
  it("maps paths below the root to their sorted attributes, octal escapes undone", () => {
    const text = [
      "# file: /tmp/t/a/usr/bin/ping",
      "security.capability=0x0100000200200000000000000000000000000000",
      "",
      "# file: /tmp/t/a/caf\\303\\251",
      "user.b=0x02",
      "user.a=0x01",
      "",
    ].join("\n");
    const m = parseGetfattr(text, "/tmp/t/a");
    expect([...m.keys()]).toEqual(["/usr/bin/ping", "/café"]);
    expect(m.get("/café")).toBe("user.a=0x01\nuser.b=0x02");
  });
});

describe("firstDifferentLine", () => {
  it("quotes the first pair of lines that differ", () => {
    expect(firstDifferentLine("a\nb\nc", "a\nB\nc")).toBe('"b" vs "B"');
    expect(firstDifferentLine("a", "a\nmore")).toBe('"" vs "more"');
    expect(firstDifferentLine("same", "same")).toBeUndefined();
  });
});
