import { describe, expect, it } from "vitest";
import { cacheOffReason } from "../../../src/cache/settings.js";
import { UsageError } from "../../../src/errors.js";

describe("whether a build uses the package cache", () => {
  it("is on by default and with VMLIVE_CACHE=on", () => {
    expect(cacheOffReason(undefined, {})).toBeUndefined();
    expect(cacheOffReason(undefined, { VMLIVE_CACHE: "on" })).toBeUndefined();
    expect(cacheOffReason(undefined, { VMLIVE_CACHE: "1" })).toBeUndefined();
  });

  it("is off with --no-cache or VMLIVE_CACHE=off, and says which", () => {
    expect(cacheOffReason(false, {})).toBe("--no-cache");
    expect(cacheOffReason(undefined, { VMLIVE_CACHE: "off" })).toBe("VMLIVE_CACHE=off");
    expect(cacheOffReason(undefined, { VMLIVE_CACHE: "NO" })).toBe("VMLIVE_CACHE=NO");
  });

  it("--cache wins over VMLIVE_CACHE=off", () => {
    expect(cacheOffReason(true, { VMLIVE_CACHE: "off" })).toBeUndefined();
  });

  it("refuses a setting it does not know, naming the variable and the fix", () => {
    const e = (() => {
      try {
        cacheOffReason(undefined, { VMLIVE_CACHE: "of" });
      } catch (err) {
        return err;
      }
    })();
    expect(e).toBeInstanceOf(UsageError);
    expect((e as UsageError).message).toBe("VMLIVE_CACHE=of: not a setting of the package cache");
    expect((e as UsageError).hint).toMatch(/VMLIVE_CACHE=off/);
  });
});
