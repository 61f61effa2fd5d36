// The build steps, in pipeline order. The order is this array's, whatever
// order a user names steps in (`--steps iso,squash` runs squash, then iso).
import type { ConfigProblem } from "../errors.js";
import type { LoadedImage } from "../config/load.js";
import { findHook, findInImage } from "../images/files.js";

export interface Step {
  readonly name: string;
  readonly summary: string;
  /** Checks that need only the host and the image folder; run before any machine starts. */
  verify(image: LoadedImage): ConfigProblem[];
}

const nothingToCheck = (): ConfigProblem[] => [];

export const STEPS: readonly Step[] = [
  {
    name: "bootstrap",
    summary: "debootstrap or mmdebstrap the base root filesystem from the build mirror",
    verify(img) {
      const k = img.config.bootstrap.keyring;
      if (k === null) return [];
      const f = findInImage(img, k, "file");
      return f.ok ? [] : [problem(img, "bootstrap.keyring", f.message)];
    },
  },
  {
    name: "customize",
    summary: "install packages, copy the overlay, run hooks, set up users, clean build leftovers",
    verify(img) {
      const out: ConfigProblem[] = [];
      img.config.hooks.forEach((h, i) => {
        const f = findHook(img, h.path);
        if (!f.ok) out.push(problem(img, `hooks.${i}.path`, f.message));
      });
      const o = img.config.overlay;
      if (o !== null) {
        const f = findInImage(img, o, "folder");
        if (!f.ok) out.push(problem(img, "overlay", f.message));
      }
      return out;
    },
  },
  {
    name: "boot",
    summary: "take out kernel and initrd, make GRUB for BIOS and UEFI",
    verify: nothingToCheck,
  },
  { name: "squash", summary: "mksquashfs the root filesystem and check the result", verify: nothingToCheck },
  { name: "iso", summary: "xorriso a hybrid ISO that boots from CD or USB stick", verify: nothingToCheck },
  { name: "verify", summary: "check the ISO's boot entries and contents", verify: nothingToCheck },
  {
    name: "collect",
    summary: "copy ISO, checksums, manifest, logs and report to the output folder",
    verify: nothingToCheck,
  },
];

function problem(img: LoadedImage, path: string, message: string): ConfigProblem {
  return { file: img.displayFile, path, message };
}

/** Every host-side problem of an image, from every step. */
export function verifyPlan(img: LoadedImage): ConfigProblem[] {
  return STEPS.flatMap((s) => s.verify(img));
}
