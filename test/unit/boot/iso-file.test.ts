import { writeFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { checkIsoFile, kernelArch } from "../../../src/boot/iso-file.js";
import { VerificationError } from "../../../src/errors.js";
import { sha256File } from "../../../src/util/sha256.js";
import { fakeIso } from "../../support/fake-iso.js";
import { tempDir } from "../../support/tmp.js";

describe("checkIsoFile", () => {
  const d = tempDir("vmlive-iso-check-");

  it("takes a whole image, also with something appended (the EFI partition)", async () => {
    const iso = path.join(d, "ok.iso");
    fakeIso(iso, 40, 48 * 2048);
    await expect(checkIsoFile(iso)).resolves.toBeUndefined();
  });

  it("refuses a file that is not ISO 9660", async () => {
    const junk = path.join(d, "junk.iso");
    writeFileSync(junk, Buffer.alloc(64 * 1024));
    await expect(checkIsoFile(junk)).rejects.toThrow(VerificationError);
    await expect(checkIsoFile(junk)).rejects.toThrow(/not an ISO 9660 image/);
    await expect(checkIsoFile(path.join(d, "missing.iso"))).rejects.toThrow(/no such file/);
  });

  it("refuses a file shorter than the volume it describes, even cut at a sector boundary", async () => {
    const cut = path.join(d, "cut.iso");
    fakeIso(cut, 400, 40 * 2048);
    await expect(checkIsoFile(cut)).rejects.toThrow(
      `${cut} is truncated: its volume descriptor says 819200 bytes, the file has 81920`,
    );
  });

  it("refuses a file that does not match the SHA256SUMS beside it, and takes one that does", async () => {
    const dir = tempDir("vmlive-iso-sums-");
    const iso = path.join(dir, "live.iso");
    fakeIso(iso);
    const good = await sha256File(iso);
    writeFileSync(path.join(dir, "SHA256SUMS"), `${good}  live.iso\n${"0".repeat(64)}  other.iso\n`);
    await expect(checkIsoFile(iso)).resolves.toBeUndefined();
    writeFileSync(path.join(dir, "SHA256SUMS"), `${"1".repeat(64)}  live.iso\n`);
    // The same file again: its hash is remembered, the listed one is read anew.
    await expect(checkIsoFile(iso)).rejects.toThrow(
      /is damaged: its sha256 is [0-9a-f]{64}, SHA256SUMS beside it says 1{64}/,
    );
  });
});

describe("kernelArch", () => {
  const x86 = (xloadflags: number, version = 0x020f) => {
    const b = Buffer.alloc(4096);
    b.write("HdrS", 0x202, "latin1");
    b.writeUInt16LE(version, 0x206);
    b.writeUInt16LE(xloadflags, 0x236);
    return b;
  };

  it("tells a 64-bit x86 kernel from a 32-bit one by XLF_KERNEL_64", () => {
    expect(kernelArch(x86(127))).toBe("amd64"); // what bookworm's linux-image-amd64 has
    expect(kernelArch(x86(0x1c))).toBe("i386");
  });

  it("knows arm64's Image header", () => {
    const b = Buffer.alloc(4096);
    b.write("ARM\x64", 0x38, "latin1");
    expect(kernelArch(b)).toBe("arm64");
  });

  it("knows a 32-bit ARM zImage by its magic number", () => {
    const b = Buffer.alloc(4096);
    b.write("MZ", 0, "latin1"); // trixie's armmp zImage is also an EFI application
    b.writeUInt32LE(0x016f2818, 0x24);
    expect(kernelArch(b)).toBe("armhf");
    expect(kernelArch(b.subarray(0, 0x26))).toBeUndefined();
  });

  it("does not guess from an old boot protocol or an unknown file", () => {
    expect(kernelArch(x86(1, 0x020b))).toBeUndefined();
    expect(kernelArch(Buffer.alloc(4096))).toBeUndefined();
    expect(kernelArch(Buffer.alloc(10))).toBeUndefined();
  });
});
