// vmlive's benchmarks: numbers printed as one JSON object per line, never
// asserted. For now: the builder VM's boot-to-SSH time (make the builder
// image first with `vmlive vm build`, or the first run includes it).
//
//   npm run bench [-- --runs N --release bookworm --arch amd64 --accel auto]
//
// --arch arm64 on an amd64 host times the arm64 builder under full-system
// emulation (make it with `vmlive vm build trixie --arch arm64`).
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import type { AccelChoice } from "../src/machine/qemu/accel.js";
import { BUILDER_ARCHES, hostArch, type BuilderArch } from "../src/machine/qemu/definition.js";
import { startBuilder } from "../src/machine/qemu/start-builder.js";

const { values } = parseArgs({
  options: {
    runs: { type: "string", default: "3" },
    release: { type: "string", default: "bookworm" },
    arch: { type: "string", default: hostArch() },
    accel: { type: "string", default: "auto" },
  },
});
if (!(BUILDER_ARCHES as readonly string[]).includes(values.arch!))
  throw new Error(`--arch ${values.arch}: use one of ${BUILDER_ARCHES.join(", ")}`);

const logDir = await mkdtemp(path.join(os.tmpdir(), "vmlive-bench-"));
try {
  for (let i = 1; i <= Number(values.runs); i++) {
    const t0 = Date.now();
    await using vm = await startBuilder({
      release: values.release!,
      arch: values.arch as BuilderArch,
      accel: values.accel as AccelChoice,
      logDir,
      say: (m) => process.stderr.write(`vmlive: ${m}\n`),
    });
    const firstExec = Date.now();
    await vm.exec(["true"]);
    console.log(
      JSON.stringify({
        bench: "builder-boot",
        run: i,
        machine: vm.description,
        boot_to_ssh_s: vm.bootSeconds,
        first_exec_s: (Date.now() - firstExec) / 1000,
        total_s: (Date.now() - t0) / 1000,
      }),
    );
  }
} finally {
  await rm(logDir, { recursive: true, force: true });
}
