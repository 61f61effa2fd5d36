// The builder VM keeps the image's root filesystem on a disk of its own, a
// chain of qcow2 layers in the VM's work folder on the host, so that its
// snapshots cost no copying:
//   - a snapshot freezes the file system, and qemu turns the layer being
//     written into a read-only backing file with a new empty layer on top
//     (an external qcow2 snapshot, over QMP);
//   - every snapshot gets a "view" when the VM starts: an empty qcow2 layer
//     over it, attached as one more disk; restoring mounts that view;
//   - a bootstrap gets a fresh, empty ext4 base disk the same way.
// layers.json says which file is the root filesystem now and which files are
// the snapshots; files it does not reach (unused views, layers left behind by
// a restore) are deleted once qemu has exited.
import { existsSync } from "node:fs";
import { readdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { run } from "../../process/run.js";
import type { ExecOptions, ExecResult, RootfsSnapshotInfo, RootfsSnapshots } from "../machine.js";
import { makeSparseExt4 } from "./ext4.js";
import { whileFrozen } from "./frozen.js";
import type { QmpClient } from "./qmp.js";

export const MANIFEST = "layers.json";
const LAYER_FILE = /^L-(\d+)\.(qcow2|raw)$/;
const LABEL = "vmliverootfs";

export interface LayerManifest {
  /** The layer the root filesystem is written to now. */
  active: string;
  /** Every layer file in use and the file it is backed by (null: an ext4 base, raw). */
  layers: Record<string, string | null>;
  snapshots: Record<string, { file: string; key: string; taken: string }>;
}

/** A disk the VM gets for the root filesystem: the active layer, a snapshot's view, or a fresh base. */
export interface LayerDrive {
  /** qemu's drive id and the guest's serial number of the disk (vmlive-ID). */
  id: string;
  file: string;
  format: "qcow2" | "raw";
}

export const formatOf = (file: string): "qcow2" | "raw" => (file.endsWith(".raw") ? "raw" : "qcow2");
const idOf = (file: string) => path.basename(file).replace(/\.(qcow2|raw)$/, "");
export const serialOf = (id: string) => `vmlive-${id}`;

/** The files a manifest needs: the active layer and every snapshot, with all they are backed by. */
export function reachable(m: LayerManifest): Set<string> {
  const keep = new Set<string>();
  const walk = (f: string | null | undefined) => {
    for (; f && !keep.has(f); f = m.layers[f]) keep.add(f);
  };
  walk(m.active);
  for (const s of Object.values(m.snapshots)) walk(s.file);
  return keep;
}

/** The next free layer number among these file names. */
export function nextLayerNumber(names: Iterable<string>): number {
  let n = 0;
  for (const name of names) {
    const hit = LAYER_FILE.exec(name);
    if (hit) n = Math.max(n, Number(hit[1]));
  }
  return n + 1;
}

/** The layer files in `names` that the manifest does not need. */
export function garbage(m: LayerManifest | undefined, names: readonly string[]): string[] {
  const keep = m ? reachable(m) : new Set<string>();
  return names.filter((n) => LAYER_FILE.test(n) && !keep.has(n));
}

export async function readManifest(dir: string): Promise<LayerManifest | undefined> {
  const file = path.join(dir, MANIFEST);
  if (!existsSync(file)) return undefined;
  const m = JSON.parse(await readFile(file, "utf8")) as LayerManifest;
  // A manifest whose files are gone (removed by hand) is as good as none.
  return existsSync(path.join(dir, m.active)) ? m : undefined;
}

async function writeManifest(dir: string, m: LayerManifest): Promise<void> {
  // A layer nothing reaches any more is forgotten here, and its file deleted once qemu has exited.
  const keep = reachable(m);
  for (const f of Object.keys(m.layers)) if (!keep.has(f)) delete m.layers[f];
  const file = path.join(dir, MANIFEST);
  await writeFile(`${file}.tmp`, JSON.stringify(m, null, 2) + "\n");
  await rename(`${file}.tmp`, file);
}

/** Delete the layer files no manifest entry reaches. Only while no qemu has them open. */
export async function collectGarbage(dir: string): Promise<void> {
  if (!existsSync(dir)) return;
  const m = await readManifest(dir);
  for (const f of garbage(m, await readdir(dir))) await rm(path.join(dir, f), { force: true });
}

/** A sparse raw disk with an empty ext4 file system, or one holding `from`'s contents (tests seed it so). */
export async function makeBase(file: string, bytes: number, from?: string): Promise<void> {
  await makeSparseExt4(file, bytes, LABEL, from);
  // A Debian root file system has no lost+found; mke2fs made one (fsck makes it again when it needs it).
  await run(["debugfs", "-w", "-R", "rmdir /lost+found", file]);
}

/** Start a layer store whose root filesystem is `from` (a folder on the host): what tests seed a VM with. */
export async function seedLayers(dir: string, bytes: number, from: string): Promise<void> {
  await run(["mkdir", "-p", dir]);
  const base = "L-1.raw";
  await makeBase(path.join(dir, base), bytes, from);
  await writeManifest(dir, { active: base, layers: { [base]: null }, snapshots: {} });
}

/** The guest side: commands in the VM, and qemu's monitor. */
export interface LayerGuest {
  exec(argv: readonly string[], opts?: ExecOptions): Promise<ExecResult>;
  qmp(): QmpClient;
}

export class RootfsLayers implements RootfsSnapshots {
  private manifest: LayerManifest;
  /** The drive the root filesystem is mounted from now (its id stays when a snapshot adds a layer). */
  private mountedDrive: string;
  /** Per snapshot name, the view disk made for it at start; and the fresh base. */
  private readonly views: Map<string, string>;
  private freshBase: string | undefined;
  private guest: LayerGuest | undefined;

  private constructor(
    private readonly dir: string,
    private readonly bytes: number,
    readonly path: string,
    manifest: LayerManifest,
    views: Map<string, string>,
    freshBase: string | undefined,
  ) {
    this.manifest = manifest;
    this.mountedDrive = idOf(manifest.active);
    this.views = views;
    this.freshBase = freshBase;
  }

  /**
   * Before qemu starts: read (or begin) the manifest, drop what it no longer needs, and make a view per
   * snapshot and a fresh base. `mountPoint` is the root filesystem's path in the guest.
   */
  static async prepare(dir: string, bytes: number, mountPoint: string): Promise<RootfsLayers> {
    await run(["mkdir", "-p", dir]);
    await collectGarbage(dir);
    let n = nextLayerNumber(await readdir(dir));
    const file = (ext: string) => `L-${n++}.${ext}`;
    let m = await readManifest(dir);
    const freshBase = file("raw");
    await makeBase(path.join(dir, freshBase), bytes);
    if (!m) {
      // No root filesystem yet: the fresh base is it (a bootstrap empties it in place).
      m = { active: freshBase, layers: { [freshBase]: null }, snapshots: {} };
      await writeManifest(dir, m);
      return new RootfsLayers(dir, bytes, mountPoint, m, new Map(), undefined);
    }
    const views = new Map<string, string>();
    for (const [name, s] of Object.entries(m.snapshots)) {
      const view = file("qcow2");
      await createOverlay(dir, view, s.file, bytes);
      views.set(name, view);
    }
    return new RootfsLayers(dir, bytes, mountPoint, m, views, freshBase);
  }

  /** The disks for qemu: the active layer first, then the views and the fresh base. */
  drives(): LayerDrive[] {
    const files = [this.manifest.active, ...this.views.values(), ...(this.freshBase ? [this.freshBase] : [])];
    return files.map((f) => ({ id: idOf(f), file: path.join(this.dir, f), format: formatOf(f) }));
  }

  /** Once the guest is up: mount the active layer on the root filesystem's path. */
  async attach(guest: LayerGuest): Promise<void> {
    this.guest = guest;
    // A work disk from before the root filesystem had a disk of its own holds it in the mount point.
    await guest.exec([
      "sh",
      "-c",
      'mkdir -p "$1" && if [ -n "$(ls -A "$1")" ] && ! mountpoint -q "$1"; then rm -rf --one-file-system "$1" && mkdir "$1"; fi',
      "vmlive-mountpoint",
      this.path,
    ]);
    await this.mount(this.mountedDrive);
  }

  async list(): Promise<RootfsSnapshotInfo[]> {
    return Object.entries(this.manifest.snapshots)
      .filter(([, s]) => existsSync(path.join(this.dir, s.file)))
      .map(([name, s]) => ({ name, key: s.key, taken: s.taken }));
  }

  async take(name: string, key: string): Promise<{ seconds: number; bytes: number; what: string }> {
    const g = this.live();
    const t0 = Date.now();
    const frozen = this.manifest.active;
    const overlay = `L-${nextLayerNumber(await readdir(this.dir))}.qcow2`;
    await createOverlay(this.dir, overlay, frozen, this.bytes);
    // Frozen, the file system has everything on the disk and nothing half-written while qemu switches layers.
    await whileFrozen(
      (argv, o) => g.exec(argv, o),
      this.path,
      () =>
        g.qmp().execute("blockdev-snapshot-sync", {
          device: this.mountedDrive,
          "snapshot-file": path.join(this.dir, overlay),
          format: "qcow2",
          mode: "existing",
        }),
    ).catch(async (e: unknown) => {
      await rm(path.join(this.dir, overlay), { force: true });
      throw e;
    });
    const m = this.manifest;
    m.layers[overlay] = frozen;
    m.active = overlay;
    m.snapshots[name] = { file: frozen, key, taken: new Date().toISOString() };
    await writeManifest(this.dir, m);
    const s = await stat(path.join(this.dir, frozen));
    return {
      seconds: (Date.now() - t0) / 1000,
      bytes: s.blocks * 512,
      what: `qcow2 layer ${frozen}`,
    };
  }

  async restore(name: string): Promise<void> {
    const view = this.views.get(name);
    const s = this.manifest.snapshots[name];
    if (!view || !s)
      throw new Error(`the builder VM has no view of snapshot ${name}: it was not there when the VM started`);
    await this.remount(view);
    this.views.delete(name);
    this.manifest.layers[view] = s.file;
    this.manifest.active = view;
    await writeManifest(this.dir, this.manifest);
  }

  async drop(name: string): Promise<void> {
    if (!(name in this.manifest.snapshots)) return;
    delete this.manifest.snapshots[name];
    await writeManifest(this.dir, this.manifest);
  }

  async empty(): Promise<void> {
    const base = this.freshBase;
    if (!base) {
      // The base in use is the fresh one (a first build, or a bootstrap tried again): empty it in place.
      await this.live().exec(["find", this.path, "-xdev", "-mindepth", "1", "-delete"]);
      return;
    }
    await this.remount(base);
    this.freshBase = undefined;
    this.manifest.layers[base] = null;
    this.manifest.active = base;
    await writeManifest(this.dir, this.manifest);
  }

  private live(): LayerGuest {
    if (!this.guest) throw new Error("the builder VM's root filesystem disk is not attached yet");
    return this.guest;
  }

  private async remount(file: string): Promise<void> {
    await this.live().exec(["sh", "-c", '! mountpoint -q "$1" || umount "$1"', "vmlive-umount", this.path]);
    await this.mount(idOf(file));
  }

  /** Mount the disk whose serial is vmlive-ID (virtio disks show it in /sys/block/vdX/serial; no udev needed). */
  private async mount(id: string): Promise<void> {
    await this.live().exec([
      "sh",
      "-c",
      'for d in /sys/block/vd*; do if [ "$(cat "$d/serial" 2>/dev/null)" = "$1" ]; then exec mount -o noatime "/dev/${d##*/}" "$2"; fi; done; echo "no disk with serial $1" >&2; exit 1',
      "vmlive-mount",
      serialOf(id),
      this.path,
    ]);
    this.mountedDrive = id;
  }
}

/** An empty qcow2 layer over `backing` (a file beside it, named relatively so the folder may move). */
async function createOverlay(dir: string, file: string, backing: string, bytes: number): Promise<void> {
  // -u: the backing file may be open in a running qemu; its size is given instead of read.
  await run(
    [
      "qemu-img",
      "create",
      "-q",
      "-f",
      "qcow2",
      "-u",
      "-b",
      backing,
      "-F",
      formatOf(backing),
      file,
      String(bytes),
    ],
    { cwd: dir },
  );
}
