// Property: whatever string reaches a remote command, the real shell gives it
// back unchanged. SSH carries one command line, which sshd runs with the
// login shell (`$SHELL -c LINE`); remoteCommand() builds that line with
// shellQuote. Here the line is run by the real /bin/sh (dash on Debian) and
// bash, as a positional argument, as an environment value and as the working
// directory, and what arrives must be the string itself.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import path from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { remoteCommand } from "../../../src/machine/qemu/remote-command.js";
import { shellJoin, shellQuote } from "../../../src/process/quote.js";
import { hostileWord } from "../../fixtures/hostile/strings.js";
import { tempDir } from "../../support/tmp.js";

/** Prints $1, then a NUL, then $V, then a NUL, then the working directory. */
const PRINT = 'printf "%s\\0%s\\0" "$1" "$V"; pwd';

/** Run `line` as sshd would: `SHELL -c LINE`; stdout after the PID announcement. */
function asSshdWould(shell: string, line: string): string {
  const out = execFileSync(shell, ["-c", line], { encoding: "utf8" });
  const nl = out.indexOf("\n");
  expect(out.slice(0, nl)).toMatch(/^vmlive-pid:[0-9]+$/);
  return out.slice(nl + 1);
}

// A working directory whose name is itself hostile, made once.
const CWD = path.join(tempDir("vmlive-quoting-"), "it's $(id) `x` *; -rf \u2028 ✓");
mkdirSync(CWD);

const shells = ["/bin/sh", "/bin/bash"].filter((s) => existsSync(s));

describe("shell quoting, through a real shell", () => {
  it("has a shell to try", () => expect(shells).toContain("/bin/sh"));

  it.each(shells)("%s gives back every string as argument, environment value and folder", (shell) => {
    let runs = 0;
    fc.assert(
      fc.property(hostileWord, hostileWord, (arg, value) => {
        runs++;
        const line = remoteCommand(["sh", "-c", PRINT, "vmlive-test", arg], { env: { V: value }, cwd: CWD });
        expect(asSshdWould(shell, line)).toBe(`${arg}\0${value}\0${CWD}\n`);
      }),
      // Each run starts real processes: bounded: 200 shells in all in this file.
      { numRuns: shell === "/bin/sh" ? 100 : 60 },
    );
    expect(runs).toBeGreaterThanOrEqual(60);
  });

  it("shellJoin keeps every word apart and intact, leading dashes and all", () => {
    fc.assert(
      fc.property(fc.array(hostileWord, { minLength: 1, maxLength: 6 }), (words) => {
        const out = execFileSync("/bin/sh", ["-c", `printf '%s\\0' ${shellJoin(words)}`], {
          encoding: "utf8",
        });
        expect(out.split("\0").slice(0, -1)).toEqual(words);
      }),
      { numRuns: 40 },
    );
  });

  it("leaves nothing unquoted that a shell would read", () => {
    fc.assert(
      fc.property(hostileWord, (w) => {
        const q = shellQuote(w);
        // Either the word as it is (only characters no shell treats specially), or one single-quoted string.
        expect(/^[A-Za-z0-9_@%+=:,./-]+$/.test(q) || /^'([^']|'\\'')*'$/.test(q)).toBe(true);
      }),
      { numRuns: 1000 },
    );
  });
});
