// The boot step: take the kernel and initrd out of the root filesystem (the
// initrd made again first where qemu-user needs that, see boot/initrd.ts), write
// GRUB's menu, and build GRUB for BIOS (El Torito image + hybrid MBR) and UEFI
// (a FAT image holding /EFI/BOOT/BOOT<ARCH>.EFI, or shim + Debian's signed GRUB
// for Secure Boot). Every GRUB module is built into the images, so no module
// folders go onto the ISO. All tools are the builder's.
import { createHash } from "node:crypto";
import type { BuildContext } from "../pipeline/context.js";
import type { Step } from "../pipeline/steps.js";
import { NO_KERNEL } from "../config/rules.js";
import { problem } from "./inputs.js";
import { VerificationError } from "../errors.js";
import { espCommands, espFiles, espSizeKiB, espVolumeId, type EspFile } from "./boot/efiboot.js";
import { earlyConfig, renderGrubCfg } from "./boot/grub-cfg.js";
import { bootPaths } from "./boot/layout.js";
import { fileSize, run, test, writeFile } from "./boot/machine-files.js";
import { unpackFromArchive } from "./boot/archive-debs.js";
import { remakeInitrdIfNeeded } from "./boot/initrd.js";
import {
  BIOS_HYBRID_MBR,
  biosPlatform,
  efiPlatform,
  secureBootFiles,
  type SecureBootFiles,
  SIGNED_GRUB_PREFIX,
  type GrubPlatform,
} from "./boot/platforms.js";

/**
 * This build's id, for the /.disk/vmlive-<id> marker GRUB searches for. It is
 * derived from the image and SOURCE_DATE_EPOCH, so a rebuild with the same
 * epoch gives the same ISO, while two images or two epochs differ.
 */
export function isoIdFor(name: string, suite: string, arch: string, sourceDateEpoch: number): string {
  return createHash("sha256")
    .update(`vmlive\0${name}\0${suite}\0${arch}\0${sourceDateEpoch}`)
    .digest("hex")
    .slice(0, 16);
}

/** The kernel version of the only /boot/vmlinuz-* in `ls -1` output; throws when there is none or several. */
export function pickKernel(lsOutput: string, bootDir: string): string {
  const versions = lsOutput
    .split("\n")
    .map((l) => /^vmlinuz-(.+)$/.exec(l.trim())?.[1])
    .filter((v): v is string => v !== undefined);
  if (versions.length === 0)
    throw new VerificationError(
      `no kernel in ${bootDir}: found no vmlinuz-*`,
      "install a linux-image package in the image (the customize step adds linux-image-FLAVOUR)",
    );
  if (versions.length > 1)
    throw new VerificationError(
      `${versions.length} kernels in ${bootDir} (${versions.join(", ")}): the live ISO boots exactly one`,
      "remove the other linux-image packages in a hook",
    );
  return versions[0]!;
}

/** Fail naming the Debian package when a file or folder the step needs is missing in the builder. */
async function need(ctx: BuildContext, flag: "-d" | "-f", path: string, pkg: string): Promise<void> {
  if (!(await test(ctx, flag, path)))
    throw new VerificationError(
      `${path} is missing on ${ctx.machine.description}`,
      `install the Debian package ${pkg} in the builder`,
    );
}

/**
 * Where grub-mkimage finds each platform's modules: the builder's own folder
 * where it has the platform's package, else the package of the image's suite
 * and architecture unpacked from the build mirror (an amd64 builder cannot
 * install arm64's GRUB, and has no ia32 EFI GRUB unless asked to).
 */
async function grubModuleDirs(
  ctx: BuildContext,
  platforms: readonly (GrubPlatform | undefined)[],
): Promise<(p: GrubPlatform) => string> {
  const wanted = platforms.filter((p): p is GrubPlatform => p !== undefined);
  const missing: GrubPlatform[] = [];
  for (const p of wanted) if (!(await test(ctx, "-d", p.dir))) missing.push(p);
  const dirs = new Map(wanted.map((p) => [p.format, p.dir]));
  if (missing.length) {
    const root = await unpackFromArchive(
      ctx,
      missing.map((p) => p.pkg),
      `${bootPaths(ctx.work).buildDir}/archive`,
    );
    for (const p of missing) {
      const dir = `${root}${p.dir}`;
      if (!(await test(ctx, "-f", `${dir}/kernel.img`)))
        throw new VerificationError(
          `${p.pkg} from ${ctx.image.config.mirror.build} has no ${p.dir}/kernel.img`,
        );
      dirs.set(p.format, dir);
    }
  }
  return (p) => dirs.get(p.format)!;
}

/**
 * shim and Debian's signed GRUB: the machine's own where it has them, else the
 * image's suite's from the build mirror (a host or builder without shim-signed
 * can still make a Secure Boot ISO, and its GRUB then matches the image's).
 */
async function signedFiles(ctx: BuildContext, sb: SecureBootFiles): Promise<SecureBootFiles> {
  if ((await test(ctx, "-f", sb.shim)) && (await test(ctx, "-f", sb.grub))) return sb;
  const root = await unpackFromArchive(ctx, sb.debs, `${bootPaths(ctx.work).buildDir}/archive-signed`);
  const found = { ...sb, shim: root + sb.shim, grub: root + sb.grub, mokManager: root + sb.mokManager };
  for (const f of [found.shim, found.grub]) await need(ctx, "-f", f, sb.pkgs);
  return found;
}

async function needProgram(ctx: BuildContext, program: string, pkg: string): Promise<void> {
  const r = await run(ctx, ["sh", "-c", 'command -v "$1"', "which", program], { check: false, quiet: true });
  if (r.exitCode !== 0)
    throw new VerificationError(
      `${program} is missing on ${ctx.machine.description}`,
      `install the Debian package ${pkg} in the builder`,
    );
}

async function run_(ctx: BuildContext): Promise<void> {
  const { config, name } = ctx.image;
  const { work } = ctx;
  const paths = bootPaths(work);
  const loaders = config.iso.bootloaders;
  const bios = loaders.includes("bios") ? biosPlatform(config.arch) : undefined;
  if (loaders.includes("bios") && !bios) throw new Error(`${config.arch} has no BIOS boot`);
  const uefi = loaders.includes("uefi") ? efiPlatform(config.arch) : undefined;
  const wantSb = uefi && config.iso.secure_boot ? secureBootFiles(config.arch) : undefined;
  if (uefi && config.iso.secure_boot && !wantSb)
    throw new Error(`Secure Boot is not available for ${config.arch}`);

  // The builder's tools, checked before anything is changed.
  await needProgram(ctx, "grub-mkimage", "grub-common");
  if (uefi) {
    await needProgram(ctx, "mkfs.vfat", "dosfstools");
    await needProgram(ctx, "mcopy", "mtools");
  }

  // The kernel and initrd: exactly one kernel, and an initrd that can boot a live system.
  const bootDir = `${work.rootfs}/boot`;
  const ls = await run(ctx, ["ls", "-1", bootDir], { quiet: true });
  const kver = pickKernel(ls.stdout, bootDir);
  const initrd = `${bootDir}/initrd.img-${kver}`;
  if (!(await test(ctx, "-s", initrd)))
    throw new VerificationError(
      `no initrd for kernel ${kver}: ${initrd} is missing or empty`,
      "the kernel package's postinst makes it with update-initramfs; was it interrupted?",
    );
  if (!(await test(ctx, "-e", `${work.rootfs}/usr/share/initramfs-tools/scripts/live`)))
    throw new VerificationError(
      `the initrd cannot boot a live system: live-boot is not installed in the image ` +
        `(${work.rootfs}/usr/share/initramfs-tools/scripts/live is missing)`,
      "add live-boot to the image's packages",
    );
  await remakeInitrdIfNeeded(ctx, kver);

  const tree = work.isoTree;
  await run(ctx, [
    "rm",
    "-rf",
    "--one-file-system",
    paths.buildDir,
    `${tree}/boot`,
    `${tree}/.disk`,
    `${tree}/EFI`,
    paths.efiImage,
    paths.mbrImage,
  ]);
  await run(ctx, ["mkdir", "-p", paths.buildDir, `${tree}/live`, `${tree}/boot/grub`, `${tree}/.disk`]);
  await run(ctx, ["cp", `${bootDir}/vmlinuz-${kver}`, `${tree}/live/vmlinuz`]);
  await run(ctx, ["cp", initrd, `${tree}/live/initrd.img`]);
  ctx.state.kernelVersion = kver;

  const isoId = isoIdFor(name, config.suite, config.arch, ctx.sourceDateEpoch);
  ctx.state.isoId = isoId;
  const date = new Date(ctx.sourceDateEpoch * 1000).toISOString().slice(0, 16).replace("T", " ");
  await writeFile(
    ctx,
    `${tree}/.disk/info`,
    `${config.iso.menu_title} - ${name} ${config.suite} ${config.arch} ${date}\n`,
  );
  await writeFile(ctx, `${tree}/.disk/vmlive-${isoId}`, "");
  await writeFile(ctx, `${tree}/boot/grub/grub.cfg`, renderGrubCfg(config, isoId));
  const earlyCfg = `${paths.buildDir}/grub-early.cfg`;
  await writeFile(ctx, earlyCfg, earlyConfig(isoId));
  ctx.log.say(`kernel ${kver}; menu for ${loaders.join(" + ")}${wantSb ? " with Secure Boot" : ""}`);

  const tools = await run(ctx, ["grub-mkimage", "--version"], { quiet: true, check: false });
  ctx.state.tools = { ...ctx.state.tools, "grub-mkimage": tools.stdout.trim() };

  // After the build folder was made afresh: files fetched from the archive are unpacked into it.
  const moduleDir = await grubModuleDirs(ctx, [bios, wantSb ? undefined : uefi]);
  const sb = wantSb && (await signedFiles(ctx, wantSb));
  if (bios) {
    await run(ctx, ["mkdir", "-p", `${tree}/boot/grub/i386-pc`]);
    await run(ctx, [
      "grub-mkimage",
      "-O",
      bios.format,
      "-d",
      moduleDir(bios),
      "-p",
      "/boot/grub",
      "-c",
      earlyCfg,
      "-o",
      `${tree}/${paths.eltoritoInTree}`,
      ...bios.modules,
    ]);
    await run(ctx, ["cp", `${moduleDir(bios)}/${BIOS_HYBRID_MBR}`, paths.mbrImage]);
  }

  if (uefi) {
    const grubEfi = `${paths.buildDir}/${uefi.removableName}`;
    if (!sb)
      await run(ctx, [
        "grub-mkimage",
        "-O",
        uefi.format,
        "-d",
        moduleDir(uefi),
        "-p",
        "/boot/grub",
        "-c",
        earlyCfg,
        "-o",
        grubEfi,
        ...uefi.modules,
      ]);
    // Every file is staged under boot-build/esp/ first: its time is then set to the epoch
    // (mcopy -m keeps it, so the FAT image is reproducible) without touching the builder's own files.
    const staged: EspFile[] = [];
    const sizes: number[] = [];
    for (const f of espFiles(config.arch, sb, { grubEfi, earlyCfg })) {
      if (f.optional && !(await test(ctx, "-f", f.from))) continue;
      const stage = `${paths.buildDir}/esp${f.to}`;
      await run(ctx, ["install", "-D", "-m", "0644", f.from, stage]);
      staged.push({ from: stage, to: f.to });
      sizes.push(await fileSize(ctx, stage));
    }
    await run(ctx, ["touch", "-d", `@${ctx.sourceDateEpoch}`, ...staged.map((f) => f.from)]);
    const env = { SOURCE_DATE_EPOCH: String(ctx.sourceDateEpoch) };
    for (const argv of espCommands(paths.efiImage, espSizeKiB(sizes), espVolumeId(isoId), staged))
      await run(ctx, argv, { env });
    if (sb) {
      // Booted from CD, the signed GRUB's $prefix is /EFI/debian on the ISO 9660 file system, not
      // on the ESP: the same early config there spares it the fallback search for /.disk/info.
      await run(ctx, ["mkdir", "-p", `${tree}${SIGNED_GRUB_PREFIX}`]);
      await writeFile(ctx, `${tree}${SIGNED_GRUB_PREFIX}/grub.cfg`, earlyConfig(isoId));
    }
    ctx.log.say(`EFI system partition: ${staged.map((f) => f.to).join(", ")}`);
  }
}

export const bootStep: Step = {
  name: "boot",
  summary: "take out kernel and initrd, make GRUB for BIOS and UEFI",
  verify: (img) =>
    img.config.kernel.flavour === NO_KERNEL
      ? [
          problem(
            img,
            "kernel.flavour",
            "is none, so there is no kernel to boot: build the root filesystem only, with --steps bootstrap,customize,squash",
          ),
        ]
      : [],
  run: run_,
  cleanup: async (ctx) => {
    await run(ctx, ["rm", "-rf", bootPaths(ctx.work).buildDir]);
  },
};
