// What is added to the base: packages, files, scripts, environment.
import { z } from "zod";
import { envName, packageName } from "../debian-names.js";
import { relativePath } from "./common.js";

export const packages = z
  .array(packageName)
  .default([])
  .describe("Packages installed with apt into the image, *with* Recommends (task packages need them).");

export const HOOK_PLACES = ["chroot", "builder"] as const;

const hookObject = z.strictObject({
  path: relativePath.describe(
    "Script to run: looked up in the image folder first, then in the hooks/ folder beside images/.",
  ),
  where: z
    .enum(HOOK_PLACES, { message: "use chroot (inside the image) or builder (outside, with $VMLIVE_ROOTFS)" })
    .default("chroot")
    .describe(
      "chroot: runs inside the image with /proc, /sys and /dev mounted. builder: runs in the build " +
        "machine with the root filesystem at $VMLIVE_ROOTFS.",
    ),
});

/** A hook is `{path, where}`; a bare string is short for `{path: STRING}`. */
export const expandHook = (v: unknown): unknown => (typeof v === "string" ? { path: v } : v);
export const hook = z.preprocess(expandHook, hookObject);

export const hooks = z
  .array(hook)
  .default([])
  .describe(
    "Scripts run in order after the packages and the overlay are in place. A string is `{path: STRING}`.",
  );

export const overlay = relativePath
  .nullable()
  .default(null)
  .describe("Folder (relative to the image folder) whose contents are copied over the root filesystem.");

export const env = z
  .record(
    envName,
    z
      .string()
      .max(4096, { message: "too long: at most 4096 characters" })
      // Values travel as command-line words (NAME=VALUE), and no argv can carry a NUL.
      .refine((v) => !v.includes("\0"), {
        message: "must not contain a NUL byte (\\0): no command argument can",
      }),
  )
  .default({})
  .describe("Extra environment variables handed to hooks.");
