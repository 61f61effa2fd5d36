import { describe, expect, it } from "vitest";
import { parseImageConfig } from "../../../src/config/load.js";
import { customizeStep } from "../../../src/steps/customize.js";
import { buildSourcesList, imageSourcesFile, packageList } from "../../../src/steps/customize/apt.js";
import { enableLocale } from "../../../src/steps/customize/system.js";
import { FakeMachine } from "../../support/fake-machine.js";
import { stepContext } from "../../support/step-context.js";

const ROOT = "/w/img";
const ROOTFS = `${ROOT}/rootfs`;
const MARKER = `${ROOT}/.customize-unfinished`;
const cfg = (yaml: string) => parseImageConfig("description: test\n" + yaml, "image.yaml");

function inner(argv: readonly string[]): string[] | undefined {
  if (argv[0] !== "unshare") return undefined;
  const rest = argv.slice(argv.indexOf("-i") + 1);
  return rest.slice(rest.findIndex((w) => !/^[A-Za-z_][A-Za-z0-9_]*=/.test(w)));
}
const chrootIs =
  (...cmd: string[]) =>
  (argv: readonly string[]) => {
    const c = inner(argv);
    return c !== undefined && cmd.every((w, i) => c[i] === w);
  };
const writes = (fake: FakeMachine) =>
  new Map(
    fake.calls
      .map((c) => ({ c, cmd: inner(c.argv) }))
      .filter(({ cmd }) => cmd?.[3] === "vmlive-write")
      .map(({ c, cmd }) => [cmd![4]!, String(c.opts?.stdin ?? "")] as const),
  );

function setup(yaml = "suite: bookworm\n") {
  // A stateful marker: written by prepare, removed by finish.
  let marker = false;
  const fake = new FakeMachine()
    .on(
      (a) => a[0] === "test" && a[2] === MARKER,
      () => ({ exitCode: marker ? 0 : 1 }),
    )
    .on(
      (a) => a.at(-1) === MARKER && a[0] === "sh",
      () => ((marker = true), {}),
    )
    .on(
      (a) => a[0] === "rm" && a.includes(MARKER),
      () => ((marker = false), {}),
    )
    .on(chrootIs("dpkg-query", "-L", "dpkg"), { stdout: "/sbin/start-stop-daemon\n" })
    .on(chrootIs("readlink"), { exitCode: 1 })
    .on(chrootIs("getent"), { exitCode: 2 })
    .on(/^cat .*\.customize-resolv-link$/, { exitCode: 1 });
  const { ctx, said } = stepContext({ yaml, machine: fake, root: ROOT });
  return { ctx, fake, said, isMarked: () => marker };
}

describe("the image's apt sources", () => {
  it("bookworm: classic sources.list with updates and security", () => {
    const f = imageSourcesFile(cfg("suite: bookworm\nbootstrap: {components: [main, non-free-firmware]}\n"));
    expect(f.path).toBe("/etc/apt/sources.list");
    expect(f.other).toBe("/etc/apt/sources.list.d/debian.sources");
    expect(f.text).toBe(
      "deb http://deb.debian.org/debian bookworm main non-free-firmware\n" +
        "deb http://deb.debian.org/debian bookworm-updates main non-free-firmware\n" +
        "deb http://security.debian.org/debian-security bookworm-security main non-free-firmware\n",
    );
  });

  it("trixie: deb822 debian.sources", () => {
    const f = imageSourcesFile(cfg("suite: trixie\nmirror: {image: 'https://ftp.example.org/debian/'}\n"));
    expect(f.path).toBe("/etc/apt/sources.list.d/debian.sources");
    expect(f.other).toBe("/etc/apt/sources.list");
    expect(f.text).toBe(
      "Types: deb\nURIs: https://ftp.example.org/debian\nSuites: trixie trixie-updates\nComponents: main\n\n" +
        "Types: deb\nURIs: http://security.debian.org/debian-security\nSuites: trixie-security\nComponents: main\n",
    );
  });

  it("sid and forky: no security, no updates", () => {
    for (const suite of ["sid", "forky"]) {
      const f = imageSourcesFile(cfg(`suite: ${suite}\n`));
      expect(f.text).toBe(
        `Types: deb\nURIs: http://deb.debian.org/debian\nSuites: ${suite}\nComponents: main\n`,
      );
    }
  });

  it("leaves out what the config turns off", () => {
    expect(imageSourcesFile(cfg("suite: bullseye\nmirror: {security: null, updates: false}\n")).text).toBe(
      "deb http://deb.debian.org/debian bullseye main\n",
    );
  });

  it("the build uses the build mirror only, signed by the image's keyring when it has one", () => {
    const c = cfg(
      "suite: bookworm\nmirror: {build: 'http://10.0.2.2:3142/debian'}\nbootstrap: {keyring: k.asc}\n",
    );
    expect(buildSourcesList(c)).toContain(
      "\ndeb [signed-by=/etc/apt/keyrings/vmlive-build.asc] http://10.0.2.2:3142/debian bookworm main\n",
    );
  });
});

describe("package list", () => {
  it("adds what identity settings need and keeps bullseye's gzip initramfs", () => {
    expect(packageList(cfg("suite: bullseye\nuser: {sudo: false}\n"))).toEqual([
      "linux-image-amd64",
      "live-boot",
    ]);
    expect(
      packageList(
        cfg(
          "arch: arm64\nuser: {shell: /usr/bin/zsh}\nlocale: en_US.UTF-8\ntimezone: Asia/Tokyo\npackages: [zsh, live-boot]\n",
        ),
      ),
    ).toEqual(["linux-image-arm64", "live-boot", "zstd", "sudo", "zsh", "locales", "tzdata"]);
  });
});

describe("enableLocale", () => {
  it("uncomments the line, appends a missing one, leaves an enabled one", () => {
    const sup = "en_US.UTF-8 UTF-8\nen_US ISO-8859-1\n";
    expect(enableLocale("# en_US.UTF-8 UTF-8\n", sup, "en_US.UTF-8")).toBe("en_US.UTF-8 UTF-8\n");
    expect(enableLocale("# header\n", sup, "en_US")).toBe("# header\nen_US ISO-8859-1\n");
    expect(enableLocale("en_US.UTF-8 UTF-8\n", sup, "en_US.UTF-8")).toBe("en_US.UTF-8 UTF-8\n");
    expect(enableLocale("", sup, "fr_FR.UTF-8")).toBeUndefined();
  });
});

describe("finish and cleanup", () => {
  it("cleanup after a failed run undoes the build, and a second cleanup does nothing", async () => {
    const { ctx, fake, isMarked } = setup("suite: trixie\n");
    fake.on(chrootIs("apt-get", "install"), { exitCode: 100, stderr: "E: Unable to locate package nope\n" });
    await expect(customizeStep.run(ctx)).rejects.toThrow(/exit code 100/);
    expect(isMarked()).toBe(true);

    const before = fake.calls.length;
    await customizeStep.cleanup!(ctx);
    const after = fake.calls.slice(before);
    const cmds = after.map((c) => (inner(c.argv) ?? c.argv).join(" "));
    expect(isMarked()).toBe(false);
    // The image's sources replace the build's.
    const w = new Map(
      after
        .map((c) => ({ c, cmd: inner(c.argv) }))
        .filter(({ cmd }) => cmd?.[3] === "vmlive-write")
        .map(({ c, cmd }) => [cmd![4]!, String(c.opts?.stdin ?? "")] as const),
    );
    expect(w.get("/etc/apt/sources.list.d/debian.sources")).toContain("Suites: trixie trixie-updates");
    expect(cmds).toContain("rm -f /etc/apt/sources.list");
    expect(w.get("/etc/machine-id")).toBe("");
    expect(w.get("/etc/resolv.conf")).toBe("");
    // policy-rc.d, the apt/dpkg build config, the build keyring.
    expect(cmds).toContainEqual(
      expect.stringMatching(
        new RegExp(
          `^rm -f ${ROOTFS}/usr/sbin/policy-rc.d ${ROOTFS}/etc/apt/apt.conf.d/00vmlive-build ${ROOTFS}/etc/dpkg/dpkg.cfg.d/00vmlive-build `,
        ),
      ),
    );
    // The diversion: only our LOCAL one, by a fixed script.
    const undivert = after
      .map((c) => inner(c.argv))
      .find((c) => c?.[0] === "sh" && c[2]?.includes("dpkg-divert"));
    expect(undivert?.[2]).toContain('dpkg-divert --rename --remove "$p"');
    expect(undivert?.[2]).toContain("/sbin/start-stop-daemon /usr/sbin/start-stop-daemon");
    expect(cmds).toContain("apt-get clean");
    const clean = after.find((c) => c.argv[0] === "sh" && c.argv[3] === "vmlive-clean");
    expect(clean?.argv[4]).toBe(ROOTFS);
    for (const p of [
      "/etc/ssh/ssh_host_*",
      "/var/lib/dbus/machine-id",
      "/tmp/vmlive-hooks",
      "/var/cache/debconf/*-old",
      "/root/.bash_history",
    ])
      expect(clean?.argv[2]).toContain(p);
    expect(clean?.argv[2]).toContain("truncate -s 0");
    const find = after.find((c) => c.argv[0] === "find")!.argv;
    expect(find).toEqual(
      expect.arrayContaining([
        `${ROOTFS}/var/lib/apt/lists`,
        `${ROOTFS}/tmp`,
        `${ROOTFS}/var/tmp`,
        "!",
        "-path",
        `${ROOTFS}/var/lib/apt/lists/partial`,
      ]),
    );

    const again = fake.calls.length;
    await customizeStep.cleanup!(ctx);
    expect(fake.calls.slice(again).map((c) => c.argv.join(" "))).toEqual([`test -e ${MARKER}`]);
  });

  it("cleanup when customize never started does nothing", async () => {
    const { ctx, fake } = setup();
    await customizeStep.cleanup!(ctx);
    expect(fake.calls.map((c) => c.argv.join(" "))).toEqual([`test -e ${MARKER}`]);
  });

  it("a successful run leaves nothing for cleanup", async () => {
    const { ctx, fake, isMarked } = setup();
    await customizeStep.run(ctx);
    expect(isMarked()).toBe(false);
    const n = fake.calls.length;
    await customizeStep.cleanup!(ctx);
    expect(fake.calls.length).toBe(n + 1);
  });

  it("without a root filesystem, finish only forgets its markers", async () => {
    const { ctx, fake } = setup();
    fake.on((a) => a[0] === "test" && a[2] === MARKER, { exitCode: 0 });
    fake.on((a) => a[0] === "test" && a[2] === `${ROOTFS}/usr/bin/env`, { exitCode: 1 });
    await customizeStep.cleanup!(ctx);
    expect(fake.calls.some((c) => c.argv[0] === "unshare")).toBe(false);
    expect(fake.commands.at(-1)).toBe(`rm -f ${MARKER} ${ROOT}/.customize-resolv-link`);
  });

  it("with openssh-server installed, host keys are made at first boot by a unit", async () => {
    const { ctx, fake } = setup();
    fake.on(chrootIs("dpkg-query", "-W", "-f=${db:Status-Status}", "openssh-server"), {
      stdout: "installed",
    });
    await customizeStep.run(ctx);
    const unit = writes(fake).get("/etc/systemd/system/vmlive-ssh-keygen.service");
    expect(unit).toContain("ConditionPathExistsGlob=!/etc/ssh/ssh_host_*_key");
    expect(unit).toContain("ExecStart=/usr/bin/ssh-keygen -A");
    expect(unit).toContain("Before=ssh.service");
    const links = fake.calls.map((c) => inner(c.argv)).filter((c) => c?.[3] === "vmlive-enable");
    expect(links.map((c) => c![5])).toEqual([
      "/etc/systemd/system/multi-user.target.wants/vmlive-ssh-keygen.service",
      "/etc/systemd/system/ssh.service.wants/vmlive-ssh-keygen.service",
    ]);
  });

  it("puts back a resolv.conf symlink the image had, instead of an empty file", async () => {
    const { ctx, fake } = setup("suite: trixie\n");
    fake.on(chrootIs("readlink", "/etc/resolv.conf"), {
      stdout: "../run/systemd/resolve/stub-resolv.conf\n",
    });
    let link = "";
    fake.on(
      (a) => a.at(-1)?.endsWith(".customize-resolv-link") === true && a[0] === "sh",
      (_a, o) => ((link = String(o.stdin)), {}),
    );
    fake.on(/^cat .*\.customize-resolv-link$/, () => ({ stdout: link }));
    await customizeStep.run(ctx);
    const cmds = fake.calls.map((c) => (inner(c.argv) ?? []).join(" "));
    expect(cmds).toContain("ln -sfn ../run/systemd/resolve/stub-resolv.conf /etc/resolv.conf");
  });
});
