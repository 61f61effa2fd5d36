// The kernel, the compressed root filesystem and the ISO around it.
import { z } from "zod";
import { volumeId } from "../debian-names.js";
import { fmtBytes, parseSize, sizeField } from "./common.js";

export const kernel = z
  .strictObject({
    flavour: z
      .string()
      .regex(/^[a-z0-9][a-z0-9-]*$/, { message: "not a kernel flavour such as amd64, arm64, 686-pae, armmp" })
      .nullable()
      .default(null)
      .describe(
        "Flavour of linux-image-FLAVOUR; null picks the architecture's default (amd64, arm64, armmp, 686-pae). " +
          "none installs no kernel and no live-boot: a root filesystem to squash, not a bootable image.",
      ),
    append: z
      .array(
        z.string().regex(/^[A-Za-z0-9_.,:=/+-]+$/, {
          message: "not a kernel parameter: letters, digits and _ . , : = / + - only, no spaces or quotes",
        }),
      )
      .default([])
      .describe("Extra kernel command-line parameters for every boot entry."),
  })
  .prefault({})
  .describe("The live system's kernel.");

export const COMPRESSIONS = ["zstd", "xz", "gzip", "lz4", "lzo"] as const;
/** Levels mksquashfs accepts with -Xcompression-level; xz and lz4 take none. */
export const COMPRESSION_LEVELS: Partial<Record<(typeof COMPRESSIONS)[number], [number, number]>> = {
  zstd: [1, 22],
  gzip: [1, 9],
  lzo: [1, 9],
};

export const squashfs = z
  .strictObject({
    compression: z
      .enum(COMPRESSIONS, { message: `use one of ${COMPRESSIONS.join(", ")}` })
      .default("zstd")
      .describe("mksquashfs compressor."),
    level: z
      .number()
      .int()
      .nullable()
      .default(null)
      .describe("Compression level (zstd 1-22, gzip and lzo 1-9); null keeps mksquashfs's default."),
    block_size: sizeField(4096, 1024 * 1024, "block_size")
      .refine((n) => (n & (n - 1)) === 0, { message: "must be a power of two (4K, 8K, ... 1M)" })
      .default(131072)
      .describe("Block size, a power of two from 4K to 1M."),
  })
  .prefault({})
  .describe("The compressed root filesystem (live/filesystem.squashfs).");

/** Named media sizes (bytes) for iso.max_size, as mkcd-style builds use them. */
export const MEDIA_SIZES: Record<string, number> = {
  cd: 737_280_000, // 80-minute CD-R, 360 000 sectors
  dvd: 4_700_372_992, // single-layer DVD±R
  "dvd-dl": 8_543_666_176,
};

const maxSize = z
  .union([z.enum(Object.keys(MEDIA_SIZES) as [string, ...string[]]), z.number(), z.string()])
  .transform((v, ctx) => {
    if (typeof v === "string" && v in MEDIA_SIZES) return MEDIA_SIZES[v]!;
    const [min, max] = [1024 * 1024, 2 ** 44];
    const r = sizeField(min, max, "max_size").safeParse(v);
    if (!r.success) {
      // A size out of range says so; anything else gets the forms that are allowed.
      const range =
        parseSize(v) === undefined ? "" : `must be between ${fmtBytes(min)} and ${fmtBytes(max)}: `;
      ctx.addIssue({
        code: "custom",
        message: `${range}use cd, dvd, dvd-dl, a byte count or a size such as 2G`,
      });
      return z.NEVER;
    }
    return r.data;
  });

export const BOOTLOADERS = ["bios", "uefi"] as const;

export const iso = z
  .strictObject({
    volume_id: volumeId.default("VMLIVE").describe("ISO 9660 volume id (at most 32 characters)."),
    menu_title: z
      .string()
      .min(1)
      .max(60)
      // eslint-disable-next-line no-control-regex
      .regex(/^[^\u0000-\u001f"\\$`]*$/, {
        message: "must not contain quotes, $, `, \\ or control characters",
      })
      .default("Debian Live")
      .describe("Title shown in the boot menu."),
    bootloaders: z
      .array(z.enum(BOOTLOADERS, { message: "use bios and/or uefi" }))
      .min(1)
      .nullable()
      .default(null)
      .describe(
        "Firmware the ISO boots on; null picks the architecture's (amd64, i386: both; arm64, armhf: uefi).",
      ),
    secure_boot: z
      .boolean()
      .default(false)
      .describe("Boot through Debian's signed shim and GRUB, so UEFI Secure Boot machines start it."),
    serial_console: z
      .string()
      .regex(/^tty[A-Za-z]+[0-9]+(,[0-9]+([noe][5-8])?)?$/, {
        message: "not a console spec: use the kernel's form, e.g. ttyS0,115200n8 or ttyAMA0",
      })
      .nullable()
      .default(null)
      .describe("Serial console for GRUB and the kernel, e.g. ttyS0,115200n8; null for none."),
    timeout: z
      .number()
      .int()
      .min(0, { message: "must be 0 (boot at once) or more seconds" })
      .max(600, { message: "must be at most 600 seconds (ten minutes)" })
      .default(5)
      .describe("Seconds the boot menu waits before starting the default entry (0 boots at once)."),
    max_size: maxSize
      .nullable()
      .default(null)
      .describe(
        "Largest ISO allowed: cd (700 MB), dvd (4.7 GB), dvd-dl, bytes or a size like 2G; null for none.",
      ),
  })
  .prefault({})
  .describe("The hybrid ISO: boots from CD or USB stick, BIOS or UEFI.");
