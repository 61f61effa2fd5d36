// bootstrap + customize for real on this host: debootstrap minbase bookworm
// into a temporary work area, then customize with a tiny config and hooks.
// Needs root, debootstrap and http://deb.debian.org; about 2-3 minutes.
import { execFileSync } from "node:child_process";
import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  statSync,
  writeFileSync,
} from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { loadImage } from "../../src/config/load.js";
import { HostMachine } from "../../src/machine/host.js";
import type { BuildContext } from "../../src/pipeline/context.js";
import { workPaths } from "../../src/pipeline/context.js";
import { bootstrapStep } from "../../src/steps/bootstrap.js";
import { customizeStep } from "../../src/steps/customize.js";

const hasDebootstrap = (() => {
  try {
    execFileSync("sh", ["-c", "command -v debootstrap"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
})();
const canRun = process.getuid?.() === 0 && hasDebootstrap;

const HOSTILE = `$(id); 'q"uote' \`x\``;

describe("bootstrap + customize on this host", () => {
  const top = mkdtempSync(path.join(os.tmpdir(), "vmlive-it-bc-"));
  afterAll(() => {
    // Nothing may be mounted below the work area; rm --one-file-system would stop at a mount anyway.
    execFileSync("rm", ["-rf", "--one-file-system", top]);
  });

  it.runIf(canRun)("builds a bookworm root, customizes it, leaves nothing of the build behind", async () => {
    const imageDir = path.join(top, "images", "it-image");
    mkdirSync(imageDir, { recursive: true });
    writeFileSync(
      path.join(imageDir, "image.yaml"),
      [
        "description: integration test image",
        "suite: bookworm",
        "arch: amd64",
        "bootstrap: {tool: debootstrap, variant: minbase}",
        "packages: []",
        "hooks:",
        "  - env-hook.sh",
        "  - {path: builder-hook.sh, where: builder}",
        "env:",
        `  HOSTILE: ${JSON.stringify(HOSTILE)}`,
        "user: {name: tester, password: 's3cret pass', sudo: true, autologin: true}",
        "hostname: it-host",
        "overlay: overlay",
      ].join("\n") + "\n",
    );
    writeFileSync(
      path.join(imageDir, "env-hook.sh"),
      '#!/bin/sh\nset -eu\nenv | grep -E "^(VMLIVE_|HOSTILE=)" | sort > /var/lib/vmlive-it-hook-env\necho "hook says hi"\n',
      { mode: 0o755 },
    );
    writeFileSync(
      path.join(imageDir, "builder-hook.sh"),
      '#!/bin/sh\nset -eu\nprintf "%s\\n" "$VMLIVE_WHERE" "$(pwd)" "$VMLIVE_CONFIG_JSON" > "$VMLIVE_ROOTFS/var/lib/vmlive-it-builder"\n',
      { mode: 0o755 },
    );
    mkdirSync(path.join(imageDir, "overlay", "etc", "vmlive-it"), { recursive: true });
    writeFileSync(path.join(imageDir, "overlay", "etc", "vmlive-it", "file"), "from the overlay\n", {
      mode: 0o600,
    });
    mkdirSync(path.join(imageDir, "overlay", "bin"), { recursive: true });
    writeFileSync(path.join(imageDir, "overlay", "bin", "vmlive-it-tool"), "#!/bin/sh\n", { mode: 0o755 });

    const image = loadImage(imageDir);
    const work = workPaths(path.join(top, "work"));
    const logFile = path.join(top, "build.log");
    const lines: string[] = [];
    const said: string[] = [];
    const ctx: BuildContext = {
      image,
      machine: new HostMachine(),
      work,
      state: { done: [] },
      log: {
        say: (m) => said.push(m),
        output: { line: (_s, t) => lines.push(t) },
        file: logFile,
      },
      signal: new AbortController().signal,
      sourceDateEpoch: 1_700_000_000,
      outDir: top,
      logDir: top,
    };

    const t0 = Date.now();
    try {
      await bootstrapStep.run(ctx);
    } finally {
      writeFileSync(logFile, lines.join("\n"));
    }
    const t1 = Date.now();
    try {
      await customizeStep.run(ctx);
    } finally {
      await customizeStep.cleanup!(ctx);
      writeFileSync(logFile, lines.join("\n"));
    }
    const t2 = Date.now();
    console.log(
      `bootstrap ${((t1 - t0) / 1000).toFixed(1)} s, customize ${((t2 - t1) / 1000).toFixed(1)} s; log ${logFile}`,
    );

    const r = (p: string) => path.join(work.rootfs, p);
    const read = (p: string) => readFileSync(r(p), "utf8");

    // The user, its password (hashed, never in the log), sudo, autologin.
    expect(read("etc/passwd")).toMatch(/^tester:x:\d+:\d+::\/home\/tester:\/bin\/bash$/m);
    // SHA-512 crypt with vmlive's own salt; the last change on the day of SOURCE_DATE_EPOCH (1_700_000_000).
    expect(read("etc/shadow")).toMatch(/^tester:\$6\$[./0-9A-Za-z]{16}\$[./0-9A-Za-z]{86}:19675:/m);
    expect(read("etc/shadow")).toMatch(/^root:!/m);
    expect(read("etc/group")).toMatch(/^sudo:x:27:.*tester/m);
    expect(statSync(r("etc/sudoers.d/90-vmlive-tester")).mode & 0o777).toBe(0o440);
    expect(read("etc/systemd/system/getty@tty1.service.d/vmlive-autologin.conf")).toContain(
      "--autologin tester",
    );
    expect(lines.join("\n") + said.join("\n")).not.toContain("s3cret");
    expect(read("etc/hostname")).toBe("it-host\n");
    expect(read("etc/hosts")).toContain("127.0.1.1\tit-host");

    // The overlay, unpacked through merged /usr's /bin symlink.
    expect(lstatSync(r("bin")).isSymbolicLink()).toBe(true);
    expect(read("usr/bin/vmlive-it-tool")).toBe("#!/bin/sh\n");
    expect(statSync(r("etc/vmlive-it/file")).mode & 0o777).toBe(0o600);
    expect(statSync(r("etc/vmlive-it/file")).uid).toBe(0);

    // The hooks ran, in order, with the documented environment.
    const env = read("var/lib/vmlive-it-hook-env");
    expect(env).toContain("VMLIVE_IMAGE=it-image\n");
    expect(env).toContain("VMLIVE_SUITE=bookworm\n");
    expect(env).toContain("VMLIVE_ARCH=amd64\n");
    expect(env).toContain("VMLIVE_HOOK=env-hook.sh\n");
    expect(env).toContain("VMLIVE_WHERE=chroot\n");
    expect(env).toContain("VMLIVE_ROOTFS=/\n");
    expect(env).toContain("VMLIVE_CONFIG_JSON=/tmp/vmlive-hooks/config.json\n");
    expect(env).toContain(`HOSTILE=${HOSTILE}\n`);
    expect(read("var/lib/vmlive-it-builder")).toBe(`builder\n${work.input}\n${work.input}/config.json\n`);
    expect(lines).toContain("hook 1: hook says hi");
    expect(ctx.state.hooks?.map((h) => [h.path, h.where, h.exitCode])).toEqual([
      ["env-hook.sh", "chroot", 0],
      ["builder-hook.sh", "builder", 0],
    ]);

    // Nothing of the build is left.
    expect(existsSync(r("usr/sbin/policy-rc.d"))).toBe(false);
    const diversions = execFileSync("chroot", [work.rootfs, "dpkg-divert", "--list"], { encoding: "utf8" });
    expect(diversions).not.toContain("start-stop-daemon");
    expect(read("sbin/start-stop-daemon")).not.toContain("vmlive");
    expect(existsSync(r("sbin/start-stop-daemon.distrib"))).toBe(false);
    expect(existsSync(r("etc/apt/apt.conf.d/00vmlive-build"))).toBe(false);
    expect(existsSync(r("etc/dpkg/dpkg.cfg.d/00vmlive-build"))).toBe(false);
    expect(read("etc/machine-id")).toBe("");
    expect(existsSync(r("var/lib/dbus/machine-id"))).toBe(false);
    expect(
      execFileSync("sh", ["-c", `ls ${r("etc/ssh")} 2>/dev/null | grep -c ssh_host_ || true`])
        .toString()
        .trim(),
    ).toBe("0");
    expect(existsSync(r("tmp/vmlive-hooks"))).toBe(false);
    expect(read("etc/resolv.conf")).toBe("");
    expect(read("etc/apt/sources.list")).toBe(
      "deb http://deb.debian.org/debian bookworm main\n" +
        "deb http://deb.debian.org/debian bookworm-updates main\n" +
        "deb http://security.debian.org/debian-security bookworm-security main\n",
    );
    expect(execFileSync("ls", ["-A", r("var/lib/apt/lists")], { encoding: "utf8" }).trim()).toBe("partial");
    expect(execFileSync("find", [r("var/cache/apt/archives"), "-name", "*.deb"], { encoding: "utf8" })).toBe(
      "",
    );
    expect(existsSync(path.join(work.root, ".customize-unfinished"))).toBe(false);

    // The manifest.
    const names = ctx.state.manifest?.map((p) => p.name) ?? [];
    expect(names).toContain("linux-image-amd64");
    expect(names).toContain("live-boot");
    expect(names).toContain("zstd");
    expect(readFileSync(path.join(work.out, "manifest.tsv"), "utf8")).toMatch(/^live-boot\t\S+\tall$/m);

    // No mount below the work area, here or anywhere.
    expect(readFileSync("/proc/mounts", "utf8")).not.toContain(top);

    // cleanup again is a no-op.
    const before = lines.length;
    await customizeStep.cleanup!(ctx);
    expect(lines.length).toBe(before);
  });
});
