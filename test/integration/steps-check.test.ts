// The check step's script for real on this host. First on a hand-made tree
// (no root needed): what it reads and what it must not follow. Then on a real
// bookworm root made by mmdebstrap and customized: it passes; with vmlive's
// own build setup put back (prepare) and the usual leftovers planted by the
// real tools (ssh-keygen, systemd-machine-id-setup, dbus-uuidgen, chpasswd),
// it fails naming every one; after customize's finish, only those that no
// vmlive code made remain. Needs root, mmdebstrap and http://deb.debian.org
// for the second part; about 2 minutes.
import { execFileSync } from "node:child_process";
import {
  appendFileSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { loadImage, parseImageConfig, type LoadedImage } from "../../src/config/load.js";
import { VerificationError } from "../../src/errors.js";
import { HostMachine } from "../../src/machine/host.js";
import { workPaths, type BuildContext } from "../../src/pipeline/context.js";
import { bootstrapStep } from "../../src/steps/bootstrap.js";
import { checkStep } from "../../src/steps/check.js";
import { customizeStep } from "../../src/steps/customize.js";
import { inChroot } from "../../src/steps/customize/exec.js";
import { finish } from "../../src/steps/customize/finish.js";
import { prepare } from "../../src/steps/customize/prepare.js";

const hasMmdebstrap = (() => {
  try {
    execFileSync("sh", ["-c", "command -v mmdebstrap"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
})();
const canBuild = process.getuid?.() === 0 && hasMmdebstrap;

const top = mkdtempSync(path.join(os.tmpdir(), "vmlive-it-check-"));
afterAll(() => execFileSync("rm", ["-rf", "--one-file-system", top]));

function context(image: LoadedImage, workRoot: string, lines: string[] = []): BuildContext {
  return {
    image,
    machine: new HostMachine(),
    work: workPaths(workRoot),
    state: { done: [] },
    log: {
      say: () => undefined,
      output: { line: (_s, t) => lines.push(t) },
      file: path.join(top, "build.log"),
    },
    signal: new AbortController().signal,
    sourceDateEpoch: 1_700_000_000,
    outDir: top,
    logDir: top,
  };
}

/** Run the check; the leftovers' paths it found (none when it passed). */
async function leftovers(ctx: BuildContext): Promise<{ paths: string[]; error?: VerificationError }> {
  try {
    await checkStep.run(ctx);
  } catch (e) {
    if (!(e instanceof VerificationError)) throw e;
    return { paths: ctx.state.check!.found.map((f) => f.path), error: e };
  }
  return { paths: [] };
}

describe("the check script on a hand-made tree", () => {
  it("finds what is there, and follows no symlink out of the image", async () => {
    // A work area whose path has a space and shell characters in it.
    const work = path.join(top, "hand made $(id)");
    const r = path.join(work, "rootfs");
    const put = (p: string, text = "") => {
      mkdirSync(path.dirname(path.join(r, p)), { recursive: true });
      writeFileSync(path.join(r, p), text);
    };
    mkdirSync(path.join(r, "usr", "sbin"), { recursive: true });
    symlinkSync("usr/sbin", path.join(r, "sbin"));
    put("usr/sbin/start-stop-daemon", "#!/bin/sh\nexit 0\n");
    put("etc/machine-id", "uninitialized\n");
    put("var/lib/dbus/machine-id", "0123456789abcdef0123456789abcdef\n");
    put("etc/ssh/ssh_host_ed25519_key", "k");
    put("etc/ssh/ssh_host_ed25519_key.pub", "k");
    put("etc/ssh/sshd_config", "");
    put("etc/apt/sources.list", "deb http://10.0.2.2:3142/debian bookworm main\n");
    put("etc/apt/sources.list.d/x.sources", "Types: deb\nURIs: http://deb.debian.org/debian\n");
    put("etc/environment", "");
    put("etc/shadow", "root:*:19000:0:99999:7:::\n");
    put("etc/resolv.conf", "");
    // Absolute symlinks: inside the image they point at its own files; followed from
    // outside they would read this host's. Neither may be read.
    const outside = path.join(top, "host-proxy.conf");
    writeFileSync(
      outside,
      'Acquire::http::Proxy "http://host-proxy:3128";\nhttp_proxy=http://host-proxy:3128\n',
    );
    mkdirSync(path.join(r, "etc", "apt", "apt.conf.d"), { recursive: true });
    symlinkSync(outside, path.join(r, "etc", "apt", "apt.conf.d", "99link"));
    mkdirSync(path.join(r, "etc", "profile.d"), { recursive: true });
    symlinkSync(outside, path.join(r, "etc", "profile.d", "link.sh"));
    writeFileSync(path.join(work, ".customize-unfinished"), "");

    const image: LoadedImage = {
      name: "hand",
      dir: top,
      file: path.join(top, "image.yaml"),
      hooksDir: path.join(top, "hooks"),
      displayFile: "image.yaml",
      config: parseImageConfig(
        "description: t\nmirror: {build: 'http://10.0.2.2:3142/debian'}\n",
        "image.yaml",
      ),
    };
    const ctx = context(image, work);
    const { paths, error } = await leftovers(ctx);
    expect(paths.sort()).toEqual(
      [
        `${work}/.customize-unfinished`,
        "/etc/apt/sources.list:1",
        "/etc/ssh/ssh_host_ed25519_key",
        "/etc/ssh/ssh_host_ed25519_key.pub",
        "/usr/sbin/start-stop-daemon",
        "/var/lib/dbus/machine-id",
      ].sort(),
    );
    expect(error!.message).toContain(`the image in ${r} still holds 6 build leftovers:`);
    expect(error!.message).not.toContain("host-proxy");

    // Each one gone, the tree passes.
    execFileSync("rm", [
      path.join(work, ".customize-unfinished"),
      path.join(r, "etc/ssh/ssh_host_ed25519_key"),
      path.join(r, "etc/ssh/ssh_host_ed25519_key.pub"),
      path.join(r, "var/lib/dbus/machine-id"),
    ]);
    execFileSync("cp", ["/bin/true", path.join(r, "usr/sbin/start-stop-daemon")]);
    writeFileSync(path.join(r, "etc/apt/sources.list"), "deb http://deb.debian.org/debian bookworm main\n");
    expect((await leftovers(ctx)).paths).toEqual([]);
    expect(ctx.state.check!.leftovers).toBe(0);
  });

  it("says so when there is no root filesystem", async () => {
    const image = loadImageFrom("description: t\n", "none");
    await expect(checkStep.run(context(image, path.join(top, "none")))).rejects.toThrow(
      /there is no root filesystem at .*none\/rootfs to check/,
    );
  });
});

function loadImageFrom(yaml: string, name: string): LoadedImage {
  const dir = path.join(top, "images", name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, "image.yaml"), yaml);
  return loadImage(dir);
}

describe("the check on a real root filesystem", () => {
  it.runIf(canBuild)("passes after customize, and names every leftover planted in it", async () => {
    const image = loadImageFrom(
      [
        "description: check integration test image",
        "suite: bookworm",
        "arch: amd64",
        // Packages whose own scripts make a machine id, a D-Bus id and SSH host keys.
        "bootstrap: {tool: mmdebstrap, variant: apt, packages: [passwd, systemd, dbus, openssh-server]}",
        "kernel: {flavour: none}",
        "mirror: {image: 'http://ftp.debian.org/debian'}",
        "user: {name: tester, password: 'pw', sudo: false}",
      ].join("\n") + "\n",
      "real",
    );
    const lines: string[] = [];
    const ctx = context(image, path.join(top, "work"), lines);
    const r = (p: string) => path.join(ctx.work.rootfs, p);
    try {
      await bootstrapStep.run(ctx);
      // mmdebstrap empties the machine id; a package or hook that runs these makes what customize must remove.
      await inChroot(ctx, ["systemd-machine-id-setup"]);
      await inChroot(ctx, ["dbus-uuidgen", "--ensure"]);
      await inChroot(ctx, ["ssh-keygen", "-A"]);
      expect(readFileSync(r("etc/machine-id"), "utf8")).toMatch(/^[0-9a-f]{32}\n$/);
      expect(readFileSync(r("var/lib/dbus/machine-id"), "utf8")).toMatch(/^[0-9a-f]{32}\n$/);
      await customizeStep.run(ctx);
    } finally {
      await customizeStep.cleanup!(ctx);
      writeFileSync(path.join(top, "build.log"), lines.join("\n"));
    }

    // customize left nothing: the check passes, and says what it looked at.
    expect((await leftovers(ctx)).paths).toEqual([]);
    expect(ctx.state.check).toEqual({
      leftovers: 0,
      checked: expect.arrayContaining(["build mirror in apt sources", "machine id", "SSH host keys"]),
      found: [],
    });

    // vmlive's own build setup back in place, and the usual leftovers of hooks, made by the real tools.
    await prepare(ctx);
    await inChroot(ctx, ["systemd-machine-id-setup"]);
    await inChroot(ctx, ["dbus-uuidgen", "--ensure"]);
    await inChroot(ctx, ["ssh-keygen", "-A"]);
    await inChroot(ctx, ["chpasswd"], { stdin: "root:hunter2\n" });
    execFileSync("cp", [
      r("usr/share/keyrings/debian-archive-keyring.gpg"),
      r("etc/apt/keyrings/vmlive-build.gpg"),
    ]);
    writeFileSync(r("etc/apt/sources.list.d/build.list"), "deb http://deb.debian.org/debian bookworm main\n");
    writeFileSync(
      r("etc/apt/apt.conf.d/01proxy"),
      'Acquire::http::Proxy "http://bob:s3cret@10.0.2.2:3128";\n',
    );
    const envLines = readFileSync(r("etc/environment"), "utf8").split("\n").length;
    appendFileSync(r("etc/environment"), "http_proxy=http://10.0.2.2:3128\n");
    writeFileSync(r("etc/profile.d/proxy.sh"), "export https_proxy=http://10.0.2.2:3128\n");
    mkdirSync(r("tmp/vmlive-hooks"));
    writeFileSync(r("etc/hostname.vmlive-new"), "half\n");

    const keys = execFileSync("ls", [r("etc/ssh")], { encoding: "utf8" })
      .split("\n")
      .filter((f) => f.startsWith("ssh_host_"))
      .map((f) => `/etc/ssh/${f}`);
    expect(keys.length).toBeGreaterThanOrEqual(6);
    const ssd = lstatSync(r("sbin")).isSymbolicLink()
      ? "/usr/sbin/start-stop-daemon"
      : "/sbin/start-stop-daemon";
    const diverted = execFileSync("chroot", [ctx.work.rootfs, "dpkg-divert", "--list"], { encoding: "utf8" });
    const divertedPath = /diversion of (\S*start-stop-daemon) to/.exec(diverted)![1]!;
    // What customize makes and finish removes.
    const byVmlive = [
      `${ctx.work.root}/.customize-unfinished`,
      "/usr/sbin/policy-rc.d",
      divertedPath,
      ssd,
      "/etc/apt/apt.conf.d/00vmlive-build",
      "/etc/dpkg/dpkg.cfg.d/00vmlive-build",
      "/etc/apt/keyrings/vmlive-build.gpg",
      "/etc/machine-id",
      "/var/lib/dbus/machine-id",
      ...keys,
      "/tmp/vmlive-hooks",
      "/etc/hostname.vmlive-new",
      // prepare copied this host's resolv.conf in.
      ...(readFileSync("/etc/resolv.conf", "utf8").length > 0 ? ["/etc/resolv.conf"] : []),
    ];
    // What only a hook or the overlay would make.
    const byHooks = [
      "/etc/apt/sources.list.d/build.list:1",
      "/etc/apt/apt.conf.d/01proxy:1",
      `/etc/environment:${envLines}`,
      "/etc/profile.d/proxy.sh:1",
      "/etc/shadow",
    ];
    const planted = await leftovers(ctx);
    expect(planted.paths.sort()).toEqual([...byVmlive, ...byHooks].sort());
    const message = planted.error!.message;
    expect(message).toContain(`still holds ${byVmlive.length + byHooks.length} build leftovers:`);
    for (const p of [...byVmlive, ...byHooks]) expect(message).toContain(`\n  ${p}: `);
    expect(message).not.toContain("s3cret");
    expect(message).not.toContain("hunter2");

    // customize's finish takes away all that it made; the rest is the hooks' to fix.
    await finish(ctx);
    expect((await leftovers(ctx)).paths.sort()).toEqual([...byHooks].sort());
  });
});
