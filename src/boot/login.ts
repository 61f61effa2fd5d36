// Who the boot test logs in as on the serial console, from the image's
// accounts: an autologin user needs nothing typed; otherwise a plain-text
// password is needed (a password_hash cannot be typed).
import type { ParsedImage } from "../config/schema/index.js";
import type { ConsoleLogin } from "./serial-console.js";

export function consoleLogin(c: Pick<ParsedImage, "user" | "root">): ConsoleLogin | undefined {
  // The serial getty logs this user in by itself: typing a name there would run it as a command.
  if (c.user.autologin) return { user: c.user.name, autologin: true };
  if (c.user.password !== null) return { user: c.user.name, password: c.user.password };
  if (!c.root.locked && c.root.password !== null) return { user: "root", password: c.root.password };
  return undefined;
}
