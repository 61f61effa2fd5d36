// The package cache as a build's steps see it: the proxy's URL from the
// machine they run on, in the BuildContext, and what each step passes to its
// tool for a given mirror. A context without it (--no-cache, VMLIVE_CACHE=off,
// apt-cacher-ng missing) gets no proxy anywhere.
import type { BuildContext } from "../pipeline/context.js";
import { proxyForMirror } from "./through-proxy.js";

/** The proxy a step uses to fetch from `mirror`, or undefined to fetch directly. */
export function stepProxy(ctx: BuildContext, mirror: string): string | undefined {
  return proxyForMirror(ctx.packageCache?.proxy, mirror);
}

/** " through the package cache" when a step's downloads from `mirror` go through it, for its log line. */
export function viaCache(ctx: BuildContext, mirror: string): string {
  return stepProxy(ctx, mirror) === undefined ? "" : " through the package cache";
}
