// Before anything is installed: keep daemons from starting, give the chroot
// DNS, and make apt and dpkg noninteractive, retrying and fast. Everything
// done here is undone by finish.ts.
import { stepProxy } from "../../cache/build-use.js";
import { aptProxyConf } from "../../cache/through-proxy.js";
import type { BuildContext } from "../../pipeline/context.js";
import { inChroot, markers, onMachine, writeInRootfs, writeOnMachine } from "./exec.js";

export const POLICY_RC_D = "/usr/sbin/policy-rc.d";
export const APT_BUILD_CONF = "/etc/apt/apt.conf.d/00vmlive-build";
export const DPKG_BUILD_CONF = "/etc/dpkg/dpkg.cfg.d/00vmlive-build";

export const POLICY_RC_D_TEXT = "#!/bin/sh\n# vmlive: no daemon starts while the image is built\nexit 101\n";
export const SSD_STUB_TEXT =
  '#!/bin/sh\necho "vmlive: start-stop-daemon is stubbed while the image is built; not running: $*" >&2\nexit 0\n';

/** Acquire::Retries (not APT::Acquire::Retries, which apt silently ignores). */
export const APT_BUILD_CONF_TEXT = [
  "// vmlive: only while the image is built",
  'Acquire::Retries "3";',
  'Dpkg::Options { "--force-confdef"; "--force-confold"; };',
  'Dpkg::Use-Pty "0";',
  'quiet "1";',
  'APT::Color "0";',
  "",
].join("\n");
export const DPKG_BUILD_CONF_TEXT = "# vmlive: only while the image is built\nforce-unsafe-io\n";

/** Where dpkg installs start-stop-daemon: /sbin up to bookworm, /usr/sbin from trixie on. */
export async function startStopDaemonPath(ctx: BuildContext): Promise<string> {
  const r = await inChroot(ctx, ["dpkg-query", "-L", "dpkg"], { quiet: true });
  const path = r.stdout.split("\n").find((l) => /^(\/usr)?\/sbin\/start-stop-daemon$/.test(l.trim()));
  if (!path) throw new Error("dpkg-query -L dpkg lists no start-stop-daemon in /sbin or /usr/sbin");
  return path.trim();
}

export async function prepare(ctx: BuildContext): Promise<void> {
  const m = markers(ctx);
  await onMachine(ctx, ["mkdir", "-p", ctx.work.root, ctx.work.input], { quiet: true });
  // From here on, cleanup() must undo what follows even if run() dies.
  await writeOnMachine(ctx, m.unfinished, "customize started; finish has not run\n");

  await writeInRootfs(ctx, POLICY_RC_D, POLICY_RC_D_TEXT, "0755");
  const ssd = await startStopDaemonPath(ctx);
  await inChroot(ctx, ["dpkg-divert", "--local", "--rename", "--add", ssd]);
  await writeInRootfs(ctx, ssd, SSD_STUB_TEXT, "0755");

  // The package cache's proxy goes here, in the file finish() removes, never into the image's own apt config.
  const proxy = stepProxy(ctx, ctx.image.config.mirror.build);
  await writeInRootfs(ctx, APT_BUILD_CONF, APT_BUILD_CONF_TEXT + aptProxyConf(proxy));
  await writeInRootfs(ctx, DPKG_BUILD_CONF, DPKG_BUILD_CONF_TEXT);
  await useBuildResolvConf(ctx);
}

/**
 * Copy the machine's /etc/resolv.conf into the image. If the image's own is a
 * symlink (systemd-resolved), remember its target so finish() puts it back.
 * Called again after the packages are in, since a package may make that symlink.
 */
export async function useBuildResolvConf(ctx: BuildContext): Promise<void> {
  const link = await inChroot(ctx, ["readlink", "/etc/resolv.conf"], { check: false, quiet: true });
  if (link.exitCode === 0 && link.stdout.trim())
    await writeOnMachine(ctx, markers(ctx).resolvLink, link.stdout.trim());
  const machineResolv = await onMachine(ctx, ["cat", "/etc/resolv.conf"], { quiet: true });
  await writeInRootfs(ctx, "/etc/resolv.conf", machineResolv.stdout);
}
