// Hooks that fail and hooks that hang: the real hooks step on this host
// (HostMachine), with real scripts and their real process trees. Hooks run
// with `where: builder` so no root filesystem is needed.
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseImageConfig } from "../../src/config/load.js";
import { CommandError } from "../../src/errors.js";
import { HostMachine } from "../../src/machine/host.js";
import type { ExecOptions, ExecResult } from "../../src/machine/machine.js";
import { workPaths, type BuildContext } from "../../src/pipeline/context.js";
import { LONG } from "../../src/steps/customize/exec.js";
import { runHooks } from "../../src/steps/customize/hooks.js";

let tmp: string;

/**
 * The HostMachine with the hooks' inactivity watchdog at `idleMs` instead of
 * LONG's 20 minutes: the same watchdog (src/process/run.ts), only sooner.
 */
class QuickWatchdog extends HostMachine {
  constructor(
    private readonly idleMs: number,
    logDir?: string,
  ) {
    super({ logDir });
  }
  override exec(argv: readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
    const isHook = opts.idleTimeoutMs === LONG.idleTimeoutMs;
    return super.exec(argv, isHook ? { ...opts, idleTimeoutMs: this.idleMs } : opts);
  }
}

function context(name: string, hooks: Record<string, string>, machine: HostMachine): BuildContext {
  const dir = path.join(tmp, name, "image");
  mkdirSync(dir, { recursive: true });
  for (const [file, text] of Object.entries(hooks)) {
    writeFileSync(path.join(dir, file), text);
    chmodSync(path.join(dir, file), 0o755);
  }
  const list = Object.keys(hooks)
    .map((f) => `  - {path: ${f}, where: builder}\n`)
    .join("");
  return {
    image: {
      name,
      dir,
      file: path.join(dir, "image.yaml"),
      hooksDir: path.join(tmp, "no-hooks"),
      displayFile: "image.yaml",
      config: parseImageConfig(`description: test\nhooks:\n${list}`, "image.yaml"),
    },
    machine,
    work: workPaths(path.join(tmp, name, "work")),
    state: { done: [] },
    log: { say: () => undefined, output: { line: () => undefined }, file: path.join(tmp, `${name}.log`) },
    signal: new AbortController().signal,
    sourceDateEpoch: 1_700_000_000,
    outDir: tmp,
    logDir: tmp,
  };
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe.runIf(process.platform === "linux")("resource faults: hooks", () => {
  beforeAll(() => {
    tmp = mkdtempSync(path.join(os.tmpdir(), "vmlive-hooks-"));
  });
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it("hook exits non-zero: named, with its exit code and the last 20 lines of its output", async () => {
    const ctx = context(
      "fails",
      {
        "ok.sh": "#!/bin/sh\necho fine\n",
        "fails.sh":
          '#!/bin/sh\nfor i in $(seq 1 30); do echo "line $i"; done\necho "cannot frobnicate" >&2\nexit 3\n',
      },
      new HostMachine(),
    );
    const err = (await runHooks(ctx).catch((e: unknown) => e)) as CommandError;
    expect(err).toBeInstanceOf(CommandError);
    expect(err.detail.cause).toBe("hook 2 of 2 (hooks.1: fails.sh, where: builder) failed with exit code 3");
    const tail = (err.detail.tail ?? "").split("\n");
    expect(tail).toHaveLength(20);
    expect(tail.at(-1)).toContain("cannot frobnicate");
    expect(tail.at(-2)).toContain("line 30");
    expect(tail.join("\n")).not.toMatch(/line 10\b/);
    expect(ctx.state.hooks?.map((h) => [h.path, h.exitCode])).toEqual([
      ["ok.sh", 0],
      ["fails.sh", 3],
    ]);
  });

  it("hook hangs: the inactivity watchdog stops its whole process tree and says why", async () => {
    const pids = path.join(tmp, "hang.pids");
    const logs = path.join(tmp, "hangs-logs");
    mkdirSync(logs);
    // A shell that starts a silent child and a grandchild and waits for them: no output, no CPU.
    const ctx = context(
      "hangs",
      {
        "hang.sh": `#!/bin/sh\necho started\nsh -c 'sleep 3600 & echo $! >> "$1"; wait' grandparent ${pids} &\necho $! >> ${pids}\necho $$ >> ${pids}\nwait\n`,
      },
      new QuickWatchdog(2_000, logs),
    );
    const t0 = Date.now();
    const err = (await runHooks(ctx).catch((e: unknown) => e)) as CommandError;
    const seconds = (Date.now() - t0) / 1000;
    expect(err).toBeInstanceOf(CommandError);
    expect(err.detail.cause).toMatch(/no output and no progress for 2 s: stopped by the inactivity watchdog/);
    // Named as image.yaml names it, not by the copy that ran.
    expect(err.argv).toEqual(["hang.sh"]);
    expect(err.detail.cause).toMatch(/^hook 1 of 1 \(hooks\.0: hang\.sh, where: \w+\): /);
    expect(seconds).toBeLessThan(20);
    // The hook, its child and the sleeping grandchild are all gone (SIGTERM, then SIGKILL after 5 s).
    expect(existsSync(pids)).toBe(true);
    const list = readFileSync(pids, "utf8").trim().split("\n").map(Number);
    expect(list).toHaveLength(3);
    const deadline = Date.now() + 10_000;
    while (list.some(alive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    expect(list.filter(alive)).toEqual([]);

    // Before the kill, the diagnostics bundle went to the logs folder, with the hung hook's processes in it.
    const bundles = readdirSync(logs).filter((f) => /^diagnostics-.*\.txt$/.test(f));
    expect(bundles).toHaveLength(1);
    const bundle = readFileSync(path.join(logs, bundles[0]!), "utf8");
    const section = (title: string) => bundle.split(/^== /m).find((s) => s.startsWith(`${title}\n`)) ?? "";
    expect(bundle).toMatch(/^command: \S*hang\.sh$/m);
    expect(bundle).toMatch(/^machine: host: /m);
    // Each of the three processes, by PID, on a `ps` line of its own: the hook, its child, the sleep.
    const ps = section("processes").split("\n");
    expect(ps[1]).toMatch(/^\s*PID\s+PPID\s+STAT\s+ELAPSED\s+TIME\s+COMMAND$/);
    for (const pid of list) expect(ps.filter((l) => new RegExp(`^\\s*${pid}\\s`).test(l))).toHaveLength(1);
    expect(ps.filter((l) => /\shang\.sh$|\/\S*hang\.sh$/.test(l))).toHaveLength(1);
    expect(ps.filter((l) => /\ssleep 3600$/.test(l))).toHaveLength(1);
    expect(section("disk space")).toMatch(/^Filesystem\s+Size\s+Used/m);
    expect(section("mounts")).toMatch(/^\S+ \/ \S+ /m);
    expect(bundle).toMatch(/^== kernel log \(last 50 lines\)$/m);
  }, 30_000);
});
