// Where two files first differ, read side by side in large chunks: ISOs are
// gigabytes, so neither is ever held in memory whole.
import { open } from "node:fs/promises";

const CHUNK = 1 << 20;

/**
 * The offset of the first byte that differs between files `a` and `b`, or
 * undefined when they are identical. When one is a prefix of the other, the
 * first difference is the end of the shorter one.
 */
export async function firstDifferentByte(a: string, b: string): Promise<number | undefined> {
  await using fa = await open(a, "r");
  await using fb = await open(b, "r");
  const ba = Buffer.alloc(CHUNK);
  const bb = Buffer.alloc(CHUNK);
  for (let pos = 0; ;) {
    const [ra, rb] = await Promise.all([fillFrom(fa, ba, pos), fillFrom(fb, bb, pos)]);
    const n = Math.min(ra, rb);
    const at = firstDifferenceIn(ba.subarray(0, n), bb.subarray(0, n));
    if (at !== undefined) return pos + at;
    if (ra !== rb) return pos + n;
    if (ra === 0) return undefined;
    pos += n;
  }
}

/** Index of the first differing byte of two buffers of the same length. */
function firstDifferenceIn(a: Buffer, b: Buffer): number | undefined {
  if (a.equals(b)) return undefined;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return i;
  return undefined;
}

/** Read up to buf.length bytes at `pos` (short reads are retried; fewer only at the end of the file). */
async function fillFrom(f: Awaited<ReturnType<typeof open>>, buf: Buffer, pos: number): Promise<number> {
  let got = 0;
  while (got < buf.length) {
    const { bytesRead } = await f.read(buf, got, buf.length - got, pos + got);
    if (bytesRead === 0) break;
    got += bytesRead;
  }
  return got;
}
