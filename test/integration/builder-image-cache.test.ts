// A damaged cached builder image is found before use and made again, saying
// so: real qemu-img on real damaged copies of a small qcow2 made here, with
// the maker (mmdebstrap, minutes) replaced by one that copies that qcow2.
import { execFileSync } from "node:child_process";
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  buildersDir,
  cachedImageProblem,
  ensureBuilderImage,
  type BuilderImage,
  type ImageMaker,
} from "../../src/machine/qemu/builder-image.js";
import { definitionFor } from "../../src/machine/qemu/definition.js";
import { sha256File } from "../../src/util/sha256.js";

const hasQemuImg = (() => {
  try {
    execFileSync("qemu-img", ["--version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
})();

describe.runIf(hasQemuImg)("the cached builder image: damaged copies are found and made again", () => {
  const top = mkdtempSync(path.join(os.tmpdir(), "vmlive-it-builder-cache-"));
  const pristine = path.join(top, "pristine.qcow2");
  const def = definitionFor("bookworm", "amd64");
  const savedCacheDir = process.env.VMLIVE_CACHE_DIR;
  let made = 0;
  let said: string[] = [];
  // Writes what the real maker writes, in the same folder it is given.
  const maker: ImageMaker = async (_def, tmp) => {
    made++;
    const disk = path.join(tmp, "root.qcow2");
    copyFileSync(pristine, disk);
    writeFileSync(path.join(tmp, "vmlinux"), "kernel");
    writeFileSync(path.join(tmp, "initrd.img"), "initrd");
    return { disk, kernel: path.join(tmp, "vmlinux"), initrd: path.join(tmp, "initrd.img") };
  };
  const ensure = () => ensureBuilderImage(def, { say: (m) => said.push(m) }, maker);
  const ready = (img: BuilderImage) =>
    JSON.parse(readFileSync(path.join(img.dir, "ready.json"), "utf8")) as BuilderImage;
  /** Write `bytes` at `offset` into the file, in place (dd conv=notrunc). */
  const overwrite = (file: string, offset: number, bytes: Buffer) => {
    const junk = path.join(top, "junk");
    writeFileSync(junk, bytes);
    execFileSync("dd", [`if=${junk}`, `of=${file}`, "bs=1", `seek=${offset}`, "conv=notrunc", "status=none"]);
  };
  /** Give the file back the modification time the record holds, to the nanosecond. */
  const restoreTime = (file: string, mtimeNs: string) => {
    const ns = mtimeNs.padStart(10, "0");
    execFileSync("touch", ["-m", "-d", `@${ns.slice(0, -9)}.${ns.slice(-9)}`, file]);
    expect(String(statSync(file, { bigint: true }).mtimeNs)).toBe(mtimeNs);
  };
  const qemuImgCheck = (file: string) => {
    try {
      execFileSync("qemu-img", ["check", "-q", "-f", "qcow2", file], { stdio: "pipe" });
      return 0;
    } catch (e) {
      return (e as { status: number }).status;
    }
  };

  beforeAll(() => {
    process.env.VMLIVE_CACHE_DIR = path.join(top, "cache");
    // 8 MiB of random data as a qcow2 (data clusters, an L1 and L2 table, refcounts).
    const raw = path.join(top, "data.raw");
    execFileSync("dd", ["if=/dev/urandom", `of=${raw}`, "bs=1M", "count=8", "status=none"]);
    execFileSync("qemu-img", ["convert", "-f", "raw", "-O", "qcow2", raw, pristine]);
  });
  afterAll(() => {
    if (savedCacheDir === undefined) delete process.env.VMLIVE_CACHE_DIR;
    else process.env.VMLIVE_CACHE_DIR = savedCacheDir;
    rmSync(top, { recursive: true, force: true });
  });
  beforeEach(async () => {
    // Every case starts from a sound image, made once.
    rmSync(buildersDir(), { recursive: true, force: true });
    await ensure();
    made = 0;
    said = [];
  });

  it("a sound image is made once, recorded, and reused as it is", async () => {
    const img = await ensure();
    expect(made).toBe(0);
    expect(said).toEqual([]);
    const rec = ready(img).diskSum!;
    expect(rec.bytes).toBe(statSync(img.disk).size);
    expect(rec.sha256).toBe(await sha256File(pristine));
    expect(rec.mtimeNs).toBe(String(statSync(img.disk, { bigint: true }).mtimeNs));
    expect(await cachedImageProblem(img)).toEqual({});
  });

  it("truncated: found by its size, and made again", async () => {
    const img = ready(await ensure());
    const size = statSync(img.disk).size;
    execFileSync("truncate", ["-s", String(size - 65536), img.disk]);
    await ensure();
    expect(made).toBe(1);
    expect(said.join("\n")).toContain(
      `the cached builder image in ${img.dir} is damaged (root.qcow2 is ${size - 65536} bytes, but was ${size} when it was made (truncated or partly written)); making it again`,
    );
    expect(statSync(img.disk).size).toBe(size);
  });

  it("bytes overwritten in the data: qemu-img check passes it, the sha256 does not", async () => {
    const img = ready(await ensure());
    overwrite(img.disk, 1024 * 1024, Buffer.alloc(4096, 0x5a));
    // The metadata is intact, so qemu-img alone would boot a VM on damaged files.
    expect(qemuImgCheck(img.disk)).toBe(0);
    const damaged = await sha256File(img.disk);
    await ensure();
    expect(made).toBe(1);
    expect(said.join("\n")).toContain(
      `(root.qcow2 was written to after it was made: its sha256 is ${damaged}, not ${img.diskSum!.sha256}); making it again`,
    );
    expect(await sha256File(img.disk)).toBe(img.diskSum!.sha256);
  });

  for (const [what, offset, bytes] of [
    ["its qcow2 magic overwritten", 0, Buffer.from("JUNK")],
    // The L1 table's offset (bytes 40-47 of the header), pointing far beyond the file.
    ["its L1 table offset damaged", 40, Buffer.from([0x7f, 0, 0, 0, 0, 0, 0, 0])],
  ] as const)
    it(`the header damaged (${what}), the time put back: qemu-img check finds it`, async () => {
      const img = ready(await ensure());
      overwrite(img.disk, offset, bytes);
      restoreTime(img.disk, img.diskSum!.mtimeNs);
      expect(qemuImgCheck(img.disk)).not.toBe(0);
      await ensure();
      expect(made).toBe(1);
      expect(said.join("\n")).toMatch(
        /is damaged \(qemu-img check root\.qcow2 failed \(exit code [12]\): .+\); making it again/,
      );
      expect(qemuImgCheck(img.disk)).toBe(0);
    });

  it("half-made by a killed `vm build`: its temporary folder is removed, the image made", async () => {
    const img = ready(await ensure());
    rmSync(img.dir, { recursive: true });
    const half = `${img.dir}.tmp-999999`;
    mkdirSync(path.join(half, "rootfs"), { recursive: true });
    copyFileSync(pristine, path.join(half, "root.qcow2"));
    execFileSync("truncate", ["-s", "100000", path.join(half, "root.qcow2")]);
    await ensure();
    expect(made).toBe(1);
    expect(existsSync(half)).toBe(false);
    expect(said[0]).toBe(`removing ${half}, a builder image left half-made by an interrupted vmlive`);
    expect(await cachedImageProblem(ready(img))).toEqual({});
  });

  it("copied with a new time but the same bytes (a CI cache restore): kept, its record updated", async () => {
    const img = ready(await ensure());
    execFileSync("touch", ["-m", "-d", "2020-01-01 00:00:00", img.disk]);
    const now = String(statSync(img.disk, { bigint: true }).mtimeNs);
    await ensure();
    expect(made).toBe(0);
    expect(said).toEqual([]);
    expect(ready(img).diskSum).toEqual({ ...img.diskSum, mtimeNs: now });
  });

  it("made before vmlive recorded disks: checked, recorded, kept", async () => {
    const img = ready(await ensure());
    const { diskSum, ...old } = img;
    writeFileSync(path.join(img.dir, "ready.json"), JSON.stringify(old, null, 2));
    await ensure();
    expect(made).toBe(0);
    expect(ready(img).diskSum).toEqual(diskSum);
  });

  it("a missing file or an unreadable ready.json: made again", async () => {
    const img = ready(await ensure());
    rmSync(img.initrd);
    await ensure();
    expect(said.join("\n")).toContain("is damaged (initrd.img is missing); making it again");
    writeFileSync(path.join(img.dir, "ready.json"), '{"name": "bookw');
    await ensure();
    expect(said.join("\n")).toContain("is damaged (its ready.json is unreadable); making it again");
    expect(made).toBe(2);
  });
});
