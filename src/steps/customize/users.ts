// The live user and root. Passwords and hashes reach chpasswd on stdin only:
// never in an argv, never in the log.
import type { BuildContext } from "../../pipeline/context.js";
import { saltFrom, sha512Crypt } from "../../util/sha512-crypt.js";
import { inChroot, writeInRootfs } from "./exec.js";

export const sudoersPath = (name: string) => `/etc/sudoers.d/90-vmlive-${name}`;
export const AUTOLOGIN_DROPINS = {
  console: "/etc/systemd/system/getty@tty1.service.d/vmlive-autologin.conf",
  serial: "/etc/systemd/system/serial-getty@.service.d/vmlive-autologin.conf",
};

export function autologinDropins(name: string): { path: string; text: string }[] {
  const head = "# vmlive: user.autologin\n[Service]\nExecStart=\n";
  return [
    {
      path: AUTOLOGIN_DROPINS.console,
      text: `${head}ExecStart=-/sbin/agetty --autologin ${name} --noclear %I $TERM\n`,
    },
    {
      path: AUTOLOGIN_DROPINS.serial,
      text: `${head}ExecStart=-/sbin/agetty --autologin ${name} --keep-baud 115200,57600,38400,9600 %I $TERM\n`,
    },
  ];
}

/** Set a password from plain text or a crypt(5) hash, or lock the account. */
async function setPassword(
  ctx: BuildContext,
  name: string,
  p: { password: string | null; password_hash: string | null },
): Promise<void> {
  // Hashed here, not by chpasswd: its random salt would make /etc/shadow differ between two builds
  // of the same image. The salt is unique per image, user and SOURCE_DATE_EPOCH instead.
  if (p.password !== null) {
    const salt = saltFrom(`vmlive\0${ctx.image.name}\0${name}\0${ctx.sourceDateEpoch}`);
    await inChroot(ctx, ["chpasswd", "--encrypted"], { stdin: `${name}:${sha512Crypt(p.password, salt)}\n` });
  } else if (p.password_hash !== null)
    await inChroot(ctx, ["chpasswd", "--encrypted"], { stdin: `${name}:${p.password_hash}\n` });
  else await inChroot(ctx, ["usermod", "--lock", name]);
}

export async function configureUsers(ctx: BuildContext): Promise<void> {
  const { user, root } = ctx.image.config;
  ctx.log.say(
    `user ${user.name}${user.sudo ? " (sudo)" : ""}${user.autologin ? ", autologin" : ""}; root ${root.locked ? "locked" : "with a password"}`,
  );
  const exists =
    (await inChroot(ctx, ["getent", "passwd", user.name], { check: false, quiet: true })).exitCode === 0;
  if (exists) await inChroot(ctx, ["usermod", "--shell", user.shell, user.name]);
  else await inChroot(ctx, ["useradd", "--create-home", "--shell", user.shell, "--user-group", user.name]);
  await setPassword(ctx, user.name, user);

  if (user.sudo) {
    await inChroot(ctx, ["usermod", "--append", "--groups", "sudo", user.name]);
    const file = sudoersPath(user.name);
    await writeInRootfs(ctx, file, `# vmlive: user.sudo\n${user.name} ALL=(ALL:ALL) NOPASSWD: ALL\n`, "0440");
    await inChroot(ctx, ["visudo", "-c", "-f", file]);
  }
  if (user.autologin) for (const d of autologinDropins(user.name)) await writeInRootfs(ctx, d.path, d.text);

  if (root.locked) await inChroot(ctx, ["usermod", "--lock", "root"]);
  else await setPassword(ctx, "root", root);
}
