// Debian's own rules for the names that end up in commands, paths and files
// inside the image. Checked at config load, long before any machine starts.
import { z } from "zod";

/** Debian policy 5.6.1: lower case letters, digits, + - . ; at least two chars, starting alphanumeric. */
export const PACKAGE_NAME = /^[a-z0-9][a-z0-9+.-]+$/;
/** An optional architecture qualifier, as apt accepts it: `name:arch`. */
const PACKAGE_SPEC = /^[a-z0-9][a-z0-9+.-]+(:[a-z0-9]+)?$/;

export const packageName = z
  .string()
  .regex(PACKAGE_SPEC, {
    message:
      "not a Debian package name: use lower case letters, digits and + - . (at least 2 characters, " +
      "starting with a letter or digit), optionally followed by :ARCH",
  })
  .describe("A Debian package name, optionally with an architecture qualifier (`name:arch`).");

/** adduser's default NAME_REGEX, and useradd's 32-character limit. */
export const userName = z
  .string()
  .max(32, { message: "too long: a user name has at most 32 characters" })
  .regex(/^[a-z][-a-z0-9_]*$/, {
    message:
      "not a valid user name: start with a lower case letter, then lower case letters, digits, - or _ " +
      "(adduser's NAME_REGEX)",
  });

/** RFC 1123 host name label (what /etc/hostname holds on Debian). */
export const hostName = z
  .string()
  .max(63, { message: "too long: a host name has at most 63 characters" })
  .regex(/^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/i, {
    message: "not a valid host name: letters, digits and -, not starting or ending with - (RFC 1123)",
  });

/**
 * ISO 9660 volume id: at most 32 characters. Restricted to what GRUB, udev's
 * /dev/disk/by-label and xorriso all take without escaping.
 */
export const volumeId = z
  .string()
  .max(32, { message: "too long: an ISO 9660 volume id has at most 32 characters" })
  .regex(/^[A-Za-z0-9_.-]+$/, {
    message: "not a valid ISO volume id: letters, digits, _ . and - only (no spaces)",
  })
  // The label is handed on as a command-line word (xorriso -V, mount -L, findfs): never one that looks like an option.
  .refine((v) => !v.startsWith("-"), {
    message: "must not start with -: start with a letter, digit, _ or .",
  });

/** A locale name as /usr/share/i18n/SUPPORTED spells it, e.g. en_US.UTF-8 or C.UTF-8. */
export const localeName = z.string().regex(/^[A-Za-z]{1,8}(_[A-Z]{2})?(\.[A-Za-z0-9-]+)?(@[a-z]+)?$/, {
  message: "not a locale name: use the form en_US.UTF-8, de_DE@euro or C.UTF-8",
});

/** A tz database name such as Europe/Berlin or Etc/UTC. */
export const timezoneName = z.string().regex(/^[A-Za-z][A-Za-z0-9_+-]*(\/[A-Za-z0-9_+-]+)*$/, {
  message: "not a time zone name: use an entry of /usr/share/zoneinfo such as Europe/Berlin or Etc/UTC",
});

/** crypt(5) hashes that Debian's libxcrypt verifies: yescrypt, sha512, sha256, bcrypt. */
export const passwordHash = z.string().regex(/^\$(y|gy|7|6|5|2[abxy])\$[./A-Za-z0-9$=]+$/, {
  message:
    "not a crypt(5) password hash: make one with `mkpasswd -m yescrypt` or `openssl passwd -6` " +
    "(it starts with $y$, $6$ or $5$)",
});

/** Environment variable names handed to hooks. VMLIVE_ is vmlive's own. */
export const envName = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { message: "not a variable name: letters, digits and _ only" })
  .refine((n) => !n.startsWith("VMLIVE_"), {
    message: "names starting with VMLIVE_ are reserved for vmlive",
  });
