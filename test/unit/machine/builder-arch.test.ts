// Which builder an image gets: `builder.arch` (host or image) turned into a
// builder architecture, the accelerator a foreign builder can have, and the
// host backend refusing what it cannot honour.
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { main } from "../../../src/cli/main.js";
import type { Arch } from "../../../src/config/schema/system.js";
import { UsageError } from "../../../src/errors.js";
import { chooseAccel } from "../../../src/machine/qemu/accel.js";
import { builderArchFor, checkHostBackend, hostArch } from "../../../src/machine/qemu/definition.js";

/** The builder architecture this host is not. */
const other = hostArch() === "amd64" ? "arm64" : "amd64";
const image = (arch: Arch, choice: "host" | "image") => ({
  displayFile: "images/x/image.yaml",
  config: { arch, builder: { arch: choice } },
});

describe("builderArchFor", () => {
  it("gives every image this host's builder by default", () => {
    for (const arch of ["amd64", "i386", "arm64", "armhf"] as const)
      expect(builderArchFor(image(arch, "host").config)).toBe(hostArch());
  });

  it("gives an image a builder that runs its programs itself when asked", () => {
    expect(builderArchFor(image("arm64", "image").config)).toBe("arm64");
    expect(builderArchFor(image("armhf", "image").config)).toBe("arm64");
    expect(builderArchFor(image("amd64", "image").config)).toBe("amd64");
    expect(builderArchFor(image("i386", "image").config)).toBe("amd64");
  });
});

describe("checkHostBackend", () => {
  it("lets --backend host build whatever runs on this machine", () => {
    expect(() => checkHostBackend(image(other, "host"))).not.toThrow();
    expect(() => checkHostBackend(image(hostArch(), "image"))).not.toThrow();
  });

  it("refuses builder.arch: image of another architecture, saying what to do", () => {
    const e = (() => {
      try {
        checkHostBackend(image(other, "image"));
      } catch (err) {
        return err;
      }
    })();
    expect(e).toBeInstanceOf(UsageError);
    expect((e as UsageError).message).toBe(
      `images/x/image.yaml: builder.arch: image asks for an ${other} builder VM for this ${other} image, ` +
        `but --backend host builds on this ${hostArch()} machine`,
    );
    expect((e as UsageError).hint).toMatch(/drop --backend host .* or build with --set builder.arch=host/);
  });
});

describe("chooseAccel for a builder of another architecture", () => {
  it("takes TCG without probing KVM, and says why", async () => {
    const said: string[] = [];
    expect(await chooseAccel("auto", (m) => said.push(m), other)).toBe("tcg");
    expect(said).toEqual([
      expect.stringMatching(/full-system emulation \(TCG\), which KVM cannot accelerate/),
    ]);
  });

  it("refuses --accel kvm", async () => {
    await expect(chooseAccel("kvm", () => {}, other)).rejects.toThrow(UsageError);
    await expect(chooseAccel("kvm", () => {}, other)).rejects.toThrow(/--accel kvm asked for, but an/);
  });
});

describe("vmlive build --backend host with builder.arch: image", () => {
  const root = mkdtempSync(path.join(os.tmpdir(), "vmlive-builder-arch-"));
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it("is a usage error before anything is built", async () => {
    const dir = path.join(root, "img");
    mkdirSync(dir);
    writeFileSync(path.join(dir, "image.yaml"), `description: t\narch: ${other}\nbuilder:\n  arch: image\n`);
    const out = path.join(root, "out");
    const err: string[] = [];
    // --steps iso: were the check missing, the build would stop at once for want of a root filesystem.
    const code = await main(["build", dir, "--backend", "host", "--steps", "iso", "--out", out], {
      out: () => {},
      err: (t) => void err.push(t),
    });
    expect(code).toBe(2);
    expect(err.join("\n")).toContain(`builder.arch: image asks for an ${other} builder VM`);
    expect(err.join("\n")).toContain("--set builder.arch=host");
    // Nothing was started: not even the output folder exists.
    expect(existsSync(out)).toBe(false);
  });
});
