// The host backend: commands run on this machine, as the user vmlive runs as
// (root for builds). Chosen only by `--backend host`, never as a fallback.
import { cp, mkdir } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { run } from "../process/run.js";
import type { ExecOptions, ExecResult, Machine } from "./machine.js";

export class HostMachine implements Machine {
  readonly site = "host" as const;
  readonly description = `host: ${os.hostname()} ${process.arch === "x64" ? "amd64" : process.arch} (${os.cpus().length} cpu)`;

  exec(argv: readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
    return run(argv, {
      ...opts,
      env: opts.env && ({ ...process.env, ...opts.env } as Record<string, string>),
    });
  }

  async upload(hostPath: string, machinePath: string): Promise<void> {
    await copy(hostPath, machinePath);
  }

  async download(machinePath: string, hostPath: string): Promise<void> {
    await copy(machinePath, hostPath);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    // Nothing to tear down: the host outlives the build.
  }
}

async function copy(from: string, to: string): Promise<void> {
  await mkdir(path.dirname(to), { recursive: true });
  await cp(from, to, { recursive: true, preserveTimestamps: true, verbatimSymlinks: true, force: true });
}
