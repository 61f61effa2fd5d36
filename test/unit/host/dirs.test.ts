import { describe, expect, it } from "vitest";
import { cacheDir, workDir } from "../../../src/host/dirs.js";

describe("cacheDir", () => {
  it("prefers $VMLIVE_CACHE_DIR, made absolute", () => {
    expect(cacheDir({ VMLIVE_CACHE_DIR: "/srv/c", XDG_CACHE_HOME: "/x" }, "/home/a")).toBe("/srv/c");
  });
  it("then $XDG_CACHE_HOME/vmlive, ignoring a relative one as the XDG spec says", () => {
    expect(cacheDir({ XDG_CACHE_HOME: "/x" }, "/home/a")).toBe("/x/vmlive");
    expect(cacheDir({ XDG_CACHE_HOME: "rel" }, "/home/a")).toBe("/home/a/.cache/vmlive");
  });
  it("then ~/.cache/vmlive", () => {
    expect(cacheDir({}, "/home/a")).toBe("/home/a/.cache/vmlive");
  });
});

describe("workDir", () => {
  it("is $VMLIVE_WORK_DIR or ./work, resolved against the current folder", () => {
    expect(workDir({ VMLIVE_WORK_DIR: "scratch" }, "/p")).toBe("/p/scratch");
    expect(workDir({ VMLIVE_WORK_DIR: "/big/w" }, "/p")).toBe("/big/w");
    expect(workDir({}, "/p")).toBe("/p/work");
  });
});
