// Reading image.yaml as text, refusing what is not a small UTF-8 text file
// before the YAML parser sees it: a device or FIFO would never end, a huge
// file would keep the parser busy for minutes, and bytes that are not UTF-8
// would silently become U+FFFD in the config's values.
import { readFileSync, statSync, type Stats } from "node:fs";
import { ConfigError } from "../errors.js";
import { humanBytes } from "../steps/boot/machine-files.js";

/**
 * Largest image.yaml read: real ones are a few KiB, and big files belong in the
 * overlay. The bound also bounds the parser's time on a pathological file.
 */
export const MAX_IMAGE_FILE_BYTES = 256 * 1024;

/** C0 control characters other than tab, newline and carriage return, and DEL: YAML allows none of them. */
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/;

/** The text of an image.yaml; throws ConfigError naming the file when it is not a small UTF-8 text file. */
export function readImageFile(file: string, displayFile: string): string {
  const fail = (message: string, line?: number): never => {
    throw new ConfigError([{ file: displayFile, path: "", message, line }]);
  };
  const st = statSync(file);
  if (!st.isFile()) fail(`is ${kindOf(st)}: an image.yaml must be a regular file`);
  if (st.size > MAX_IMAGE_FILE_BYTES)
    fail(
      `is ${humanBytes(st.size)}, more than the ${humanBytes(MAX_IMAGE_FILE_BYTES)} an image.yaml may have: ` +
        "put large files into the overlay or a hook",
    );
  const bytes = readFileSync(file);
  if (
    (bytes[0] === 0xff && bytes[1] === 0xfe) ||
    (bytes[0] === 0xfe && bytes[1] === 0xff) // a UTF-16 byte order mark
  )
    fail("is UTF-16 text: save it as UTF-8");
  const bad = firstInvalidUtf8(bytes);
  if (bad !== undefined)
    fail(
      `is not UTF-8 text: byte 0x${bytes[bad]!.toString(16).padStart(2, "0")} cannot start or continue ` +
        "a UTF-8 character: save the file as UTF-8",
      lineAt(bytes, bad),
    );
  const text = bytes.toString("utf8");
  const control = CONTROL.exec(text);
  if (control)
    fail(
      `holds the control character U+${control[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, "0")}: ` +
        "an image.yaml is text; remove it",
      text.slice(0, control.index).split("\n").length,
    );
  return text;
}

/** Offset of the first byte of the first sequence that is not UTF-8, or undefined when all of it is. */
function firstInvalidUtf8(bytes: Buffer): number | undefined {
  try {
    new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    return undefined;
  } catch {
    // Only for a bad file: the lenient decoder puts U+FFFD where a bad sequence starts;
    // skip the U+FFFD characters the file really holds (the bytes EF BF BD).
    const text = bytes.toString("utf8");
    for (let i = text.indexOf("\ufffd"); i >= 0; i = text.indexOf("\ufffd", i + 1)) {
      const at = Buffer.byteLength(text.slice(0, i));
      if (!(bytes[at] === 0xef && bytes[at + 1] === 0xbf && bytes[at + 2] === 0xbd)) return at;
    }
    return bytes.length - 1;
  }
}

function lineAt(bytes: Buffer, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset; i++) if (bytes[i] === 0x0a) line++;
  return line;
}

function kindOf(st: Stats): string {
  if (st.isDirectory()) return "a folder";
  if (st.isFIFO()) return "a FIFO";
  if (st.isCharacterDevice()) return "a character device";
  if (st.isBlockDevice()) return "a block device";
  if (st.isSocket()) return "a socket";
  return "not a regular file";
}
