// The iso step: xorriso the ISO tree into a hybrid ISO that boots from CD or
// USB stick, with BIOS and/or UEFI. Written as NAME.iso.partial and renamed
// when xorriso succeeded, so a half-written ISO never has the final name.
import type { BuildContext } from "../pipeline/context.js";
import type { Step } from "../pipeline/steps.js";
import { VerificationError } from "../errors.js";
import { bootPaths } from "./boot/layout.js";
import { fileSize, freeBytes, humanBytes, run, test, treeBytes } from "./boot/machine-files.js";
import { xorrisoArgv } from "./iso/xorriso.js";
import { outOfSpaceError } from "./space.js";

/** out/<image>-<suite>-<arch>.iso */
export function isoPath(ctx: Pick<BuildContext, "image" | "work">): string {
  const c = ctx.image.config;
  return `${ctx.work.out}/${ctx.image.name}-${c.suite}-${c.arch}.iso`;
}

async function run_(ctx: BuildContext): Promise<void> {
  const { config } = ctx.image;
  const paths = bootPaths(ctx.work);
  const loaders = config.iso.bootloaders;
  const bios = loaders.includes("bios");
  const uefi = loaders.includes("uefi");
  const tree = ctx.work.isoTree;

  // What the earlier steps made must be there (a --steps run may come on a work area without it).
  const needed = [
    `${tree}/live/vmlinuz`,
    `${tree}/live/initrd.img`,
    `${tree}/live/filesystem.squashfs`,
    `${tree}/boot/grub/grub.cfg`,
    ...(bios ? [`${tree}/${paths.eltoritoInTree}`, paths.mbrImage] : []),
    ...(uefi ? [paths.efiImage] : []),
  ];
  for (const f of needed)
    if (!(await test(ctx, "-f", f)))
      throw new VerificationError(
        `${f} is missing`,
        "run the boot and squash steps first (--steps boot,squash,iso)",
      );

  const iso = isoPath(ctx);
  const partial = `${iso}.partial`;
  await run(ctx, ["mkdir", "-p", ctx.work.out]);
  await run(ctx, ["rm", "-f", partial]);
  // The ISO is about the tree plus the EFI image; an old ISO of the same name is replaced only at the end.
  const need = (await treeBytes(ctx, tree)) + (uefi ? await fileSize(ctx, paths.efiImage) : 0);
  const avail = await freeBytes(ctx, ctx.work.out);
  if (avail < need)
    throw new VerificationError(
      `out of space: need ${humanBytes(need)}, have ${humanBytes(avail)} on the filesystem of ${ctx.work.out}`,
      "free space in the work area, or make the builder's disk bigger",
    );

  const version = await run(ctx, ["xorriso", "-version"], { check: false, quiet: true });
  ctx.state.tools = { ...ctx.state.tools, xorriso: version.stdout.split("\n")[0]?.trim() ?? "" };

  const argv = xorrisoArgv({
    tree,
    output: partial,
    volumeId: config.iso.volume_id,
    sourceDateEpoch: ctx.sourceDateEpoch,
    bios: bios ? { eltorito: paths.eltoritoInTree, mbr: paths.mbrImage } : undefined,
    uefi: uefi ? { efiImage: paths.efiImage } : undefined,
  });
  // xorriso 1.5 reads SOURCE_DATE_EPOCH itself for the volume times, GPT GUIDs and the files'
  // atime/ctime, but keeps their mtimes: clamp those (kernel, initrd, grub.cfg were written just now).
  const epoch = `@${ctx.sourceDateEpoch}`;
  await run(ctx, ["find", tree, "-newermt", epoch, "-exec", "touch", "-h", "-d", epoch, "{}", "+"]);
  try {
    await run(ctx, argv, { env: { SOURCE_DATE_EPOCH: String(ctx.sourceDateEpoch) } });
  } catch (e) {
    // xorriso leaves what it wrote; the space it takes is given back before df is asked.
    await run(ctx, ["rm", "-f", partial]);
    throw (await outOfSpaceError(ctx, e, `writing ${iso}`, ctx.work.out)) ?? e;
  }
  await run(ctx, ["mv", "-f", partial, iso]);

  const bytes = await fileSize(ctx, iso);
  const max = config.iso.max_size;
  if (max !== null && bytes > max) {
    await run(ctx, ["rm", "-f", iso]);
    throw new VerificationError(
      `the ISO is ${humanBytes(bytes)} (${bytes} bytes), more than iso.max_size ${humanBytes(max)} (${max} bytes); removed it`,
      "leave packages out, use squashfs.compression xz or a higher level, or raise iso.max_size",
    );
  }
  ctx.state.iso = { path: iso, bytes };
  ctx.log.say(`${iso}: ${humanBytes(bytes)} (${bytes} bytes)`);
}

export const isoStep: Step = {
  name: "iso",
  summary: "xorriso a hybrid ISO that boots from CD or USB stick",
  verify: () => [],
  run: run_,
  cleanup: async (ctx) => {
    await run(ctx, ["rm", "-f", `${isoPath(ctx)}.partial`]);
  },
};
