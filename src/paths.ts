// Where vmlive's own files are: the folder holding package.json, vm/ and
// templates/, found from this module whether it runs from src/ or dist/.
import path from "node:path";
import { fileURLToPath } from "node:url";

export const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
export const VM_DIR = path.join(PROJECT_ROOT, "vm");
export const TEMPLATES_DIR = path.join(PROJECT_ROOT, "templates");
