// Which (image, arch) pairs a CI file builds: from real image folders in a
// temporary images/, loaded as `vmlive build` loads them.
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { checkMatrixSize, planMatrix } from "../../../src/ci/matrix.js";
import { ConfigError, UsageError } from "../../../src/errors.js";
import { tempDir } from "../../support/tmp.js";
import { manyBuilds } from "./support.js";

function project(images: Record<string, string>): string {
  const cwd = tempDir("vmlive-matrix-");
  for (const [name, yaml] of Object.entries(images)) {
    mkdirSync(path.join(cwd, "images", name), { recursive: true });
    writeFileSync(path.join(cwd, "images", name, "image.yaml"), `description: ${name}\n${yaml}`);
  }
  return cwd;
}

const cwd = project({
  // No serial console: the boot test has nothing to watch.
  "b-trixie": "suite: trixie\narch: arm64\n",
  "a-bookworm": "suite: bookworm\narch: amd64\niso:\n  serial_console: ttyS0,115200n8\n",
  "c-armhf": "suite: trixie\narch: armhf\n",
});

describe("planMatrix", () => {
  it("builds each named image for its own arch and suite, in the order named", () => {
    expect(planMatrix({ images: ["b-trixie", "a-bookworm"], all: false, cwd })).toEqual([
      { image: "b-trixie", suite: "trixie", arch: "arm64", bootTest: false },
      { image: "a-bookworm", suite: "bookworm", arch: "amd64", bootTest: true },
    ]);
  });

  it("takes every image under images/ with --all, and boot-tests only what vmlive can boot", () => {
    expect(planMatrix({ images: [], all: true, cwd })).toEqual([
      { image: "a-bookworm", suite: "bookworm", arch: "amd64", bootTest: true },
      { image: "b-trixie", suite: "trixie", arch: "arm64", bootTest: false },
      { image: "c-armhf", suite: "trixie", arch: "armhf", bootTest: false },
    ]);
  });

  it("builds each image once per --arch, keeping its suite, without repeats", () => {
    const m = planMatrix({
      images: ["a-bookworm", "a-bookworm"],
      all: false,
      arches: ["amd64,i386", "amd64"],
      cwd,
    });
    expect(m.map((b) => `${b.image} ${b.suite} ${b.arch}`)).toEqual([
      "a-bookworm bookworm amd64",
      "a-bookworm bookworm i386",
    ]);
  });

  it("accepts a path to an image folder under images/, named by its folder", () => {
    expect(planMatrix({ images: ["images/b-trixie/"], all: false, cwd }).map((b) => b.image)).toEqual([
      "b-trixie",
    ]);
  });

  it("refuses what it cannot turn into jobs, as usage errors that say what to do", () => {
    const refuse = (req: Parameters<typeof planMatrix>[0], message: RegExp) => {
      expect(() => planMatrix(req)).toThrow(UsageError);
      expect(() => planMatrix(req)).toThrow(message);
    };
    refuse({ images: [], all: false, cwd }, /name the images the CI file builds, or give --all/);
    refuse({ images: ["a-bookworm"], all: true, cwd }, /not both/);
    refuse({ images: ["nope"], all: false, cwd }, /no image named "nope"/);
    refuse({ images: ["a-bookworm"], all: false, arches: ["mips"], cwd }, /--arch mips: not an architecture/);
    refuse({ images: [], all: true, cwd: tempDir("vmlive-empty-") }, /--all: no images under images\//);
    const elsewhere = project({ x: "" });
    refuse({ images: [path.join(elsewhere, "images", "x")], all: false, cwd }, /this image is elsewhere/);
    refuse(
      { images: [], all: true, cwd: project({ "has space": "" }) },
      /image "has space": its name becomes a CI job name/,
    );
  });

  it("refuses a pair that cannot be built, with the image's file and field", () => {
    const biosOnly = project({ pc: "arch: amd64\niso:\n  bootloaders: [bios, uefi]\n" });
    const err = (() => {
      try {
        planMatrix({ images: ["pc"], all: false, arches: ["arm64"], cwd: biosOnly });
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).message).toMatch(
      /image\.yaml.*iso\.bootloaders: arm64 machines have no BIOS/,
    );
  });
});

describe("checkMatrixSize", () => {
  it("knows each engine's limit", () => {
    expect(() => checkMatrixSize("github", manyBuilds(256))).not.toThrow();
    expect(() => checkMatrixSize("github", manyBuilds(257))).toThrow(/GitHub Actions matrix/);
    expect(() => checkMatrixSize("gitlab", manyBuilds(201))).toThrow(/200 jobs a GitLab parallel:matrix/);
    try {
      checkMatrixSize("gitlab", manyBuilds(201));
    } catch (e) {
      expect((e as UsageError).hint).toMatch(/split them over several files with --output/);
    }
  });
});
