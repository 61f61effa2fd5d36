// What /proc says about processes: the tree below a PID and the CPU time it
// has used. Used to stop a whole command tree, and by the inactivity watchdog
// to tell a silent command that works (update-initramfs under TCG) from one
// that hangs.
import { readdir, readFile } from "node:fs/promises";

interface ProcEntry {
  pid: number;
  ppid: number;
  /** CPU time in clock ticks: its own (utime, stime) and that of its finished children (cutime, cstime). */
  ticks: number;
}

/** Clock ticks per second: 100 on every Linux vmlive runs on. */
const TICKS_PER_SECOND = 100;

async function procTable(): Promise<ProcEntry[]> {
  const out: ProcEntry[] = [];
  for (const name of await readdir("/proc").catch(() => [] as string[])) {
    if (!/^\d+$/.test(name)) continue;
    const stat = await readFile(`/proc/${name}/stat`, "utf8").catch(() => "");
    if (!stat) continue;
    // "pid (comm) state ppid ... utime stime ...": comm may itself contain ") ".
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    out.push({
      pid: Number(name),
      ppid: Number(f[1]),
      ticks: Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]),
    });
  }
  return out;
}

/** `pid` and all its descendants, parents before children. */
export async function processTree(pid: number): Promise<ProcEntry[]> {
  const table = await procTable();
  const byParent = new Map<number, ProcEntry[]>();
  for (const e of table) byParent.set(e.ppid, [...(byParent.get(e.ppid) ?? []), e]);
  const root = table.find((e) => e.pid === pid);
  if (!root) return [];
  const tree = [root];
  for (let i = 0; i < tree.length; i++) tree.push(...(byParent.get(tree[i]!.pid) ?? []));
  return tree;
}

/** CPU time (ticks) used by `pid` and its descendants that are still running. */
export async function treeCpuTicks(pid: number): Promise<number> {
  return (await processTree(pid)).reduce((sum, e) => sum + e.ticks, 0);
}

/**
 * A check for the inactivity watchdog: true when `sample` (CPU ticks) grew by
 * at least `minShare` of one CPU since the previous call, i.e. the silent
 * command is still computing.
 */
export function cpuProgress(sample: () => Promise<number>, minShare = 0.1): () => Promise<boolean> {
  let last: { ticks: number; at: number } | undefined;
  return async () => {
    const now = { ticks: await sample().catch(() => 0), at: Date.now() };
    const prev = last;
    last = now;
    if (!prev) return true; // the first look has nothing to compare with: give it one more period
    const seconds = (now.at - prev.at) / 1000;
    return seconds > 0 && (now.ticks - prev.ticks) / TICKS_PER_SECOND / seconds >= minShare;
  };
}
