// Interrupting a real vmlive and proving what it left behind. vmlive runs as
// `node --import tsx` (no tsx wrapper process in between), detached in its
// own session and with its own TMPDIR, so that afterwards the session's
// processes, the mounts below its folders and its temporary files can be
// looked for. Its `--progress json` events tell when a step is working.
import { execa, type ResultPromise } from "execa";
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { cachePaths } from "../../src/cache/paths.js";
import { proxyStatus } from "../../src/cache/proxy.js";
import { PROJECT_ROOT } from "../../src/paths.js";
import { CLI } from "./cli.js";

/** A build-events line (docs/events.md), only the fields these tests look at. */
export interface BuildEvent {
  type: string;
  step?: string;
  argv?: string[];
  status?: string;
  ok?: boolean;
}

export interface Detached {
  /** vmlive's PID, also its session and process group ID. */
  readonly pid: number;
  readonly events: BuildEvent[];
  /** Settles when the event `match` has arrived, with it; rejects after `ms` or when vmlive ends first. */
  waitFor(match: (e: BuildEvent) => boolean, ms: number): Promise<BuildEvent>;
  /** The processes of vmlive's session that run now (pgrep -s), as "PID COMMAND". */
  sessionProcesses(): Promise<string[]>;
  readonly done: ResultPromise<{ reject: false; all: true; detached: true }>;
}

/** Start `vmlive ARGS --progress json` detached (its own session), with `env` added. */
export function startDetached(args: readonly string[], env: Record<string, string>): Detached {
  // The compile cache would be written to TMPDIR, which must stay empty of anything but vmlive's leftovers.
  const child = execa(process.execPath, ["--import", "tsx", CLI, ...args, "--progress", "json"], {
    cwd: PROJECT_ROOT,
    env: { ...env, TSX_DISABLE_CACHE: "1" },
    detached: true,
    reject: false,
    all: true,
  });
  const events: BuildEvent[] = [];
  const waiters: { match: (e: BuildEvent) => boolean; resolve: (e: BuildEvent) => void }[] = [];
  let buf = "";
  child.stdout!.on("data", (b: Buffer) => {
    buf += b.toString();
    let i: number;
    while ((i = buf.indexOf("\n")) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      if (!line.startsWith("{")) continue;
      const e = JSON.parse(line) as BuildEvent;
      events.push(e);
      for (const w of waiters.splice(0)) {
        if (w.match(e)) w.resolve(e);
        else waiters.push(w);
      }
    }
  });
  const pid = child.pid!;
  return {
    pid,
    events,
    done: child,
    waitFor(match, ms) {
      const seen = events.find(match);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`no such event within ${ms / 1000} s; events: ${tail(events)}`)),
          ms,
        );
        waiters.push({
          match,
          resolve: (e) => {
            clearTimeout(timer);
            resolve(e);
          },
        });
        void child.then((r) =>
          reject(new Error(`vmlive ended (exit ${r.exitCode}) before the event:\n${r.all}`)),
        );
      });
    },
    sessionProcesses: () => sessionProcesses(pid),
  };
}

function tail(events: readonly BuildEvent[]): string {
  return events
    .slice(-5)
    .map((e) => JSON.stringify(e))
    .join("\n");
}

/**
 * `pgrep -a -s SID`: every live process of the session, as "PID COMMAND LINE"
 * (exit 1 is: none). Zombies are left out: they have ended, and only wait for
 * init, which inherited them, to collect their exit status.
 */
export async function sessionProcesses(sid: number): Promise<string[]> {
  const r = await execa("pgrep", ["-a", "-s", String(sid)], { reject: false });
  if (r.exitCode !== 0 && r.exitCode !== 1) throw new Error(`pgrep failed: ${r.stderr}`);
  return r.stdout.split("\n").filter((l) => l && !ended(Number(l.split(" ")[0])));
}

/** Ended: a zombie (state Z in /proc/PID/stat, after the parenthesised command name), or gone. */
function ended(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) === "Z";
  } catch {
    return true;
  }
}

/**
 * Files of a work area's own folders (not the rootfs) still under a temporary name (`.partial`,
 * `.tmp`, `.vmlive-new`), as "SUB/NAME"; `namesIn(SUB)` lists a folder, "" being the area itself.
 */
export async function halfWritten(namesIn: (sub: string) => string[] | Promise<string[]>): Promise<string[]> {
  const found: string[] = [];
  for (const sub of ["", "out", "iso/live"])
    for (const n of await namesIn(sub))
      if (/\.(partial|tmp|vmlive-new)$/.test(n)) found.push(path.posix.join(sub, n));
  return found;
}

/** Mount points in /proc/mounts at or below any of `dirs` (its octal escapes decoded). */
export function mountsBelow(dirs: readonly string[]): string[] {
  return readFileSync("/proc/mounts", "utf8")
    .split("\n")
    .map((l) => l.split(" ")[1])
    .filter((m): m is string => m !== undefined)
    .map((m) => m.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))))
    .filter((m) => dirs.some((d) => m === d || m.startsWith(`${d}/`)));
}

/** The package cache's users/ entries of these PIDs: a vmlive that has ended must have none. */
export function cacheUserEntries(pids: readonly number[]): string[] {
  const users = cachePaths().users;
  if (!existsSync(users)) return [];
  return readdirSync(users).filter((n) => pids.includes(Number(n)));
}

/**
 * A package-cache proxy that runs with no live vmlive using it: the last user
 * to leave (an interrupted build too) must have stopped it. Builds of others
 * that share it count as users.
 */
export async function idleProxyRunning(): Promise<boolean> {
  const status = await proxyStatus();
  return status.running !== undefined && status.users.length === 0;
}

/** PIDs in `pgrep -a` lines. */
export function pidsOf(lines: readonly string[]): number[] {
  return lines.map((l) => Number(l.split(" ")[0]));
}

/**
 * A folder with a stand-in for `program` that, when its arguments contain
 * `word`, waits `seconds` before running the real one ("before") or after it
 * ("after": what it wrote is complete on disk, yet it has not returned). Put
 * first in PATH, it holds a step that is otherwise over in a fraction of a
 * second at a known command, long enough to interrupt it there. "after"
 * makes DIR/PROGRAM.ran once the real one has ended.
 */
export function slowProgram(
  dir: string,
  program: string,
  o: { word: string; seconds: number; when: "before" | "after" },
): string {
  mkdirSync(dir, { recursive: true });
  const real = ["/usr/bin", "/bin", "/usr/sbin", "/sbin"].map((d) => path.join(d, program)).find(existsSync);
  if (!real) throw new Error(`${program} is not installed`);
  const file = path.join(dir, program);
  const slow =
    o.when === "before"
      ? `sleep ${o.seconds}; exec ${real} "$@"`
      : `${real} "$@"; rc=$?; : > ${file}.ran; sleep ${o.seconds}; exit $rc`;
  writeFileSync(file, `#!/bin/sh\ncase " $* " in\n*${o.word}*) ${slow} ;;\n*) exec ${real} "$@" ;;\nesac\n`);
  chmodSync(file, 0o755);
  return dir;
}
