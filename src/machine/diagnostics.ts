// The diagnostics bundle: what vmlive writes to the build's logs folder when
// a command goes silent, just before the inactivity watchdog stops it. Both
// backends write the same sections (what the command was, the processes of
// the build, disk space, mounts, the kernel log tail); they differ only in
// how a diagnostic command runs (over SSH in the builder VM, or here) and in
// what they add (the VM's serial console).
import { appendFile } from "node:fs/promises";
import path from "node:path";
import { shellJoin } from "../process/quote.js";

/** Runs one diagnostic command where the build runs; its output, or why there is none. */
export type DiagnosticRunner = (argv: readonly string[]) => Promise<string>;

export interface DiagnosticsOptions {
  /** The build's logs folder; the bundle is `diagnostics-TIME.txt` in it. */
  logDir: string;
  /** The command that went silent. */
  argv: readonly string[];
  /** Where it runs: the Machine's description. */
  machine: string;
  run: DiagnosticRunner;
  /**
   * The command that lists the build's processes: the whole builder VM, or on
   * the host only vmlive and what it started (see hostProcessesArgv).
   */
  processes: readonly string[];
  /** Further sections, e.g. the VM's serial console. */
  extra?: readonly { title: string; text: string }[];
}

/** Lines of the kernel log kept in the bundle. */
const KERNEL_LOG_LINES = 50;

/** `ps` columns that show a hang: state (D = stuck in the kernel), elapsed time, CPU time, command. */
export const PS_COLUMNS = "pid,ppid,stat,etime,time,args";

/** Write the bundle; returns its path. Sections that cannot be gathered say why instead. */
export async function writeDiagnostics(o: DiagnosticsOptions): Promise<string> {
  const file = path.join(o.logDir, `diagnostics-${new Date().toISOString().replace(/[:.]/g, "-")}.txt`);
  const sections: string[] = [`command: ${shellJoin(o.argv)}`, `machine: ${o.machine}`];
  for (const [title, argv] of [
    ["processes", o.processes],
    ["disk space", ["df", "-h"]],
    ["mounts", ["cat", "/proc/mounts"]],
    [`kernel log (last ${KERNEL_LOG_LINES} lines)`, ["sh", "-c", `dmesg | tail -n ${KERNEL_LOG_LINES}`]],
  ] as const) {
    const text = await o
      .run(argv)
      .catch((e: unknown) => `(not available: ${e instanceof Error ? e.message : String(e)})`);
    sections.push(`== ${title}\n${text.trimEnd()}`);
  }
  for (const s of o.extra ?? []) sections.push(`== ${s.title}\n${s.text.trimEnd()}`);
  await appendFile(file, sections.join("\n\n") + "\n");
  return file;
}

/** `ps` of these PIDs as a tree (a PID that ended meanwhile is left out by ps itself). */
export function hostProcessesArgv(pids: readonly number[]): string[] {
  return ["ps", "-o", PS_COLUMNS, "--forest", "-p", pids.join(",")];
}
