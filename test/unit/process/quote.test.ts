import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { shellJoin, shellQuote } from "../../../src/process/quote.js";

// What a POSIX shell makes of a quoted command line: each word on its own line (NUL-separated).
function throughShell(argv: string[]): string[] {
  const out = execFileSync("sh", ["-c", `printf '%s\\0' ${shellJoin(argv)}`]);
  return out.toString().split("\0").slice(0, -1);
}

const NASTY = [
  "plain",
  "",
  " ",
  "two words",
  "it's",
  "'",
  "''",
  '"double"',
  "$(id)",
  "`id`",
  "${HOME}",
  "$HOME",
  "a;rm -rf /",
  "a && b || c",
  "*",
  "?",
  "[a-z]",
  "~",
  "~root",
  "back\\slash",
  "new\nline",
  "tab\there",
  "#comment",
  "!bang",
  "-n",
  "--flag=value with space",
  "ünïcödé ✓",
  "a|b>c<d",
  "(sub)",
  "{a,b}",
];

describe("shellQuote", () => {
  it("leaves safe words alone so logs stay readable", () => {
    expect(shellQuote("debootstrap")).toBe("debootstrap");
    expect(shellQuote("--variant=minbase")).toBe("--variant=minbase");
    expect(shellQuote("/srv/work/rootfs")).toBe("/srv/work/rootfs");
  });

  it("quotes the empty word", () => {
    expect(shellQuote("")).toBe("''");
  });

  it("refuses NUL, which no argv can carry", () => {
    expect(() => shellQuote("a\0b")).toThrow(/NUL/);
  });

  it.each(NASTY)("a real shell gives back %j unchanged", (word) => {
    expect(throughShell([word])).toEqual([word]);
  });

  it("keeps word boundaries for a whole argv", () => {
    expect(throughShell(NASTY)).toEqual(NASTY);
  });

  it("refuses an empty command", () => {
    expect(() => shellJoin([])).toThrow(/empty/);
  });
});
