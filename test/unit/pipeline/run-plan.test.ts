// Planning a run: images times arches in order, --all, the same build named
// twice run once, and every problem of every image said before anything starts.
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError, UsageError } from "../../../src/errors.js";
import { imageRefs, parseArches, planBuilds } from "../../../src/pipeline/run-plan.js";
import { tempDir } from "../../support/tmp.js";

/** A folder with images/NAME/image.yaml for each entry. */
function images(defs: Record<string, string>): string {
  const dir = tempDir("vmlive-plan-");
  for (const [name, yaml] of Object.entries(defs)) {
    mkdirSync(path.join(dir, "images", name), { recursive: true });
    writeFileSync(path.join(dir, "images", name, "image.yaml"), `description: ${name}\n${yaml}`);
  }
  return dir;
}

/** What `fn` throws; fails the test when it throws nothing. */
function caught(fn: () => unknown): Error {
  try {
    fn();
  } catch (e) {
    return e as Error;
  }
  throw new Error("expected it to throw");
}

const cwd = images({ alpha: "", beta: "suite: trixie\narch: arm64\n", gamma: "arch: i386\n" });
const labels = (o: Parameters<typeof planBuilds>[0]) => planBuilds({ cwd, ...o }).map((b) => b.build);

describe("planning a run of builds", () => {
  it("builds each image once per --arch, image by image, in the order named", () => {
    expect(labels({ images: ["beta", "alpha"], arches: ["amd64,arm64"] })).toEqual([
      "beta/trixie/amd64",
      "beta/trixie/arm64",
      "alpha/bookworm/amd64",
      "alpha/bookworm/arm64",
    ]);
  });

  it("overrides the arch like --set arch=ARCH, after the user's own --set", () => {
    const [b] = planBuilds({ cwd, images: ["alpha"], arches: ["arm64"], sets: ["arch=i386", "hostname=x"] });
    expect(b!.sets).toEqual(["arch=i386", "hostname=x", "arch=arm64"]);
    expect(b!.loaded.config.arch).toBe("arm64");
    expect(b!.loaded.config.hostname).toBe("x");
  });

  it("takes each image's own arch without --arch", () => {
    expect(labels({ images: ["alpha", "beta", "gamma"] })).toEqual([
      "alpha/bookworm/amd64",
      "beta/trixie/arm64",
      "gamma/bookworm/i386",
    ]);
  });

  it("--all builds every image under images/, after the ones named, each once", () => {
    expect(labels({ images: ["gamma"], all: true })).toEqual([
      "gamma/bookworm/i386",
      "alpha/bookworm/amd64",
      "beta/trixie/arm64",
    ]);
  });

  it("runs the same image and arch once, however they were named", () => {
    const named = ["alpha", "images/alpha", "images/alpha/image.yaml", path.join(cwd, "images", "alpha")];
    expect(labels({ images: named, arches: ["amd64", "amd64,amd64"] })).toEqual(["alpha/bookworm/amd64"]);
    // gamma is i386 in its image.yaml: --arch i386 is the same build.
    expect(labels({ images: ["gamma"], arches: ["i386"], all: false })).toEqual(["gamma/bookworm/i386"]);
  });

  it("refuses architectures vmlive does not build, naming them and the ones it does", () => {
    expect(caught(() => parseArches(["amd64,mips", "sparc"])).message).toBe(
      "--arch mips,sparc: not architectures vmlive builds",
    );
    const one = caught(() => parseArches(["x86_64"]));
    expect(one).toBeInstanceOf(UsageError);
    expect(one.message).toBe("--arch x86_64: not an architecture vmlive builds");
    expect((one as UsageError).hint).toBe(
      "use one or more of amd64, arm64, armhf, i386, comma-separated (--arch amd64,arm64)",
    );
    expect(() => parseArches([" , "])).toThrow(UsageError);
    expect(parseArches(undefined)).toBeUndefined();
    expect(parseArches(["arm64, amd64", "arm64"])).toEqual(["arm64", "amd64"]);
  });

  it("says what to do when no image is named", () => {
    const none = caught(() => imageRefs({ images: [], cwd }));
    expect(none).toBeInstanceOf(UsageError);
    expect(none.message).toBe("name the images to build, or --all for every image under images/");
    expect(() => imageRefs({ images: [], all: true, cwd: tempDir("vmlive-empty-") })).toThrow(
      "--all: there are no images under images/",
    );
  });

  it("lists every config problem of every image at once", () => {
    const dir = images({
      ok: "",
      bad1: "suite: potato\n",
      bad2: "user:\n  name: Bad;rm\n",
    });
    const err = caught(() =>
      planBuilds({ cwd: dir, images: ["bad1", "ok", "bad2"], arches: ["amd64,arm64"] }),
    );
    expect(err).toBeInstanceOf(ConfigError);
    const problems = (err as ConfigError).problems;
    // Each problem once, though each image was loaded for two arches.
    expect(problems.map((p) => `${p.file}: ${p.path}`)).toEqual([
      "images/bad1/image.yaml: suite",
      "images/bad2/image.yaml: user.name",
    ]);
  });

  it("names every image that does not exist, with the config problems of the others", () => {
    const dir = images({ ok: "", bad: "suite: potato\n" });
    const err = caught(() => planBuilds({ cwd: dir, images: ["nope", "bad", "also-nope", "ok"] }));
    expect(err).toBeInstanceOf(UsageError);
    expect((err as UsageError).message.split("\n")).toEqual([
      "3 problems with the images named; nothing was built:",
      '  no image named "nope" under images/',
      '  no image named "also-nope" under images/',
      expect.stringMatching(/^ {2}images\/bad\/image\.yaml:2: suite: not a Debian suite/),
    ]);
    expect((err as UsageError).hint).toContain("images there: bad, ok");
  });
});
