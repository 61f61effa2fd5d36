// The command line SshSession sends for Machine.exec(), run through a real
// `sh -c` here (sshd runs it the same way with the login shell), so hostile
// argv, env and cwd values must arrive unchanged.
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { killGroupCommand, PID_MARKER, remoteCommand } from "../../../src/machine/qemu/remote-command.js";
import { run } from "../../../src/process/run.js";

const HOSTILE = [
  "",
  " ",
  "two  spaces",
  "it's",
  `"double"`,
  "$HOME",
  "${PATH}",
  "$(touch /tmp/vmlive-pwned)",
  "`touch /tmp/vmlive-pwned`",
  "a;b",
  "a && b",
  "a | b",
  "> /tmp/vmlive-pwned",
  "*",
  "~",
  "-n",
  "--",
  "back\\slash",
  "new\nline",
  "tab\there",
  "trailing newline\n",
  "ünïcödé ✓",
  "!event",
  "#comment",
  "=",
  "a=b",
  "'",
  "''",
  "\\'",
];

/** Run the produced line with `sh -c`; returns the announced PID line and the rest of stdout. */
async function viaShell(line: string, shell = "sh"): Promise<{ pidLine: string; rest: string }> {
  const r = await run([shell, "-c", line]);
  const nl = r.stdout.indexOf("\n");
  return { pidLine: r.stdout.slice(0, nl), rest: r.stdout.slice(nl + 1) };
}

/** argv echoed back NUL-separated by a program that prints its arguments. */
const PRINT_ARGS = ["sh", "-c", `for a in "$@"; do printf '%s\\0' "$a"; done`, "print-args"];

describe("remoteCommand", () => {
  let dir = "";
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "vmlive-remote-command-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("announces the shell's PID first, which exec then keeps for the program", async () => {
    const { pidLine, rest } = await viaShell(remoteCommand(["sh", "-c", "echo $$"]));
    expect(pidLine).toMatch(new RegExp(`^${PID_MARKER}\\d+$`));
    expect(rest).toBe(`${pidLine.slice(PID_MARKER.length)}\n`);
  });

  for (const shell of ["sh", "bash", "dash"])
    it(`passes hostile argv words unchanged (${shell})`, async () => {
      const { rest } = await viaShell(remoteCommand([...PRINT_ARGS, ...HOSTILE]), shell);
      expect(rest.split("\0").slice(0, -1)).toEqual(HOSTILE);
    });

  it("passes hostile env values unchanged, added to the existing environment", async () => {
    const env = Object.fromEntries(HOSTILE.map((v, i) => [`VMLIVE_V${i}`, v]));
    const names = Object.keys(env);
    const script = `for n in ${names.join(" ")}; do eval "printf '%s\\0' \\"\\$$n\\""; done; printf %s "$PATH"`;
    const { rest } = await viaShell(remoteCommand(["sh", "-c", script], { env }));
    const parts = rest.split("\0");
    expect(parts.slice(0, -1)).toEqual(HOSTILE);
    expect(parts.at(-1)).toBe(process.env.PATH);
  });

  it("runs in a hostile cwd", async () => {
    const odd = path.join(dir, `it's "odd" $HOME \`x\` -n\nline`);
    await mkdir(odd);
    const { rest } = await viaShell(remoteCommand(["pwd"], { cwd: odd }));
    expect(rest).toBe(`${odd}\n`);
    // A cwd starting with "-" is not an option to cd.
    await mkdir(path.join(dir, "-P"));
    const dash = await run(["sh", "-c", remoteCommand(["pwd"], { cwd: "-P" })], { cwd: dir });
    expect(dash.stdout.split("\n")[1]).toBe(path.join(dir, "-P"));
  });

  it("fails, without running the program, when the cwd does not exist", async () => {
    const r = await run(
      ["sh", "-c", remoteCommand(["touch", path.join(dir, "ran")], { cwd: "/nonexistent/dir" })],
      {
        check: false,
      },
    );
    expect(r.exitCode).not.toBe(0);
    await expect(run(["test", "-e", path.join(dir, "ran")])).rejects.toThrow();
  });

  it("a missing program exits 127, with or without env", async () => {
    for (const env of [undefined, { A: "1" }]) {
      const r = await run(["sh", "-c", remoteCommand(["vmlive-no-such-program"], { env })], { check: false });
      expect(r.exitCode).toBe(127);
    }
  });

  it("refuses what cannot be passed safely", () => {
    expect(() => remoteCommand([])).toThrow(/empty argv/);
    expect(() => remoteCommand(["true"], { env: { "A B": "x" } })).toThrow(
      /invalid environment variable name/,
    );
    expect(() => remoteCommand(["true"], { env: { "A=B": "x" } })).toThrow(
      /invalid environment variable name/,
    );
    expect(() => remoteCommand(["true"], { env: { "": "x" } })).toThrow(/invalid environment variable name/);
    expect(() => remoteCommand(["a=b"], { env: { A: "x" } })).toThrow(/cannot contain "="/);
    expect(() => remoteCommand(["echo", "nul\0byte"])).toThrow(/NUL/);
    expect(() => remoteCommand(["true"], { env: { A: "nul\0byte" } })).toThrow(/NUL/);
  });

  it("builds the line only from quoted words (a sample, for review)", () => {
    expect(remoteCommand(["echo", "a b"], { cwd: "/tmp/x y", env: { K: "v w" } })).toBe(
      `echo ${PID_MARKER}$$ && cd -- '/tmp/x y' && exec env -- 'K=v w' echo 'a b'`,
    );
  });
});

describe("killGroupCommand", () => {
  it("stops a whole process group: the leader and its children", async () => {
    // A group led by a shell with a child, as sshd makes for each session.
    const marker = `600.${Date.now() % 1e9}`;
    const leader = run(["setsid", "sh", "-c", `echo $$; sleep ${marker}; echo never`], { check: false });
    let pid: number | undefined;
    for (let i = 0; i < 50 && !pid; i++) {
      await new Promise((r) => setTimeout(r, 100));
      const r = await run(["pgrep", "-f", `^sh -c echo [$][$]; sleep ${marker}`], { check: false });
      pid = Number(r.stdout.trim()) || undefined;
    }
    expect(pid).toBeDefined();
    await run(["sh", "-c", killGroupCommand(pid!, 2_000)]);
    const r = await leader;
    expect(r.signal).toBe("SIGTERM");
    const left = await run(["pgrep", "-f", `sleep ${marker.replace(".", "[.]")}`], { check: false });
    expect(left.exitCode).toBe(1);
  });

  it("escalates to KILL for a group that ignores TERM", async () => {
    const marker = `601.${Date.now() % 1e9}`;
    const leader = run(["setsid", "sh", "-c", `trap '' TERM; sleep ${marker} & wait; wait`], {
      check: false,
    });
    let pid: number | undefined;
    for (let i = 0; i < 50 && !pid; i++) {
      await new Promise((r) => setTimeout(r, 100));
      const r = await run(["pgrep", "-f", `^sh -c trap '' TERM; sleep ${marker.replace(".", "[.]")}`], {
        check: false,
      });
      pid = Number(r.stdout.trim()) || undefined;
    }
    expect(pid).toBeDefined();
    const t0 = Date.now();
    await run(["sh", "-c", killGroupCommand(pid!, 1_000)]);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(900);
    expect((await leader).signal).toBe("SIGKILL");
  });

  it("refuses a PID that would signal everything", () => {
    expect(() => killGroupCommand(0, 1000)).toThrow();
    expect(() => killGroupCommand(1, 1000)).toThrow();
    expect(() => killGroupCommand(-5, 1000)).toThrow();
  });
});
