// `npm run gen:docs`: write docs/image.schema.json and docs/image-config.md from
// the zod schema. test/unit/config/docs.test.ts fails when they are stale.
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { imageJsonSchema, MARKDOWN_FILE, renderJsonSchema, renderMarkdown, SCHEMA_FILE } from "./docs.js";

/** The repository root (this file is src/config/gen-docs.ts). */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");

/** Every generated file: path relative to the repository root, and its text. */
export function generatedFiles(): { file: string; text: string }[] {
  const schema = imageJsonSchema();
  return [
    { file: SCHEMA_FILE, text: renderJsonSchema(schema) },
    { file: MARKDOWN_FILE, text: renderMarkdown(schema) },
  ];
}

function run(): void {
  for (const { file, text } of generatedFiles()) {
    const target = path.join(REPO_ROOT, file);
    mkdirSync(path.dirname(target), { recursive: true });
    writeFileSync(target, text);
    console.log(`wrote ${file}`);
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) run();
