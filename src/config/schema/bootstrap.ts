// How the base root filesystem is made.
import { z } from "zod";
import { packageName } from "../debian-names.js";
import { relativePath } from "./common.js";

export const BOOTSTRAP_TOOLS = ["debootstrap", "mmdebstrap"] as const;
/** Variants each tool accepts (debootstrap(8), mmdebstrap(1)). "standard" is debootstrap's default. */
export const VARIANTS: Record<(typeof BOOTSTRAP_TOOLS)[number], readonly string[]> = {
  debootstrap: ["minbase", "buildd", "standard"],
  mmdebstrap: [
    "extract",
    "custom",
    "essential",
    "apt",
    "required",
    "minbase",
    "buildd",
    "important",
    "standard",
  ],
};
const ALL_VARIANTS = [...new Set(Object.values(VARIANTS).flat())] as [string, ...string[]];

export const bootstrap = z
  .strictObject({
    tool: z
      .enum(BOOTSTRAP_TOOLS, { message: `use one of ${BOOTSTRAP_TOOLS.join(", ")}` })
      .default("debootstrap")
      .describe("Program that makes the base root filesystem."),
    variant: z
      .enum(ALL_VARIANTS, { message: `use one of ${ALL_VARIANTS.join(", ")}` })
      .default("minbase")
      .describe(
        "Package set of the base: minbase (essential + apt) is the usual start for live images. " +
          "debootstrap takes minbase, buildd, standard; mmdebstrap also extract, custom, essential, apt, " +
          "required, important.",
      ),
    packages: z
      .array(packageName)
      .default([])
      .describe("Extra packages installed by the bootstrap itself (without Recommends)."),
    components: z
      .array(
        z
          .string()
          .regex(/^[a-z][a-z0-9-]*$/, { message: "not an archive component such as main or contrib" }),
      )
      .min(1)
      .default(["main"])
      .describe("Archive components used for the build and written into the image's sources."),
    keyring: relativePath
      .nullable()
      .default(null)
      .describe(
        "Keyring file (relative to the image folder) that signs the build mirror; null uses " +
          "Debian's archive keyring.",
      ),
  })
  .prefault({})
  .describe("The base root filesystem.");
