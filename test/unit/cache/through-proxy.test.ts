// Which mirrors go through the package cache and what each tool is given;
// the apt settings are read back by apt-config, apt's own parser.
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import {
  aptProxyConf,
  aptProxyOptions,
  bypassReason,
  proxyEnv,
  proxyForMirror,
  proxyUrl,
} from "../../../src/cache/through-proxy.js";
import { tempDir } from "../../support/tmp.js";

const hasAptConfig = (() => {
  try {
    execFileSync("apt-config", ["--version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
})();

describe("through the proxy", () => {
  it("names the host's loopback as each machine reaches it", () => {
    expect(proxyUrl("host", 23142)).toBe("http://127.0.0.1:23142/");
    expect(proxyUrl("vm", 23142)).toBe("http://10.0.2.2:23142/");
  });

  it.each([
    ["http://deb.debian.org/debian", undefined],
    ["http://mirror.lan:8080/debian", undefined],
    ["http://10.1.2.3/debian", undefined],
    [
      "https://deb.debian.org/debian",
      /is https: a proxy cannot cache what TLS hides, so it is fetched directly$/,
    ],
    ["file:///srv/mirror", /is not an http:\/\/ mirror$/],
    ["http://localhost:3142/debian", /is on this machine: nothing to cache$/],
    ["http://127.0.0.1/debian", /is on this machine/],
    ["http://[::1]/debian", /is on this machine/],
    ["http://10.0.2.2:8000/debian", /is on this machine/],
  ])("%s: %s", (mirror, why) => {
    const r = bypassReason(mirror);
    if (why === undefined) expect(r).toBeUndefined();
    else expect(r).toMatch(why);
    expect(proxyForMirror("http://127.0.0.1:23142/", mirror)).toBe(
      why === undefined ? "http://127.0.0.1:23142/" : undefined,
    );
  });

  it("gives nothing at all without a proxy", () => {
    expect(proxyForMirror(undefined, "http://deb.debian.org/debian")).toBeUndefined();
    expect(proxyEnv(undefined)).toEqual({});
    expect(aptProxyOptions(undefined)).toEqual([]);
    expect(aptProxyConf(undefined)).toBe("");
  });

  it("tells wget and apt by http_proxy, and apt by options that keep https direct", () => {
    expect(proxyEnv("http://10.0.2.2:23142/")).toEqual({ http_proxy: "http://10.0.2.2:23142/" });
    expect(aptProxyOptions("http://10.0.2.2:23142/")).toEqual([
      "-o",
      "Acquire::http::Proxy=http://10.0.2.2:23142/",
      "-o",
      "Acquire::https::Proxy=DIRECT",
    ]);
  });

  it.runIf(hasAptConfig)("writes apt.conf lines that apt reads as meant", () => {
    const file = path.join(tempDir("vmlive-cache-aptconf-"), "00vmlive-build");
    writeFileSync(file, aptProxyConf("http://127.0.0.1:23142/"));
    const dump = execFileSync("apt-config", ["-c", file, "dump", "Acquire"], {
      encoding: "utf8",
      env: { ...process.env, APT_CONFIG: "/dev/null" },
    });
    expect(dump).toContain('Acquire::http::Proxy "http://127.0.0.1:23142/";');
    expect(dump).toContain('Acquire::https::Proxy "DIRECT";');
  });
});
