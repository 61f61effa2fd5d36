// The good path of loading an image: defaults, --set overrides, sizes, and
// every image in the repository.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { REPO_ROOT } from "../../../src/config/gen-docs.js";
import { loadImage, parseImageConfig } from "../../../src/config/load.js";
import { verifyPlan } from "../../../src/pipeline/plan.js";

const parse = (yaml: string, sets: string[] = []) =>
  parseImageConfig("description: test\n" + yaml, "image.yaml", sets);

describe("defaults", () => {
  it("fill in everything a minimal image leaves out", () => {
    const c = parse("");
    expect(c).toEqual({
      description: "test",
      suite: "bookworm",
      arch: "amd64",
      builder: { arch: "host" },
      mirror: {
        build: "http://deb.debian.org/debian",
        image: "http://deb.debian.org/debian",
        security: "http://security.debian.org/debian-security",
        updates: true,
      },
      bootstrap: {
        tool: "debootstrap",
        variant: "minbase",
        packages: [],
        components: ["main"],
        keyring: null,
      },
      packages: [],
      overlay: null,
      hooks: [],
      env: {},
      user: {
        name: "live",
        password: null,
        password_hash: null,
        sudo: true,
        autologin: false,
        shell: "/bin/bash",
      },
      root: { locked: true, password: null, password_hash: null },
      hostname: "debian-live",
      locale: "C.UTF-8",
      timezone: "Etc/UTC",
      kernel: { flavour: "amd64", append: [] },
      squashfs: { compression: "zstd", level: null, block_size: 131072 },
      iso: {
        volume_id: "VMLIVE",
        menu_title: "Debian Live",
        bootloaders: ["bios", "uefi"],
        secure_boot: false,
        serial_console: null,
        timeout: 5,
        max_size: null,
      },
      boot_test: {
        ways: ["cd-bios", "cd-uefi", "usb-bios", "usb-uefi"],
        success: "login:",
        timeout: 600,
        commands: [],
      },
    });
  });

  it("also for an empty section", () => {
    expect(parse("iso: {}\n").iso.volume_id).toBe("VMLIVE");
  });

  it("also for a section with nothing under it (YAML null)", () => {
    expect(parse("iso:\nuser:\n").iso.volume_id).toBe("VMLIVE");
  });

  it.each([
    ["amd64", "amd64", ["bios", "uefi"], ["cd-bios", "cd-uefi", "usb-bios", "usb-uefi"]],
    ["i386", "686-pae", ["bios", "uefi"], ["cd-bios", "cd-uefi", "usb-bios", "usb-uefi"]],
    ["arm64", "arm64", ["uefi"], ["cd-uefi", "usb-uefi"]],
    ["armhf", "armmp", ["uefi"], ["cd-uefi", "usb-uefi"]],
  ])("pick the kernel flavour, boot loaders and boot test ways of %s", (arch, flavour, loaders, ways) => {
    const c = parse(`arch: ${arch}\n`);
    expect(c.kernel.flavour).toBe(flavour);
    expect(c.iso.bootloaders).toEqual(loaders);
    expect(c.boot_test.ways).toEqual(ways);
  });

  it("give way to what the file says", () => {
    const c = parse("kernel:\n  flavour: cloud-amd64\niso:\n  bootloaders: [uefi]\n  secure_boot: true\n");
    expect(c.kernel.flavour).toBe("cloud-amd64");
    expect(c.iso.bootloaders).toEqual(["uefi"]);
    // Only the ways the ISO has a boot loader for.
    expect(c.boot_test.ways).toEqual(["cd-uefi", "usb-uefi"]);
    expect(parse("boot_test:\n  ways: [usb-bios]\n").boot_test.ways).toEqual(["usb-bios"]);
  });

  it("expand a hook given as a string", () => {
    expect(parse("hooks: [a.sh, {path: b.sh, where: builder}]\n").hooks).toEqual([
      { path: "a.sh", where: "chroot" },
      { path: "b.sh", where: "builder" },
    ]);
  });

  it("drop a mirror URL's trailing slash", () => {
    const c = parse("mirror:\n  build: http://localhost:3142/debian/\n  image: file:///srv/mirror/\n");
    expect(c.mirror.build).toBe("http://localhost:3142/debian");
    expect(c.mirror.image).toBe("file:///srv/mirror");
  });

  it("accept an unlocked root with a password, and password hashes", () => {
    const c = parse(
      "root:\n  locked: false\n  password_hash: $6$salt$abc\nuser:\n  password_hash: $y$j9T$abc$def\n",
    );
    expect(c.root).toEqual({ locked: false, password: null, password_hash: "$6$salt$abc" });
    expect(c.user.password_hash).toBe("$y$j9T$abc$def");
  });

  it("take env names and long kernel parameters", () => {
    const c = parse(
      "env:\n  HTTP_PROXY: http://proxy:3128\n  _x1: ''\nkernel:\n  append: [quiet, 'console=ttyS0,115200n8']\n",
    );
    expect(c.env).toEqual({ HTTP_PROXY: "http://proxy:3128", _x1: "" });
    expect(c.kernel.append).toEqual(["quiet", "console=ttyS0,115200n8"]);
  });
});

describe("--set", () => {
  it("reads values as YAML: numbers, booleans, null, flow lists", () => {
    const c = parse("iso:\n  serial_console: ttyS0\n", [
      "iso.timeout=10",
      "user.sudo=false",
      "iso.serial_console=null",
      "iso.bootloaders=[uefi]",
      "packages=[sudo, less]",
      "squashfs.level=19",
    ]);
    expect(c.iso.timeout).toBe(10);
    expect(c.user.sudo).toBe(false);
    expect(c.iso.serial_console).toBeNull();
    expect(c.iso.bootloaders).toEqual(["uefi"]);
    expect(c.packages).toEqual(["sudo", "less"]);
    expect(c.squashfs.level).toBe(19);
  });

  it("keeps a quoted number a string, and everything after the first = in the value", () => {
    const c = parse("", ["user.password='1234'", "env.OPTS=a=b c"]);
    expect(c.user.password).toBe("1234");
    expect(c.env).toEqual({ OPTS: "a=b c" });
  });

  it("takes an empty value as null", () => {
    expect(parse("kernel:\n  flavour: rt-amd64\n", ["kernel.flavour="]).kernel.flavour).toBe("amd64");
  });

  it("overrides what the file says, the last --set winning", () => {
    const c = parse("suite: bookworm\nuser:\n  name: live\n", [
      "suite=trixie",
      "user.name=bob",
      "user.name=alice",
    ]);
    expect(c.suite).toBe("trixie");
    expect(c.user.name).toBe("alice");
  });

  it("changes a list element by index, keeping a string hook's path", () => {
    const c = parse("hooks: [a.sh, b.sh]\n", ["hooks.0.where=builder", "hooks.1.path=c.sh"]);
    expect(c.hooks).toEqual([
      { path: "a.sh", where: "builder" },
      { path: "c.sh", where: "chroot" },
    ]);
  });

  it("makes sections and list elements the file does not have", () => {
    const c = parse("", [
      "hooks.0.path=x.sh",
      "hooks.0.where=builder",
      'env.DEBUG="1"',
      "mirror.updates=false",
    ]);
    expect(c.hooks).toEqual([{ path: "x.sh", where: "builder" }]);
    expect(c.env).toEqual({ DEBUG: "1" });
    expect(c.mirror.updates).toBe(false);
    expect(c.mirror.build).toBe("http://deb.debian.org/debian");
  });

  it("changes the architecture, and the defaults with it", () => {
    const c = parse("arch: amd64\n", ["arch=arm64"]);
    expect(c.kernel.flavour).toBe("arm64");
    expect(c.iso.bootloaders).toEqual(["uefi"]);
  });

  it("sets sizes", () => {
    expect(parse("", ["iso.max_size=dvd", "squashfs.block_size=1M"]).iso.max_size).toBe(4_700_372_992);
    expect(parse("", ["squashfs.block_size=1M"]).squashfs.block_size).toBe(2 ** 20);
  });
});

describe("sizes", () => {
  it.each([
    ["700M", 700 * 2 ** 20],
    ['"4G"', 4 * 2 ** 30],
    ["1.5G", 1.5 * 2 ** 30],
    ["2GiB", 2 * 2 ** 30],
    ["1000000000", 1_000_000_000],
    ["cd", 737_280_000],
    ["dvd", 4_700_372_992],
    ["dvd-dl", 8_543_666_176],
    ["null", null],
  ])("iso.max_size: %s", (text, bytes) => {
    expect(parse(`iso:\n  max_size: ${text}\n`).iso.max_size).toBe(bytes);
  });

  it.each([
    ["4K", 4096],
    ["64k", 65536],
    ["131072", 131072],
    ['"1M"', 2 ** 20],
  ])("squashfs.block_size: %s", (text, bytes) => {
    expect(parse(`squashfs:\n  block_size: ${text}\n`).squashfs.block_size).toBe(bytes);
  });
});

describe("the images in the repository", () => {
  const names = readdirSync(path.join(REPO_ROOT, "images"), { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(path.join(REPO_ROOT, "images", d.name, "image.yaml")))
    .map((d) => d.name)
    .sort();

  it("exist", () => expect(names).toContain("live-minimal"));

  it.each(names)("%s loads and passes every step's host-side checks", (name) => {
    const img = loadImage(path.join("images", name), { cwd: REPO_ROOT });
    expect(img.name).toBe(name);
    expect(img.displayFile).toBe(path.join("images", name, "image.yaml"));
    expect(img.hooksDir).toBe(path.join(REPO_ROOT, "hooks"));
    expect(verifyPlan(img)).toEqual([]);
  });

  it("live-minimal has what its file says", () => {
    const c = loadImage(path.join("images", "live-minimal"), { cwd: REPO_ROOT }).config;
    expect(c.suite).toBe("bookworm");
    expect(c.hooks).toEqual([{ path: "show-env.sh", where: "chroot" }]);
    expect(c.iso.max_size).toBe(737_280_000);
    expect(c.iso.bootloaders).toEqual(["bios", "uefi"]);
  });
});

describe("loadImage", () => {
  const roots: string[] = [];
  afterAll(() => roots.forEach((r) => rmSync(r, { recursive: true, force: true })));

  it("finds an image by folder or file, and applies --set", () => {
    const root = mkdtempSync(path.join(os.tmpdir(), "vmlive-load-"));
    roots.push(root);
    mkdirSync(path.join(root, "images", "demo"), { recursive: true });
    mkdirSync(path.join(root, "hooks"));
    writeFileSync(path.join(root, "images", "demo", "image.yaml"), "description: demo\nhooks: [run.sh]\n");
    writeFileSync(path.join(root, "hooks", "run.sh"), "#!/bin/sh\n");
    for (const ref of [
      "images/demo",
      "images/demo/",
      "images/demo/image.yaml",
      path.join(root, "images/demo"),
    ]) {
      const img = loadImage(ref, { cwd: root, sets: ["arch=i386"] });
      expect(img.name).toBe("demo");
      expect(img.displayFile).toBe(path.join("images", "demo", "image.yaml"));
      expect(img.config.kernel.flavour).toBe("686-pae");
      expect(verifyPlan(img)).toEqual([]);
    }
  });
});
