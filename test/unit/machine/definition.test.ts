import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { allDefinitions, definitionFor, loadDefinition } from "../../../src/machine/qemu/definition.js";
import { mmdebstrapArgv } from "../../../src/machine/qemu/builder-image.js";
import { UsageError } from "../../../src/errors.js";

describe("builder definitions in vm/", () => {
  it("has a bookworm and a trixie builder for amd64 hosts, each with what a build needs", () => {
    const names = allDefinitions().map((d) => d.name);
    expect(names).toEqual(expect.arrayContaining(["bookworm-amd64", "trixie-amd64"]));
    for (const d of allDefinitions())
      expect(d.packages).toEqual(
        expect.arrayContaining([
          "debootstrap",
          "mmdebstrap",
          "squashfs-tools",
          "xorriso",
          "openssh-server",
          "qemu-user-static",
        ]),
      );
  });

  it("has arm64 builders too, with arm64's kernel and UEFI GRUB and no BIOS GRUB", () => {
    for (const release of ["bookworm", "trixie"]) {
      const d = definitionFor(release, "arm64");
      expect(d.name).toBe(`${release}-arm64`);
      expect(d.packages).toEqual(
        expect.arrayContaining(["linux-image-arm64", "grub-efi-arm64-bin", "busybox-static", "arch-test"]),
      );
      expect(d.packages.filter((p) => /amd64|grub-pc/.test(p))).toEqual([]);
      // Same shape as the amd64 builder of the release: it builds the same images.
      const amd64 = definitionFor(release, "amd64");
      expect(d.serves).toEqual(amd64.serves);
      expect([d.cpus, d.memory, d.work_disk]).toEqual([amd64.cpus, amd64.memory, amd64.work_disk]);
    }
    const argv = mmdebstrapArgv(definitionFor("sid", "arm64"), "/tmp/r", "http://deb.debian.org/debian");
    expect(argv).toContain("--architectures=arm64");
    expect(argv.slice(-3)[0]).toBe("trixie");
  });

  it("picks the builder that serves an image's suite", () => {
    expect(definitionFor("bullseye", "amd64").name).toBe("bookworm-amd64");
    expect(definitionFor("sid", "amd64").name).toBe("trixie-amd64");
    expect(definitionFor("trixie", "amd64").name).toBe("trixie-amd64");
    expect(definitionFor("bullseye", "arm64").name).toBe("bookworm-arm64");
    expect(definitionFor("sid", "arm64").name).toBe("trixie-arm64");
  });

  it("says which releases have builders when none fits", () => {
    expect(() => definitionFor("woody", "amd64")).toThrow(UsageError);
  });

  it("keys the cache by the definition's content", () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "vmlive-def-"));
    const text =
      "suite: bookworm\narch: amd64\nserves: [bookworm]\npackages: [debootstrap]\ncpus: 2\nmemory: 2G\nwork_disk: 10G\n";
    writeFileSync(path.join(dir, "a.yaml"), text);
    writeFileSync(path.join(dir, "b.yaml"), text.replace("cpus: 2", "cpus: 4"));
    const a = loadDefinition(path.join(dir, "a.yaml"));
    const b = loadDefinition(path.join(dir, "b.yaml"));
    expect(a.key).toMatch(/^[0-9a-f]{16}$/);
    expect(a.key).not.toBe(b.key);
    expect(a.memory).toBe(2 * 2 ** 30);
    rmSync(dir, { recursive: true, force: true });
  });

  it("makes the builder with mmdebstrap from the archive, with the customize hook", () => {
    const def = definitionFor("bookworm", "amd64");
    const argv = mmdebstrapArgv(def, "/tmp/r", "http://deb.debian.org/debian");
    expect(argv.slice(-3)).toEqual(["bookworm", "/tmp/r", "http://deb.debian.org/debian"]);
    expect(argv).toContain("--variant=minbase");
    expect(argv.find((a) => a.startsWith("--customize-hook="))).toMatch(/vm\/builder-customize\.sh "\$1"$/);
    expect(argv.find((a) => a.startsWith("--include="))).toContain("linux-image-amd64");
  });
});
