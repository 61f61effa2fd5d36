// The one contract every Machine passes: the fake (scripted replies), the
// host backend and the qemu VM over SSH run this same suite, so build steps
// can rely on the same exec/upload/download semantics wherever they run.
//
//   machineContract("HostMachine", async () => new HostMachine(), { realCommands: true, files: true, onIdle: true });
//
// `make` is called once; the machine is shared by the tests (they run in
// order) and disposed by the last one. The commands are fixed so that a fake
// can script its answers to them (see test/unit/machine/fake-contract.test.ts).
import { createHash, randomBytes, randomInt } from "node:crypto";
import { existsSync } from "node:fs";
import {
  chmod,
  lstat,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  readlink,
  rm,
  symlink,
  writeFile,
} from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CommandError } from "../../src/errors.js";
import type { ExecOptions, Machine, OutputSink } from "../../src/machine/machine.js";

export interface ContractCaps {
  /** Commands really run (env, cwd, stdin, timeouts, big output); false for a fake with scripted replies. */
  realCommands: boolean;
  /** upload/download really copy files (needs realCommands too). */
  files: boolean;
  /** exec accepts run()'s extra `onIdle` option and calls it before the watchdog kills the command. */
  onIdle?: boolean;
  /** A 20 MB copy takes seconds (a builder VM), so it can be stopped while it runs. */
  slowCopies?: boolean;
}

/** Commands the suite runs whose replies a fake has to script (the rest need a real machine). */
export const CONTRACT_COMMANDS = {
  echo: ["echo", "hello", "world"],
  exit3: ["sh", "-c", "echo oops >&2; exit 3"],
  missing: ["vmlive-contract-no-such-program"],
  killed: ["sh", "-c", "kill -KILL $$"],
  lines: ["sh", "-c", "printf 'a\\nb\\n'; printf 'e1\\ne2\\n' >&2; printf 'c\\nlast without newline'"],
} as const;

const MB = 1024 * 1024;

/** Records what reaches an OutputSink. */
export class RecordingSink implements OutputSink {
  readonly stdout: string[] = [];
  readonly stderr: string[] = [];
  line(stream: "stdout" | "stderr", text: string): void {
    this[stream].push(text);
  }
}

async function rejection(p: Promise<unknown>): Promise<CommandError> {
  const err = await p.then(
    (r) => {
      throw new Error(`expected a CommandError, the command succeeded: ${JSON.stringify(r).slice(0, 300)}`);
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(CommandError);
  return err as CommandError;
}

function sha256(data: Buffer | string): string {
  return createHash("sha256").update(data).digest("hex");
}

/** Every entry under `root` as "relative path -> type, mode, content hash or link target". */
async function describeTree(root: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = async (dir: string): Promise<void> => {
    for (const name of (await readdir(dir)).sort()) {
      const full = path.join(dir, name);
      const rel = path.relative(root, full);
      const st = await lstat(full);
      const mode = (st.mode & 0o7777).toString(8);
      if (st.isSymbolicLink()) out[rel] = `symlink -> ${await readlink(full)}`;
      else if (st.isDirectory()) {
        out[rel] = `dir ${mode}`;
        await walk(full);
      } else out[rel] = `file ${mode} ${sha256(await readFile(full))}`;
    }
  };
  await walk(root);
  return out;
}

export function machineContract(name: string, make: () => Promise<Machine>, caps: ContractCaps): void {
  const real = it.skipIf(!caps.realCommands);
  const files = it.skipIf(!(caps.files && caps.realCommands));
  const idle = it.skipIf(!(caps.realCommands && caps.onIdle));
  const slowCopies = it.skipIf(!(caps.files && caps.realCommands && caps.slowCopies));

  describe(`Machine contract: ${name}`, () => {
    let m: Machine;
    let disposed = false;
    let hostDir = "";
    let vmDir = "";
    const exec = (argv: readonly string[], opts?: ExecOptions & { onIdle?: () => Promise<unknown> }) =>
      m.exec(argv, opts);

    /** Polls `pgrep -f pattern` on the machine until nothing matches (true) or `ms` passes (false). */
    async function gone(pattern: string, ms = 5_000): Promise<boolean> {
      const deadline = Date.now() + ms;
      for (;;) {
        const r = await exec(["pgrep", "-f", pattern], { check: false });
        if (r.exitCode === 1) return true;
        expect(r.exitCode, `pgrep failed: ${r.stderr}`).toBe(0);
        if (Date.now() > deadline) return false;
        await new Promise((res) => setTimeout(res, 200));
      }
    }

    /** A `sleep` only this test runs, and a pgrep pattern that matches it (and its shell) but not pgrep. */
    function uniqueSleep(): { duration: string; pattern: string } {
      const digits = String(randomInt(1e8, 1e9));
      return { duration: `600.${digits}`, pattern: `sleep 600[.]${digits}` };
    }

    beforeAll(async () => {
      m = await make();
      if (caps.realCommands) vmDir = (await m.exec(["mktemp", "-d"])).stdout.trim();
      if (caps.files) hostDir = await mkdtemp(path.join(os.tmpdir(), "vmlive-contract-"));
    });

    afterAll(async () => {
      if (!disposed) {
        if (vmDir) await m.exec(["rm", "-rf", "--", vmDir], { check: false }).catch(() => undefined);
        await m[Symbol.asyncDispose]();
      }
      if (hostDir) await rm(hostDir, { recursive: true, force: true });
    });

    it("exec returns the command's stdout", async () => {
      const r = await exec(CONTRACT_COMMANDS.echo);
      expect(r).toEqual({ exitCode: 0, signal: undefined, stdout: "hello world\n", stderr: "" });
    });

    it("a non-zero exit throws CommandError with the exit code and the stderr tail", async () => {
      const err = await rejection(exec(CONTRACT_COMMANDS.exit3));
      expect(err.site).toBe(m.site);
      expect(err.argv).toEqual(CONTRACT_COMMANDS.exit3);
      expect(err.detail.exitCode).toBe(3);
      expect(err.detail.signal).toBeUndefined();
      expect(err.detail.tail).toContain("oops");
      expect(err.message).toContain("exit code 3");
    });

    it("check: false returns a non-zero exit instead of throwing", async () => {
      const r = await exec(CONTRACT_COMMANDS.exit3, { check: false });
      expect(r.exitCode).toBe(3);
      expect(r.signal).toBeUndefined();
      expect(r.stderr).toBe("oops\n");
    });

    it("a missing program is exit code 127, reported as command not found", async () => {
      const err = await rejection(exec(CONTRACT_COMMANDS.missing));
      expect(err.detail.exitCode).toBe(127);
      expect(err.message).toMatch(/command not found/);
    });

    it("a command killed by a signal reports the signal and 128 + its number", async () => {
      const r = await exec(CONTRACT_COMMANDS.killed, { check: false });
      expect(r.signal).toBe("SIGKILL");
      expect(r.exitCode).toBe(137);
      const err = await rejection(exec(CONTRACT_COMMANDS.killed));
      expect(err.detail.signal).toBe("SIGKILL");
      expect(err.detail.exitCode).toBe(137);
      expect(err.message).toContain("SIGKILL");
    });

    it("the output sink receives each stream's lines in order, the last one without its newline", async () => {
      const sink = new RecordingSink();
      const r = await exec(CONTRACT_COMMANDS.lines, { output: sink });
      expect(sink.stdout).toEqual(["a", "b", "c", "last without newline"]);
      expect(sink.stderr).toEqual(["e1", "e2"]);
      expect(r.stdout).toBe("a\nb\nc\nlast without newline");
      expect(r.stderr).toBe("e1\ne2\n");
    });

    it("the output sink also gets the lines of a failing command", async () => {
      const sink = new RecordingSink();
      await rejection(exec(CONTRACT_COMMANDS.exit3, { output: sink }));
      expect(sink.stderr).toEqual(["oops"]);
    });

    real("many lines reach the sink in order", async () => {
      const sink = new RecordingSink();
      await exec(["seq", "1", "20000"], { output: sink });
      expect(sink.stdout).toEqual(Array.from({ length: 20000 }, (_, i) => String(i + 1)));
    });

    real("env values with spaces, quotes, $, backslashes and newlines arrive unchanged", async () => {
      const env = {
        VMLIVE_A: "two  spaces and a\ttab",
        VMLIVE_B: `it's "quoted" \`echo no\` $(echo no) $HOME \\ \\n`,
        VMLIVE_C: "line one\nline two\n\nend with newline\n",
        VMLIVE_D: "",
        VMLIVE_E: "-e; rm -rf / #",
        VMLIVE_F: "ünïcödé ✓ =x= %s",
      };
      const names = Object.keys(env);
      const script = `for n in ${names.join(" ")}; do eval "printf '%s\\0' \\"\\$$n\\""; done`;
      const r = await exec(["sh", "-c", script], { env });
      expect(r.stdout.split("\0").slice(0, -1)).toEqual(Object.values(env));
      // env is added to the machine's environment, not a replacement for it.
      const path_ = await exec(["sh", "-c", 'printf %s "$PATH"'], { env });
      expect(path_.stdout).toMatch(/\/bin/);
    });

    real("cwd sets the working directory, whatever its name", async () => {
      expect((await exec(["pwd"], { cwd: vmDir })).stdout).toBe(`${vmDir}\n`);
      const odd = `${vmDir}/a dir 'q' "dq" $x \`y\` -n`;
      await exec(["mkdir", "--", odd]);
      expect((await exec(["pwd"], { cwd: odd })).stdout).toBe(`${odd}\n`);
    });

    real("stdin is fed to the command; without it the command reads EOF at once", async () => {
      expect((await exec(["cat"], { stdin: "hello\nworld" })).stdout).toBe("hello\nworld");
      const big = Buffer.from("0123456789abcdef\n".repeat(64 * 1024)); // 1.06 MB
      expect((await exec(["wc", "-c"], { stdin: big })).stdout.trim()).toBe(String(big.length));
      const t0 = Date.now();
      const r = await exec(["cat"], { timeoutMs: 20_000 });
      expect(r.stdout).toBe("");
      expect(Date.now() - t0).toBeLessThan(10_000);
    });

    real(
      "50 MB of output arrives complete, and line by line",
      async () => {
        let lines = 0;
        let bytes = 0;
        const sink: OutputSink = {
          line(_stream, text) {
            lines++;
            bytes += text.length + 1;
          },
        };
        // 49 characters and a newline: exactly 1,000,000 lines.
        const r = await exec(
          ["sh", "-c", "yes 0123456789012345678901234567890123456789012345678 | head -c 50000000"],
          { output: sink },
        );
        expect(r.stdout.length).toBe(50_000_000);
        expect(sha256(r.stdout)).toBe(
          sha256("0123456789012345678901234567890123456789012345678\n".repeat(1_000_000)),
        );
        expect(lines).toBe(1_000_000);
        expect(bytes).toBe(50_000_000);
      },
      300_000,
    );

    real(
      "timeoutMs kills the command and its children quickly",
      async () => {
        const { duration, pattern } = uniqueSleep();
        const t0 = Date.now();
        const err = await rejection(
          exec(["sh", "-c", `sleep ${duration}; echo never`], { timeoutMs: 1_500 }),
        );
        expect(err.detail.cause).toMatch(/^timed out after 2 s$/);
        expect(Date.now() - t0).toBeLessThan(12_000);
        expect(await gone(pattern)).toBe(true);
      },
      60_000,
    );

    real(
      "an aborted signal cancels the command and its children",
      async () => {
        const { duration, pattern } = uniqueSleep();
        const ac = new AbortController();
        setTimeout(() => ac.abort(), 1_000);
        const t0 = Date.now();
        const err = await rejection(
          exec(["sh", "-c", `sleep ${duration}; echo never`], { signal: ac.signal }),
        );
        expect(err.detail.cause).toBe("cancelled");
        expect(Date.now() - t0).toBeLessThan(12_000);
        expect(await gone(pattern)).toBe(true);
      },
      60_000,
    );

    real(
      "the idle watchdog stops a silent command",
      async () => {
        const { duration, pattern } = uniqueSleep();
        const t0 = Date.now();
        const err = await rejection(
          exec(["sh", "-c", `echo started; sleep ${duration}; echo never`], { idleTimeoutMs: 1_500 }),
        );
        expect(err.detail.cause).toBe(
          "no output and no progress for 2 s: stopped by the inactivity watchdog",
        );
        expect(Date.now() - t0).toBeLessThan(15_000);
        expect(await gone(pattern)).toBe(true);
      },
      60_000,
    );

    idle(
      "the idle watchdog calls onIdle once, before the command is killed",
      async () => {
        const { duration, pattern } = uniqueSleep();
        const aliveAtIdle: boolean[] = [];
        const err = await rejection(
          exec(["sh", "-c", `sleep ${duration}`], {
            idleTimeoutMs: 1_500,
            onIdle: async () => {
              const r = await exec(["pgrep", "-f", pattern], { check: false });
              aliveAtIdle.push(r.exitCode === 0);
            },
          }),
        );
        expect(err.detail.cause).toMatch(/inactivity watchdog/);
        expect(aliveAtIdle).toEqual([true]);
        expect(await gone(pattern)).toBe(true);
      },
      60_000,
    );

    files(
      "upload and download round-trip a 20 MB file, creating parent folders",
      async () => {
        const data = randomBytes(20 * MB);
        const src = path.join(hostDir, "big.bin");
        await writeFile(src, data);
        await chmod(src, 0o640);
        const remote = `${vmDir}/up/nested/big file.bin`;

        let t0 = Date.now();
        await m.upload(src, remote);
        const up = (Date.now() - t0) / 1000;
        const onVm = await exec(["sha256sum", "--", remote]);
        expect(onVm.stdout.split(" ")[0]).toBe(sha256(data));
        expect((await exec(["stat", "-c", "%a %s", "--", remote])).stdout.trim()).toBe(`640 ${data.length}`);
        expect((await exec(["ls", "-A", `${vmDir}/up/nested`])).stdout).toBe("big file.bin\n");

        const back = path.join(hostDir, "down", "deeper", "big.bin");
        t0 = Date.now();
        await m.download(remote, back);
        const down = (Date.now() - t0) / 1000;
        expect(sha256(await readFile(back))).toBe(sha256(data));
        expect((await lstat(back)).mode & 0o777).toBe(0o640);
        expect(await readdir(path.dirname(back))).toEqual(["big.bin"]);
        console.info(
          `[${name}] 20 MB upload ${up.toFixed(2)} s (${(20 / up).toFixed(1)} MB/s), download ${down.toFixed(2)} s (${(20 / down).toFixed(1)} MB/s)`,
        );
      },
      300_000,
    );

    files(
      "a copy stopped before it starts rejects with the signal's reason and writes nothing",
      async () => {
        const src = path.join(hostDir, "early.bin");
        await writeFile(src, randomBytes(MB));
        const reason = new Error("stopped by the test");
        const remote = `${vmDir}/early/early.bin`;
        await expect(m.upload(src, remote, { signal: AbortSignal.abort(reason) })).rejects.toBe(reason);
        expect((await exec(["ls", "-A", vmDir])).stdout.split("\n")).not.toContain("early");
        await m.upload(src, remote);
        const back = path.join(hostDir, "early", "early.bin");
        await expect(m.download(remote, back, { signal: AbortSignal.abort(reason) })).rejects.toBe(reason);
        expect(existsSync(back)).toBe(false);
      },
      120_000,
    );

    slowCopies(
      "a download stopped while it runs rejects with the signal's reason and leaves no partial file",
      async () => {
        const data = randomBytes(20 * MB);
        const src = path.join(hostDir, "stopped.bin");
        await writeFile(src, data);
        const remote = `${vmDir}/stopped/stopped.bin`;
        await m.upload(src, remote);
        const reason = new Error("stopped by the test");
        const back = path.join(hostDir, "stopped", "stopped.bin");
        const stop = new AbortController();
        setTimeout(() => stop.abort(reason), 500);
        await expect(m.download(remote, back, { signal: stop.signal })).rejects.toBe(reason);
        expect(await readdir(path.dirname(back))).toEqual([]);
      },
      300_000,
    );

    files(
      "upload and download round-trip a folder with a symlink and an executable file",
      async () => {
        const tree = path.join(hostDir, "tree");
        await mkdir(path.join(tree, "bin"), { recursive: true });
        await mkdir(path.join(tree, "empty dir"));
        await writeFile(path.join(tree, "bin", "run.sh"), '#!/bin/sh\necho ran "$@"\n');
        await chmod(path.join(tree, "bin", "run.sh"), 0o755);
        await writeFile(path.join(tree, "data.txt"), "data\n");
        await chmod(path.join(tree, "data.txt"), 0o600);
        await writeFile(path.join(tree, "bin", 'it\'s "odd" $name.txt'), randomBytes(100_000));
        await symlink("bin/run.sh", path.join(tree, "link"));
        await symlink("/nonexistent/target", path.join(tree, "dangling"));

        const remote = `${vmDir}/trees/up`;
        await m.upload(tree, remote);
        expect((await exec([`${remote}/link`, "x"])).stdout).toBe("ran x\n");
        expect((await exec(["readlink", "--", `${remote}/dangling`])).stdout).toBe("/nonexistent/target\n");

        const back = path.join(hostDir, "tree-back");
        await m.download(remote, back);
        expect(await describeTree(back)).toEqual(await describeTree(tree));
      },
      300_000,
    );

    it("disposing the machine resolves", async () => {
      if (vmDir) await m.exec(["rm", "-rf", "--", vmDir]);
      await expect(m[Symbol.asyncDispose]()).resolves.toBeUndefined();
      disposed = true;
    });
  });
}
