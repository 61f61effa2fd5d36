// image.yaml, declared once. Validation, `vmlive config --json`, the JSON
// Schema in docs/ and docs/image-config.md all come from this object.
import { z } from "zod";
import { arch, description, suite } from "./system.js";
import { builder } from "./builder.js";
import { mirror } from "./mirror.js";
import { bootstrap } from "./bootstrap.js";
import { env, hooks, overlay, packages } from "./customize.js";
import { hostname, locale, root, timezone, user } from "./identity.js";
import { iso, kernel, squashfs } from "./media.js";
import { bootTest } from "./boot-test.js";

export const imageSchema = z
  .strictObject({
    description,
    suite,
    arch,
    builder,
    mirror,
    bootstrap,
    packages,
    overlay,
    hooks,
    env,
    user,
    root,
    hostname,
    locale,
    timezone,
    kernel,
    squashfs,
    iso,
    boot_test: bootTest,
  })
  .describe("One live image: image.yaml in images/NAME/.");

/** image.yaml as written (before defaults). */
export type ImageInput = z.input<typeof imageSchema>;
/** image.yaml after validation, before architecture-dependent defaults. */
export type ParsedImage = z.output<typeof imageSchema>;
