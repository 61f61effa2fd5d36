// Where the boot step puts what the iso step needs. Products are kept in the
// work area (so `--steps iso` can run later); scratch files live in
// boot-build/, which the boot step's cleanup removes.
import type { WorkPaths } from "../../pipeline/context.js";

export interface BootPaths {
  /** Scratch: grub-early.cfg, the EFI binaries before they go into the FAT image. */
  buildDir: string;
  /** The FAT image with /EFI/BOOT/...: xorriso appends it as the GPT EFI system partition (not in the ISO tree, so not stored twice). */
  efiImage: string;
  /** GRUB's MBR code (boot_hybrid.img) for USB sticks, copied from the builder's grub-pc-bin. */
  mbrImage: string;
  /** BIOS El Torito image, relative to the ISO tree (xorriso -b wants it so). */
  eltoritoInTree: string;
}

export function bootPaths(work: WorkPaths): BootPaths {
  return {
    buildDir: `${work.root}/boot-build`,
    efiImage: `${work.root}/efiboot.img`,
    mbrImage: `${work.root}/boot_hybrid.img`,
    eltoritoInTree: "boot/grub/i386-pc/eltorito.img",
  };
}
