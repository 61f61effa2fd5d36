// The host backend: commands run on this machine, as the user vmlive runs as
// (root for builds). Chosen only by `--backend host`, never as a fallback.
import { cp, mkdir } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { processTree } from "../process/proc.js";
import { run, type RunOptions } from "../process/run.js";
import { hostProcessesArgv, writeDiagnostics } from "./diagnostics.js";
import type { CopyOptions, ExecOptions, ExecResult, Machine } from "./machine.js";

export interface HostMachineOptions {
  /** Where the diagnostics bundle of a command that goes silent is written; none without it. */
  logDir?: string;
}

export class HostMachine implements Machine {
  readonly site = "host" as const;
  readonly description = `host: ${os.hostname()} ${process.arch === "x64" ? "amd64" : process.arch} (${os.cpus().length} cpu)`;

  constructor(private readonly opts: HostMachineOptions = {}) {}

  exec(argv: readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
    // When a command goes silent, gather diagnostics before the watchdog kills it.
    const callerOnIdle = (opts as RunOptions).onIdle;
    const logDir = this.opts.logDir;
    const onIdle =
      logDir === undefined
        ? callerOnIdle
        : async () => {
            await this.collectDiagnostics(argv, logDir);
            await callerOnIdle?.();
          };
    return run(argv, {
      ...opts,
      onIdle,
      env: opts.env && ({ ...process.env, ...opts.env } as Record<string, string>),
    });
  }

  /** The diagnostics bundle for `argv`: the processes are vmlive's own and what it started. */
  async collectDiagnostics(argv: readonly string[], logDir: string): Promise<string> {
    const pids = (await processTree(process.pid)).map((e) => e.pid);
    return writeDiagnostics({
      logDir,
      argv,
      machine: this.description,
      processes: hostProcessesArgv(pids),
      run: async (cmd) => {
        const r = await run(cmd, { check: false, timeoutMs: 30_000 });
        return r.stdout + r.stderr;
      },
    });
  }

  async upload(hostPath: string, machinePath: string, opts: CopyOptions = {}): Promise<void> {
    await copy(hostPath, machinePath, opts.signal);
  }

  async download(machinePath: string, hostPath: string, opts: CopyOptions = {}): Promise<void> {
    await copy(machinePath, hostPath, opts.signal);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    // Nothing to tear down: the host outlives the build.
  }
}

/** A local copy is over in moments; an interruption is heard before and after it. */
async function copy(from: string, to: string, signal?: AbortSignal): Promise<void> {
  signal?.throwIfAborted();
  await mkdir(path.dirname(to), { recursive: true });
  await cp(from, to, { recursive: true, preserveTimestamps: true, verbatimSymlinks: true, force: true });
  signal?.throwIfAborted();
}
