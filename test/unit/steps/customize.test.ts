import path from "node:path";
import { describe, expect, it } from "vitest";
import { CommandError, VerificationError } from "../../../src/errors.js";
import type { ExecOptions } from "../../../src/machine/machine.js";
import { customizeStep } from "../../../src/steps/customize.js";
import { sha512Crypt } from "../../../src/util/sha512-crypt.js";
import { FakeMachine, type Call } from "../../support/fake-machine.js";
import { stepContext } from "../../support/step-context.js";

const ROOT = "/srv/work/img";
const ROOTFS = `${ROOT}/rootfs`;

/** The command inside a chrootArgv (after `env -i VAR=...`), or undefined for a machine command. */
function inner(argv: readonly string[]): string[] | undefined {
  if (argv[0] !== "unshare") return undefined;
  const rest = argv.slice(argv.indexOf("-i") + 1);
  const i = rest.findIndex((w) => !/^[A-Za-z_][A-Za-z0-9_]*=/.test(w));
  return rest.slice(i);
}
/** The env words of a chrootArgv as a record. */
function chrootEnv(argv: readonly string[]): Record<string, string> {
  const rest = argv.slice(argv.indexOf("-i") + 1);
  const out: Record<string, string> = {};
  for (const w of rest) {
    const m = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/s.exec(w);
    if (!m) break;
    out[m[1]!] = m[2]!;
  }
  return out;
}
/** Hook runs: chroot hooks from /tmp/vmlive-hooks, builder hooks run by path. */
const hookRuns = (fake: FakeMachine) =>
  fake.calls.filter(
    (c) =>
      c.kind === "exec" &&
      (inner(c.argv)?.[0]?.startsWith("/tmp/vmlive-hooks/") ||
        (c.argv.length === 1 && c.argv[0]!.includes("/input/hooks/"))),
  );
const chrootCalls = (fake: FakeMachine) =>
  fake.calls
    .filter((c) => c.kind === "exec" && c.argv[0] === "unshare")
    .map((c) => ({ ...c, cmd: inner(c.argv)! }));
/** Files written inside the image: path -> content and mode. */
function written(fake: FakeMachine): Map<string, { text: string; mode: string }> {
  const m = new Map<string, { text: string; mode: string }>();
  for (const c of chrootCalls(fake))
    if (c.cmd[0] === "sh" && c.cmd[3] === "vmlive-write")
      m.set(c.cmd[4]!, { text: String(c.opts?.stdin ?? ""), mode: c.cmd[5]! });
  return m;
}

function setup(yaml: string, files: Record<string, string> = {}) {
  const {
    ctx,
    machine: fake,
    said,
    lines,
    imageDir,
  } = stepContext({
    yaml,
    machine: realisticFake(),
    root: ROOT,
    files,
  });
  return { ctx, fake, said, lines, imageDir };
}

const chrootIs =
  (...cmd: string[]) =>
  (argv: readonly string[]) => {
    const c = inner(argv);
    return c !== undefined && cmd.every((w, i) => c[i] === w);
  };

/** Replies as a bookworm minbase root would give them. */
function realisticFake(): FakeMachine {
  return new FakeMachine()
    .on(chrootIs("dpkg-query", "-L", "dpkg"), {
      stdout: "/.\n/etc\n/etc/dpkg\n/sbin\n/sbin/start-stop-daemon\n/usr/bin/dpkg\n/usr/bin/dpkg-divert\n",
    })
    .on(/^cat \/etc\/resolv\.conf$/, { stdout: "nameserver 10.0.2.3\n" })
    .on(chrootIs("readlink", "/etc/resolv.conf"), { exitCode: 1 })
    .on(chrootIs("getent", "passwd"), { exitCode: 2 })
    .on(/^cat .*\.customize-resolv-link$/, { exitCode: 1, stderr: "No such file" })
    .on((a) => inner(a)?.[0] === "dpkg-query" && inner(a)?.[1] === "-W" && inner(a)!.length === 3, {
      stdout:
        "installed\tzstd\t1.5.4+dfsg2-5\tamd64\n" +
        "installed\tbase-files\t12.4+deb12u8\tamd64\n" +
        "config-files\told-thing\t1.0\tamd64\n" +
        "installed\tlinux-image-amd64\t6.1.123-1\tamd64\n" +
        "installed\tlive-boot\t1:20230131+deb12u1\tall\n",
    });
}

const BASE =
  "suite: bookworm\nuser: {name: live, password: 'pw-Sekrit!'}\npackages: [less, sudo, live-boot, nano]\n";

describe("customize run", () => {
  it("runs every command in the image through chrootArgv, with the signal and the log", async () => {
    const { ctx, fake } = setup(BASE);
    await customizeStep.run(ctx);
    const execs = fake.calls.filter((c) => c.kind === "exec");
    for (const c of execs) expect(c.opts?.signal).toBe(ctx.signal);
    expect(execs.some((c) => c.argv[0] === "chroot")).toBe(false);
    const imageTools =
      /^(apt-get|dpkg|dpkg-divert|dpkg-query|useradd|usermod|chpasswd|visudo|locale-gen|ln|getent|readlink)$/;
    for (const c of execs) {
      if (imageTools.test(c.argv[0]!)) throw new Error(`ran outside the chroot: ${c.argv.join(" ")}`);
      if (c.argv[0] === "unshare") {
        expect(c.argv.slice(0, 5)).toEqual(["unshare", "--mount", "--propagation", "private", "--"]);
        expect(c.argv[9]).toBe(ROOTFS);
      }
    }
    const applies = chrootCalls(fake).filter((c) => c.cmd[0] === "apt-get");
    expect(applies.map((c) => c.cmd[1])).toEqual(["update", "install", "install", "clean"]);
  });

  it("installs live-boot, zstd and the packages, then the kernel flavour on its own, with Recommends", async () => {
    const { ctx, fake, said } = setup(BASE + "kernel: {flavour: cloud-amd64}\n");
    await customizeStep.run(ctx);
    const installs = chrootCalls(fake).filter((c) => c.cmd[0] === "apt-get" && c.cmd[1] === "install");
    const recommends = ["apt-get", "install", "-y", "--install-recommends"];
    expect(installs.map((c) => c.cmd)).toEqual([
      [...recommends, "live-boot", "zstd", "sudo", "less", "nano"],
      [...recommends, "linux-image-cloud-amd64"],
    ]);
    for (const i of installs) expect(i.opts?.idleTimeoutMs).toBeGreaterThanOrEqual(15 * 60_000);
    expect(said).toContain(
      "installing 6 packages (with Recommends): linux-image-cloud-amd64 live-boot zstd sudo less nano",
    );
  });

  it("runs arm64 programs with qemu-user's fast CPU, and armhf and amd64 ones without it", async () => {
    const env = async (arch: string) => {
      const { ctx, fake } = setup(BASE.replace("bookworm", "trixie") + `arch: ${arch}\n`);
      await customizeStep.run(ctx);
      return chrootCalls(fake).map((c) => c.argv.filter((w) => w.startsWith("QEMU_CPU=")));
    };
    const arm64 = await env("arm64");
    expect(arm64.length).toBeGreaterThan(5);
    for (const words of arm64) expect(words).toEqual(["QEMU_CPU=max,pauth-impdef=on"]);
    for (const arch of ["armhf", "amd64"]) for (const words of await env(arch)) expect(words).toEqual([]);
  });

  it("without a kernel installs everything in one apt run", async () => {
    const { ctx, fake } = setup(BASE + "kernel: {flavour: none}\n");
    await customizeStep.run(ctx);
    const installs = chrootCalls(fake).filter((c) => c.cmd[0] === "apt-get" && c.cmd[1] === "install");
    expect(installs.map((c) => c.cmd.slice(4))).toEqual([["sudo", "less", "live-boot", "nano"]]);
  });

  it("prepares before apt: policy-rc.d, start-stop-daemon diverted and stubbed, DNS, apt and dpkg config", async () => {
    const { ctx, fake } = setup(BASE);
    await customizeStep.run(ctx);
    const files = written(fake);
    expect(files.get("/usr/sbin/policy-rc.d")).toEqual({
      text: expect.stringContaining("exit 101"),
      mode: "0755",
    });
    expect(files.get("/sbin/start-stop-daemon")?.mode).toBe("0755");
    expect(files.get("/sbin/start-stop-daemon")?.text).toMatch(/echo .*>&2\nexit 0\n$/);
    const apt = files.get("/etc/apt/apt.conf.d/00vmlive-build")!.text;
    expect(apt).toContain('Acquire::Retries "3";');
    expect(apt).not.toContain("APT::Acquire");
    expect(apt).toContain('Dpkg::Options { "--force-confdef"; "--force-confold"; };');
    expect(apt).toContain('Dpkg::Use-Pty "0";');
    expect(apt).toContain('quiet "1";');
    expect(apt).toContain('APT::Color "0";');
    expect(files.get("/etc/dpkg/dpkg.cfg.d/00vmlive-build")?.text).toContain("force-unsafe-io");
    // The last write of sources.list is the image's (see customize-finish.test.ts).
    expect(files.get("/etc/apt/sources.list")?.text).toContain("bookworm-security");
    const cmds = chrootCalls(fake).map((c) => c.cmd.join(" "));
    const at = (s: string) => cmds.findIndex((c) => c.startsWith(s));
    expect(at("dpkg-divert --local --rename --add /sbin/start-stop-daemon")).toBeGreaterThanOrEqual(0);
    expect(at("dpkg-divert --local --rename --add")).toBeLessThan(at("apt-get update"));
    expect(at("mkdir -p /etc/network")).toBeLessThan(at("apt-get install"));
    // The build's sources: the build mirror only.
    const update = chrootCalls(fake).findIndex((c) => c.cmd[1] === "update");
    const buildSources = chrootCalls(fake)
      .slice(0, update)
      .filter((c) => c.cmd[3] === "vmlive-write" && c.cmd[4] === "/etc/apt/sources.list");
    expect(String(buildSources.at(-1)?.opts?.stdin)).toMatch(
      /\ndeb http:\/\/deb\.debian\.org\/debian bookworm main\n$/,
    );
    expect(String(buildSources.at(-1)?.opts?.stdin)).not.toContain("security");
    expect(
      fake.calls.filter((c) => c.kind === "exec").some((c) => c.argv.join(" ") === "cat /etc/resolv.conf"),
    ).toBe(true);
    expect(files.has("/etc/resolv.conf")).toBe(true);
  });

  it("diverts /usr/sbin/start-stop-daemon where dpkg keeps it there (trixie)", async () => {
    const { ctx, fake } = setup("suite: trixie\n");
    fake.on(chrootIs("dpkg-query", "-L", "dpkg"), { stdout: "/usr/bin/dpkg\n/usr/sbin/start-stop-daemon\n" });
    await customizeStep.run(ctx);
    expect(chrootCalls(fake).map((c) => c.cmd.join(" "))).toContain(
      "dpkg-divert --local --rename --add /usr/sbin/start-stop-daemon",
    );
    expect(written(fake).get("/usr/sbin/start-stop-daemon")?.mode).toBe("0755");
  });

  it("sets host name, hosts, locale and time zone", async () => {
    const { ctx, fake } = setup(
      "suite: bookworm\nhostname: box-1\nlocale: de_DE.UTF-8\ntimezone: Europe/Berlin\n",
    );
    fake.on(chrootIs("cat", "--", "/usr/share/i18n/SUPPORTED"), {
      stdout: "de_DE.UTF-8 UTF-8\nde_DE ISO-8859-1\n",
    });
    fake.on(chrootIs("cat", "--", "/etc/locale.gen"), {
      stdout: "# This file lists locales\n\n# de_DE ISO-8859-1\n# de_DE.UTF-8 UTF-8\n# en_US.UTF-8 UTF-8\n",
    });
    await customizeStep.run(ctx);
    const files = written(fake);
    expect(files.get("/etc/hostname")?.text).toBe("box-1\n");
    expect(files.get("/etc/hosts")?.text).toContain("127.0.1.1\tbox-1\n");
    expect(files.get("/etc/locale.gen")?.text).toBe(
      "# This file lists locales\n\n# de_DE ISO-8859-1\nde_DE.UTF-8 UTF-8\n# en_US.UTF-8 UTF-8\n",
    );
    expect(files.get("/etc/default/locale")?.text).toBe("LANG=de_DE.UTF-8\n");
    expect(files.get("/etc/timezone")?.text).toBe("Europe/Berlin\n");
    const cmds = chrootCalls(fake).map((c) => c.cmd.join(" "));
    expect(cmds).toContain("locale-gen");
    expect(cmds).toContain("ln -sfn /usr/share/zoneinfo/Europe/Berlin /etc/localtime");
    const install = chrootCalls(fake).find((c) => c.cmd[1] === "install")!.cmd;
    expect(install).toContain("locales");
    expect(install).toContain("tzdata");
  });

  it("fails naming the time zone when the image has no such zone file", async () => {
    const { ctx, fake } = setup("suite: bookworm\ntimezone: Mars/Olympus_Mons\n");
    fake.on(chrootIs("test", "-f", "/usr/share/zoneinfo/Mars/Olympus_Mons"), { exitCode: 1 });
    const err = (await customizeStep.run(ctx).catch((e: unknown) => e)) as VerificationError;
    expect(err).toBeInstanceOf(VerificationError);
    expect(err.message).toContain("timezone: Mars/Olympus_Mons");
  });

  it("fails naming a locale the image does not support", async () => {
    const { ctx, fake } = setup("suite: bookworm\nlocale: xx_YY.UTF-8\n");
    fake.on(chrootIs("cat", "--", "/usr/share/i18n/SUPPORTED"), { stdout: "de_DE.UTF-8 UTF-8\n" });
    await expect(customizeStep.run(ctx)).rejects.toThrow(/locale: xx_YY\.UTF-8 is not in/);
  });

  it("copies the overlay over the root inside the chroot, keeping merged /usr's symlinks", async () => {
    const { ctx, fake, imageDir } = setup("suite: bookworm\noverlay: files\n", { "files/etc/motd": "hi\n" });
    await customizeStep.run(ctx);
    expect(fake.calls.find((c) => c.kind === "upload")?.argv).toEqual([
      path.join(imageDir, "files"),
      `${ROOT}/input/overlay`,
    ]);
    expect(fake.commands).toContain(`tar -C ${ROOT}/input/overlay -cf ${ROOTFS}/tmp/vmlive-overlay.tar .`);
    const untar = chrootCalls(fake).find((c) => c.cmd[0] === "tar")!.cmd;
    expect(untar).toEqual([
      "tar",
      "-C",
      "/",
      "-xpf",
      "/tmp/vmlive-overlay.tar",
      "--keep-directory-symlink",
      "--no-same-owner",
      "--no-overwrite-dir",
    ]);
  });

  it("writes the manifest, sorted and installed packages only, to the state and work.out", async () => {
    const { ctx, fake } = setup(BASE);
    await customizeStep.run(ctx);
    expect(ctx.state.manifest).toEqual([
      { name: "base-files", version: "12.4+deb12u8", arch: "amd64" },
      { name: "linux-image-amd64", version: "6.1.123-1", arch: "amd64" },
      { name: "live-boot", version: "1:20230131+deb12u1", arch: "all" },
      { name: "zstd", version: "1.5.4+dfsg2-5", arch: "amd64" },
    ]);
    const w = fake.calls.find((c) => c.argv.at(-1) === `${ROOT}/out/manifest.tsv`);
    expect(w?.argv.slice(0, 3)).toEqual(["sh", "-c", 'cat > "$1"']);
    expect(w?.opts?.stdin).toBe(
      "base-files\t12.4+deb12u8\tamd64\nlinux-image-amd64\t6.1.123-1\tamd64\nlive-boot\t1:20230131+deb12u1\tall\nzstd\t1.5.4+dfsg2-5\tamd64\n",
    );
    expect(fake.commands).toContain(`mkdir -p ${ROOT}/out`);
  });
});

describe("users", () => {
  const argvWords = (fake: FakeMachine) => fake.calls.flatMap((c) => c.argv);

  it("creates the user with useradd, its password through chpasswd's stdin, sudo, autologin, root locked", async () => {
    const { ctx, fake, lines, said } = setup(
      "suite: bookworm\nuser: {name: anna, password: 'pw-Sekrit!', sudo: true, autologin: true, shell: /bin/sh}\n",
    );
    await customizeStep.run(ctx);
    const calls = chrootCalls(fake);
    const cmds = calls.map((c) => c.cmd.join(" "));
    expect(cmds).toContain("useradd --create-home --shell /bin/sh --user-group anna");
    // Hashed by vmlive with a salt of its own (the same in every build of the image with one epoch).
    const pw = calls.find((c) => c.cmd[0] === "chpasswd");
    expect(pw?.cmd).toEqual(["chpasswd", "--encrypted"]);
    const m = /^anna:(\$6\$([./0-9A-Za-z]{16})\$[./0-9A-Za-z]{86})\n$/.exec(String(pw?.opts?.stdin));
    expect(m?.[1]).toBe(sha512Crypt("pw-Sekrit!", m![2]!));
    expect(cmds).toContain("usermod --append --groups sudo anna");
    expect(written(fake).get("/etc/sudoers.d/90-vmlive-anna")).toEqual({
      text: "# vmlive: user.sudo\nanna ALL=(ALL:ALL) NOPASSWD: ALL\n",
      mode: "0440",
    });
    expect(cmds).toContain("visudo -c -f /etc/sudoers.d/90-vmlive-anna");
    expect(
      written(fake).get("/etc/systemd/system/getty@tty1.service.d/vmlive-autologin.conf")?.text,
    ).toContain("ExecStart=\nExecStart=-/sbin/agetty --autologin anna ");
    expect(
      written(fake).get("/etc/systemd/system/serial-getty@.service.d/vmlive-autologin.conf")?.text,
    ).toContain("--autologin anna");
    expect(cmds).toContain("usermod --lock root");
    for (const w of argvWords(fake)) expect(w).not.toContain("Sekrit");
    for (const l of [...lines, ...said]) expect(l).not.toContain("Sekrit");
  });

  it("takes a hash through chpasswd --encrypted; root's password through stdin too", async () => {
    const hash = "$6$salt$abcdefghijklmnopqrstuvwxyzABCDEFGH./0123456789";
    const { ctx, fake } = setup(
      `suite: bookworm\nuser: {name: bob, password_hash: '${hash}'}\nroot: {locked: false, password: 'root-Sekrit'}\n`,
    );
    await customizeStep.run(ctx);
    const pw = chrootCalls(fake).filter((c) => c.cmd[0] === "chpasswd");
    expect(pw.map((c) => [c.cmd.join(" "), c.opts?.stdin])).toEqual([
      ["chpasswd --encrypted", `bob:${hash}\n`],
      ["chpasswd --encrypted", expect.stringMatching(/^root:\$6\$[./0-9A-Za-z]{16}\$[./0-9A-Za-z]{86}\n$/)],
    ]);
    for (const w of argvWords(fake)) {
      expect(w).not.toContain("root-Sekrit");
      expect(w).not.toContain(hash);
    }
  });

  it("locks a user without a password; an existing user keeps its account", async () => {
    const { ctx, fake } = setup("suite: bookworm\nuser: {name: carl, sudo: false}\n");
    fake.on(chrootIs("getent", "passwd", "carl"), { stdout: "carl:x:1000:1000::/home/carl:/bin/sh\n" });
    await customizeStep.run(ctx);
    const cmds = chrootCalls(fake).map((c) => c.cmd.join(" "));
    expect(cmds.some((c) => c.startsWith("useradd"))).toBe(false);
    expect(cmds).toContain("usermod --shell /bin/bash carl");
    expect(cmds).toContain("usermod --lock carl");
    expect(cmds.some((c) => c.includes("sudo"))).toBe(false);
  });
});

describe("hooks", () => {
  const HOOKS = {
    "first.sh": "#!/bin/sh\necho one\n",
    "hooks/shared/second.sh": "#!/bin/sh\necho two\n",
    "third.sh": "#!/bin/sh\necho three\n",
  };
  const YAML =
    "suite: trixie\narch: amd64\nenv: {GREETING: hello}\nhooks:\n  - first.sh\n  - {path: shared/second.sh, where: builder}\n  - third.sh\n";

  it("uploads them numbered, copies chroot hooks and the config into the image, runs them in order", async () => {
    const { ctx, fake } = setup(YAML, HOOKS);
    await customizeStep.run(ctx);
    const uploads = fake.calls
      .filter((c) => c.kind === "upload")
      .map((c) => path.basename(c.argv[0]!) + " " + c.argv[1]);
    expect(uploads).toEqual([
      `first.sh ${ROOT}/input/hooks/01-first.sh`,
      `second.sh ${ROOT}/input/hooks/02-second.sh`,
      `third.sh ${ROOT}/input/hooks/03-third.sh`,
    ]);
    const config = fake.calls.find((c) => c.argv.at(-1) === `${ROOT}/input/config.json`);
    expect(JSON.parse(String(config?.opts?.stdin))).toMatchObject({
      suite: "trixie",
      env: { GREETING: "hello" },
    });
    expect(fake.commands).toContain(`cp -a -- ${ROOT}/input/hooks/. ${ROOTFS}/tmp/vmlive-hooks/`);
    expect(fake.commands).toContain(`cp -- ${ROOT}/input/config.json ${ROOTFS}/tmp/vmlive-hooks/config.json`);

    const runs = hookRuns(fake);
    expect(runs.map((c) => c.argv.at(-1))).toEqual([
      "/tmp/vmlive-hooks/01-first.sh",
      `${ROOT}/input/hooks/02-second.sh`,
      "/tmp/vmlive-hooks/03-third.sh",
    ]);
    expect(chrootEnv(runs[0]!.argv)).toMatchObject({
      GREETING: "hello",
      VMLIVE_IMAGE: "img",
      VMLIVE_SUITE: "trixie",
      VMLIVE_ARCH: "amd64",
      VMLIVE_HOOK: "first.sh",
      VMLIVE_WHERE: "chroot",
      VMLIVE_ROOTFS: "/",
      VMLIVE_CONFIG_JSON: "/tmp/vmlive-hooks/config.json",
      DEBIAN_FRONTEND: "noninteractive",
    });
    expect(runs[1]!.opts?.env).toEqual({
      GREETING: "hello",
      VMLIVE_IMAGE: "img",
      VMLIVE_SUITE: "trixie",
      VMLIVE_ARCH: "amd64",
      VMLIVE_HOOK: "shared/second.sh",
      VMLIVE_WHERE: "builder",
      VMLIVE_ROOTFS: ROOTFS,
      VMLIVE_CONFIG_JSON: `${ROOT}/input/config.json`,
    });
    expect(runs[1]!.opts?.cwd).toBe(`${ROOT}/input`);
    expect(ctx.state.hooks?.map((h) => [h.path, h.where, h.exitCode])).toEqual([
      ["first.sh", "chroot", 0],
      ["shared/second.sh", "builder", 0],
      ["third.sh", "chroot", 0],
    ]);
  });

  it("documents exactly this environment in hooks/show-env.sh", async () => {
    const { readFileSync } = await import("node:fs");
    const doc = readFileSync(path.join(import.meta.dirname, "../../../hooks/show-env.sh"), "utf8");
    const documented = [...doc.matchAll(/^#\s+(VMLIVE_[A-Z_]+)/gm)].map((m) => m[1]);
    const { ctx, fake } = setup(YAML, HOOKS);
    await customizeStep.run(ctx);
    const run = hookRuns(fake)[1]!;
    expect(Object.keys(run.opts!.env!).filter((k) => k.startsWith("VMLIVE_"))).toEqual(documented);
  });

  it("labels each hook's output in the log", async () => {
    const { ctx, fake, lines } = setup(YAML, HOOKS);
    fake.on(/01-first\.sh$/, { stdout: "one\n" });
    await customizeStep.run(ctx);
    expect(lines).toContain("hook 1: one");
  });

  it("a hook the watchdog stopped is named as image.yaml names it, with its output's tail", async () => {
    const { ctx, fake } = setup(YAML, HOOKS);
    fake.on(/02-second\.sh$/, (argv, opts) => {
      opts.output?.line("stdout", "waiting for the network ...");
      throw new CommandError(argv, "vm", {
        signal: "SIGKILL",
        cause: "no output and no CPU use for 20 min: stopped",
      });
    });
    const err = (await customizeStep.run(ctx).catch((e: unknown) => e)) as CommandError;
    expect(err).toBeInstanceOf(CommandError);
    expect(err.argv).toEqual(["shared/second.sh"]);
    expect(err.message).toContain(
      "hook 2 of 3 (hooks.1: shared/second.sh, where: builder): no output and no CPU use",
    );
    expect(err.detail.tail).toContain("waiting for the network ...");
    expect(hookRuns(fake).length).toBe(2);
  });

  it("a failing hook names itself and shows the last 20 lines of its output; later hooks do not run", async () => {
    const { ctx, fake } = setup(YAML, HOOKS);
    const out = Array.from({ length: 30 }, (_, i) => `line ${i + 1}`).join("\n") + "\n";
    fake.on(/02-second\.sh$/, { exitCode: 3, stdout: out });
    const err = (await customizeStep.run(ctx).catch((e: unknown) => e)) as CommandError;
    expect(err).toBeInstanceOf(CommandError);
    expect(err.message).toContain(
      "hook 2 of 3 (hooks.1: shared/second.sh, where: builder) failed with exit code 3",
    );
    expect(err.detail.tail?.split("\n")).toEqual(Array.from({ length: 20 }, (_, i) => `line ${i + 11}`));
    expect(err.detail.logPath).toBe("/logs/build.log");
    expect(hookRuns(fake).length).toBe(2);
    expect(ctx.state.hooks?.map((h) => h.exitCode)).toEqual([0, 3]);
  });
});

describe("hostile config strings", () => {
  const HOSTILE = `$(id); echo 'pwn"ed' \`x\` && rm -rf /`;
  const PASSWORD = `pw$(reboot);'"\`x\``;

  it("only ever travel as whole argv words or stdin, never inside a shell script", async () => {
    const hookName = "we$(id);ird's hook.sh";
    const { ctx, fake } = setup(
      `suite: bookworm\nenv: {EVIL: ${JSON.stringify(HOSTILE)}}\nhooks: [${JSON.stringify(hookName)}]\n` +
        `user: {password: ${JSON.stringify(PASSWORD)}}\n`,
      { [hookName]: "#!/bin/sh\n" },
    );
    await customizeStep.run(ctx);
    const bits = ["$(id)", "'pwn", "rm -rf /", "we$(id)"];
    for (const c of fake.calls as Call[]) {
      c.argv.forEach((w, i) => {
        const hit = bits.some((b) => w.includes(b));
        if (!hit) return;
        // A shell script text (after -c) never holds them.
        expect(c.argv[i - 1], `in ${c.argv.join(" ")}`).not.toBe("-c");
        // Whole words: the value itself, an env assignment, or a path that ends with the hook's name.
        const ok =
          w === HOSTILE ||
          w === `EVIL=${HOSTILE}` ||
          w === `VMLIVE_HOOK=${hookName}` ||
          w.endsWith(`-${hookName}`) ||
          w.endsWith(`/${hookName}`);
        expect(ok, `word ${JSON.stringify(w)} in ${c.argv.join(" ")}`).toBe(true);
      });
    }
    // The password is not in any argv at all.
    for (const c of fake.calls) expect(c.argv.join(" ")).not.toContain(PASSWORD);
    // The password reaches chpasswd only as its hash, on stdin.
    const pw = String(chrootCalls(fake).find((c) => c.cmd[0] === "chpasswd")?.opts?.stdin);
    const salt = /^live:\$6\$([^$]+)\$/.exec(pw)?.[1] ?? "";
    expect(pw).toBe(`live:${sha512Crypt(PASSWORD, salt)}\n`);
    const env = hookRuns(fake)[0]!;
    expect(chrootEnv(env.argv).EVIL).toBe(HOSTILE);
  });
});

describe("every exec", () => {
  it("has a timeout and, for long ones, an idle watchdog", async () => {
    const { ctx, fake } = setup(BASE);
    await customizeStep.run(ctx);
    for (const c of fake.calls.filter((c) => c.kind === "exec")) {
      const o = c.opts as ExecOptions;
      expect(o.timeoutMs, c.argv.join(" ")).toBeGreaterThan(0);
      expect(o.idleTimeoutMs, c.argv.join(" ")).toBeGreaterThan(0);
    }
  });
});
