// The verify step: read the finished ISO back with xorriso and check that it
// has the boot entries the config asks for and the files a live boot needs.
import type { BuildContext } from "../pipeline/context.js";
import type { Step } from "../pipeline/steps.js";
import { VerificationError } from "../errors.js";
import { run } from "./boot/machine-files.js";
import { ESP_GPT_TYPE, parseElTorito, parseLsdl } from "./iso/xorriso.js";

/** What is wrong with the ISO's boot records; empty when nothing is. */
export function bootProblems(report: string, loaders: readonly ("bios" | "uefi")[]): string[] {
  const r = parseElTorito(report);
  const out: string[] = [];
  if (loaders.includes("bios")) {
    if (!r.platforms.includes("BIOS")) out.push("no BIOS El Torito boot image (CD boot with BIOS)");
    if (!/\bgrub2-mbr\b/.test(r.systemArea)) out.push("no GRUB hybrid MBR (USB boot with BIOS)");
  }
  if (loaders.includes("uefi")) {
    if (!r.platforms.includes("UEFI")) out.push("no UEFI El Torito boot image (CD boot with UEFI)");
    if (!r.gptTypes.includes(ESP_GPT_TYPE) && !r.mbrTypes.includes("0xef"))
      out.push("no EFI system partition (USB boot with UEFI)");
  }
  return out;
}

/** What is missing or wrong among the ISO's files; empty when nothing is. */
export function fileProblems(
  listing: string,
  expect: { squashfsBytes?: number; isoId?: string; bios: boolean },
): string[] {
  const files = parseLsdl(listing);
  const out: string[] = [];
  const nonEmpty = [
    "/live/vmlinuz",
    "/live/initrd.img",
    "/live/filesystem.squashfs",
    "/boot/grub/grub.cfg",
    ...(expect.bios ? ["/boot/grub/i386-pc/eltorito.img"] : []),
  ];
  for (const f of nonEmpty) {
    const size = files.get(f);
    if (size === undefined) out.push(`${f} is missing`);
    else if (size === 0) out.push(`${f} is empty`);
  }
  const sq = files.get("/live/filesystem.squashfs");
  if (sq !== undefined && expect.squashfsBytes !== undefined && sq !== expect.squashfsBytes)
    out.push(`/live/filesystem.squashfs is ${sq} bytes, the squash step made ${expect.squashfsBytes}`);
  if (expect.isoId && !files.has(`/.disk/vmlive-${expect.isoId}`))
    out.push(`/.disk/vmlive-${expect.isoId} is missing (GRUB searches for it)`);
  return out;
}

async function run_(ctx: BuildContext): Promise<void> {
  const iso = ctx.state.iso?.path;
  if (!iso) throw new VerificationError("no ISO to verify: the iso step has not run in this work area");
  const loaders = ctx.image.config.iso.bootloaders;

  const report = await run(ctx, [
    "xorriso",
    "-indev",
    iso,
    "-report_el_torito",
    "plain",
    "-report_system_area",
    "plain",
  ]);
  const listing = await run(ctx, ["xorriso", "-indev", iso, "-find", "/", "-type", "f", "-exec", "lsdl"]);
  const problems = [
    ...bootProblems(report.stdout, loaders),
    ...fileProblems(listing.stdout, {
      squashfsBytes: ctx.state.squashfs?.bytes,
      isoId: ctx.state.isoId,
      bios: loaders.includes("bios"),
    }),
  ];
  if (problems.length)
    throw new VerificationError(`${iso} is not a working live ISO:\n  ${problems.join("\n  ")}`);
  const platforms = parseElTorito(report.stdout).platforms.join(" + ");
  ctx.log.say(`${iso}: El Torito ${platforms}; kernel, initrd, squashfs and grub.cfg present`);
}

export const verifyStep: Step = {
  name: "verify",
  summary: "check the ISO's boot entries and contents",
  verify: () => [],
  run: run_,
};
