// How `vmlive build --boot-test` and `vmlive boot` prove the ISO starts:
// which ways to boot it, what on the serial console means "booted", how long
// that may take, and commands that must then succeed inside the live system.
import { z } from "zod";
import { WAY_NAMES } from "../../boot/ways.js";

/** A JavaScript regular expression, checked by compiling it. */
const regexSource = z
  .string()
  .min(1)
  .max(200)
  .superRefine((s, ctx) => {
    try {
      new RegExp(s);
    } catch (e) {
      ctx.addIssue({
        code: "custom",
        message: `not a regular expression: ${(e as Error).message.replace(/^Invalid regular expression: /, "")}`,
      });
    }
  });

/** One command line, typed on the serial console: a newline would split it in two. */
const command = z
  .string()
  .min(1)
  .max(1000)
  // eslint-disable-next-line no-control-regex
  .regex(/^[^\u0000-\u001f\u007f]*$/, {
    message:
      "is typed as one line on the serial console: no newlines or control characters (join steps with && or ;)",
  });

export const bootTest = z
  .strictObject({
    ways: z
      .array(z.enum(WAY_NAMES, { message: `use ${WAY_NAMES.join(", ")}` }))
      .min(1)
      .nullable()
      .default(null)
      .describe(
        "Ways to boot the ISO: as CD or USB stick, with BIOS or UEFI. null takes every way the " +
          "architecture has and iso.bootloaders allows (amd64, i386: all four; arm64, armhf: cd-uefi, usb-uefi).",
      ),
    success: regexSource
      .default("login:")
      .describe(
        "Regular expression (JavaScript) that, once it matches what the serial console printed, " +
          "means the live system booted.",
      ),
    timeout: z
      .number()
      .int()
      .min(10, { message: "must be at least 10 seconds: no live system boots faster" })
      .max(7200, { message: "must be at most 7200 seconds (two hours)" })
      .default(600)
      .describe(
        "Seconds each way may take to reach success, and then each command; " +
          "sized for qemu without KVM, which is about 20 times slower.",
      ),
    commands: z
      .array(command)
      .default([])
      .describe(
        "Shell commands run one by one in the booted system, each of which must exit with 0 " +
          "(e.g. systemctl is-system-running --wait). They are typed on the serial console after " +
          "logging in as the user (autologin or user.password) or else as root (root.password).",
      ),
  })
  .prefault({})
  .describe(
    "The boot test (`vmlive build --boot-test`, `vmlive boot`): the ISO is booted in qemu and " +
      "its serial console watched, so iso.serial_console must be set.",
  );
