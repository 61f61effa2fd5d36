// Turning a CI file's object into YAML text with its header comment, and
// writing it without ever replacing a file that someone wrote by hand.
import { existsSync, readFileSync, statSync } from "node:fs";
import { mkdir, rename, writeFile } from "node:fs/promises";
import path from "node:path";
import { Document } from "yaml";
import { UsageError } from "../errors.js";
import { GENERATED_MARK } from "./settings.js";

/** YAML text of `value`, quoted by the serializer (never by hand), with `header` as its leading comment. */
export function renderYaml(value: unknown, header: readonly string[]): string {
  // No &anchors for objects used twice: every job reads whole on its own.
  const doc = new Document(value, { aliasDuplicateObjects: false });
  doc.commentBefore = header.map((l) => (l ? ` ${l}` : "")).join("\n");
  // lineWidth 0: long lines (commands, keys) stay whole instead of being folded.
  return doc.toString({ lineWidth: 0 });
}

/** Did vmlive write this text? Its first line says so. */
export function isGenerated(text: string): boolean {
  return text.startsWith(`# ${GENERATED_MARK}`);
}

/** Write `text` to `file` (its folder made as needed), replacing only a file vmlive wrote, unless forced. */
export async function writeGenerated(file: string, text: string, force: boolean): Promise<void> {
  if (existsSync(file) && statSync(file).isDirectory())
    throw new UsageError(`${file} is a folder`, "give --output the path of the file to write");
  if (!force && existsSync(file) && !isGenerated(readFileSync(file, "utf8")))
    throw new UsageError(
      `${file} exists and was not written by vmlive; leaving it as it is`,
      "move it away first, or give --force to replace it",
    );
  await mkdir(path.dirname(path.resolve(file)), { recursive: true });
  // Written beside it and renamed: a reader never sees half a file.
  const partial = `${file}.${process.pid}.partial`;
  await writeFile(partial, text);
  await rename(partial, file);
}
