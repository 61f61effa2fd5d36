// Where packages come from during the build, and what the finished image's
// apt sources say. They differ on purpose: build from a fast or local mirror,
// ship the public one.
import { z } from "zod";
import { mirrorUrl } from "./common.js";

const DEBIAN = "http://deb.debian.org/debian";

export const mirror = z
  .strictObject({
    build: mirrorUrl.default(DEBIAN).describe("Archive used by bootstrap and apt while building."),
    image: mirrorUrl
      .default(DEBIAN)
      .describe("Archive written into the finished image's /etc/apt/sources.list."),
    security: mirrorUrl
      .nullable()
      .default("http://security.debian.org/debian-security")
      .describe(
        "Security archive written into the image's sources for stable suites (bullseye, bookworm, " +
          "trixie); null leaves it out.",
      ),
    updates: z
      .boolean()
      .default(true)
      .describe("Also write the SUITE-updates suite into the image's sources (stable suites only)."),
  })
  .prefault({})
  .describe("Package archives: the one the build uses and the ones the image ships with.");
