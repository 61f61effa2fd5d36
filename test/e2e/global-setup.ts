// Once per e2e run: a folder the test files share (the one live-minimal
// build they all boot, see test/support/live-minimal.ts), removed at the end.
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { TestProject } from "vitest/node";

declare module "vitest" {
  export interface ProvidedContext {
    e2eShared: string;
  }
}

export default function setup(project: TestProject): () => void {
  const dir = mkdtempSync(path.join(os.tmpdir(), "vmlive-e2e-shared-"));
  project.provide("e2eShared", dir);
  return () => rmSync(dir, { recursive: true, force: true });
}
