// Which builder VM the build runs in: one of this host's architecture (a
// foreign image's programs then run through qemu-user), or one of the image's
// own architecture under full-system emulation, for packages whose maintainer
// scripts fail under qemu-user.
import { z } from "zod";

export const BUILDER_CHOICES = ["host", "image"] as const;

export const builder = z
  .strictObject({
    arch: z
      .enum(BUILDER_CHOICES, {
        message: "use host (a builder of this machine's architecture) or image (one of the image's own)",
      })
      .default("host")
      .describe(
        "host: a builder VM of this machine's architecture; a foreign image's programs run in it " +
          "through qemu-user. image: a builder VM of the image's own architecture (arm64 for arm64 " +
          "and armhf images, amd64 for amd64 and i386), for packages that cannot be configured under " +
          "qemu-user. On an amd64 host that is full-system emulation (TCG), about 20 times slower than " +
          "native where qemu-user is about 6 times: use it only for images that need it. " +
          "--backend host cannot honour it unless this machine has that architecture.",
      ),
  })
  .prefault({})
  .describe("The builder VM the image is built in (the default vm backend).");

export type BuilderChoice = z.output<typeof builder>;
