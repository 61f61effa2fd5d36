// Turning what the user typed (`live-minimal`, `images/x`, `images/x/image.yaml`)
// into an image folder, and listing the images there are.
import { existsSync, readdirSync, statSync } from "node:fs";
import path from "node:path";
import { UsageError } from "../errors.js";

export interface ImageLocation {
  /** The image's name: its folder's name. */
  name: string;
  /** Absolute path of the image folder. */
  dir: string;
  /** Absolute path of image.yaml. */
  file: string;
  /** The shared hook folder: hooks/ beside the images/ folder that holds this image. */
  hooksDir: string;
}

export const IMAGE_FILE = "image.yaml";

/** The images/ folder: $VMLIVE_IMAGES, else ./images. */
export function imagesDir(cwd = process.cwd()): string {
  return path.resolve(cwd, process.env.VMLIVE_IMAGES ?? "images");
}

export function locateImage(ref: string, cwd = process.cwd()): ImageLocation {
  const looksLikePath = ref.includes("/") || ref.endsWith(".yaml") || ref === "." || ref === "..";
  let file: string;
  if (looksLikePath) {
    const p = path.resolve(cwd, ref);
    file = existsSync(p) && statSync(p).isDirectory() ? path.join(p, IMAGE_FILE) : p;
    if (!existsSync(file))
      throw new UsageError(
        `no image at ${ref}: ${path.relative(cwd, file) || file} does not exist`,
        "an image folder holds an image.yaml",
      );
  } else {
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(ref))
      throw new UsageError(`"${ref}" is not an image name`, "image names are folder names under images/");
    file = path.join(imagesDir(cwd), ref, IMAGE_FILE);
    if (!existsSync(file)) {
      const names = listImageNames(cwd);
      throw new UsageError(
        `no image named "${ref}" under ${path.relative(cwd, imagesDir(cwd)) || "."}/`,
        names.length
          ? `images there: ${names.join(", ")} (see \`vmlive list\`)`
          : "create images/NAME/image.yaml, or give a path",
      );
    }
  }
  const dir = path.dirname(file);
  return { name: path.basename(dir), dir, file, hooksDir: path.resolve(dir, "..", "..", "hooks") };
}

export function listImageNames(cwd = process.cwd()): string[] {
  const dir = imagesDir(cwd);
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(path.join(dir, d.name, IMAGE_FILE)))
    .map((d) => d.name)
    .sort();
}
