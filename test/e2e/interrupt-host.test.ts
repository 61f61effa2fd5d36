// SIGINT and SIGTERM while each step of a host-backend build is working:
// vmlive exits 130 / 143 and leaves no process of its session, no mount below
// its folders, nothing in its TMPDIR, no package-cache user entry, no output
// folder that looks finished and no work area that says the step is done; and
// the same build run again afterwards succeeds.
//
// One work area is made once (a full build of the small nightly-a image) and
// every interrupted run is `--steps STEP` against it, in an order in which
// each run leaves the steps before the next one's intact (the last steps
// first, bootstrap last). Steps that are over in a second are held at a known
// command by a stand-in in PATH that sleeps before (or after) the real one.
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { PROJECT_ROOT } from "../../src/paths.js";
import type { BuildReport } from "../../src/report/report.js";
import { vmlive } from "../support/cli.js";
import {
  cacheUserEntries,
  idleProxyRunning,
  mountsBelow,
  pidsOf,
  slowProgram,
  startDetached,
  type BuildEvent,
  halfWritten,
} from "../support/interrupt.js";
import { tempDir } from "../support/tmp.js";

const IMAGE = path.join(PROJECT_ROOT, "test/fixtures/nightly/images/nightly-a");
const FOLDER = /^nightly-a-bookworm-amd64-\d{8}-\d{6}$/;
const root = tempDir("vmlive-e2e-interrupt-");
const work = path.join(root, "work");
/** The kept work area of nightly-a on the host backend. */
const area = path.join(work, "nightly-a-amd64", "host");
const env = { VMLIVE_WORK_DIR: work };

type Sig = "SIGINT" | "SIGTERM";

interface Case {
  step: string;
  signal: Sig;
  /** The command event after which the step is working. */
  working: (e: BuildEvent) => boolean;
  /** Then wait this long before the signal (or, for a stand-in run "after", until it has run). */
  delayMs: number;
  slow?: Parameters<typeof slowProgram>[2] & { program: string };
  /** Files of the work area that must not be there afterwards. */
  absent?: string[];
  /** Run it with the other signal too, right after (steps not listed twice below). */
  both?: boolean;
}

const cmd = (step: string, test: (argv: string[]) => boolean) => (e: BuildEvent) =>
  e.type === "command" && e.step === step && test(e.argv ?? []);
const has =
  (...words: string[]) =>
  (argv: string[]) =>
    words.every((w) => argv.includes(w));

// Last steps first: each run leaves what the next one needs. Both signals for every step; the long
// steps are listed twice, to be caught at two moments.
const CASES: Case[] = [
  {
    step: "collect",
    both: true,
    signal: "SIGTERM",
    working: cmd("collect", (a) => a[0] === "sha256sum"),
    delayMs: 500,
    slow: { program: "sha256sum", word: "manifest.tsv", seconds: 120, when: "before" },
  },
  {
    step: "verify",
    both: true,
    signal: "SIGINT",
    working: cmd("verify", has("-report_el_torito")),
    delayMs: 500,
    slow: { program: "xorriso", word: "-report_el_torito", seconds: 120, when: "before" },
  },
  {
    // Held after xorriso wrote the whole ISO under its .partial name: that must not survive.
    step: "iso",
    both: true,
    signal: "SIGTERM",
    working: cmd("iso", (a) => a[0] === "xorriso" && a.some((w) => w.endsWith(".iso.partial"))),
    delayMs: 0,
    slow: { program: "xorriso", word: ".iso.partial", seconds: 120, when: "after" },
    absent: ["out/nightly-a-bookworm-amd64.iso.partial"],
  },
  {
    step: "squash",
    signal: "SIGINT",
    working: cmd("squash", (a) => a[0] === "mksquashfs" && a.length > 2),
    delayMs: 3_000,
    absent: ["iso/live/filesystem.squashfs"],
  },
  {
    step: "squash",
    signal: "SIGTERM",
    working: cmd("squash", (a) => a[0] === "mksquashfs" && a.length > 2),
    delayMs: 8_000,
    absent: ["iso/live/filesystem.squashfs"],
  },
  {
    step: "boot",
    both: true,
    signal: "SIGINT",
    working: cmd("boot", has("i386-pc-eltorito")),
    delayMs: 500,
    slow: { program: "grub-mkimage", word: "i386-pc-eltorito", seconds: 120, when: "before" },
    absent: ["boot-build"],
  },
  {
    // The check script's find of half-written files, well inside the step.
    step: "check",
    both: true,
    signal: "SIGTERM",
    working: cmd("check", (a) => a[0] === "sh"),
    delayMs: 1_000,
    slow: { program: "find", word: "vmlive-new", seconds: 120, when: "before" },
  },
  {
    step: "customize",
    signal: "SIGINT",
    working: cmd("customize", (a) => a.includes("apt-get") && a.includes("update")),
    delayMs: 1_000,
  },
  {
    step: "customize",
    signal: "SIGTERM",
    working: cmd("customize", (a) => a.includes("apt-get") && a.includes("install")),
    delayMs: 300,
  },
  {
    step: "bootstrap",
    signal: "SIGINT",
    working: cmd("bootstrap", (a) => a[0] === "mmdebstrap"),
    delayMs: 3_000,
  },
  {
    step: "bootstrap",
    signal: "SIGTERM",
    working: cmd("bootstrap", (a) => a[0] === "mmdebstrap"),
    delayMs: 8_000,
  },
];
const other = (s: Sig): Sig => (s === "SIGINT" ? "SIGTERM" : "SIGINT");
const RUNS: Case[] = CASES.flatMap((c) => (c.both ? [c, { ...c, signal: other(c.signal) }] : [c]));

describe("interrupting a host-backend build", () => {
  beforeAll(async () => {
    const out = path.join(root, "out-base");
    const r = await vmlive(
      ["build", IMAGE, "--backend", "host", "--clean", "--quiet", "--scratch", "--out", out],
      { env },
    );
    expect(r.exitCode, r.all).toBe(0);
  });

  it.each(RUNS.map((c, i) => ({ ...c, i })))(
    "$signal during $step: exit code, nothing left, nothing that looks finished",
    async (c) => {
      const dir = path.join(root, `case-${c.i}-${c.step}-${c.signal}`);
      const out = path.join(dir, "out");
      const tmp = path.join(dir, "tmp");
      mkdirSync(tmp, { recursive: true });
      const bin = path.join(dir, "bin");
      if (c.slow) slowProgram(bin, c.slow.program, c.slow);
      const run = startDetached(
        ["build", IMAGE, "--backend", "host", "--quiet", "--steps", c.step, "--out", out],
        {
          ...env,
          TMPDIR: tmp,
          PATH: c.slow ? `${bin}:${process.env.PATH}` : process.env.PATH!,
        },
      );
      await run.waitFor(c.working, 120_000);
      if (c.slow?.when === "after") await until(() => existsSync(path.join(bin, `${c.slow!.program}.ran`)));
      else await sleep(c.delayMs);
      const before = await run.sessionProcesses();
      // SIGINT to the whole process group, as a terminal's Ctrl-C sends it; SIGTERM to vmlive alone, as kill does.
      if (c.signal === "SIGINT") process.kill(-run.pid, "SIGINT");
      else process.kill(run.pid, "SIGTERM");
      const r = await run.done;

      expect(r.exitCode, r.all).toBe(c.signal === "SIGINT" ? 130 : 143);
      expect(r.stderr).toContain(`interrupted by ${c.signal}`);
      // The step was caught working: it ended failed, and the build as interrupted.
      expect(run.events.find((e) => e.type === "step-end" && e.step === c.step)?.ok).toBe(false);
      expect(run.events.find((e) => e.type === "build-end")?.status).toBe("interrupted");

      // Nothing of it runs, is mounted, or stays in its TMPDIR or the package cache's users/.
      expect(await run.sessionProcesses()).toEqual([]);
      expect(cacheUserEntries([run.pid, ...pidsOf(before)])).toEqual([]);
      expect(await idleProxyRunning()).toBe(false);
      expect(mountsBelow([work, out, tmp])).toEqual([]);
      expect(readdirSync(tmp)).toEqual([]);

      // One output folder, named as failed, whose report says interrupted in this step.
      const folders = readdirSync(out).filter((n) => n !== "history.sqlite");
      expect(folders).toHaveLength(1);
      const [folder] = folders as [string];
      expect(folder.replace(/\.failed$/, "")).toMatch(FOLDER);
      expect(folder.endsWith(".failed")).toBe(true);
      const report = JSON.parse(readFileSync(path.join(out, folder, "report.json"), "utf8")) as BuildReport;
      expect(report.status).toBe("interrupted");
      expect(report.steps.at(-1)).toMatchObject({ step: c.step, ok: false });
      expect(report.error).toContain(`interrupted by ${c.signal}`);

      // The work area does not say that the step is done, and holds none of its half-made files.
      const state = JSON.parse(readFileSync(path.join(area, "state.json"), "utf8")) as {
        done: { step: string }[];
      };
      expect(state.done.map((d) => d.step)).not.toContain(c.step);
      expect((c.absent ?? []).filter((f) => existsSync(path.join(area, f)))).toEqual([]);
      const d = (sub: string) => path.join(area, sub);
      expect(await halfWritten((sub) => (existsSync(d(sub)) ? readdirSync(d(sub)) : []))).toEqual([]);
    },
  );

  it("builds again afterwards, in the same work area (no --clean)", async () => {
    const out = path.join(root, "out-again");
    const r = await vmlive(["build", IMAGE, "--backend", "host", "--quiet", "--scratch", "--out", out], {
      env,
    });
    expect(r.exitCode, r.all).toBe(0);
    const folder = readdirSync(out).find((n) => FOLDER.test(n));
    expect(folder, readdirSync(out).join(", ")).toBeDefined();
    const report = JSON.parse(readFileSync(path.join(out, folder!, "report.json"), "utf8")) as BuildReport;
    expect(report.status).toBe("success");
    const iso = path.join(out, folder!, "nightly-a-bookworm-amd64.iso");
    expect(statSync(iso).size).toBeGreaterThan(50 * 1024 * 1024);
  });
});

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

async function until(ok: () => boolean, ms = 120_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`not within ${ms / 1000} s`);
    await sleep(100);
  }
}
