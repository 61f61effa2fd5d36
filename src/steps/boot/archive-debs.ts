// Debian packages of the image's architecture, fetched from the build mirror
// and unpacked into a folder, for boot files the builder cannot have: an amd64
// builder has no arm64 GRUB (grub-efi-arm64-bin is built for arm64 only).
// apt runs with a state and cache of its own, so neither the image nor the
// builder's apt is touched, and the archive's signature is checked with the
// same keyring as the bootstrap's.
import { stepProxy, viaCache } from "../../cache/build-use.js";
import { aptProxyOptions } from "../../cache/through-proxy.js";
import type { ImageConfig } from "../../config/load.js";
import type { BuildContext } from "../../pipeline/context.js";
import { keyringOnMachine } from "../bootstrap.js";
import { run, writeFile } from "./machine-files.js";

/** apt's -o options that make it use `dir` for everything it keeps, and the image's architecture. */
export function aptOptions(dir: string, arch: string): string[] {
  return [
    `Dir::State=${dir}/state`,
    "Dir::State::status=/dev/null",
    `Dir::Cache=${dir}/cache`,
    `Dir::Etc::SourceList=${dir}/sources.list`,
    `Dir::Etc::SourceParts=${dir}/sources.list.d`,
    `APT::Architecture=${arch}`,
    `APT::Architectures=${arch}`,
    // The folders are root's; apt's _apt sandbox user could not write them.
    "APT::Sandbox::User=root",
    'Acquire::Retries="3"',
  ].flatMap((o) => ["-o", o]);
}

/** The one-line sources.list: the build mirror, signed by the bootstrap's keyring. */
export function archiveSourcesList(c: ImageConfig, keyring: string): string {
  return `deb [signed-by=${keyring}] ${c.mirror.build} ${c.suite} ${c.bootstrap.components.join(" ")}\n`;
}

/**
 * Download `pkgs` (the image's suite and architecture) and unpack them into
 * `${dir}/root`; returns that folder. `dir` is scratch space, emptied first.
 */
export async function unpackFromArchive(
  ctx: BuildContext,
  pkgs: readonly string[],
  dir: string,
): Promise<string> {
  const c = ctx.image.config;
  const keyring = await keyringOnMachine(ctx);
  const root = `${dir}/root`;
  await run(ctx, ["rm", "-rf", "--one-file-system", dir], { quiet: true });
  await run(
    ctx,
    [
      "mkdir",
      "-p",
      `${dir}/state/lists/partial`,
      `${dir}/cache/archives/partial`,
      `${dir}/debs`,
      `${dir}/sources.list.d`,
      root,
    ],
    {
      quiet: true,
    },
  );
  await writeFile(ctx, `${dir}/sources.list`, archiveSourcesList(c, keyring));
  const apt = [
    "apt-get",
    "-q",
    ...aptOptions(dir, c.arch),
    ...aptProxyOptions(stepProxy(ctx, c.mirror.build)),
  ];
  ctx.log.say(
    `fetching ${pkgs.join(", ")} (${c.suite} ${c.arch}) from ${c.mirror.build}${viaCache(ctx, c.mirror.build)}`,
  );
  await run(ctx, [...apt, "update"], { timeoutMs: 20 * 60_000, idleTimeoutMs: 10 * 60_000 });
  await run(ctx, [...apt, "download", ...pkgs], { cwd: `${dir}/debs`, timeoutMs: 20 * 60_000 });
  const ls = await run(ctx, ["find", `${dir}/debs`, "-maxdepth", "1", "-name", "*.deb"], { quiet: true });
  const debs = ls.stdout.split("\n").filter(Boolean).sort();
  if (debs.length !== pkgs.length)
    throw new Error(`apt-get download of ${pkgs.join(", ")} gave ${debs.length} packages in ${dir}/debs`);
  for (const deb of debs) await run(ctx, ["dpkg-deb", "-x", deb, root], { quiet: true });
  return root;
}
