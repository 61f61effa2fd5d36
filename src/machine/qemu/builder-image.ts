// The cached builder image: made from the Debian archive on the host (no
// cloud images here), keyed by its definition's hash, written atomically
// (built under a temporary name, renamed when complete) and locked, so two
// builds at once neither corrupt nor duplicate it.
//
// Before each use the cached disk is checked, and remade when damaged: its
// size against the one recorded when it was made (truncation), its sha256
// when its modification time moved (anything that wrote to it; a copy such
// as a CI cache restore that only changed the time passes and is recorded
// anew), and `qemu-img check` (the qcow2 metadata). Hashing the 1.1 GB
// bookworm disk takes 1.5-2.7 s on a 2-core host (5-11 s with sha256sum
// without SHA instructions), too much to pay on every build when nothing
// touched the file, so an unchanged size and time skip it.
import { existsSync } from "node:fs";
import { mkdir, open, readdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { acquirePackageCache } from "../../cache/proxy.js";
import { cacheOffReason } from "../../cache/settings.js";
import { proxyEnv, proxyForMirror } from "../../cache/through-proxy.js";
import { VerificationError } from "../../errors.js";
import { cacheDir } from "../../host/dirs.js";
import { qemuUserEnv } from "../../host/binfmt.js";
import { run } from "../../process/run.js";
import { acquireLock } from "../../util/file-lock.js";
import { sha256File } from "../../util/sha256.js";
import type { OutputSink } from "../machine.js";
import { CUSTOMIZE_SCRIPT, hostArch, type BuilderDefinition } from "./definition.js";
import { mkext4Argv } from "./ext4.js";

/** The files of a ready builder image. */
export interface BuilderImage {
  name: string;
  key: string;
  dir: string;
  /** qcow2 root disk; every VM runs on an overlay of it. */
  disk: string;
  /** Uncompressed kernel when it could be unpacked (boots faster under TCG), else vmlinuz. */
  kernel: string;
  initrd: string;
  /** ISO 8601 time it was made. */
  created: string;
  /** The disk as it was made, to tell a damaged one (absent in images made before vmlive recorded it). */
  diskSum?: DiskSum;
}

/** What a cached disk is checked against before use. */
export interface DiskSum {
  bytes: number;
  /** Modification time in nanoseconds, as a decimal string (more digits than a JSON number keeps). */
  mtimeNs: string;
  sha256: string;
}

/** Makes an image's files in the folder `tmp` (the real maker, or a test's); returns their paths. */
export type ImageMaker = (
  def: BuilderDefinition,
  tmp: string,
  opts: EnsureOptions,
  say: (m: string) => void,
) => Promise<{ disk: string; kernel: string; initrd: string }>;

export interface EnsureOptions {
  mirror?: string;
  /** false: fetch the packages from the mirror, not through the package cache (--no-cache); default: VMLIVE_CACHE decides. */
  cache?: boolean;
  /** Rebuild even when a good image is cached. */
  rebuild?: boolean;
  say?: (msg: string) => void;
  output?: OutputSink;
}

const READY = "ready.json";

export function buildersDir(): string {
  return path.join(cacheDir(), "builders");
}

function imageDir(def: BuilderDefinition): string {
  return path.join(buildersDir(), `${def.name}-${def.key}`);
}

/** The builder image for a definition: the cached one if sound, else made now. */
export async function ensureBuilderImage(
  def: BuilderDefinition,
  opts: EnsureOptions = {},
  make?: ImageMaker,
): Promise<BuilderImage> {
  const say = opts.say ?? (() => {});
  const dir = imageDir(def);
  if (!opts.rebuild) {
    const cached = await checkCached(dir, say);
    if (cached) return cached;
  }
  await mkdir(buildersDir(), { recursive: true });
  const release = await acquireLock(`${dir}.lock`, {
    onWait: (pid) => say(`waiting for vmlive process ${pid}, which is making the ${def.name} builder image`),
  });
  try {
    // Another process may have made it while we waited.
    if (!opts.rebuild) {
      const cached = await checkCached(dir, say);
      if (cached) return cached;
    }
    await removeHalfMade(dir, say);
    return await makeInto(def, dir, opts, say, make ?? makeImage);
  } finally {
    await release();
  }
}

/**
 * Remove what a killed `vmlive vm build` or build left while making this
 * image (DIR.tmp-PID, gigabytes): only the lock holder makes it, and we hold the lock.
 */
async function removeHalfMade(dir: string, say: (m: string) => void): Promise<void> {
  const prefix = `${path.basename(dir)}.tmp-`;
  for (const name of await readdir(path.dirname(dir)).catch(() => [] as string[])) {
    if (!name.startsWith(prefix)) continue;
    const tmp = path.join(path.dirname(dir), name);
    say(`removing ${tmp}, a builder image left half-made by an interrupted vmlive`);
    await run(["rm", "-rf", "--one-file-system", tmp], { check: false });
  }
}

/** A cached image, if complete and its disk is sound (see cachedImageProblem); a broken one is removed. */
async function checkCached(dir: string, say: (m: string) => void): Promise<BuilderImage | undefined> {
  const ready = path.join(dir, READY);
  if (!existsSync(ready)) return undefined;
  let img: BuilderImage | undefined;
  try {
    img = JSON.parse(await readFile(ready, "utf8")) as BuilderImage;
  } catch {
    img = undefined;
  }
  const verdict = img ? await cachedImageProblem(img) : { problem: "its ready.json is unreadable" };
  if (img && !verdict.problem) {
    // Made before sums were recorded, or copied with a new time: record the sound disk as it is now.
    if (verdict.sum) await writeReady(dir, { ...img, diskSum: verdict.sum });
    return verdict.sum ? { ...img, diskSum: verdict.sum } : img;
  }
  say(`the cached builder image in ${dir} is damaged (${verdict.problem}); making it again`);
  await rm(dir, { recursive: true, force: true });
  return undefined;
}

/**
 * What is wrong with a cached image's files, if anything. `sum` is set when
 * the disk is sound but its record has to be written anew (none yet, or a new
 * modification time with the same contents).
 */
export async function cachedImageProblem(img: BuilderImage): Promise<{ problem?: string; sum?: DiskSum }> {
  const missing = [img.disk, img.kernel, img.initrd].find((f) => !existsSync(f));
  if (missing) return { problem: `${path.basename(missing)} is missing` };
  const st = await stat(img.disk, { bigint: true });
  const now = { bytes: Number(st.size), mtimeNs: String(st.mtimeNs) };
  const was = img.diskSum;
  if (was && now.bytes !== was.bytes)
    return {
      problem: `${path.basename(img.disk)} is ${now.bytes} bytes, but was ${was.bytes} when it was made (truncated or partly written)`,
    };
  let sum: DiskSum | undefined;
  if (!was || now.mtimeNs !== was.mtimeNs) {
    sum = { ...now, sha256: await sha256File(img.disk) };
    if (was && sum.sha256 !== was.sha256)
      return {
        problem: `${path.basename(img.disk)} was written to after it was made: its sha256 is ${sum.sha256}, not ${was.sha256}`,
      };
  }
  // -f qcow2: a disk whose qcow2 header is damaged must not pass as a raw image.
  const r = await run(["qemu-img", "check", "-q", "-f", "qcow2", img.disk], { check: false });
  if (r.exitCode !== 0)
    return {
      problem: `qemu-img check ${path.basename(img.disk)} failed (exit code ${r.exitCode}): ${(r.stderr || r.stdout).trim().split("\n")[0] ?? ""}`,
    };
  return { sum };
}

/** Write ready.json atomically: readers see the old record or the new one, never half of one. */
async function writeReady(dir: string, img: BuilderImage): Promise<void> {
  const tmp = path.join(dir, `.${READY}.${process.pid}`);
  await writeFile(tmp, JSON.stringify(img, null, 2) + "\n");
  await rename(tmp, path.join(dir, READY));
}

/** The record of a disk just made. */
async function diskSum(disk: string): Promise<DiskSum> {
  const [st, sha256] = await Promise.all([stat(disk, { bigint: true }), sha256File(disk)]);
  return { bytes: Number(st.size), mtimeNs: String(st.mtimeNs), sha256 };
}

/**
 * Make the image in DIR.tmp-PID, record its disk, and rename it to `dir`
 * when complete: a killed maker leaves only the temporary folder, which the
 * next one removes (removeHalfMade).
 */
async function makeInto(
  def: BuilderDefinition,
  dir: string,
  opts: EnsureOptions,
  say: (m: string) => void,
  make: ImageMaker,
): Promise<BuilderImage> {
  const tmp = `${dir}.tmp-${process.pid}`;
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp, { recursive: true });
  const started = Date.now();
  try {
    const files = await make(def, tmp, opts, say);
    const final = (f: string) => path.join(dir, path.basename(f));
    const img: BuilderImage = {
      name: def.name,
      key: def.key,
      dir,
      disk: final(files.disk),
      kernel: final(files.kernel),
      initrd: final(files.initrd),
      created: new Date().toISOString(),
      // rename() below keeps the file, its size and its time: the record holds in `dir`.
      diskSum: await diskSum(files.disk),
    };
    await writeFile(path.join(tmp, READY), JSON.stringify(img, null, 2) + "\n");
    await rm(dir, { recursive: true, force: true });
    await rename(tmp, dir);
    say(`builder image ${def.name} ready in ${Math.round((Date.now() - started) / 1000)} s: ${dir}`);
    return img;
  } catch (e) {
    await run(["rm", "-rf", "--one-file-system", tmp], { check: false });
    throw e;
  }
}

/** The real maker: mmdebstrap from the Debian archive, then an ext4 disk as qcow2. */
const makeImage: ImageMaker = async (def, tmp, opts, say) => {
  if (process.getuid?.() !== 0)
    throw new VerificationError(
      `making the ${def.name} builder image needs root: mmdebstrap and mke2fs -d must keep file owners`,
      "run `sudo vmlive vm build` once; later builds reuse the cached image",
    );
  const rootfs = path.join(tmp, "rootfs");
  // Another architecture's builder is made through qemu-user: its package scripts run emulated.
  const foreign = def.arch !== hostArch();
  say(
    `making the ${def.name} builder image from ${opts.mirror ?? "the Debian archive"} ` +
      (foreign
        ? `(about 10 minutes, once: its ${def.arch} programs run through qemu-user here)`
        : "(about a minute, once)"),
  );
  const mirror = opts.mirror ?? "http://deb.debian.org/debian";
  {
    // The builder's packages are the image builds' packages too: one cache for both.
    await using cache =
      cacheOffReason(opts.cache) === undefined ? await acquirePackageCache({ say }) : undefined;
    await run(mmdebstrapArgv(def, rootfs, mirror), {
      output: opts.output,
      env: {
        ...(foreign ? qemuUserEnv(def.arch) : {}),
        ...proxyEnv(proxyForMirror(cache?.proxyFor("host"), mirror)),
      },
      timeoutMs: (foreign ? 180 : 60) * 60_000,
      idleTimeoutMs: 15 * 60_000,
    });
  }
  const kver = (await readdir(path.join(rootfs, "lib", "modules")))[0];
  if (!kver) throw new VerificationError(`the ${def.name} builder has no kernel in /lib/modules`);
  const vmlinuz = path.join(tmp, "vmlinuz");
  await run(["cp", path.join(rootfs, "boot", `vmlinuz-${kver}`), vmlinuz]);
  const initrd = path.join(tmp, "initrd.img");
  await rename(path.join(rootfs, "boot", "initrd-vmlive.img"), initrd);
  const kernel = (await unpackKernel(vmlinuz, path.join(tmp, "vmlinux"))) ?? vmlinuz;

  say(`writing the ${def.name} builder disk (mke2fs -d, qemu-img convert)`);
  const usedMiB = Number.parseInt((await run(["du", "-sm", "--one-file-system", rootfs])).stdout, 10);
  const raw = path.join(tmp, "root.raw");
  // Room for the packages the builder's tools pull at run time is on the work disk, not here.
  const sizeMiB = Math.ceil(usedMiB * 1.3) + 512;
  await run(mkext4Argv(raw, "vmliveroot", { from: rootfs, size: `${sizeMiB}M` }));
  await run(["rm", "-rf", "--one-file-system", rootfs]);
  const disk = path.join(tmp, "root.qcow2");
  await run(["qemu-img", "convert", "-O", "qcow2", raw, disk]);
  await rm(raw);
  return { disk, kernel, initrd };
};

export function mmdebstrapArgv(def: BuilderDefinition, rootfs: string, mirror: string): string[] {
  return [
    "mmdebstrap",
    "--variant=minbase",
    `--architectures=${def.arch}`,
    `--include=${def.packages.join(",")}`,
    // A builder never needs docs, man pages or translations; dpkg skips fsync in a throwaway root.
    "--dpkgopt=force-unsafe-io",
    "--dpkgopt=path-exclude=/usr/share/doc/*",
    "--dpkgopt=path-include=/usr/share/doc/*/copyright",
    "--dpkgopt=path-exclude=/usr/share/man/*",
    "--dpkgopt=path-exclude=/usr/share/locale/*",
    "--dpkgopt=path-exclude=/usr/share/info/*",
    // The builder boots its own busybox initrd (builder-customize.sh). Without its kernel hook,
    // initramfs-tools (the kernel needs it installed) makes no initrd: minutes under qemu-user.
    "--dpkgopt=path-exclude=/etc/kernel/postinst.d/initramfs-tools",
    `--customize-hook=${CUSTOMIZE_SCRIPT} "$1"`,
    def.suite,
    rootfs,
    mirror,
  ];
}

/** Compressed payloads a bzImage may carry, and how to unpack each. */
const KERNEL_PAYLOADS = [
  { magic: Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]), argv: ["xz", "-dcq"] },
  { magic: Buffer.from([0x28, 0xb5, 0x2f, 0xfd]), argv: ["zstd", "-dcq"] },
];

/** What an arm64 kernel Image holds at offset 0x38 (Documentation/arch/arm64/booting.rst). */
const ARM64_IMAGE_MAGIC = Buffer.from("ARM\x64", "latin1");

/**
 * Unpack the compressed kernel inside a bzImage into a plain ELF vmlinux:
 * qemu boots it through the PVH entry and the guest skips decompression,
 * seconds under TCG. Returns undefined when there is nothing to unpack:
 * Debian's arm64 vmlinuz is the uncompressed kernel Image, booted as it is.
 */
async function unpackKernel(vmlinuz: string, out: string): Promise<string | undefined> {
  const data = await readFile(vmlinuz);
  if (data.subarray(0x38, 0x3c).equals(ARM64_IMAGE_MAGIC)) return undefined;
  for (const { magic, argv } of KERNEL_PAYLOADS) {
    const at = data.indexOf(magic);
    if (at < 0) continue;
    // The decompressor complains about the bytes after its stream yet unpacks it whole: check the result.
    await run(argv, { stdin: data.subarray(at), stdoutFile: out, check: false }).catch(() => undefined);
    if (await isElf(out)) return out;
  }
  await rm(out, { force: true });
  return undefined;
}

async function isElf(file: string): Promise<boolean> {
  const fh = await open(file, "r").catch(() => undefined);
  if (!fh) return false;
  try {
    const head = Buffer.alloc(4);
    const { bytesRead } = await fh.read(head, 0, 4, 0);
    return bytesRead === 4 && head.toString("latin1") === "\x7fELF" && (await fh.stat()).size > 1024 * 1024;
  } finally {
    await fh.close();
  }
}

export async function listBuilderImages(): Promise<BuilderImage[]> {
  if (!existsSync(buildersDir())) return [];
  const out: BuilderImage[] = [];
  for (const d of await readdir(buildersDir())) {
    const ready = path.join(buildersDir(), d, READY);
    if (existsSync(ready)) out.push(JSON.parse(await readFile(ready, "utf8")) as BuilderImage);
  }
  return out;
}
