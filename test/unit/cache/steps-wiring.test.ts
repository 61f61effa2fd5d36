// The steps with and without the package cache: the bootstrap tool gets
// http_proxy, apt in the image gets the proxy in the build's own apt.conf.d
// file, the GRUB download gets -o options; an https mirror or no cache gets
// none of it.
import { describe, expect, it } from "vitest";
import type { BuildCache } from "../../../src/pipeline/context.js";
import { bootstrapStep } from "../../../src/steps/bootstrap.js";
import { unpackFromArchive } from "../../../src/steps/boot/archive-debs.js";
import { APT_BUILD_CONF, APT_BUILD_CONF_TEXT, prepare } from "../../../src/steps/customize/prepare.js";
import { FakeMachine } from "../../support/fake-machine.js";
import { stepContext } from "../../support/step-context.js";

const PROXY = "http://10.0.2.2:23142/";
const HTTPS = "mirror: {build: 'https://deb.debian.org/debian'}\n";

function setup(yaml: string, cache?: BuildCache) {
  const fake = new FakeMachine()
    .on(/^dpkg --print-architecture$/, { stdout: "amd64\n" })
    .on((a) => a.includes("dpkg-query") && a.includes("-L"), { stdout: "/.\n/sbin/start-stop-daemon\n" })
    .on("find", { stdout: "/work/img/archive/debs/grub-efi-arm64-bin_2.12-9_arm64.deb\n" });
  const s = stepContext({ yaml, machine: fake });
  s.ctx.packageCache = cache;
  return { ...s, fake };
}

/** What prepare() wrote to `file` inside the image. */
function writtenInRootfs(fake: FakeMachine, file: string): string | undefined {
  const call = fake.calls
    .filter((c) => c.argv[0] === "unshare" && c.argv.includes("vmlive-write") && c.argv.includes(file))
    .at(-1);
  return call?.opts?.stdin?.toString();
}

describe("bootstrap and the package cache", () => {
  const toolEnv = (fake: FakeMachine) => fake.calls.find((c) => c.argv[0] === "debootstrap")?.opts?.env;

  it("debootstrap fetches through the proxy, and says so", async () => {
    const { ctx, fake, said } = setup("suite: bookworm\n", { proxy: PROXY });
    await bootstrapStep.run(ctx);
    expect(toolEnv(fake)).toMatchObject({ http_proxy: PROXY, SOURCE_DATE_EPOCH: "1700000000" });
    expect(said).toContain(
      "debootstrap minbase bookworm amd64 from http://deb.debian.org/debian through the package cache",
    );
  });

  it("no proxy without the cache, or for an https mirror", async () => {
    for (const [yaml, cache] of [
      ["suite: bookworm\n", undefined],
      [HTTPS, { proxy: PROXY }],
    ] as const) {
      const { ctx, fake, said } = setup(yaml, cache);
      await bootstrapStep.run(ctx);
      expect(Object.keys(toolEnv(fake) ?? {})).not.toContain("http_proxy");
      expect(said.join("\n")).not.toContain("package cache");
    }
  });
});

describe("customize's apt and the package cache", () => {
  it("puts the proxy in the build's apt.conf.d file only, https kept direct", async () => {
    const { ctx, fake } = setup("suite: bookworm\n", { proxy: PROXY });
    await prepare(ctx);
    expect(writtenInRootfs(fake, APT_BUILD_CONF)).toBe(
      APT_BUILD_CONF_TEXT + `Acquire::http::Proxy "${PROXY}";\nAcquire::https::Proxy "DIRECT";\n`,
    );
    const others = fake.calls.filter(
      (c) =>
        c.argv.includes("vmlive-write") &&
        !c.argv.includes(APT_BUILD_CONF) &&
        c.opts?.stdin?.toString().includes("10.0.2.2"),
    );
    expect(others).toEqual([]);
  });

  it("writes the plain build config without the cache or for an https mirror", async () => {
    for (const [yaml, cache] of [
      ["suite: bookworm\n", undefined],
      [HTTPS, { proxy: PROXY }],
    ] as const) {
      const { ctx, fake } = setup(yaml, cache);
      await prepare(ctx);
      expect(writtenInRootfs(fake, APT_BUILD_CONF)).toBe(APT_BUILD_CONF_TEXT);
    }
  });
});

describe("the GRUB download and the package cache", () => {
  const aptCalls = (fake: FakeMachine) => fake.calls.filter((c) => c.argv[0] === "apt-get");

  it("passes the proxy to apt-get update and download", async () => {
    const { ctx, fake, said } = setup("suite: trixie\narch: arm64\n", { proxy: PROXY });
    await unpackFromArchive(ctx, ["grub-efi-arm64-bin"], "/work/img/archive");
    const calls = aptCalls(fake);
    expect(calls).toHaveLength(2);
    for (const c of calls)
      expect(c.argv.join(" ")).toContain(`-o Acquire::http::Proxy=${PROXY} -o Acquire::https::Proxy=DIRECT`);
    expect(said.at(-1)).toMatch(/from http:\/\/deb\.debian\.org\/debian through the package cache$/);
  });

  it("no proxy options without the cache", async () => {
    const { ctx, fake } = setup("suite: trixie\narch: arm64\n");
    await unpackFromArchive(ctx, ["grub-efi-arm64-bin"], "/work/img/archive");
    for (const c of aptCalls(fake)) expect(c.argv.join(" ")).not.toContain("Proxy");
  });
});
