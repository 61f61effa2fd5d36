// The builder VM's boot-to-SSH time (make the builder image first with
// `vmlive vm build`, or the first run includes making it). An arm64 builder
// on an amd64 host is timed under full-system emulation.
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type { AccelChoice } from "../src/machine/qemu/accel.js";
import type { BuilderArch } from "../src/machine/qemu/definition.js";
import { startBuilder } from "../src/machine/qemu/start-builder.js";

export interface BuilderBootOptions {
  runs: number;
  release: string;
  arch: BuilderArch;
  accel: AccelChoice;
  say: (m: string) => void;
  print: (line: object) => void;
}

export async function benchBuilderBoot(o: BuilderBootOptions): Promise<void> {
  const logDir = await mkdtemp(path.join(os.tmpdir(), "vmlive-bench-"));
  try {
    for (let i = 1; i <= o.runs; i++) {
      const t0 = Date.now();
      await using vm = await startBuilder({
        release: o.release,
        arch: o.arch,
        accel: o.accel,
        logDir,
        say: o.say,
      });
      const firstExec = Date.now();
      await vm.exec(["true"]);
      o.print({
        bench: "builder-boot",
        run: i,
        machine: vm.description,
        boot_to_ssh_s: vm.bootSeconds,
        first_exec_s: (Date.now() - firstExec) / 1000,
        total_s: (Date.now() - t0) / 1000,
      });
    }
  } finally {
    await rm(logDir, { recursive: true, force: true });
  }
}
