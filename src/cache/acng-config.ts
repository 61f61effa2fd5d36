// apt-cacher-ng's config for vmlive's own instance: its folders below
// cacheDir()/packages, loopback only, in the foreground (vmlive starts and
// stops it), and none of Debian's system-wide settings.
import path from "node:path";
import type { CachePaths } from "./paths.js";

/** The config file's name in the config folder (apt-cacher-ng reads every *.conf there). */
export const ACNG_CONF = "acng.conf";
/** Where Debian's apt-cacher-ng keeps its support files (error pages, mirror lists). */
export const ACNG_SUPPORT_DIR = "/usr/lib/apt-cacher-ng";
/**
 * Ports apt-cacher-ng 3.7 can bind: with a port of 32768 or more it fails with
 * "Error resolving address for binding" (the port goes through a signed 16-bit
 * number), so vmlive picks its port below that.
 */
export const ACNG_PORTS = { min: 20_000, max: 32_767 } as const;

export interface AcngSettings {
  port: number;
  /** The proxy apt-cacher-ng itself must use to reach the mirrors (the host's http_proxy), if any. */
  upstreamProxy?: string;
}

/**
 * acng.conf. No Remap- rules, unlike Debian's default config: every URL is
 * fetched from the host it names and cached under HOST/PATH, so a build gets
 * its image's own mirror, never one from apt-cacher-ng's mirror list.
 */
export function acngConfig(p: CachePaths, s: AcngSettings): string {
  if (!Number.isInteger(s.port) || s.port < 1 || s.port > ACNG_PORTS.max)
    throw new Error(`apt-cacher-ng cannot listen on port ${s.port}: use 1 to ${ACNG_PORTS.max}`);
  if (s.upstreamProxy !== undefined && !/^https?:\/\/\S+$/.test(s.upstreamProxy))
    throw new Error(`not a proxy URL for apt-cacher-ng: ${JSON.stringify(s.upstreamProxy)}`);
  const lines = [
    "# vmlive's package cache; written by vmlive each time it starts apt-cacher-ng",
    `CacheDir: ${p.files}`,
    `LogDir: ${p.log}`,
    `SupportDir: ${ACNG_SUPPORT_DIR}`,
    // Loopback only; a builder VM reaches it as 10.0.2.2, which qemu's user networking maps here.
    "BindAddress: 127.0.0.1",
    `Port: ${s.port}`,
    `PidFile: ${path.join(p.run, "acng.pid")}`,
    `SocketPath: ${path.join(p.run, "acng.socket")}`,
    "ForeGround: 1",
    // Every transfer line on disk at once: `vmlive cache` and the tests read the log while it runs.
    "UnbufferLogs: 1",
    // Mirrors on other ports than 80 (http://mirror.lan:8080/debian) are allowed as any image may name them.
    "AllowUserPorts: 0",
    // ReportPage is left unset: no maintenance web page, nothing on the port but the cache.
    ...(s.upstreamProxy ? [`Proxy: ${s.upstreamProxy}`] : []),
  ];
  return lines.join("\n") + "\n";
}

/** The argv that starts apt-cacher-ng with the config folder `p.run`. */
export function acngArgv(program: string, p: CachePaths): string[] {
  return [program, "-c", p.run];
}
