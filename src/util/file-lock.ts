// A lock file holding its owner's PID, so that two vmlive processes never
// build the same cached thing at once, and a lock left by a crashed process
// (its PID gone) is taken over instead of blocking forever.
import { link, open, readFile, rm, stat, writeFile } from "node:fs/promises";

export interface LockOptions {
  /** Called once when the lock is held by another live process and we start waiting. */
  onWait?: (ownerPid: number) => void;
  pollMs?: number;
  timeoutMs?: number;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

async function ownerOf(file: string): Promise<number | undefined> {
  const pid = Number.parseInt(await readFile(file, "utf8").catch(() => ""), 10);
  return Number.isInteger(pid) ? pid : undefined;
}

/**
 * Remove a lock whose owner died. Two waiters may find it stale at once; the
 * one that gets FILE.takeover removes it, so nobody removes a lock that a
 * third process has just taken fresh.
 */
async function removeStale(file: string): Promise<void> {
  const takeover = `${file}.takeover`;
  try {
    await (await open(takeover, "wx")).close();
  } catch {
    // Someone else is taking over; a takeover file older than a minute was left by a crash.
    const age = Date.now() - ((await stat(takeover).catch(() => undefined))?.mtimeMs ?? Date.now());
    if (age > 60_000) await rm(takeover, { force: true });
    await new Promise((r) => setTimeout(r, 200));
    return;
  }
  try {
    const owner = await ownerOf(file);
    if (owner === undefined || !alive(owner)) await rm(file, { force: true });
  } finally {
    await rm(takeover, { force: true });
  }
}

/** Take the lock at `file`, waiting while another live process holds it; returns the release function. */
export async function acquireLock(file: string, opts: LockOptions = {}): Promise<() => Promise<void>> {
  const deadline = Date.now() + (opts.timeoutMs ?? 2 * 60 * 60_000);
  let told = false;
  for (;;) {
    // link() creates the lock with its content in one step: nobody ever sees it empty.
    const mine = `${file}.${process.pid}`;
    await writeFile(mine, `${process.pid}\n`);
    try {
      await link(mine, file);
      return () => rm(file, { force: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
    } finally {
      await rm(mine, { force: true });
    }
    const owner = await ownerOf(file);
    if (owner === undefined || !alive(owner)) {
      await removeStale(file);
      continue;
    }
    if (!told) opts.onWait?.(owner);
    told = true;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${file} (held by PID ${owner})`);
    await new Promise((r) => setTimeout(r, opts.pollMs ?? 1_000));
  }
}
