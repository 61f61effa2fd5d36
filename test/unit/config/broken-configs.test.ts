// Broken image configs, one thing wrong in each: every case must report exactly
// that one problem, at the right field, with a message that says what to fix,
// and `vmlive check` must exit with 2. Then several problems at once.
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { Io } from "../../../src/cli/io.js";
import { main } from "../../../src/cli/main.js";
import { loadImage } from "../../../src/config/load.js";
import { ConfigError, type ConfigProblem } from "../../../src/errors.js";
import { verifyPlan } from "../../../src/pipeline/plan.js";

interface Case {
  name: string;
  /** image.yaml; "description: test\n" is put in front unless `whole` is set. */
  yaml: string;
  whole?: boolean;
  sets?: string[];
  /** Files to create, relative to the temporary root (which holds images/test/ and hooks/). */
  files?: Record<string, string | { symlinkTo: string }>;
  /** Expected field path ("" for the whole file or a --set argument). */
  path: string;
  /** A distinctive part of the message. */
  message: string;
  line?: number;
  /** Expected file part of the problem, when it is not images/test/image.yaml. */
  file?: string;
}

const SHEBANG = "#!/bin/sh\necho hi\n";

const cases: Case[] = [
  // Wrong types.
  {
    name: "a string for a list",
    yaml: "packages: sudo\n",
    path: "packages",
    message: 'must be a list, not the string "sudo"',
    line: 2,
  },
  {
    name: "a number for a string",
    yaml: "hostname: 42\n",
    path: "hostname",
    message: "must be a string, not number 42",
    line: 2,
  },
  {
    name: "a list for a mapping",
    yaml: "user: [live, sudo]\n",
    path: "user",
    message: "must be a mapping, not a list",
    line: 2,
  },
  {
    name: "a string for a boolean",
    yaml: "user:\n  sudo: maybe\n",
    path: "user.sudo",
    message: 'must be a boolean, not the string "maybe"',
    line: 3,
  },
  {
    name: "missing description",
    yaml: "suite: bookworm\n",
    whole: true,
    path: "description",
    message: "is required",
  },
  // Unknown keys, with the key that was meant.
  {
    name: "unknown top-level key",
    yaml: "packges: [sudo]\n",
    path: "packges",
    message: 'unknown key (did you mean "packages"?)',
    line: 2,
  },
  {
    name: "unknown nested key",
    yaml: "iso:\n  volumeid: LIVE\n",
    path: "iso.volumeid",
    message: 'unknown key (did you mean "volume_id"?)',
    line: 3,
  },
  {
    name: "unknown key in a hook",
    yaml: "hooks:\n  - path: show-env.sh\n    wher: builder\n",
    files: { "hooks/show-env.sh": SHEBANG },
    path: "hooks.0.wher",
    message: 'did you mean "where"?',
    line: 4,
  },
  // Debian names.
  {
    name: "unknown suite",
    yaml: "suite: buster\n",
    path: "suite",
    message: "not a Debian suite vmlive builds",
    line: 2,
  },
  {
    name: "unknown arch",
    yaml: "arch: x86_64\n",
    path: "arch",
    message: "not an architecture vmlive builds: use one of amd64, arm64, armhf, i386",
    line: 2,
  },
  {
    name: "a builder architecture instead of host or image",
    yaml: "arch: arm64\nbuilder:\n  arch: arm64\n",
    path: "builder.arch",
    message: "use host (a builder of this machine's architecture) or image (one of the image's own)",
    line: 4,
  },
  {
    name: "user name with ; and spaces",
    yaml: "user:\n  name: 'a;rm -rf /'\n",
    path: "user.name",
    message: "not a valid user name",
    line: 3,
  },
  {
    name: "user name with $()",
    yaml: "user:\n  name: $(id)\n",
    path: "user.name",
    message: "not a valid user name",
    line: 3,
  },
  {
    name: "user name with backticks",
    yaml: "user:\n  name: '`id`'\n",
    path: "user.name",
    message: "not a valid user name",
    line: 3,
  },
  {
    name: "user name too long",
    yaml: `user:\n  name: ${"a".repeat(33)}\n`,
    path: "user.name",
    message: "at most 32 characters",
    line: 3,
  },
  {
    name: "package name with metacharacters",
    yaml: "packages: [sudo, 'vim;reboot']\n",
    path: "packages.1",
    message: "not a Debian package name",
    line: 2,
  },
  {
    name: "package name in upper case",
    yaml: "packages:\n  - sudo\n  - Vim\n",
    path: "packages.1",
    message: "use lower case letters",
    line: 4,
  },
  {
    name: "bootstrap package with $()",
    yaml: "bootstrap:\n  packages: ['$(id)']\n",
    path: "bootstrap.packages.0",
    message: "not a Debian package name",
    line: 3,
  },
  {
    name: "host name with _",
    yaml: "hostname: my_host\n",
    path: "hostname",
    message: "not a valid host name",
    line: 2,
  },
  {
    name: "host name starting with -",
    yaml: "hostname: -live\n",
    path: "hostname",
    message: "RFC 1123",
    line: 2,
  },
  {
    name: "locale with a space",
    yaml: "locale: en US\n",
    path: "locale",
    message: "not a locale name",
    line: 2,
  },
  {
    name: "time zone with ..",
    yaml: "timezone: ../../etc/shadow\n",
    path: "timezone",
    message: "not a time zone name",
    line: 2,
  },
  // Hooks and files.
  {
    name: "hook path with ..",
    yaml: "hooks: [../../etc/x.sh]\n",
    path: "hooks.0.path",
    message: "must not contain `..`",
    line: 2,
  },
  {
    name: "hook path with .. in a mapping",
    yaml: "hooks:\n  - path: a/../../b.sh\n    where: builder\n",
    path: "hooks.0.path",
    message: "must not contain `..`",
    line: 3,
  },
  {
    name: "absolute hook path",
    yaml: "hooks: [/etc/rc.local]\n",
    path: "hooks.0.path",
    message: "must be relative to the image folder, not absolute",
    line: 2,
  },
  {
    name: "empty hook path",
    yaml: "hooks: ['']\n",
    path: "hooks.0.path",
    message: "must not be empty",
    line: 2,
  },
  {
    name: "hook file missing",
    yaml: "hooks: [missing.sh]\n",
    path: "hooks.0.path",
    message: "no hook script missing.sh: looked in",
  },
  {
    name: "hook without #!",
    yaml: "hooks: [show-env.sh, plain.sh]\n",
    files: { "hooks/show-env.sh": SHEBANG, "hooks/plain.sh": "echo no shebang\n" },
    path: "hooks.1.path",
    message: "plain.sh does not start with #!",
  },
  {
    name: "hook symlink escaping the folder",
    yaml: "hooks: [escape.sh]\n",
    files: { "outside.sh": SHEBANG, "images/test/escape.sh": { symlinkTo: "../../outside.sh" } },
    path: "hooks.0.path",
    message: "escape.sh leads outside test/ (through a symlink)",
  },
  {
    name: "hook that is a folder",
    yaml: "hooks: [dir.sh]\n",
    files: { "hooks/dir.sh/x": SHEBANG },
    path: "hooks.0.path",
    message: "dir.sh is not a file",
  },
  {
    name: "hook of the wrong type",
    yaml: "hooks: [42]\n",
    path: "hooks.0",
    message: "must be a mapping, not number 42",
    line: 2,
  },
  {
    name: "hook in the wrong place",
    yaml: "hooks:\n  - path: show-env.sh\n    where: host\n",
    files: { "hooks/show-env.sh": SHEBANG },
    path: "hooks.0.where",
    message: "use chroot (inside the image) or builder",
    line: 4,
  },
  {
    name: "overlay missing",
    yaml: "overlay: rootfs\n",
    path: "overlay",
    message: "rootfs does not exist in",
  },
  {
    name: "overlay is a file",
    yaml: "overlay: rootfs\n",
    files: { "images/test/rootfs": "x\n" },
    path: "overlay",
    message: "rootfs is not a folder",
  },
  {
    name: "keyring missing",
    yaml: "bootstrap:\n  keyring: archive.gpg\n",
    path: "bootstrap.keyring",
    message: "archive.gpg does not exist in",
  },
  // ISO.
  {
    name: "volume id of 33 characters",
    yaml: `iso:\n  volume_id: ${"A".repeat(33)}\n`,
    path: "iso.volume_id",
    message: "too long: an ISO 9660 volume id has at most 32 characters",
    line: 3,
  },
  {
    name: "volume id with a space",
    yaml: "iso:\n  volume_id: MY LIVE\n",
    path: "iso.volume_id",
    message: "no spaces",
    line: 3,
  },
  {
    name: "menu title with $",
    yaml: "iso:\n  menu_title: Live $(id)\n",
    path: "iso.menu_title",
    message: "must not contain quotes, $",
    line: 3,
  },
  {
    name: "iso.max_size nonsense",
    yaml: "iso:\n  max_size: lots\n",
    path: "iso.max_size",
    message: "use cd, dvd, dvd-dl, a byte count or a size such as 2G",
    line: 3,
  },
  {
    name: "iso.max_size below 1M",
    yaml: "iso:\n  max_size: 1000\n",
    path: "iso.max_size",
    message: "use cd, dvd, dvd-dl",
    line: 3,
  },
  {
    name: "boot menu timeout too long",
    yaml: "iso:\n  timeout: 601\n",
    path: "iso.timeout",
    message: "600",
    line: 3,
  },
  {
    name: "serial console with spaces",
    yaml: "iso:\n  serial_console: ttyS0 115200\n",
    path: "iso.serial_console",
    message: "not a console spec",
    line: 3,
  },
  {
    name: "bootloader bios on arm64",
    yaml: "arch: arm64\niso:\n  bootloaders: [bios, uefi]\n",
    path: "iso.bootloaders",
    message: "arm64 machines have no BIOS: use [uefi]",
    line: 4,
  },
  {
    name: "unknown bootloader",
    yaml: "iso:\n  bootloaders: [coreboot]\n",
    path: "iso.bootloaders.0",
    message: "use bios and/or uefi",
    line: 3,
  },
  {
    name: "secure boot on i386",
    yaml: "arch: i386\niso:\n  secure_boot: true\n",
    path: "iso.secure_boot",
    message: "Debian signs shim and GRUB for amd64 and arm64 only, not i386",
    line: 4,
  },
  {
    name: "secure boot without uefi",
    yaml: "iso:\n  bootloaders: [bios]\n  secure_boot: true\n",
    path: "iso.secure_boot",
    message: "Secure Boot needs uefi",
    line: 4,
  },
  // The boot test.
  {
    name: "boot test way that does not exist",
    yaml: "boot_test:\n  ways: [cd-efi]\n",
    path: "boot_test.ways.0",
    message: "use cd-bios, cd-uefi, usb-bios, usb-uefi",
    line: 3,
  },
  {
    name: "boot test with BIOS on arm64",
    yaml: "arch: arm64\nboot_test:\n  ways: [cd-uefi, usb-bios]\n",
    path: "boot_test.ways",
    message: "arm64 machines have no BIOS: drop usb-bios",
    line: 4,
  },
  {
    name: "boot test way the ISO has no boot loader for",
    yaml: "iso:\n  bootloaders: [uefi]\nboot_test:\n  ways: [cd-bios, cd-uefi]\n",
    path: "boot_test.ways",
    message: "the ISO boots with uefi only (iso.bootloaders): drop cd-bios",
    line: 5,
  },
  {
    name: "boot test way with BIOS on armhf",
    yaml: "arch: armhf\nboot_test:\n  ways: [cd-bios, usb-uefi]\n",
    path: "boot_test.ways",
    message: "armhf machines have no BIOS: drop cd-bios",
    line: 4,
  },
  {
    name: "boot test way twice",
    yaml: "boot_test:\n  ways: [cd-bios, cd-bios]\n",
    path: "boot_test.ways",
    message: "lists a way twice",
    line: 3,
  },
  {
    name: "boot test success that is no regular expression",
    yaml: "boot_test:\n  success: 'login:('\n",
    path: "boot_test.success",
    message: "not a regular expression: /login:(/: Unterminated group",
    line: 3,
  },
  {
    name: "boot test timeout too short",
    yaml: "boot_test:\n  timeout: 5\n",
    path: "boot_test.timeout",
    message: "must be at least 10 seconds",
    line: 3,
  },
  {
    name: "boot test command with a newline",
    yaml: 'iso:\n  serial_console: ttyS0\nuser:\n  password: x\nboot_test:\n  commands: ["true\\nfalse"]\n',
    path: "boot_test.commands.0",
    message: "typed as one line on the serial console",
    line: 7,
  },
  {
    name: "boot test commands without a password to log in with",
    yaml: "iso:\n  serial_console: ttyS0\nuser:\n  password_hash: $y$j9T$abc$def\nboot_test:\n  commands: [id]\n",
    path: "boot_test.commands",
    message: "set user.password or user.autologin (or root.password); a password_hash cannot be typed",
    line: 7,
  },
  {
    name: "boot test commands without a serial console",
    yaml: "user:\n  autologin: true\nboot_test:\n  commands: [id]\n",
    path: "iso.serial_console",
    message: "boot_test.commands are typed on the serial console",
  },
  // Mirrors.
  {
    name: "mirror URL with $()",
    yaml: "mirror:\n  build: http://x/$(id)\n",
    path: "mirror.build",
    message: "not a mirror URL",
    line: 3,
  },
  {
    name: "ftp mirror URL",
    yaml: "mirror:\n  image: ftp://ftp.debian.org/debian\n",
    path: "mirror.image",
    message: "use http://host[:port]/path, https://... or file:///path",
    line: 3,
  },
  {
    name: "mirror URL with a space",
    yaml: "mirror:\n  security: 'http://security.debian.org/ debian'\n",
    path: "mirror.security",
    message: "not a mirror URL",
    line: 3,
  },
  // squashfs.
  {
    name: "zstd level out of range",
    yaml: "squashfs:\n  level: 23\n",
    path: "squashfs.level",
    message: "zstd levels run from 1 to 22",
    line: 3,
  },
  {
    name: "gzip level 0",
    yaml: "squashfs:\n  compression: gzip\n  level: 0\n",
    path: "squashfs.level",
    message: "gzip levels run from 1 to 9",
    line: 4,
  },
  {
    name: "level given for xz",
    yaml: "squashfs:\n  compression: xz\n  level: 6\n",
    path: "squashfs.level",
    message: "xz takes no level",
    line: 4,
  },
  {
    name: "block size not a power of two",
    yaml: "squashfs:\n  block_size: 100K\n",
    path: "squashfs.block_size",
    message: "must be a power of two",
    line: 3,
  },
  {
    name: "block size too big",
    yaml: "squashfs:\n  block_size: 2M\n",
    path: "squashfs.block_size",
    message: "block_size must be between 4K and 1M",
    line: 3,
  },
  {
    name: "block size not a size",
    yaml: "squashfs:\n  block_size: big\n",
    path: "squashfs.block_size",
    message: "not a size",
    line: 3,
  },
  {
    name: "mmdebstrap variant for debootstrap",
    yaml: "bootstrap:\n  variant: essential\n",
    path: "bootstrap.variant",
    message: "debootstrap has no variant essential",
    line: 3,
  },
  {
    name: "kernel flavour of another arch",
    yaml: "arch: arm64\nkernel:\n  flavour: 686-pae\n",
    path: "kernel.flavour",
    message: "arm64 has no kernel flavour 686-pae",
    line: 4,
  },
  // Accounts.
  {
    name: "root locked with a password",
    yaml: "root:\n  password: secret\n",
    path: "root.locked",
    message: "root has a password but is locked",
  },
  {
    name: "root unlocked without a password",
    yaml: "root:\n  locked: false\n",
    path: "root.locked",
    message: "an unlocked root needs root.password",
    line: 3,
  },
  {
    name: "both password and password_hash",
    yaml: "user:\n  password: live\n  password_hash: $y$j9T$abc$def\n",
    path: "user.password",
    message: "set password or password_hash, not both",
    line: 3,
  },
  {
    name: "password hash that is not one",
    yaml: "user:\n  password_hash: secret\n",
    path: "user.password_hash",
    message: "not a crypt(5) password hash",
    line: 3,
  },
  {
    name: "password with a colon",
    yaml: "user:\n  password: 'a:b'\n",
    path: "user.password",
    message: "must not contain a newline or ':'",
    line: 3,
  },
  // Environment.
  {
    name: "env var name invalid",
    yaml: "env:\n  1BAD: x\n",
    path: "env.1BAD",
    message: "not a variable name",
    line: 3,
  },
  {
    name: "env var name VMLIVE_",
    yaml: "env:\n  VMLIVE_ROOTFS: /tmp\n",
    path: "env.VMLIVE_ROOTFS",
    message: "names starting with VMLIVE_ are reserved for vmlive",
    line: 3,
  },
  {
    name: "env value not a string",
    yaml: "env:\n  DEBUG: [1, 2]\n",
    path: "env.DEBUG",
    message: "must be a string, not a list",
    line: 3,
  },
  // --set.
  {
    name: "--set without =",
    yaml: "",
    sets: ["user.name"],
    path: "",
    file: "--set",
    message: '"user.name" is not KEY.PATH=VALUE',
  },
  {
    name: "--set with a bad key",
    yaml: "",
    sets: ["user name=x"],
    path: "",
    file: "--set",
    message: "is not KEY.PATH=VALUE",
  },
  {
    name: "--set with a bad YAML value",
    yaml: "",
    sets: ["iso.bootloaders=[uefi"],
    path: "iso.bootloaders",
    file: "--set",
    message: "value is not valid YAML: Flow sequence must end with a ]",
  },
  {
    name: "--set that breaks a field",
    yaml: "",
    sets: ["iso.timeout=soon"],
    path: "iso.timeout",
    file: "images/test/image.yaml (--set iso.timeout=soon)",
    message: 'must be a number, not the string "soon"',
  },
  {
    name: "--set of an unknown key",
    yaml: "",
    sets: ["usr.name=alice"],
    path: "usr",
    file: "images/test/image.yaml (--set usr.name=alice)",
    message: 'did you mean "user"?',
  },
  // The file as a whole.
  {
    name: "invalid YAML",
    yaml: "description: test\nsuite: bookworm\nhostname: live: box\narch: amd64\n",
    whole: true,
    path: "",
    message: "not valid YAML: Nested mappings are not allowed",
    line: 3,
  },
  {
    name: "duplicate key",
    yaml: "description: test\nsuite: bookworm\nsuite: trixie\n",
    whole: true,
    path: "",
    message: "not valid YAML: Map keys must be unique",
    line: 3,
  },
  {
    name: "a list instead of a mapping",
    yaml: "- description: test\n- suite: bookworm\n",
    whole: true,
    path: "",
    message: "must be a YAML mapping of settings (key: value)",
  },
  {
    name: "a scalar instead of a mapping",
    yaml: "just some text\n",
    whole: true,
    path: "",
    message: "must be a YAML mapping of settings",
  },
];

const roots: string[] = [];
afterAll(() => roots.forEach((r) => rmSync(r, { recursive: true, force: true })));

/** A temporary root with images/test/image.yaml, hooks/ and the case's files. */
function makeImage(yaml: string, files: Case["files"] = {}): { root: string; dir: string } {
  const root = mkdtempSync(path.join(os.tmpdir(), "vmlive-broken-"));
  roots.push(root);
  const dir = path.join(root, "images", "test");
  mkdirSync(dir, { recursive: true });
  mkdirSync(path.join(root, "hooks"));
  writeFileSync(path.join(dir, "image.yaml"), yaml);
  for (const [rel, content] of Object.entries(files)) {
    const target = path.join(root, rel);
    mkdirSync(path.dirname(target), { recursive: true });
    if (typeof content === "string") writeFileSync(target, content);
    else symlinkSync(content.symlinkTo, target);
  }
  return { root, dir };
}

/** Every problem `vmlive check` would report for this image, loaded relative to `root`. */
function problemsOf(root: string, sets: readonly string[]): ConfigProblem[] {
  try {
    return verifyPlan(loadImage(path.join("images", "test"), { cwd: root, sets }));
  } catch (e) {
    if (e instanceof ConfigError) return [...e.problems];
    throw e;
  }
}

function capture(): Io & { outText: () => string; errText: () => string } {
  const out: string[] = [];
  const err: string[] = [];
  return {
    out: (t) => void out.push(t),
    err: (t) => void err.push(t),
    outText: () => out.join("\n"),
    errText: () => err.join("\n"),
  };
}

async function check(dir: string, sets: readonly string[] = []) {
  const io = capture();
  const code = await main(["check", dir, ...sets.flatMap((s) => ["--set", s])], io);
  return { code, out: io.outText(), err: io.errText() };
}

describe("a broken image config reports its one problem", () => {
  it("has enough cases", () => expect(cases.length).toBeGreaterThanOrEqual(25));

  it.each(cases.map((c) => [c.name, c] as const))("%s", async (_name, c) => {
    const { root, dir } = makeImage(c.whole ? c.yaml : "description: test\n" + c.yaml, c.files);
    const problems = problemsOf(root, c.sets ?? []);
    expect(problems, JSON.stringify(problems)).toHaveLength(1);
    const [p] = problems as [ConfigProblem];
    expect(p.path).toBe(c.path);
    expect(p.message).toContain(c.message);
    expect(p.file).toBe(c.file ?? path.join("images", "test", "image.yaml"));
    if (c.line !== undefined) expect(p.line).toBe(c.line);

    const r = await check(dir, c.sets);
    expect(r.code).toBe(2);
    expect(r.out).toBe("");
    expect(r.err).toContain(c.message);
    expect(r.err).toContain(c.path ? `: ${c.path}: ` : ": ");
    if (c.line !== undefined) expect(r.err).toContain(`image.yaml:${c.line}: `);
    expect(r.err).toMatch(/vmlive: 1 problem in the image config; nothing was built\.$/);
  });
});

describe("several problems", () => {
  it("are all reported together, each at its field", async () => {
    const yaml = [
      "description: test",
      "suite: buster",
      "arch: x86_64",
      "packges: [sudo]",
      "hostname: -x",
      "user:",
      "  name: $(id)",
      "iso:",
      "  volume_id: MY LIVE",
      "",
    ].join("\n");
    const { root, dir } = makeImage(yaml);
    const sets = ["iso.timeout=soon", "broken"];
    const problems = problemsOf(root, sets);
    expect(problems.map((p) => [p.path, p.line])).toEqual(
      expect.arrayContaining([
        ["", undefined],
        ["suite", 2],
        ["arch", 3],
        ["packges", 4],
        ["hostname", 5],
        ["user.name", 7],
        ["iso.volume_id", 9],
        ["iso.timeout", undefined],
      ]),
    );
    expect(problems).toHaveLength(8);

    const r = await check(dir, sets);
    expect(r.code).toBe(2);
    expect(r.err).toContain('--set: "broken" is not KEY.PATH=VALUE');
    expect(r.err).toContain('image.yaml:4: packges: unknown key (did you mean "packages"?)');
    expect(r.err).toContain("image.yaml (--set iso.timeout=soon): iso.timeout: must be a number");
    expect(r.err).toMatch(/vmlive: 8 problems in the image config; nothing was built\.$/);
  });

  it("across rules are all reported together", () => {
    const yaml =
      "description: test\narch: i386\nroot:\n  password: x\n  password_hash: $6$abc\n" +
      "squashfs:\n  compression: lz4\n  level: 3\niso:\n  secure_boot: true\n";
    const { root } = makeImage(yaml);
    expect(
      problemsOf(root, [])
        .map((p) => p.path)
        .sort(),
    ).toEqual(["iso.secure_boot", "root.locked", "root.password", "squashfs.level"]);
  });

  it("on the host are all reported together", async () => {
    const { root, dir } = makeImage(
      "description: test\noverlay: rootfs\nhooks: [a.sh, b.sh, c.sh]\nbootstrap:\n  keyring: k.gpg\n",
      { "hooks/b.sh": "no shebang\n", "images/test/c.sh": SHEBANG },
    );
    expect(problemsOf(root, []).map((p) => p.path)).toEqual([
      "bootstrap.keyring",
      "hooks.0.path",
      "hooks.1.path",
      "overlay",
    ]);
    const r = await check(dir);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/4 problems in the image config/);
  });

  it("in several images are all reported by one check", async () => {
    const a = makeImage("description: a\nsuite: buster\n");
    const b = makeImage("description: b\narch: sparc\n");
    const r = await check(a.dir);
    expect(r.code).toBe(2);
    const io = capture();
    expect(await main(["check", a.dir, b.dir], io)).toBe(2);
    expect(io.errText()).toContain("suite: not a Debian suite");
    expect(io.errText()).toContain("arch: not an architecture");
    expect(io.errText()).toMatch(/2 problems in the image config/);
  });
});
