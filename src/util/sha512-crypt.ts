// SHA-512 crypt ("$6$", Ulrich Drepper's SHA-crypt as glibc and libxcrypt
// implement it), so that vmlive can hash an image's plain-text password with
// a salt it chooses: chpasswd draws a random salt, which makes /etc/shadow
// differ between two builds of the same image.
import { createHash } from "node:crypto";

const ITOA64 = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
/** crypt(5): a salt of at most 16 characters from this alphabet. */
export const SALT_CHARS = /^[./0-9A-Za-z]{1,16}$/;

const sha512 = (...parts: Buffer[]) => {
  const h = createHash("sha512");
  for (const p of parts) h.update(p);
  return h.digest();
};

/** `n` bytes of `block` repeated. */
function repeatTo(block: Buffer, n: number): Buffer {
  const out = Buffer.alloc(n);
  for (let i = 0; i < n; i += block.length) block.copy(out, i, 0, Math.min(block.length, n - i));
  return out;
}

/** The "$6$salt$hash" of `password` with the default 5000 rounds. */
export function sha512Crypt(password: string, salt: string): string {
  if (!SALT_CHARS.test(salt))
    throw new Error(`sha512Crypt: salt must be 1 to 16 characters of [./0-9A-Za-z]`);
  const p = Buffer.from(password, "utf8");
  const s = Buffer.from(salt, "ascii");
  const b = sha512(p, s, p);
  const a = createHash("sha512").update(p).update(s).update(repeatTo(b, p.length));
  for (let n = p.length; n > 0; n >>= 1) a.update(n & 1 ? b : p);
  let c = a.digest();
  const pSeq = repeatTo(sha512(...Array<Buffer>(p.length).fill(p)), p.length);
  const sSeq = repeatTo(sha512(...Array<Buffer>(16 + c[0]!).fill(s)), s.length);
  for (let i = 0; i < 5000; i++) {
    const h = createHash("sha512");
    h.update(i & 1 ? pSeq : c);
    if (i % 3) h.update(sSeq);
    if (i % 7) h.update(pSeq);
    h.update(i & 1 ? c : pSeq);
    c = h.digest();
  }
  return `$6$${salt}$${encode(c)}`;
}

/** The byte order of SHA-512 crypt's base64. */
const ORDER = [
  [0, 21, 42],
  [22, 43, 1],
  [44, 2, 23],
  [3, 24, 45],
  [25, 46, 4],
  [47, 5, 26],
  [6, 27, 48],
  [28, 49, 7],
  [50, 8, 29],
  [9, 30, 51],
  [31, 52, 10],
  [53, 11, 32],
  [12, 33, 54],
  [34, 55, 13],
  [56, 14, 35],
  [15, 36, 57],
  [37, 58, 16],
  [59, 17, 38],
  [18, 39, 60],
  [40, 61, 19],
  [62, 20, 41],
] as const;

function encode(d: Buffer): string {
  const chars = (w: number, n: number) => {
    let out = "";
    for (let i = 0; i < n; i++, w >>= 6) out += ITOA64[w & 0x3f];
    return out;
  };
  let out = "";
  for (const [x, y, z] of ORDER) out += chars((d[x]! << 16) | (d[y]! << 8) | d[z]!, 4);
  return out + chars(d[63]!, 2);
}

/** A salt for crypt(5) from any text: the same text gives the same salt. */
export function saltFrom(text: string): string {
  const h = createHash("sha256").update(text).digest();
  let out = "";
  for (let i = 0; i < 16; i++) out += ITOA64[h[i]! & 0x3f];
  return out;
}
