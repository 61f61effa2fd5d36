// What can be learnt about an ISO file before booting it: whether it is
// whole (a truncated or damaged file fails here, in a second, not after a
// ten-minute boot timeout), and which architecture its kernel is for.
import { existsSync } from "node:fs";
import { mkdtemp, open, readFile, rm, stat } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { VerificationError } from "../errors.js";
import { run } from "../process/run.js";
import { sha256File } from "../util/sha256.js";
import type { BootArch } from "./ways.js";

/** The primary volume descriptor: sector 16 of 2048 bytes. */
const PVD_OFFSET = 16 * 2048;

/**
 * Refuse a file that is not a whole ISO 9660 image: no volume descriptor,
 * shorter than the volume it describes, or (when a SHA256SUMS file beside it
 * lists it, as vmlive's output folders have) not the file that was built.
 */
export async function checkIsoFile(iso: string): Promise<void> {
  if (!existsSync(iso)) throw new VerificationError(`${iso}: no such file`);
  const size = (await stat(iso)).size;
  const pvd = Buffer.alloc(2048);
  const fh = await open(iso, "r");
  try {
    await fh.read(pvd, 0, pvd.length, PVD_OFFSET);
  } finally {
    await fh.close();
  }
  if (pvd[0] !== 1 || pvd.toString("latin1", 1, 6) !== "CD001")
    throw new VerificationError(
      `${iso} is not an ISO 9660 image (no CD001 primary volume descriptor; ${size} bytes)`,
      "is it truncated or damaged? rebuild it or download it again",
    );
  // Both-endian fields; the little-endian half comes first.
  const volumeBytes = pvd.readUInt32LE(80) * pvd.readUInt16LE(128);
  if (size < volumeBytes)
    throw new VerificationError(
      `${iso} is truncated: its volume descriptor says ${volumeBytes} bytes, the file has ${size}`,
      "rebuild it or copy it again",
    );
  const expected = await listedSha256(iso);
  if (expected !== undefined) {
    // Booting several ways checks one file several times: hash it once while it is unchanged.
    const { mtimeMs } = await stat(iso);
    const key = `${path.resolve(iso)}\0${size}\0${mtimeMs}`;
    const actual = hashed.get(key) ?? (await sha256File(iso));
    hashed.set(key, actual);
    if (actual !== expected)
      throw new VerificationError(
        `${iso} is damaged: its sha256 is ${actual}, SHA256SUMS beside it says ${expected}`,
        "rebuild it or copy it again",
      );
  }
}

const hashed = new Map<string, string>();

/** The sha256 that a SHA256SUMS file in the ISO's folder gives for it, if any. */
async function listedSha256(iso: string): Promise<string | undefined> {
  const sums = await readFile(path.join(path.dirname(iso), "SHA256SUMS"), "utf8").catch(() => undefined);
  if (sums === undefined) return undefined;
  const name = path.basename(iso);
  for (const line of sums.split("\n")) {
    const m = /^([0-9a-f]{64}) [ *](.+)$/.exec(line.trim());
    if (m && m[2] === name) return m[1];
  }
  return undefined;
}

/** Where vmlive's boot menu finds the kernel on its ISOs. */
export const ISO_KERNEL = "/live/vmlinuz";

/**
 * The architecture of a Linux kernel image from its first bytes: arm64's
 * Image header has the magic "ARM\x64" at 0x38; a 32-bit ARM zImage has
 * 0x016f2818 at 0x24 (little-endian: armhf); an x86 bzImage has "HdrS" at
 * 0x202, and from boot protocol 2.12 on its xloadflags (0x236) say whether it
 * has the 64-bit entry point (bit 0, XLF_KERNEL_64).
 */
export function kernelArch(header: Buffer): BootArch | undefined {
  if (header.length >= 0x40 && header.readUInt32LE(0x38) === 0x644d5241) return "arm64";
  if (header.length >= 0x28 && header.readUInt32LE(0x24) === 0x016f2818) return "armhf";
  if (header.length >= 0x238 && header.toString("latin1", 0x202, 0x206) === "HdrS") {
    if (header.readUInt16LE(0x206) < 0x020c) return undefined;
    return header.readUInt16LE(0x236) & 1 ? "amd64" : "i386";
  }
  return undefined;
}

/** The architecture of the kernel on a vmlive ISO, read with xorriso; undefined if it cannot tell. */
export async function isoKernelArch(iso: string): Promise<BootArch | undefined> {
  const tmp = await mkdtemp(path.join(os.tmpdir(), "vmlive-kernel-"));
  try {
    const head = path.join(tmp, "head");
    await run(["xorriso", "-osirrox", "on", "-indev", iso, "-extract_cut", ISO_KERNEL, "0", "4096", head], {
      check: false,
      timeoutMs: 60_000,
    });
    return existsSync(head) ? kernelArch(await readFile(head)) : undefined;
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}
