// Running a command inside the image's root filesystem, on any Machine.
//
// Every command gets its own private mount namespace (unshare --mount) in
// which /proc, /sys and /dev are mounted into the rootfs before chroot. The
// mounts exist only inside that namespace, so they vanish with the command,
// however it ends (exit, kill, a dead VM): nothing can be left mounted, and a
// later `rm -rf` of the rootfs can never walk into the host's /dev.
import { shellQuote } from "../process/quote.js";

/** The environment of every chroot command: clean, C.UTF-8, and fully noninteractive. */
export const CHROOT_ENV: Readonly<Record<string, string>> = {
  PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
  HOME: "/root",
  LANG: "C.UTF-8",
  LC_ALL: "C.UTF-8",
  TERM: "dumb",
  DEBIAN_FRONTEND: "noninteractive",
  DEBCONF_NONINTERACTIVE_SEEN: "true",
  DEBCONF_NOWARNINGS: "yes",
};

// $1 is the rootfs; the rest is the command. Only fixed text here: the
// rootfs and the command travel as arguments, never inside the script.
const ENTER = [
  "set -e",
  'r="$1"; shift',
  'mount -t proc proc "$r/proc"',
  'mount -t sysfs sysfs "$r/sys"',
  'mount --rbind /dev "$r/dev"',
  'exec chroot "$r" "$@"',
].join("; ");

/** argv that runs `argv` inside `rootfs` with a clean environment plus `env`. */
export function chrootArgv(
  rootfs: string,
  argv: readonly string[],
  env: Readonly<Record<string, string>> = {},
): string[] {
  if (argv.length === 0) throw new Error("chroot: empty command");
  const vars = Object.entries({ ...CHROOT_ENV, ...env }).map(([k, v]) => {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) throw new Error(`chroot: bad variable name ${shellQuote(k)}`);
    return `${k}=${v}`;
  });
  return inPrivateMounts(ENTER, "vmlive-chroot", [rootfs, "/usr/bin/env", "-i", ...vars, ...argv]);
}

/**
 * argv that runs a fixed `sh -c` script with `args` as its positional
 * arguments in a private mount namespace: whatever the script mounts goes
 * with it, however it ends.
 */
export function inPrivateMounts(script: string, name: string, args: readonly string[]): string[] {
  return ["unshare", "--mount", "--propagation", "private", "--", "sh", "-c", script, name, ...args];
}
