// apt-cacher-ng's config file, read back line by line as apt-cacher-ng reads
// it (KEY: VALUE, # comments).
import { describe, expect, it } from "vitest";
import { acngArgv, acngConfig } from "../../../src/cache/acng-config.js";
import { cachePaths } from "../../../src/cache/paths.js";

function parse(text: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const line of text.split("\n")) {
    if (!line.trim() || line.startsWith("#")) continue;
    const i = line.indexOf(":");
    expect(i).toBeGreaterThan(0);
    const key = line.slice(0, i).trim();
    expect(m.has(key)).toBe(false);
    m.set(key, line.slice(i + 1).trim());
  }
  return m;
}

describe("apt-cacher-ng's config", () => {
  const p = cachePaths("/var/cache/x/packages");

  it("keeps everything below the cache folder, on loopback, in the foreground, with no remapping", () => {
    const c = parse(acngConfig(p, { port: 23142 }));
    expect(Object.fromEntries(c)).toEqual({
      CacheDir: "/var/cache/x/packages/files",
      LogDir: "/var/cache/x/packages/log",
      SupportDir: "/usr/lib/apt-cacher-ng",
      BindAddress: "127.0.0.1",
      Port: "23142",
      PidFile: "/var/cache/x/packages/run/acng.pid",
      SocketPath: "/var/cache/x/packages/run/acng.socket",
      ForeGround: "1",
      UnbufferLogs: "1",
      AllowUserPorts: "0",
    });
    expect(acngArgv("/usr/sbin/apt-cacher-ng", p)).toEqual([
      "/usr/sbin/apt-cacher-ng",
      "-c",
      "/var/cache/x/packages/run",
    ]);
  });

  it("passes the host's own proxy on", () => {
    const c = parse(acngConfig(p, { port: 23142, upstreamProxy: "http://proxy.corp:3128" }));
    expect(c.get("Proxy")).toBe("http://proxy.corp:3128");
  });

  it("refuses ports apt-cacher-ng cannot bind and proxy values that would break the file", () => {
    expect(() => acngConfig(p, { port: 32_768 })).toThrow(/cannot listen on port 32768: use 1 to 32767/);
    expect(() => acngConfig(p, { port: 0 })).toThrow(/cannot listen on port 0/);
    expect(() => acngConfig(p, { port: 23142, upstreamProxy: "http://x\nCacheDir: /" })).toThrow(
      /not a proxy URL/,
    );
  });
});
