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
          "and armhf images, amd64 for amd64 and i386), for packages whose maintainer scripts fail " +
          "under qemu-user. From an amd64 machine that is an arm64 VM under full-system emulation " +
          "(TCG), which KVM cannot speed up. Measured on 2 cores against the host: shell scripts " +
          "25x slower, program starts 50x, compression 8x (the amd64 builder under TCG: 20x, 45x, " +
          "6x); it boots to SSH in 20 s (bookworm) to 35 s (trixie), and its builder image takes 7 to " +
          "11 minutes to make, once. " +
          "--backend host takes it only on a machine of that architecture.",
      ),
  })
  .prefault({})
  .describe("The builder VM the image is built in (the default vm backend).");

export type BuilderChoice = z.output<typeof builder>;
