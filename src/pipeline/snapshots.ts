// Snapshots of the root filesystem, so a rebuild can start after the stage
// that made one. A machine that keeps them itself below the file system (the
// builder VM: qcow2 layers, src/machine/qemu/rootfs-layers.ts) does so;
// elsewhere (this host) they are copies in the work area (WORK/snapshots/NAME,
// its key in NAME.key), made through machine.exec. `cp -a` keeps owners,
// modes, timestamps, xattrs, hard links, symlinks and device nodes;
// --reflink=auto makes it a cheap clone on file systems that can (btrfs, xfs).
import type { Machine, RootfsSnapshots } from "../machine/machine.js";
import { humanBytes } from "../steps/boot/machine-files.js";
import type { WorkPaths } from "./context.js";
import { fmtSeconds } from "./runner.js";

/** The snapshots there are: after bootstrap, and inside customize after the package installation. */
export const SNAPSHOTS = ["bootstrap", "packages"] as const;
export type SnapshotName = (typeof SNAPSHOTS)[number];

export interface SnapshotInfo {
  name: SnapshotName;
  key: string;
  /** When it was taken (the key file's time), ISO 8601. */
  taken: string;
}

/** What the snapshot code needs: the machine, the work area, a signal and somewhere to say things. */
export interface SnapshotEnv {
  machine: Machine;
  work: WorkPaths;
  signal?: AbortSignal;
  say(message: string): void;
}

export const snapshotsDir = (work: WorkPaths) => `${work.root}/snapshots`;
export const snapshotPath = (work: WorkPaths, name: SnapshotName) => `${snapshotsDir(work)}/${name}`;

const LONG = { timeoutMs: 2 * 60 * 60_000 };

/** The machine's own snapshots when they are of this work area's root filesystem. */
function kept(e: SnapshotEnv): RootfsSnapshots | undefined {
  const s = e.machine.rootfsSnapshots;
  return s && s.path === e.work.rootfs ? s : undefined;
}

// $1 the snapshot folder; then the names. Prints NAME KEY EPOCH for each snapshot whose folder and key exist.
const LIST_SCRIPT = [
  'd="$1"; shift',
  'for n; do [ -d "$d/$n" ] && [ -s "$d/$n.key" ] && printf "%s %s %s\\n" "$n" "$(head -c 64 "$d/$n.key")" "$(stat -c %Y "$d/$n.key")"; done',
  "exit 0",
].join("\n");

/** The snapshots in the work area with their keys; a half-written one (no key, or NAME.tmp) is not listed. */
export async function listSnapshots(e: SnapshotEnv): Promise<SnapshotInfo[]> {
  const k = kept(e);
  if (k) {
    // Copies a vmlive before the machine kept its own snapshots left in the work area are of no use.
    await e.machine.exec(["rm", "-rf", "--one-file-system", "--", snapshotsDir(e.work)], {
      ...LONG,
      signal: e.signal,
    });
    return (await k.list()).filter((s): s is SnapshotInfo => SNAPSHOTS.includes(s.name as SnapshotName));
  }
  const r = await e.machine.exec(
    ["sh", "-c", LIST_SCRIPT, "vmlive-snapshots", snapshotsDir(e.work), ...SNAPSHOTS],
    {
      check: false,
      signal: e.signal,
    },
  );
  return r.stdout
    .split("\n")
    .map((l) => l.trim().split(" "))
    .filter(
      (f): f is [SnapshotName, string, string] => f.length === 3 && SNAPSHOTS.includes(f[0] as SnapshotName),
    )
    .map(([name, key, epoch]) => ({ name, key, taken: new Date(Number(epoch) * 1000).toISOString() }));
}

/** Disk space a tree takes (`du -s -B1`: blocks, not apparent size; hard links counted once). */
async function bytesOf(e: SnapshotEnv, path: string): Promise<number> {
  const r = await e.machine.exec(["du", "-s", "-B1", "--", path], { check: false, signal: e.signal });
  return Number(r.stdout.split(/\s/)[0]) || 0;
}

/**
 * Copy the rootfs to snapshots/NAME, with `key` beside it. Written as NAME.tmp
 * and renamed, and the key written last, so an interrupted copy is never taken
 * for a snapshot. Returns the seconds the copy took and the snapshot's size.
 */
export async function takeSnapshot(
  e: SnapshotEnv,
  name: SnapshotName,
  key: string,
): Promise<{ seconds: number; bytes: number }> {
  const k = kept(e);
  if (k) {
    e.signal?.throwIfAborted();
    const r = await k.take(name, key);
    e.say(
      `snapshot ${name}: ${r.what}, ${humanBytes(r.bytes)}, in ${fmtSeconds(r.seconds)} (key ${key.slice(0, 12)})`,
    );
    return r;
  }
  const dir = snapshotPath(e.work, name);
  const o = { ...LONG, signal: e.signal };
  await dropSnapshot(e, name);
  await e.machine.exec(["rm", "-rf", "--one-file-system", "--", `${dir}.tmp`], o);
  await e.machine.exec(["mkdir", "-p", snapshotsDir(e.work)], o);
  const t0 = Date.now();
  await e.machine.exec(["cp", "-a", "--reflink=auto", "--", e.work.rootfs, `${dir}.tmp`], o);
  await e.machine.exec(["mv", "--", `${dir}.tmp`, dir], o);
  await e.machine.exec(
    ["sh", "-c", 'printf "%s\\n" "$2" > "$1.tmp" && mv "$1.tmp" "$1"', "vmlive-key", `${dir}.key`, key],
    o,
  );
  const seconds = (Date.now() - t0) / 1000;
  const bytes = await bytesOf(e, dir);
  e.say(`snapshot ${name}: ${humanBytes(bytes)} copied in ${fmtSeconds(seconds)} (key ${key.slice(0, 12)})`);
  return { seconds, bytes };
}

/** Put snapshots/NAME back as the rootfs (the rootfs there is removed first). Returns the seconds it took. */
export async function restoreSnapshot(e: SnapshotEnv, name: SnapshotName): Promise<number> {
  const o = { ...LONG, signal: e.signal };
  const t0 = Date.now();
  const k = kept(e);
  if (k) {
    e.signal?.throwIfAborted();
    await k.restore(name);
  } else {
    await emptyRootfs(e);
    await e.machine.exec(["cp", "-a", "--reflink=auto", "--", snapshotPath(e.work, name), e.work.rootfs], o);
  }
  const seconds = (Date.now() - t0) / 1000;
  e.say(`restored the rootfs from snapshot ${name} in ${fmtSeconds(seconds)}`);
  return seconds;
}

/** Remove a snapshot: its key first, so a half-removed one is never taken for a whole one. */
export async function dropSnapshot(e: SnapshotEnv, name: SnapshotName): Promise<void> {
  const k = kept(e);
  if (k) return k.drop(name);
  const dir = snapshotPath(e.work, name);
  const o = { ...LONG, signal: e.signal };
  await e.machine.exec(["rm", "-f", "--", `${dir}.key`], o);
  await e.machine.exec(["rm", "-rf", "--one-file-system", "--", dir, `${dir}.tmp`], o);
}

/** Make the root filesystem empty (before a bootstrap). */
export async function emptyRootfs(e: SnapshotEnv): Promise<void> {
  const k = kept(e);
  if (k) return k.empty();
  // --one-file-system: never into anything mounted below the rootfs.
  await e.machine.exec(["rm", "-rf", "--one-file-system", "--", e.work.rootfs], {
    ...LONG,
    signal: e.signal,
  });
}
