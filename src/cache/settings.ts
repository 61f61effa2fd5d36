// Whether a build uses the package cache: on unless --no-cache or
// VMLIVE_CACHE=off says otherwise.
import { UsageError } from "../errors.js";

type Env = Readonly<Record<string, string | undefined>>;

const OFF = ["off", "0", "no", "false"];
const ON = ["on", "1", "yes", "true", ""];

/**
 * Why the cache is not used, or undefined when it is. `flag` is the build's
 * --cache/--no-cache (undefined when not given); the flag wins over the variable.
 */
export function cacheOffReason(flag: boolean | undefined, env: Env = process.env): string | undefined {
  if (flag === false) return "--no-cache";
  if (flag === true) return undefined;
  const v = env.VMLIVE_CACHE;
  if (v === undefined) return undefined;
  const word = v.trim().toLowerCase();
  if (OFF.includes(word)) return `VMLIVE_CACHE=${v}`;
  if (ON.includes(word)) return undefined;
  throw new UsageError(
    `VMLIVE_CACHE=${v}: not a setting of the package cache`,
    "set VMLIVE_CACHE=off to fetch every package from the mirror, or unset it to use the cache",
  );
}
