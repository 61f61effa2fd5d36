// A screenshot qemu wrote is a real PNG file, not an empty or partial one.
import { readFileSync } from "node:fs";

const SIGNATURE = Buffer.from("\x89PNG\r\n\x1a\n", "latin1");

export const isPng = (file: string) => readFileSync(file).subarray(0, 8).equals(SIGNATURE);
