import { describe, expect, it } from "vitest";
import { VerificationError } from "../../../src/errors.js";
import { makeReport } from "../../../src/report/report.js";
import { checkStep, expectations } from "../../../src/steps/check.js";
import {
  ABSENT,
  aptProxyValue,
  CHECKS,
  divertedSsd,
  envProxy,
  redact,
  sourceUris,
} from "../../../src/steps/check/leftovers.js";
import { CHECK_SCRIPT } from "../../../src/steps/check/script.js";
import { CHROOT_HOOK_DIR } from "../../../src/steps/customize/hooks.js";
import { STEPS } from "../../../src/steps/index.js";
import { FakeMachine } from "../../support/fake-machine.js";
import { stepContext } from "../../support/step-context.js";

const ROOT = "/w/img";
const ROOTFS = `${ROOT}/rootfs`;
const BUILD = "http://10.0.2.2:3142/debian";
const OTHER_MIRROR = `mirror: {build: '${BUILD}'}\n`;
const LOCKED = "root\t/etc/shadow\t!";
const END = "end\t\t";

const isCheck = (a: readonly string[]) => a[0] === "sh" && a[3] === "vmlive-check";
const index = (pattern: string) => String(ABSENT.findIndex((a) => a.pattern === pattern));

/** Run the step with the script answering `records` (the root line and the end are added unless given). */
async function check(records: string[], yaml = OTHER_MIRROR) {
  const lines = [...records];
  if (!lines.some((l) => l.startsWith("root\t") || l.startsWith("no-rootfs\t"))) lines.push(LOCKED);
  if (!lines.includes(END)) lines.push(END);
  const fake = new FakeMachine().on(isCheck, { stdout: lines.join("\n") + "\n" });
  const s = stepContext({ yaml, machine: fake, root: ROOT });
  let error: unknown;
  try {
    await checkStep.run(s.ctx);
  } catch (e) {
    error = e;
  }
  return { ...s, fake, error, found: s.ctx.state.check?.found ?? [] };
}

describe("the check step in the pipeline", () => {
  it("runs right after customize and before boot", () => {
    expect(STEPS.map((s) => s.name)).toEqual([
      "bootstrap",
      "customize",
      "check",
      "boot",
      "squash",
      "iso",
      "verify",
      "collect",
    ]);
    expect(checkStep.verify(stepContext().ctx.image)).toEqual([]);
  });

  it("a clean root passes, in one trip to the machine, and the state records what was checked", async () => {
    const { fake, error, ctx, said } = await check([]);
    expect(error).toBeUndefined();
    expect(fake.calls).toHaveLength(1);
    expect(ctx.state.check).toEqual({ leftovers: 0, checked: Object.values(CHECKS), found: [] });
    expect(said.at(-1)).toMatch(/^no build leftovers in the image; checked: policy-rc\.d, /);
  });

  it("does not look for the build mirror in apt sources when the image uses it too", async () => {
    const { fake, ctx } = await check([], "");
    expect(fake.calls[0]!.argv[5]).toBe("");
    expect(ctx.state.check?.checked).not.toContain(CHECKS.mirror);
    const security = await check([], `mirror: {build: 'http://security.debian.org/debian-security'}\n`);
    expect(security.fake.calls[0]!.argv[5]).toBe("");
  });

  it("report.json carries the result", async () => {
    const { ctx } = await check(["machine-id\t/etc/machine-id\t"]);
    const report = makeReport({
      image: "img",
      suite: "bookworm",
      arch: "amd64",
      status: "failed",
      started: "",
      finished: "",
      seconds: 1,
      machine: "fake",
      sourceDateEpoch: 0,
      steps: [],
      tools: {},
      config: ctx.image.config,
      state: ctx.state,
    });
    expect(report.check?.leftovers).toBe(1);
    expect(report.check?.found[0]?.path).toBe("/etc/machine-id");
    expect(JSON.parse(JSON.stringify(report)).check.checked).toContain(CHECKS.machineId);
  });
});

describe("every kind of leftover is found and named", () => {
  const cases: [string, string[], string, RegExp][] = [
    [
      "customize's unfinished marker",
      [`marker\t${ROOT}/.customize-unfinished\t`],
      `${ROOT}/.customize-unfinished`,
      /its finish did not complete/,
    ],
    [
      "customize's resolv.conf note",
      [`marker\t${ROOT}/.customize-resolv-link\t`],
      `${ROOT}/.customize-resolv-link`,
      /resolv\.conf symlink/,
    ],
    [
      "policy-rc.d",
      [`present\t${index("/usr/sbin/policy-rc.d")}\t/usr/sbin/policy-rc.d`],
      "/usr/sbin/policy-rc.d",
      /invoke-rc\.d would start no daemon/,
    ],
    [
      "the build's apt config",
      [`present\t${index("/etc/apt/apt.conf.d/00vmlive-build")}\t/etc/apt/apt.conf.d/00vmlive-build`],
      "/etc/apt/apt.conf.d/00vmlive-build",
      /build's apt settings/,
    ],
    [
      "the build's dpkg config",
      [`present\t${index("/etc/dpkg/dpkg.cfg.d/00vmlive-build")}\t/etc/dpkg/dpkg.cfg.d/00vmlive-build`],
      "/etc/dpkg/dpkg.cfg.d/00vmlive-build",
      /force-unsafe-io/,
    ],
    [
      "the build keyring",
      [`present\t${index("/etc/apt/keyrings/vmlive-build.asc")}\t/etc/apt/keyrings/vmlive-build.asc`],
      "/etc/apt/keyrings/vmlive-build.asc",
      /build mirror's keyring/,
    ],
    [
      "an SSH host key",
      [`present\t${index("/etc/ssh/ssh_host_*")}\t/etc/ssh/ssh_host_ed25519_key`],
      "/etc/ssh/ssh_host_ed25519_key",
      /every copy of the image would have the same one/,
    ],
    [
      "the hook folder",
      [`present\t${index("/tmp/vmlive-*")}\t${CHROOT_HOOK_DIR}`],
      CHROOT_HOOK_DIR,
      /vmlive's temporary file/,
    ],
    [
      "a half-written file",
      ["half-written\t/etc/hosts.vmlive-new\t"],
      "/etc/hosts.vmlive-new",
      /interrupted/,
    ],
    [
      "the start-stop-daemon diversion",
      [
        "diversion\t/var/lib/dpkg/diversions\t/sbin/start-stop-daemon",
        "diversion\t/var/lib/dpkg/diversions\t/sbin/start-stop-daemon.distrib",
        "diversion\t/var/lib/dpkg/diversions\t:",
      ],
      "/sbin/start-stop-daemon",
      /still diverted to \/sbin\/start-stop-daemon\.distrib \(a local diversion/,
    ],
    [
      "the start-stop-daemon stub",
      ["stub\t/usr/sbin/start-stop-daemon\t"],
      "/usr/sbin/start-stop-daemon",
      /shell script, the build's stub/,
    ],
    ["a machine id", ["machine-id\t/etc/machine-id\t"], "/etc/machine-id", /holds a machine id: every copy/],
    [
      "D-Bus's machine id",
      ["machine-id\t/var/lib/dbus/machine-id\t"],
      "/var/lib/dbus/machine-id",
      /systemd takes it when \/etc\/machine-id is empty/,
    ],
    [
      "the build mirror in sources.list",
      [`source\t/etc/apt/sources.list\t3:deb [signed-by=/etc/apt/keyrings/k.gpg] ${BUILD} bookworm main`],
      "/etc/apt/sources.list:3",
      /names the build mirror http:\/\/10\.0\.2\.2:3142\/debian \(mirror\.build\)/,
    ],
    [
      "the build mirror in a deb822 file",
      [`source\t/etc/apt/sources.list.d/debian.sources\t2:URIs: ${BUILD}/`],
      "/etc/apt/sources.list.d/debian.sources:2",
      /names the build mirror/,
    ],
    [
      "an apt proxy",
      ['apt-proxy\t/etc/apt/apt.conf.d/01proxy\t1:Acquire::http::Proxy "http://10.0.2.2:3128";'],
      "/etc/apt/apt.conf.d/01proxy:1",
      /an apt proxy \(Acquire::http::Proxy "http:\/\/10\.0\.2\.2:3128";\)/,
    ],
    [
      "a proxy in /etc/environment",
      ['env-proxy\t/etc/environment\t2:https_proxy="http://proxy:3128"'],
      "/etc/environment:2",
      /^https_proxy=http:\/\/proxy:3128: /,
    ],
    [
      "a proxy in /etc/profile.d",
      ["env-proxy\t/etc/profile.d/proxy.sh\t1:  export no_proxy=localhost,10.0.2.2"],
      "/etc/profile.d/proxy.sh:1",
      /^no_proxy=localhost,10\.0\.2\.2/,
    ],
    [
      "the build machine's resolv.conf",
      ["resolv\t/etc/resolv.conf\t"],
      "/etc/resolv.conf",
      /build machine's copy/,
    ],
    [
      "root with a password the config does not set",
      ["root\t/etc/shadow\t$"],
      "/etc/shadow",
      /root has a password, but image\.yaml sets none/,
    ],
    ["root without any password", ["root\t/etc/shadow\t"], "/etc/shadow", /root's password is empty/],
    ["no root entry to tell", ["root\t/etc/shadow\tno-entry"], "/etc/shadow", /has no entry for root/],
  ];

  it.each(cases)("%s", async (_name, records, path, problem) => {
    const { error, found, ctx } = await check(records);
    expect(error).toBeInstanceOf(VerificationError);
    expect(found).toHaveLength(1);
    expect(found[0]!.path).toBe(path);
    expect(found[0]!.problem).toMatch(problem);
    expect(found[0]!.fix.length).toBeGreaterThan(20);
    const message = (error as VerificationError).message;
    expect(message).toContain(`the image in ${ROOTFS} still holds 1 build leftover:\n  ${path}: `);
    expect(message).toContain(`\n    fix: ${found[0]!.fix}`);
    expect(ctx.state.check?.leftovers).toBe(1);
  });

  it("reports every leftover at once, each with its fix", async () => {
    const all = cases.filter(([name]) => !name.startsWith("root") && !name.startsWith("no root"));
    const records = [...all.flatMap(([, r]) => r), "root\t/etc/shadow\t$"];
    const { error, found } = await check(records);
    const n = all.length + 1;
    expect(found.map((f) => f.path).sort()).toEqual([...all.map(([, , p]) => p), "/etc/shadow"].sort());
    const message = (error as VerificationError).message;
    expect(message.split("\n")[0]).toBe(`the image in ${ROOTFS} still holds ${n} build leftovers:`);
    expect(message.split("\n").filter((l) => l.startsWith("    fix: "))).toHaveLength(n);
    expect((error as VerificationError).hint).toMatch(/check\.found/);
  });

  it("leaves alone what is not a leftover", async () => {
    const { error, found } = await check([
      // A mirror whose URL merely starts with the build mirror's.
      `source\t/etc/apt/sources.list\t1:deb ${BUILD}-ports sid main`,
      `source\t/etc/apt/sources.list\t2:# deb ${BUILD} bookworm main`,
      'apt-proxy\t/etc/apt/apt.conf.d/01proxy\t1:Acquire::http::Proxy::deb.debian.org "DIRECT";',
      'apt-proxy\t/etc/apt/apt.conf.d/01proxy\t2:// Acquire::http::Proxy "http://old:3128";',
      'apt-proxy\t/etc/apt/apt.conf.d/01proxy\t3:Acquire::https::Proxy "false";',
      "env-proxy\t/etc/environment\t1:http_proxy=",
      "env-proxy\t/etc/profile.d/x.sh\t1:# export http_proxy=http://old:3128",
      'env-proxy\t/etc/profile.d/x.sh\t2:[ -n "$http_proxy" ] && echo proxied',
      "root\t/etc/shadow\t*",
    ]);
    expect(error).toBeUndefined();
    expect(found).toEqual([]);
  });

  it("accepts root's password when image.yaml gives one, but never an empty one", async () => {
    const yaml = "root: {locked: false, password: toor}\n";
    expect((await check(["root\t/etc/shadow\t$"], yaml)).found).toEqual([]);
    expect((await check(["root\t/etc/shadow\t!"], yaml)).found).toEqual([]);
    const empty = await check(["root\t/etc/shadow\t"], yaml);
    expect(empty.found.map((f) => f.problem)).toEqual([
      "root's password is empty: anyone can log in as root without one",
    ]);
  });

  it("never repeats a proxy's password", async () => {
    const { error, found } = await check([
      'apt-proxy\t/etc/apt/apt.conf\t1:Acquire::http::Proxy "http://bob:s3cret@proxy:3128/";',
      "env-proxy\t/etc/environment\t1:HTTPS_PROXY='http://bob:s3cret@proxy:3128'",
    ]);
    expect(found).toHaveLength(2);
    expect(JSON.stringify(found)).not.toContain("s3cret");
    expect(String(error)).not.toContain("s3cret");
    expect(found[1]!.problem).toMatch(/^HTTPS_PROXY=http:\/\/\*\*\*@proxy:3128: /);
  });
});

describe("the check script's argv", () => {
  it("is one fixed script; the rootfs, the build mirror and the paths travel as whole argv words", async () => {
    const a = await check([], OTHER_MIRROR);
    const fake = new FakeMachine().on(isCheck, { stdout: `${LOCKED}\n${END}\n` });
    const odd = "/w/my $(touch x) 'images'";
    const b = stepContext({
      yaml: "mirror: {build: 'https://m.example.org/deb'}\n",
      machine: fake,
      root: odd,
    });
    await checkStep.run(b.ctx);
    const [argvA, argvB] = [a.fake.calls[0]!.argv, fake.calls[0]!.argv];
    expect(argvA.slice(0, 4)).toEqual(["sh", "-c", CHECK_SCRIPT, "vmlive-check"]);
    expect(argvB.slice(0, 4)).toEqual(argvA.slice(0, 4));
    expect(argvA.slice(4, 9)).toEqual([
      ROOTFS,
      BUILD,
      `${ROOT}/.customize-unfinished`,
      `${ROOT}/.customize-resolv-link`,
      "--",
    ]);
    expect(argvB.slice(4, 6)).toEqual([`${odd}/rootfs`, "https://m.example.org/deb"]);
    expect(argvA.slice(9)).toEqual(ABSENT.map((r) => r.pattern));
    for (const v of [BUILD, "m.example.org", ROOT, "touch"]) expect(CHECK_SCRIPT).not.toContain(v);
    // Quiet: the script's output can hold a proxy's password; it is judged, not logged.
    expect(a.fake.calls[0]!.opts?.output).toBeUndefined();
    expect(a.lines).toEqual([]);
  });

  it("covers the hook folder and the build's files by the constants customize uses", () => {
    const patterns = ABSENT.map((r) => r.pattern);
    expect(patterns).toEqual(
      expect.arrayContaining([
        "/usr/sbin/policy-rc.d",
        "/etc/apt/apt.conf.d/00vmlive-build",
        "/etc/dpkg/dpkg.cfg.d/00vmlive-build",
        "/etc/apt/keyrings/vmlive-build.gpg",
        "/etc/apt/keyrings/vmlive-build.asc",
        "/etc/ssh/ssh_host_*",
      ]),
    );
    expect(CHROOT_HOOK_DIR.startsWith("/tmp/vmlive-")).toBe(true);
    expect(patterns).toContain("/tmp/vmlive-*");
  });

  it("no root filesystem, or a script that did not finish, fail clearly", async () => {
    const none = await check([`no-rootfs\t${ROOTFS}\t`]);
    expect(none.error).toBeInstanceOf(VerificationError);
    expect(String(none.error)).toContain(`there is no root filesystem at ${ROOTFS} to check`);
    const fake = new FakeMachine().on(isCheck, { stdout: "machine-id\t/etc/machine-id\t\n" });
    const cut = stepContext({ machine: fake, root: ROOT });
    await expect(checkStep.run(cut.ctx)).rejects.toThrow(/stopped before its end/);
    const odd = new FakeMachine().on(isCheck, { stdout: `surprise\tx\t\n${END}\n` });
    await expect(checkStep.run(stepContext({ machine: odd }).ctx)).rejects.toThrow(/never prints/);
  });
});

describe("reading the records", () => {
  it("sourceUris: one-line and deb822 sources, options and comments", () => {
    expect(sourceUris("deb http://a/debian bookworm main")).toEqual(["http://a/debian"]);
    expect(sourceUris("  deb-src [arch=amd64 signed-by=/k.gpg] https://a/x/ sid main")).toEqual([
      "https://a/x/",
    ]);
    expect(sourceUris("URIs: http://a/debian http://b/debian")).toEqual([
      "http://a/debian",
      "http://b/debian",
    ]);
    expect(sourceUris("uris: file:///srv/m")).toEqual(["file:///srv/m"]);
    expect(sourceUris("# deb http://a/debian bookworm main")).toEqual([]);
    expect(sourceUris("Suites: bookworm")).toEqual([]);
  });

  it("aptProxyValue and envProxy: settings, not mentions", () => {
    expect(aptProxyValue('Acquire::http::Proxy "http://p:3128";')).toBe("http://p:3128");
    expect(aptProxyValue('Acquire { http { Proxy "http://p:3128"; }; };')).toBe("http://p:3128");
    expect(aptProxyValue('Acquire::http::Proxy-Auto-Detect "/usr/bin/detect";')).toBe("/usr/bin/detect");
    expect(aptProxyValue('Acquire::http::Proxy::example.org "DIRECT";')).toBeUndefined();
    expect(aptProxyValue('Foo "x"; // no proxy')).toBeUndefined();
    expect(aptProxyValue('# Acquire::http::Proxy "http://p";')).toBeUndefined();
    expect(envProxy('export ftp_proxy="ftp://p:21"')).toEqual({ name: "ftp_proxy", value: "ftp://p:21" });
    expect(envProxy("ALL_PROXY=socks5://p:1080")).toEqual({ name: "ALL_PROXY", value: "socks5://p:1080" });
    expect(envProxy("no_proxy=''")).toBeUndefined();
    expect(envProxy('echo "$http_proxy"')).toBeUndefined();
  });

  it("redact and divertedSsd", () => {
    expect(redact("http://u:p@h:1/ and https://x@y/")).toBe("http://***@h:1/ and https://***@y/");
    expect(redact("http://h:1/a@b")).toBe("http://h:1/a@b");
    expect(
      divertedSsd([
        "/usr/bin/foo",
        "/usr/bin/foo.real",
        "pkg",
        "/usr/sbin/start-stop-daemon",
        "/x",
        "dpkg-x",
      ]),
    ).toEqual([{ from: "/usr/sbin/start-stop-daemon", to: "/x", pkg: "dpkg-x" }]);
  });

  it("expectations: the build mirror only when the image's sources do not name it", () => {
    const e = (yaml: string) => expectations(stepContext({ yaml }).ctx.image.config);
    expect(e("")).toEqual({ buildMirror: undefined, rootMayLogIn: false });
    expect(e(OTHER_MIRROR).buildMirror).toBe(BUILD);
    expect(e(`mirror: {build: '${BUILD}/', image: '${BUILD}'}\n`).buildMirror).toBeUndefined();
    expect(e("root: {locked: false, password_hash: '$y$j9T$abc$def'}\n").rootMayLogIn).toBe(true);
  });
});
