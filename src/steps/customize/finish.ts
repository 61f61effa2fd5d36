// The end of customize, and what cleanup() runs when run() failed midway:
// the image's own apt sources, and nothing of the build left behind.
// Idempotent: it may run on a half-prepared root, or twice.
import type { BuildContext } from "../../pipeline/context.js";
import { imageSourcesFile, BUILD_KEYRING_BASE } from "./apt.js";
import { existsOnMachine, inChroot, markers, onMachine, writeInRootfs } from "./exec.js";
import { CHROOT_HOOK_DIR } from "./hooks.js";
import { APT_BUILD_CONF, DPKG_BUILD_CONF, POLICY_RC_D } from "./prepare.js";

export const SSH_KEYGEN_UNIT = "/etc/systemd/system/vmlive-ssh-keygen.service";
/**
 * Host keys are removed from the image so that every boot of it gets its own;
 * sshd refuses to start without them (ssh.service runs `sshd -t` first), and
 * live-config, which would make them, is not always installed.
 */
export const SSH_KEYGEN_UNIT_TEXT = `# vmlive: SSH host keys are made at first boot, not shipped in the image
[Unit]
Description=Generate SSH host keys
ConditionPathExistsGlob=!/etc/ssh/ssh_host_*_key
Before=ssh.service sshd.service

[Service]
Type=oneshot
ExecStart=/usr/bin/ssh-keygen -A

[Install]
WantedBy=multi-user.target ssh.service
`;

// Undo the start-stop-daemon diversion, wherever dpkg keeps the program. Only a
// LOCAL diversion (ours) is undone, so a root where prepare never got that far keeps
// its real start-stop-daemon. Fixed text: no config value in it.
const UNDIVERT_SSD = [
  "set -e",
  "for p in /sbin/start-stop-daemon /usr/sbin/start-stop-daemon; do",
  '  if [ "$(dpkg-divert --listpackage "$p")" = LOCAL ]; then',
  '    rm -f "$p"',
  '    dpkg-divert --rename --remove "$p"',
  "  fi",
  "done",
].join("\n");

/** Whether a package is installed in the image. */
async function installed(ctx: BuildContext, pkg: string): Promise<boolean> {
  const r = await inChroot(ctx, ["dpkg-query", "-W", "-f=${db:Status-Status}", pkg], {
    check: false,
    quiet: true,
  });
  return r.exitCode === 0 && r.stdout.trim() === "installed";
}

export async function finish(ctx: BuildContext): Promise<void> {
  const c = ctx.image.config;
  const m = markers(ctx);
  const root = ctx.work.rootfs;
  if (!(await existsOnMachine(ctx, `${root}/usr/bin/env`))) {
    // No usable root (bootstrap failed or removed it): nothing inside to undo.
    await onMachine(ctx, ["rm", "-f", m.unfinished, m.resolvLink], { quiet: true });
    return;
  }
  ctx.log.say("removing build leftovers; writing the image's apt sources");

  const sources = imageSourcesFile(c);
  await writeInRootfs(ctx, sources.path, sources.text);
  await inChroot(ctx, ["rm", "-f", sources.other], { quiet: true });

  await inChroot(ctx, ["sh", "-c", UNDIVERT_SSD]);
  await onMachine(ctx, [
    "rm",
    "-f",
    `${root}${POLICY_RC_D}`,
    `${root}${APT_BUILD_CONF}`,
    `${root}${DPKG_BUILD_CONF}`,
    `${root}${BUILD_KEYRING_BASE}.gpg`,
    `${root}${BUILD_KEYRING_BASE}.asc`,
  ]);

  if (await installed(ctx, "openssh-server")) {
    await writeInRootfs(ctx, SSH_KEYGEN_UNIT, SSH_KEYGEN_UNIT_TEXT);
    for (const target of ["multi-user.target", "ssh.service"])
      await inChroot(ctx, [
        "sh",
        "-c",
        'mkdir -p "$(dirname -- "$2")" && ln -sfn "$1" "$2"',
        "vmlive-enable",
        SSH_KEYGEN_UNIT,
        `/etc/systemd/system/${target}.wants/vmlive-ssh-keygen.service`,
      ]);
  }

  await inChroot(ctx, ["apt-get", "clean"], { check: false });

  // Files of the build: paths below the root, nothing from the config in them.
  await onMachine(ctx, [
    "find",
    `${root}/var/lib/apt/lists`,
    `${root}/tmp`,
    `${root}/var/tmp`,
    "-xdev",
    "-mindepth",
    "1",
    "-maxdepth",
    "1",
    "!",
    "-path",
    `${root}/var/lib/apt/lists/partial`,
    "-exec",
    "rm",
    "-rf",
    "--one-file-system",
    "--",
    "{}",
    "+",
  ]);
  await onMachine(ctx, [
    "sh",
    "-c",
    [
      'r="$1"',
      'rm -f "$r"/var/cache/apt/*.bin "$r"/var/cache/debconf/*-old "$r"/var/lib/dpkg/*-old',
      // Caches that hold build times or hash-ordered data, so two builds differ: ldconfig's aux-cache
      // (inode and ctime of each library), man-db's index, fontconfig's caches. All are remade when
      // needed (ldconfig, mandb, fc-cache), so the live system loses nothing.
      'rm -f "$r"/var/cache/ldconfig/aux-cache',
      'find "$r/var/cache/man" "$r/var/cache/fontconfig" -xdev -mindepth 1 -delete 2>/dev/null || true',
      'rm -f "$r"/var/lib/dbus/machine-id "$r"/etc/ssh/ssh_host_* "$r"/root/.bash_history',
      'rm -rf --one-file-system "$r"' + CHROOT_HOOK_DIR,
      // Half-written files of an interrupted writeInRootfs (exec.ts), which writes only below these.
      'find "$r/etc" "$r/sbin" "$r/usr/sbin" -xdev -type f -name "*.vmlive-new" -delete',
      // Logs: rotated ones and journals go, the others are emptied; folders stay.
      'find "$r/var/log" -xdev -type f \\( -name "*.gz" -o -name "*.[0-9]" -o -name "*.old" -o -name "*.journal" -o -name "*.journal~" \\) -delete',
      'find "$r/var/log" -xdev -type f -exec truncate -s 0 {} +',
    ].join("\n"),
    "vmlive-clean",
    root,
  ]);
  // An empty machine-id: systemd makes a new one at every boot of the live system.
  await writeInRootfs(ctx, "/etc/machine-id", "", "0444");

  const link = await onMachine(ctx, ["cat", m.resolvLink], { check: false, quiet: true });
  if (link.exitCode === 0 && link.stdout.trim())
    await inChroot(ctx, ["ln", "-sfn", link.stdout.trim(), "/etc/resolv.conf"]);
  else await writeInRootfs(ctx, "/etc/resolv.conf", "");

  await onMachine(ctx, ["rm", "-f", m.resolvLink, m.unfinished], { quiet: true });
}
