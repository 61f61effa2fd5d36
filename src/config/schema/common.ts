// Field types shared by several sections of image.yaml.
import { z } from "zod";

/**
 * A path relative to the image folder (or hooks/). Never absolute and never
 * with a `..` segment, so a config cannot reach files outside its folders.
 */
export const relativePath = z
  .string()
  .min(1, { message: "must not be empty" })
  .refine((p) => !p.startsWith("/"), {
    message: "must be relative to the image folder, not absolute",
  })
  .refine((p) => !p.split(/[\\/]/).includes(".."), {
    message: "must not contain `..`: files must stay inside the image folder or hooks/",
  })
  // eslint-disable-next-line no-control-regex
  .refine((p) => !/[\u0000-\u001f\u007f]/.test(p), { message: "must not contain control characters" });

/** http(s) or file URL of a Debian archive; a trailing slash is dropped. */
export const mirrorUrl = z
  .string()
  .regex(
    /^(https?:\/\/[A-Za-z0-9.-]+(:[0-9]{1,5})?(\/[A-Za-z0-9._~%+/-]*)?|file:\/\/\/[A-Za-z0-9._~%+/-]+)$/,
    {
      message:
        "not a mirror URL: use http://host[:port]/path, https://... or file:///path " +
        "(letters, digits and . _ ~ % + - / only)",
    },
  )
  .transform((u) => u.replace(/\/+$/, ""));

const UNITS: Record<string, number> = { K: 2 ** 10, M: 2 ** 20, G: 2 ** 30, T: 2 ** 40 };

/** Parse `123`, `"512K"`, `"700M"`, `"4.5G"` (binary units) into bytes; undefined if malformed. */
export function parseSize(value: string | number): number | undefined {
  if (typeof value === "number") return Number.isInteger(value) && value >= 0 ? value : undefined;
  const m = /^([0-9]+(?:\.[0-9]+)?)\s*([KMGT])?i?B?$/i.exec(value.trim());
  if (!m) return undefined;
  const n = Number(m[1]) * (m[2] ? UNITS[m[2].toUpperCase()]! : 1);
  return Number.isFinite(n) ? Math.round(n) : undefined;
}

/** A size as bytes or with a K/M/G/T suffix (binary units), normalised to bytes. */
export function sizeField(min: number, max: number, what: string) {
  return z.union([z.number(), z.string()]).transform((v, ctx) => {
    const n = parseSize(v);
    if (n === undefined) {
      ctx.addIssue({ code: "custom", message: `not a size: write bytes (1048576) or 512K, 700M, 4G` });
      return z.NEVER;
    }
    if (n < min || n > max) {
      ctx.addIssue({
        code: "custom",
        message: `${what} must be between ${fmtBytes(min)} and ${fmtBytes(max)}`,
      });
      return z.NEVER;
    }
    return n;
  });
}

export function fmtBytes(n: number): string {
  for (const [u, f] of [
    ["T", 2 ** 40],
    ["G", 2 ** 30],
    ["M", 2 ** 20],
    ["K", 2 ** 10],
  ] as const) {
    if (n >= f && n % f === 0) return `${n / f}${u}`;
  }
  return n >= 2 ** 20 ? `${(n / 2 ** 20).toFixed(1)}M` : `${n} bytes`;
}
