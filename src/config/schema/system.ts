// Top-level fields: what the image is, which Debian, which machine.
import { z } from "zod";

export const SUITES = ["bullseye", "bookworm", "trixie", "forky", "sid"] as const;
export const ARCHES = ["amd64", "arm64", "armhf", "i386"] as const;
export type Suite = (typeof SUITES)[number];
export type Arch = (typeof ARCHES)[number];

/** Suites with a security archive and -updates suite in the image's sources. */
export const STABLE_SUITES: readonly Suite[] = ["bullseye", "bookworm", "trixie"];

export const description = z
  .string()
  .min(1)
  .max(120, { message: "too long: one line of at most 120 characters" })
  // Tabs are fine; other control characters would garble `vmlive list` and the reports.
  // eslint-disable-next-line no-control-regex
  .regex(/^[^\u0000-\u0008\u000a-\u001f\u007f]*$/, {
    message: "must be a single line, without control characters",
  })
  .describe("One line saying what the image is for; shown by `vmlive list`.");

export const suite = z
  .enum(SUITES, { message: `not a Debian suite vmlive builds: use one of ${SUITES.join(", ")}` })
  .default("bookworm")
  .describe("Debian release (code name) the image is built from.");

export const arch = z
  .enum(ARCHES, { message: `not an architecture vmlive builds: use one of ${ARCHES.join(", ")}` })
  .default("amd64")
  .describe("Debian architecture of the image. Foreign architectures run under qemu-user emulation.");
