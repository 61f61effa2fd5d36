// Which downloads go through the package cache, and how each tool is told:
// debootstrap (wget) and mmdebstrap (apt) by http_proxy in their
// environment, apt by Acquire options. Nothing here is written into the
// image: an environment variable ends with its command, and apt's options go
// into the build's own apt.conf.d file, which customize's finish removes.

/** A machine's view of the host: the host itself, or the builder VM behind qemu's user networking. */
export type CacheSite = "host" | "vm";
/** The host's loopback as the builder VM sees it (qemu user networking's gateway). */
export const HOST_FROM_VM = "10.0.2.2";

/** The proxy's URL on `site`, for the proxy listening on the host's 127.0.0.1:`port`. */
export function proxyUrl(site: CacheSite, port: number): string {
  return `http://${site === "vm" ? HOST_FROM_VM : "127.0.0.1"}:${port}/`;
}

/** Why a mirror is fetched directly instead of through the cache; undefined when the cache serves it. */
export function bypassReason(mirror: string): string | undefined {
  let url: URL;
  try {
    url = new URL(mirror);
  } catch {
    return `${mirror} is not a URL`;
  }
  if (url.protocol === "https:")
    return `${mirror} is https: a proxy cannot cache what TLS hides, so it is fetched directly`;
  if (url.protocol !== "http:") return `${mirror} is not an http:// mirror`;
  const host = url.hostname.replace(/^\[|\]$/g, "");
  // The proxy fetches from the host: a mirror on the machine itself or the VM's view of the host would be another one there.
  if (host === "localhost" || host === "::1" || host.startsWith("127.") || host === HOST_FROM_VM)
    return `${mirror} is on this machine: nothing to cache`;
  return undefined;
}

/** The proxy to use for `mirror`: `proxy` when the cache serves that mirror, else undefined. */
export function proxyForMirror(proxy: string | undefined, mirror: string): string | undefined {
  return proxy !== undefined && bypassReason(mirror) === undefined ? proxy : undefined;
}

/** Environment for debootstrap and mmdebstrap: wget and apt both read http_proxy. */
export function proxyEnv(proxy: string | undefined): Record<string, string> {
  return proxy === undefined ? {} : { http_proxy: proxy };
}

/**
 * apt's settings for the proxy, as NAME=VALUE. https is pinned to DIRECT:
 * without it apt sends https URLs to the http proxy too (as CONNECT, which
 * apt-cacher-ng refuses), so a hook's https source would fail.
 */
export function aptProxySettings(proxy: string | undefined): [string, string][] {
  if (proxy === undefined) return [];
  return [
    ["Acquire::http::Proxy", proxy],
    ["Acquire::https::Proxy", "DIRECT"],
  ];
}

/** apt-get's -o options for the proxy. */
export function aptProxyOptions(proxy: string | undefined): string[] {
  return aptProxySettings(proxy).flatMap(([k, v]) => ["-o", `${k}=${v}`]);
}

/** apt.conf lines for the proxy. */
export function aptProxyConf(proxy: string | undefined): string {
  return aptProxySettings(proxy)
    .map(([k, v]) => `${k} "${v}";\n`)
    .join("");
}
