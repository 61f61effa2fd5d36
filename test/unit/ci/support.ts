// Shared by the CI generator tests: settings to generate from, running the
// generated shell snippets, and GitHub's own workflow checker.
import { execa } from "execa";
import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { CiBuild } from "../../../src/ci/matrix.js";
import { DEFAULT_SCHEDULE, type CiSettings } from "../../../src/ci/settings.js";
import { TSX } from "../../support/cli.js";

export const BUILDS: CiBuild[] = [
  { image: "live-minimal", suite: "bookworm", arch: "amd64", bootTest: true },
  { image: "live-minimal", suite: "bookworm", arch: "arm64", bootTest: true },
  { image: "trixie-armhf", suite: "trixie", arch: "armhf", bootTest: false },
];

export function settings(over: Partial<CiSettings> = {}): CiSettings {
  return {
    builds: BUILDS,
    backend: "vm",
    schedule: DEFAULT_SCHEDULE,
    runsOn: ["ubuntu-latest"],
    regenerate: "./bin/vmlive.js ci github live-minimal trixie-armhf",
    version: "0.1.0",
    ...over,
  };
}

/** `n` distinct builds, for the size limits. */
export const manyBuilds = (n: number): CiBuild[] =>
  Array.from({ length: n }, (_, i) => ({
    image: `img-${i}`,
    suite: "bookworm",
    arch: "amd64",
    bootTest: true,
  }));

const CHECKER = path.join(path.dirname(fileURLToPath(import.meta.url)), "check-workflow.ts");

/** GitHub's workflow parser's errors for each file (empty: the file is a valid workflow). */
export async function workflowErrors(files: readonly string[]): Promise<Record<string, string[]>> {
  const r = await execa(TSX, [CHECKER, ...files]);
  return JSON.parse(r.stdout) as Record<string, string[]>;
}

/**
 * Run a generated script in `dir` the way the CI engine does (`shell`),
 * with ./bin/vmlive.js replaced by a stub that prints `stdout` and exits `code`.
 */
export async function runWithStub(
  dir: string,
  shell: readonly string[],
  script: string,
  stub: { stdout: string; code: number },
  env: Record<string, string> = {},
) {
  mkdirSync(path.join(dir, "bin"), { recursive: true });
  const bin = path.join(dir, "bin", "vmlive.js");
  writeFileSync(
    bin,
    `#!/bin/sh\necho "$@" > "${dir}/argv"\nprintf '%s\\n' '${stub.stdout}'\nexit ${stub.code}\n`,
  );
  chmodSync(bin, 0o755);
  return execa(shell[0]!, [...shell.slice(1), script], { cwd: dir, env, reject: false });
}
