// The diagnostics bundle both backends write before the watchdog stops a
// silent command: its sections, in order, and what happens when one cannot
// be gathered.
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { hostProcessesArgv, writeDiagnostics } from "../../../src/machine/diagnostics.js";
import { tempDir } from "../../support/tmp.js";

describe("writeDiagnostics", () => {
  it("writes the command, the machine, each section's output and the extras to one file in the logs folder", async () => {
    const logDir = tempDir("vmlive-diag-");
    const ran: string[][] = [];
    const file = await writeDiagnostics({
      logDir,
      argv: ["sh", "-c", "sleep 600 # it's stuck"],
      machine: "host: box amd64 (2 cpu)",
      processes: hostProcessesArgv([10, 11]),
      run: async (argv) => {
        ran.push([...argv]);
        if (argv[0] === "cat") throw new Error("no /proc here");
        return `output of ${argv[0]}\n\n`;
      },
      extra: [{ title: "serial console (last 50 lines)", text: "login:\n" }],
    });
    expect(path.dirname(file)).toBe(logDir);
    expect(readdirSync(logDir)).toEqual([path.basename(file)]);
    expect(path.basename(file)).toMatch(/^diagnostics-\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d-\d{3}Z\.txt$/);
    expect(ran).toEqual([
      ["ps", "-o", "pid,ppid,stat,etime,time,args", "--forest", "-p", "10,11"],
      ["df", "-h"],
      ["cat", "/proc/mounts"],
      ["sh", "-c", "dmesg | tail -n 50"],
    ]);
    expect(readFileSync(file, "utf8")).toBe(
      [
        "command: sh -c 'sleep 600 # it'\\''s stuck'",
        "machine: host: box amd64 (2 cpu)",
        "== processes\noutput of ps",
        "== disk space\noutput of df",
        "== mounts\n(not available: no /proc here)",
        "== kernel log (last 50 lines)\noutput of sh",
        "== serial console (last 50 lines)\nlogin:",
      ].join("\n\n") + "\n",
    );
  });
});
