// apt in the image: the build mirror's sources while building, the image's
// own sources at the end, and the package set.
import { readFileSync } from "node:fs";
import path from "node:path";
import type { ImageConfig } from "../../config/load.js";
import { STABLE_SUITES, type Suite } from "../../config/schema/system.js";
import { viaCache } from "../../cache/build-use.js";
import { findInImage } from "../../images/files.js";
import type { BuildContext } from "../../pipeline/context.js";
import { inChroot, LONG, onMachine, writeInRootfs } from "./exec.js";
import { NO_KERNEL } from "../../config/rules.js";

export const SOURCES_LIST = "/etc/apt/sources.list";
export const DEB822_SOURCES = "/etc/apt/sources.list.d/debian.sources";
/** The build mirror's keyring (bootstrap.keyring) inside the image, while building only. */
export const BUILD_KEYRING_BASE = "/etc/apt/keyrings/vmlive-build";

/** Suites whose images get deb822 sources (what the Debian installer writes from trixie on). */
export function usesDeb822(suite: Suite): boolean {
  return suite !== "bullseye" && suite !== "bookworm";
}

/** The bootstrap keyring's path inside the image, keeping .asc (armored) or .gpg as apt needs. */
export function buildKeyringPath(keyring: string): string {
  return `${BUILD_KEYRING_BASE}${keyring.endsWith(".asc") ? ".asc" : ".gpg"}`;
}

/** sources.list for the build: the build mirror only, no security or updates. */
export function buildSourcesList(c: ImageConfig): string {
  const opts = c.bootstrap.keyring === null ? "" : `[signed-by=${buildKeyringPath(c.bootstrap.keyring)}] `;
  return `# vmlive: build mirror, replaced at the end of the build\ndeb ${opts}${c.mirror.build} ${c.suite} ${c.bootstrap.components.join(" ")}\n`;
}

interface Source {
  uri: string;
  suites: string[];
}

function imageSources(c: ImageConfig): Source[] {
  const stable = STABLE_SUITES.includes(c.suite);
  const main: Source = { uri: c.mirror.image, suites: [c.suite] };
  if (stable && c.mirror.updates) main.suites.push(`${c.suite}-updates`);
  const out = [main];
  if (stable && c.mirror.security !== null)
    out.push({ uri: c.mirror.security, suites: [`${c.suite}-security`] });
  return out;
}

/** The finished image's apt sources: the file to write and its text. */
export function imageSourcesFile(c: ImageConfig): { path: string; other: string; text: string } {
  const comps = c.bootstrap.components.join(" ");
  const sources = imageSources(c);
  if (usesDeb822(c.suite))
    return {
      path: DEB822_SOURCES,
      other: SOURCES_LIST,
      text: sources
        .map((s) => `Types: deb\nURIs: ${s.uri}\nSuites: ${s.suites.join(" ")}\nComponents: ${comps}\n`)
        .join("\n"),
    };
  return {
    path: SOURCES_LIST,
    other: DEB822_SOURCES,
    text: sources.flatMap((s) => s.suites.map((suite) => `deb ${s.uri} ${suite} ${comps}\n`)).join(""),
  };
}

const isUtc = (tz: string) =>
  ["Etc/UTC", "UTC", "Etc/Universal", "Universal", "Zulu", "Etc/Zulu"].includes(tz);
/** Locales that glibc has built in and need no locale-gen. */
export const builtinLocale = (l: string) => ["C", "C.UTF-8", "C.utf8", "POSIX"].includes(l);

/**
 * Every package apt installs, in order, without duplicates: the kernel and
 * live-boot always; zstd so initramfs-tools uses its default zstd compression
 * (from bookworm on; without it, it falls back to gzip and the initrd grows);
 * what the config's identity settings need; then the config's packages.
 */
export function packageList(c: ImageConfig): string[] {
  const list: string[] = [];
  // kernel.flavour none: a root filesystem without kernel (containers, netboot from elsewhere).
  if (c.kernel.flavour !== NO_KERNEL) list.push(`linux-image-${c.kernel.flavour}`, "live-boot");
  if (c.kernel.flavour !== NO_KERNEL && c.suite !== "bullseye") list.push("zstd");
  if (c.user.sudo) list.push("sudo");
  if (c.user.shell === "/usr/bin/zsh") list.push("zsh");
  if (!builtinLocale(c.locale)) list.push("locales");
  if (!isUtc(c.timezone)) list.push("tzdata");
  list.push(...c.packages);
  return [...new Set(list)];
}

/** Point apt at the build mirror and read its indexes. */
export async function useBuildSources(ctx: BuildContext): Promise<void> {
  const c = ctx.image.config;
  if (c.bootstrap.keyring !== null) {
    const found = findInImage(ctx.image, c.bootstrap.keyring, "file");
    if (!found.ok) throw new Error(`bootstrap.keyring: ${found.message}`);
    await writeInRootfs(ctx, buildKeyringPath(c.bootstrap.keyring), readFileSync(found.path));
  }
  await writeInRootfs(ctx, SOURCES_LIST, buildSourcesList(c));
  await inChroot(ctx, ["rm", "-f", DEB822_SOURCES], { quiet: true });
  if (packageList(c).length === 0) return ctx.log.say("no packages to install: apt is not needed");
  ctx.log.say(`apt-get update from ${c.mirror.build}${viaCache(ctx, c.mirror.build)}`);
  await inChroot(ctx, ["apt-get", "update"], LONG);
}

/**
 * The package list in the apt runs that install it: the kernel last and on
 * its own. Installed together with live-boot, the initramfs is made twice
 * (by the kernel's postinst, then again by the update-initramfs trigger that
 * live-boot, udev, kmod ... set off), which costs minutes under emulation.
 * Installed after them, its postinst makes it once, with every hook in place;
 * the trigger before it finds no kernel and does nothing.
 */
export function installRuns(c: ImageConfig): string[][] {
  const pkgs = packageList(c);
  const kernel = c.kernel.flavour === NO_KERNEL ? undefined : `linux-image-${c.kernel.flavour}`;
  const rest = pkgs.filter((p) => p !== kernel);
  return [rest, kernel ? [kernel] : []].filter((run) => run.length > 0);
}

export async function installPackages(ctx: BuildContext): Promise<void> {
  const pkgs = packageList(ctx.image.config);
  if (pkgs.length === 0) return;
  // live-boot's 9990-netbase.sh writes /etc/network/interfaces at boot; without ifupdown the folder is missing.
  await inChroot(ctx, ["mkdir", "-p", "/etc/network"], { quiet: true });
  ctx.log.say(`installing ${pkgs.length} packages (with Recommends): ${pkgs.join(" ")}`);
  for (const run of installRuns(ctx.image.config))
    await inChroot(ctx, ["apt-get", "install", "-y", "--install-recommends", ...run], LONG);
}

/** Upload the overlay folder and unpack it over the image, inside the chroot. */
export async function copyOverlay(ctx: BuildContext): Promise<void> {
  const rel = ctx.image.config.overlay;
  if (rel === null) return;
  const found = findInImage(ctx.image, rel, "folder");
  if (!found.ok) throw new Error(`overlay: ${found.message}`);
  const dest = `${ctx.work.input}/overlay`;
  const tar = "/tmp/vmlive-overlay.tar";
  ctx.log.say(`copying overlay ${rel}/ over the root filesystem`);
  await onMachine(ctx, ["rm", "-rf", "--one-file-system", dest]);
  await onMachine(ctx, ["mkdir", "-p", path.posix.dirname(dest)]);
  await ctx.machine.upload(found.path, dest, { signal: ctx.signal });
  await onMachine(ctx, ["tar", "-C", dest, "-cf", `${ctx.work.rootfs}${tar}`, "."]);
  // Unpacked inside the chroot: symlinks in the image (merged /usr's /bin, an absolute
  // resolv.conf link) are followed inside it, never out to the machine. Modes are kept;
  // files belong to root, whoever owned them on the host; existing folders keep their mode.
  await inChroot(ctx, [
    "tar",
    "-C",
    "/",
    "-xpf",
    tar,
    "--keep-directory-symlink",
    "--no-same-owner",
    "--no-overwrite-dir",
  ]);
  await inChroot(ctx, ["rm", "-f", tar], { quiet: true });
}
