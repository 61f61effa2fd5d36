// Who logs in to the live system and how it names itself.
import { z } from "zod";
import { hostName, localeName, passwordHash, timezoneName, userName } from "../debian-names.js";

const password = z
  .string()
  .min(1)
  .max(256)
  .refine((p) => !p.includes("\n") && !p.includes(":"), { message: "must not contain a newline or ':'" })
  // chpasswd reads C strings: it would set the password cut off at the NUL.
  .refine((p) => !p.includes("\0"), {
    message: "must not contain a NUL byte (\\0): chpasswd would cut it there",
  })
  .nullable()
  .default(null);

export const user = z
  .strictObject({
    name: userName.default("live").describe("Login name of the live user."),
    password: password.describe(
      "Plain-text password (hashed with yescrypt in the image). Neither password nor password_hash: " +
        "the account is locked, use autologin.",
    ),
    password_hash: passwordHash
      .nullable()
      .default(null)
      .describe("crypt(5) hash, e.g. from `mkpasswd -m yescrypt`."),
    sudo: z.boolean().default(true).describe("Member of group sudo, with passwordless sudo."),
    autologin: z.boolean().default(false).describe("Log this user in automatically on the console."),
    shell: z
      .enum(["/bin/bash", "/bin/sh", "/bin/dash", "/usr/bin/zsh"])
      .default("/bin/bash")
      .describe("Login shell."),
  })
  .prefault({})
  .describe("The live user.");

export const root = z
  .strictObject({
    locked: z.boolean().default(true).describe("Lock root's password (root is reached with sudo)."),
    password: password.describe("Plain-text root password; requires locked: false."),
    password_hash: passwordHash.nullable().default(null).describe("crypt(5) hash of root's password."),
  })
  .prefault({})
  .describe("The root account: locked unless this says otherwise.");

export const hostname = hostName.default("debian-live").describe("Host name of the live system.");
export const locale = localeName.default("C.UTF-8").describe("Default locale (LANG).");
export const timezone = timezoneName.default("Etc/UTC").describe("Time zone, as under /usr/share/zoneinfo.");
