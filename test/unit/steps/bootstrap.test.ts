import path from "node:path";
import { describe, expect, it } from "vitest";
import { CommandError, VerificationError } from "../../../src/errors.js";
import { bootstrapArgv, bootstrapStep, DEBIAN_KEYRING } from "../../../src/steps/bootstrap.js";
import { FakeMachine } from "../../support/fake-machine.js";
import { stepContext } from "../../support/step-context.js";

const ROOT = "/var/lib/vmlive/work/img";
const ROOTFS = `${ROOT}/rootfs`;

function setup(yaml: string, opts: { site?: "host" | "vm" } = {}) {
  const fake = new FakeMachine().on(/^dpkg --print-architecture$/, { stdout: "amd64\n" });
  if (opts.site) Object.defineProperty(fake, "site", { value: opts.site });
  const { ctx, said, imageDir } = stepContext({
    yaml,
    machine: fake,
    root: ROOT,
    files: { "mirror.gpg": "key" },
  });
  return { ctx, fake, said, imageDir };
}

const toolCall = (fake: FakeMachine) =>
  fake.calls.find((c) => c.argv[0] === "debootstrap" || c.argv[0] === "mmdebstrap");

describe("bootstrap argv", () => {
  it("debootstrap minbase by default, with Debian's keyring", async () => {
    const { ctx, fake } = setup("suite: bookworm\n");
    await bootstrapStep.run(ctx);
    expect(toolCall(fake)?.argv).toEqual([
      "debootstrap",
      "--variant=minbase",
      "--arch=amd64",
      "--components=main",
      `--keyring=${DEBIAN_KEYRING}`,
      "bookworm",
      ROOTFS,
      "http://deb.debian.org/debian",
    ]);
  });

  it("debootstrap standard means no --variant; components and packages are passed on", () => {
    const { ctx } = setup(
      "suite: trixie\nmirror: {build: 'http://mirror.local:3142/debian/'}\n" +
        "bootstrap: {variant: standard, components: [main, contrib, non-free-firmware], packages: [ca-certificates, gnupg]}\n",
    );
    expect(bootstrapArgv(ctx.image.config, ROOTFS, DEBIAN_KEYRING)).toEqual([
      "debootstrap",
      "--arch=amd64",
      "--components=main,contrib,non-free-firmware",
      "--include=ca-certificates,gnupg",
      `--keyring=${DEBIAN_KEYRING}`,
      "trixie",
      ROOTFS,
      "http://mirror.local:3142/debian",
    ]);
  });

  it("mmdebstrap with the image's keyring uploaded to the inputs and the merged-usr hook", async () => {
    const { ctx, fake, imageDir } = setup(
      "suite: bookworm\nbootstrap: {tool: mmdebstrap, variant: apt, keyring: mirror.gpg, packages: [zstd]}\n",
    );
    await bootstrapStep.run(ctx);
    const upload = fake.calls.find((c) => c.kind === "upload");
    expect(upload?.argv).toEqual([path.join(imageDir, "mirror.gpg"), `${ROOT}/input/keyring.gpg`]);
    expect(toolCall(fake)?.argv).toEqual([
      "mmdebstrap",
      "--mode=root",
      "--variant=apt",
      "--architectures=amd64",
      "--components=main",
      "--include=zstd",
      `--keyring=${ROOT}/input/keyring.gpg`,
      "--hook-dir=/usr/share/mmdebstrap/hooks/maybe-merged-usr",
      "bookworm",
      ROOTFS,
      // Only this keyring is trusted for the mirror, not the machine's /etc/apt/trusted.gpg.d too.
      `deb [signed-by=${ROOT}/input/keyring.gpg] http://deb.debian.org/debian bookworm main`,
    ]);
  });

  it("removes the old rootfs first, on one file system only, and never skips signature checks", async () => {
    const { ctx, fake } = setup("suite: bookworm\n");
    await bootstrapStep.run(ctx);
    const cmds = fake.commands;
    const rm = cmds.indexOf(`rm -rf --one-file-system -- ${ROOTFS}`);
    expect(rm).toBeGreaterThanOrEqual(0);
    expect(rm).toBeLessThan(cmds.findIndex((c) => c.startsWith("debootstrap")));
    expect(cmds.join("\n")).not.toMatch(/no-check-gpg|allow-insecure|trusted=yes/);
  });

  it("passes the signal to every command; the tool gets the log, a watchdog and SOURCE_DATE_EPOCH", async () => {
    const { ctx, fake } = setup("suite: bookworm\n");
    await bootstrapStep.run(ctx);
    for (const c of fake.calls.filter((c) => c.kind === "exec")) expect(c.opts?.signal).toBe(ctx.signal);
    const t = toolCall(fake)!;
    expect(t.opts?.idleTimeoutMs).toBe(15 * 60_000);
    expect(t.opts?.timeoutMs).toBeGreaterThanOrEqual(60 * 60_000);
    expect(t.opts?.output).toBeDefined();
    expect(t.opts?.env).toEqual({ SOURCE_DATE_EPOCH: "1700000000" });
  });
});

describe("foreign architectures", () => {
  const HANDLER = "/proc/sys/fs/binfmt_misc/qemu-aarch64";
  /** arch-test's answer when this machine's CPU cannot run the architecture itself. */
  const NOT_NATIVE = { exitCode: 1, stdout: "arm64: not supported on this machine/kernel\n" };

  it("fails before bootstrapping when the qemu-aarch64 handler is missing, with the fix", async () => {
    const { ctx, fake } = setup("suite: trixie\narch: arm64\n", { site: "host" });
    fake.on(`cat`, { exitCode: 1, stderr: "cat: no such file" }).on("arch-test", NOT_NATIVE);
    const err = await bootstrapStep.run(ctx).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(VerificationError);
    expect((err as VerificationError).message).toContain(`${HANDLER} does not exist`);
    expect((err as VerificationError).hint).toContain("update-binfmts --enable qemu-aarch64");
    expect((err as VerificationError).hint).toContain("qemu-user-static");
    expect(toolCall(fake)).toBeUndefined();
    expect(fake.commands).not.toContain(`rm -rf --one-file-system -- ${ROOTFS}`);
    // The host is the user's: vmlive says what to do and changes nothing.
    expect(fake.commands.some((c) => c.includes("update-binfmts"))).toBe(false);
  });

  it("fails for a handler without the F flag (armhf: qemu-arm), naming the builder's fix", async () => {
    const { ctx, fake } = setup("suite: bookworm\narch: armhf\n", { site: "vm" });
    fake
      .on(/^cat \/proc\/sys\/fs\/binfmt_misc\/qemu-arm$/, {
        stdout: "enabled\ninterpreter /usr/libexec/qemu-binfmt/arm-binfmt-P\nflags: PO\noffset 0\n",
      })
      .on("arch-test", NOT_NATIVE);
    const err = (await bootstrapStep.run(ctx).catch((e: unknown) => e)) as VerificationError;
    expect(err.message).toMatch(/flags "PO" without F/);
    expect(err.hint).toContain("vm build --rebuild");
    // In vmlive's own builder VM it first tried to set the handler up, then read it again.
    const enable = fake.commands.findIndex((c) => c.startsWith("sh -c") && c.endsWith(" qemu-arm"));
    expect(fake.commands[enable]).toContain("update-binfmts --enable");
    expect(fake.commands.slice(enable + 1)).toContain("cat /proc/sys/fs/binfmt_misc/qemu-arm");
  });

  it("bootstraps arm64 when the handler is enabled with F", async () => {
    const { ctx, fake } = setup("suite: trixie\narch: arm64\nbootstrap: {tool: mmdebstrap}\n");
    fake.on(/binfmt_misc\/qemu-aarch64$/, {
      stdout: "enabled\ninterpreter /usr/libexec/qemu-binfmt/aarch64-binfmt-P\nflags: POCF\noffset 0\n",
    });
    await bootstrapStep.run(ctx);
    expect(toolCall(fake)?.argv).toContain("--architectures=arm64");
    // Its package scripts run through qemu-user, which reads its CPU from the environment.
    expect(toolCall(fake)?.opts?.env).toMatchObject({ QEMU_CPU: "max,pauth-impdef=on" });
  });

  it("runs a trial program of the architecture, and fails with the fix when it does not run", async () => {
    const enabled = {
      stdout: "enabled\ninterpreter /usr/libexec/qemu-binfmt/aarch64-binfmt-P\nflags: POCF\noffset 0\n",
    };
    const ok = setup("suite: trixie\narch: arm64\n", { site: "host" });
    ok.fake.on(/binfmt_misc\/qemu-aarch64$/, enabled);
    await bootstrapStep.run(ok.ctx);
    const trial = ok.fake.commands.indexOf("arch-test arm64");
    expect(trial).toBeGreaterThanOrEqual(0);
    expect(trial).toBeLessThan(ok.fake.commands.findIndex((c) => c.startsWith("debootstrap")));

    const broken = setup("suite: trixie\narch: arm64\n", { site: "host" });
    broken.fake
      .on(/binfmt_misc\/qemu-aarch64$/, enabled)
      .on("arch-test", { exitCode: 2, stdout: "arm64: not supported on this machine/kernel\n" });
    const err = (await bootstrapStep.run(broken.ctx).catch((e: unknown) => e)) as VerificationError;
    expect(err.message).toMatch(/a trial arm64 program does not run .*not supported on this machine/);
    expect(err.hint).toContain("qemu-user-static");
    expect(toolCall(broken.fake)).toBeUndefined();

    const missing = setup("suite: trixie\narch: arm64\n", { site: "vm" });
    missing.fake.on(/binfmt_misc\/qemu-aarch64$/, enabled).on("arch-test", { exitCode: 127 });
    const err2 = (await bootstrapStep.run(missing.ctx).catch((e: unknown) => e)) as VerificationError;
    expect(err2.message).toContain("arch-test is missing");
    expect(err2.hint).toContain("vm/*.yaml");
  });

  it("needs no handler on a machine whose CPU runs the architecture itself (armhf on arm64)", async () => {
    const { ctx, fake } = setup("suite: trixie\narch: armhf\n", { site: "vm" });
    fake
      .on("dpkg", { stdout: "arm64\n" })
      .on("cat", { exitCode: 1, stderr: "cat: no such file" })
      .on("arch-test", (argv) => (argv[1] === "-n" ? { stdout: "armhf: ok\n" } : NOT_NATIVE));
    await bootstrapStep.run(ctx);
    expect(fake.commands).toContain("arch-test -n armhf");
    expect(fake.commands.some((c) => c.includes("update-binfmts"))).toBe(false);
    expect(toolCall(fake)?.argv).toContain("--arch=armhf");
  });

  it("does not look at binfmt for i386 on an amd64 machine", async () => {
    const { ctx, fake } = setup("suite: bookworm\narch: i386\n");
    await bootstrapStep.run(ctx);
    expect(fake.commands.some((c) => c.includes("binfmt_misc"))).toBe(false);
    expect(toolCall(fake)?.argv).toContain("--arch=i386");
  });
});

describe("bootstrap failures name what failed", () => {
  it("debootstrap: the package it could not download and the mirror", async () => {
    const { ctx, fake } = setup("suite: bookworm\nmirror: {build: 'http://mirror.local/debian'}\n");
    fake.on("debootstrap", {
      exitCode: 1,
      stdout: "I: Retrieving Packages\nI: Validating Packages\n",
      stderr: "E: Couldn't download package libc6 (2.36-9+deb12u4 amd64) from http://mirror.local/debian\n",
    });
    const err = (await bootstrapStep.run(ctx).catch((e: unknown) => e)) as VerificationError;
    expect(err).toBeInstanceOf(VerificationError);
    expect(err.message).toContain(
      "debootstrap of bookworm amd64 from http://mirror.local/debian failed (exit code 1)",
    );
    expect(err.message).toContain("E: Couldn't download package libc6 (2.36-9+deb12u4 amd64)");
    expect(err.hint).toContain("/logs/build.log");
  });

  it("debootstrap: the release file URL", async () => {
    const { ctx, fake } = setup("suite: bookworm\n");
    fake.on("debootstrap", {
      exitCode: 1,
      stderr: "E: Failed getting release file http://deb.debian.org/debian/dists/bookworm/Release\n",
    });
    const err = (await bootstrapStep.run(ctx).catch((e: unknown) => e)) as Error;
    expect(err.message).toContain(
      "Failed getting release file http://deb.debian.org/debian/dists/bookworm/Release",
    );
  });

  it("debootstrap without a telling line: the tail of its own log", async () => {
    const { ctx, fake } = setup("suite: bookworm\n");
    fake.on("debootstrap", {
      exitCode: 1,
      stderr: "W: Failure trying to run: chroot ... dpkg --force-depends --install\n",
    });
    fake.on(/^tail -n 15 .*debootstrap\.log$/, {
      stdout: "dpkg: error processing package base-files (--install):\n",
    });
    const err = (await bootstrapStep.run(ctx).catch((e: unknown) => e)) as Error;
    expect(err.message).toContain("dpkg: error processing package base-files");
  });

  it("mmdebstrap: apt's fetch error", async () => {
    const { ctx, fake } = setup("suite: trixie\nbootstrap: {tool: mmdebstrap}\n");
    fake.on("mmdebstrap", {
      exitCode: 1,
      stderr: [
        "I: running apt-get update...",
        "E: Failed to fetch http://deb.debian.org/debian/dists/trixie/main/binary-amd64/Packages  404  Not Found [IP: 1.2.3.4 80]",
        "E: Some index files failed to download. They have been ignored, or old ones used instead.",
        "E: apt-get update failed",
        "",
      ].join("\n"),
    });
    const err = (await bootstrapStep.run(ctx).catch((e: unknown) => e)) as Error;
    expect(err.message).toContain(
      "E: Failed to fetch http://deb.debian.org/debian/dists/trixie/main/binary-amd64/Packages",
    );
    expect(err.message).not.toContain("Some index files");
  });

  it("a Release file the keyring does not verify: names the keyring, the fix, and no way around it", async () => {
    const { ctx, fake } = setup("suite: bookworm\nbootstrap: {keyring: mirror.gpg}\n");
    fake.on("debootstrap", {
      exitCode: 1,
      stderr: "E: Release signed by unknown key (key id F8D2585B8783D481)\n",
    });
    const err = (await bootstrapStep.run(ctx).catch((e: unknown) => e)) as VerificationError;
    expect(err).toBeInstanceOf(VerificationError);
    expect(err.message).toContain(
      "the signature of its Release file does not verify with bootstrap.keyring: mirror.gpg (in images/img/image.yaml)",
    );
    expect(err.message).toContain("E: Release signed by unknown key (key id F8D2585B8783D481)");
    expect(err.hint).toContain("put the key that signs http://deb.debian.org/debian into mirror.gpg");
    expect(err.hint).toContain("vmlive has no option to turn signature checks off");
    // Not a mirror that did not answer: tried once.
    expect(fake.calls.filter((c) => c.argv[0] === "debootstrap")).toHaveLength(1);

    const def = setup("suite: bookworm\nbootstrap: {tool: mmdebstrap}\n");
    def.fake.on("mmdebstrap", {
      exitCode: 1,
      stderr: "E: The repository 'http://deb.debian.org/debian bookworm InRelease' is not signed.\n",
    });
    const e2 = (await bootstrapStep.run(def.ctx).catch((e: unknown) => e)) as VerificationError;
    expect(e2.message).toContain(`does not verify with Debian's archive keyring ${DEBIAN_KEYRING}`);
    expect(e2.hint).toContain("needs its signing key as bootstrap.keyring");
  });

  it("an interruption stays what it is", async () => {
    const { ctx, fake } = setup("suite: bookworm\n");
    fake.on("debootstrap", () => {
      throw new CommandError(["debootstrap"], "vm", { cause: "cancelled" });
    });
    const err = await bootstrapStep.run(ctx).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CommandError);
  });
});
