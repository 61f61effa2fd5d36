// Copying the ISO to the start of the target and reading it back. The ISO's
// sha256 is taken from the very bytes that are written, so the read-back
// compares the medium with what was sent, not with a second read of the ISO.
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import type { FileHandle } from "node:fs/promises";
import { VerificationError } from "../errors.js";
import { humanBytes } from "../steps/boot/machine-files.js";

const CHUNK = 4 * 1024 * 1024;
/** How often a long copy says how far it is. */
const PROGRESS_EVERY_MS = 5_000;

export interface Progress {
  (line: string): void;
}

/** Says "writing: 1.2 GiB of 3.4 GiB (35%), 48.0 MiB/s" at most every few seconds, and once at the end. */
export function progressReporter(verb: string, total: number, say: Progress, now = () => Date.now()) {
  const started = now();
  let last = started;
  return (done: number) => {
    const t = now();
    if (done < total && t - last < PROGRESS_EVERY_MS) return;
    last = t;
    const rate = done / Math.max((t - started) / 1000, 0.001);
    const pct = total ? Math.floor((done / total) * 100) : 100;
    say(`${verb}: ${humanBytes(done)} of ${humanBytes(total)} (${pct}%), ${humanBytes(rate)}/s`);
  };
}

/** Write `iso` to the start of `out`; returns the sha256 of what was written. */
export async function writeIso(
  iso: string,
  out: FileHandle,
  isoBytes: number,
  say: Progress,
  signal?: AbortSignal,
): Promise<string> {
  const hash = createHash("sha256");
  const report = progressReporter("writing", isoBytes, say);
  let pos = 0;
  for await (const chunk of createReadStream(iso, { highWaterMark: CHUNK, signal })) {
    const buf = chunk as Buffer;
    hash.update(buf);
    for (let off = 0; off < buf.length;) {
      const { bytesWritten } = await out.write(buf, off, buf.length - off, pos);
      off += bytesWritten;
      pos += bytesWritten;
    }
    report(pos);
  }
  if (pos !== isoBytes)
    throw new VerificationError(
      `the ISO changed while it was being written: read ${pos} bytes, expected ${isoBytes}`,
    );
  await out.sync();
  return hash.digest("hex");
}

/** sha256 of the first `bytes` bytes of `file` (a disk or an image). */
export async function readBackSha256(
  file: string,
  bytes: number,
  say: Progress,
  signal?: AbortSignal,
): Promise<string> {
  const hash = createHash("sha256");
  const report = progressReporter("verifying", bytes, say);
  let done = 0;
  const stream = createReadStream(file, { start: 0, end: bytes - 1, highWaterMark: CHUNK, signal });
  for await (const chunk of stream) {
    hash.update(chunk as Buffer);
    done += (chunk as Buffer).length;
    report(done);
  }
  if (done !== bytes)
    throw new VerificationError(`${file} ended after ${done} bytes while reading back ${bytes}`);
  return hash.digest("hex");
}

/** Write `bytes` zero bytes at `pos` (to blank a stick whose write failed). */
export async function zeroRange(out: FileHandle, pos: number, bytes: number): Promise<void> {
  const zeros = Buffer.alloc(Math.min(bytes, CHUNK));
  for (let done = 0; done < bytes;) {
    const n = Math.min(zeros.length, bytes - done);
    const { bytesWritten } = await out.write(zeros, 0, n, pos + done);
    done += bytesWritten;
  }
}
