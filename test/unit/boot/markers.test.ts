import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { markedCommand, parseMarked, readyMarker, readyProbe } from "../../../src/boot/markers.js";

/** A real transcript from a live-minimal boot on ttyS0: the terminal echoes the line, then the output. */
const TRANSCRIPT = [
  "\x1b[?2004hlive@vmlive-minimal:~$ printf '@@%s@@\\n' VMLIVE-BEGIN-14ca5d-2; sh -c 'systemctl is-system-running --wait' </dev/null; printf '\\n@@%s:%d@@\\n' VMLIVE-END-14ca5d-2 \"$?\"\r",
  "\x1b[?2004l\r@@VMLIVE-BEGIN-14ca5d-2@@\r",
  "running\r",
  "\r",
  "@@VMLIVE-END-14ca5d-2:0@@\r",
  "\x1b[?2004hlive@vmlive-minimal:~$ printf '@@%s@@\\n' VMLIVE-BEGIN-14ca5d-3; sh -c 'test -f /etc/apt/sources.list' </dev/null; printf '\\n@@%s:%d@@\\n' VMLIVE-END-14ca5d-3 \"$?\"\r",
  "\x1b[?2004l\r@@VMLIVE-BEGIN-14ca5d-3@@\r",
  "\r",
  "@@VMLIVE-END-14ca5d-3:0@@\r",
  "\x1b[?2004hlive@vmlive-minimal:~$ ",
].join("\n");

describe("parseMarked", () => {
  it("reads output and exit status between the markers of one command", () => {
    expect(parseMarked(TRANSCRIPT, "14ca5d-2")).toEqual({ exitCode: 0, output: "running\n" });
    expect(parseMarked(TRANSCRIPT, "14ca5d-3")).toEqual({ exitCode: 0, output: "" });
  });

  it("waits for the end marker: the echo of the typed line is not one", () => {
    const echoOnly = TRANSCRIPT.slice(0, TRANSCRIPT.indexOf("\x1b[?2004l"));
    expect(parseMarked(echoOnly, "14ca5d-2")).toBeUndefined();
    const noEnd = TRANSCRIPT.slice(0, TRANSCRIPT.indexOf("@@VMLIVE-END-14ca5d-2"));
    expect(parseMarked(noEnd, "14ca5d-2")).toBeUndefined();
    expect(parseMarked(TRANSCRIPT, "14ca5d-4")).toBeUndefined();
  });

  it("keeps output that does not end in a newline, and multi-digit exit codes", () => {
    const t = "@@VMLIVE-BEGIN-a-1@@\r\nno newline\r\n@@VMLIVE-END-a-1:127@@\r\n";
    expect(parseMarked(t, "a-1")).toEqual({ exitCode: 127, output: "no newline" });
  });

  it("refuses ids that would need escaping", () => {
    expect(() => markedCommand("true", "a b")).toThrow(/marker id/);
    expect(() => parseMarked("", "a.*")).toThrow(/marker id/);
  });
});

describe("markedCommand", () => {
  // The typed line is real shell: run it here, as the guest's shell would, and parse what it prints.
  const runLine = (line: string) => execFileSync("sh", ["-c", line], { encoding: "utf8" });

  it.each([
    ["true", 0, ""],
    ["exit 3", 3, ""],
    ['echo "it\'s $((6*7))"', 0, "it's 42\n"],
    ["printf 'a\\nb'; false", 1, "a\nb"],
    ["cat", 0, ""], // stdin is /dev/null: nothing waits for input
    ["echo '@@%s@@' $HOME >/dev/null; echo done", 0, "done\n"],
  ])("`%s` gives exit %d and its output", (command, exitCode, output) => {
    expect(parseMarked(runLine(markedCommand(command, "t-1")), "t-1")).toEqual({ exitCode, output });
  });

  it("hands the command to sh -c as one quoted word", () => {
    expect(markedCommand("echo 'a' $x", "t-2")).toContain(`sh -c 'echo '\\''a'\\'' $x' </dev/null;`);
  });

  it("has a probe whose output is the ready marker and whose text is not", () => {
    expect(readyProbe("r-1")).not.toContain(readyMarker("r-1"));
    expect(runLine(readyProbe("r-1"))).toBe(`${readyMarker("r-1")}\n`);
  });
});
