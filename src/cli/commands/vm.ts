import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type { Argv, CommandModule } from "yargs";
import { ExitWith, UsageError } from "../../errors.js";
import { runInteractive } from "../../process/run.js";
import { ACCEL_CHOICES, type AccelChoice } from "../../machine/qemu/accel.js";
import { buildersDir, ensureBuilderImage, listBuilderImages } from "../../machine/qemu/builder-image.js";
import {
  allDefinitions,
  BUILDER_ARCHES,
  definitionFor,
  hostArch,
  type BuilderArch,
} from "../../machine/qemu/definition.js";
import { startBuilder } from "../../machine/qemu/start-builder.js";
import { interrupted } from "../interrupt.js";
import type { Io } from "../io.js";

export function accelOption<T>(y: Argv<T>) {
  return y.option("accel", {
    choices: ACCEL_CHOICES,
    default: "auto" as AccelChoice,
    describe: "qemu accelerator: auto takes KVM only when it really works, else TCG (and says why)",
  });
}

/** --arch: which architecture's builder; an image's build picks it from builder.arch instead. */
function archOption<T>(y: Argv<T>) {
  return y.option("arch", {
    choices: BUILDER_ARCHES,
    default: hostArch(),
    describe: "builder architecture: this host's by default; another runs under full-system emulation",
  });
}

export function vmCommand(io: Io): CommandModule {
  const say = (m: string) => io.err(`vmlive: ${m}`);
  return {
    command: "vm <command>",
    describe: "Make, list, prune and enter the builder VMs",
    builder: (y) =>
      y
        .command({
          command: "build [release..]",
          describe:
            "Make the builder VM images (all releases by default); cached until vm/ or vmlive changes",
          builder: (b) =>
            archOption(b)
              .positional("release", {
                type: "string",
                array: true,
                describe: "bookworm, trixie, or an image suite",
              })
              .option("rebuild", {
                type: "boolean",
                default: false,
                describe: "make it again even if cached",
              })
              .option("mirror", { type: "string", describe: "Debian archive to make it from" })
              .example("$0 vm build", "make every builder for this host")
              .example("$0 vm build bookworm --rebuild", "remake the bookworm builder")
              .example("$0 vm build trixie --arch arm64", "make the arm64 trixie builder"),
          handler: async (a) => {
            const rels = (a.release as string[] | undefined) ?? [];
            const arch = a.arch as BuilderArch;
            const defs = rels.length
              ? rels.map((r) => definitionFor(r, arch))
              : allDefinitions().filter((d) => d.arch === arch);
            for (const def of defs) {
              const img = await ensureBuilderImage(def, {
                rebuild: a.rebuild as boolean,
                mirror: a.mirror as string | undefined,
                say,
              });
              io.out(`${def.name}  ${img.dir}`);
            }
          },
        })
        .command({
          command: "list",
          describe: "The builder definitions in vm/ and their cached images",
          handler: async () => {
            const cached = await listBuilderImages();
            for (const def of allDefinitions()) {
              const img = cached.find((c) => c.name === def.name && c.key === def.key);
              io.out(
                `${def.name.padEnd(16)} serves ${def.serves.join(",").padEnd(24)} ` +
                  (img ? `cached ${img.created.slice(0, 16)}  ${img.dir}` : "not made yet (vmlive vm build)"),
              );
            }
            const stale = cached.filter(
              (c) => !allDefinitions().some((d) => d.name === c.name && d.key === c.key),
            );
            for (const s of stale)
              io.out(`${s.name.padEnd(16)} stale (an older definition or vmlive): ${s.dir}`);
          },
        })
        .command({
          command: "prune",
          describe: "Delete cached builder images that no definition uses any more (--all: every one)",
          builder: (b) =>
            b.option("all", { type: "boolean", default: false, describe: "delete every cached image" }),
          handler: async (a) => {
            const current = allDefinitions();
            let n = 0;
            for (const img of await listBuilderImages()) {
              if (!a.all && current.some((d) => d.name === img.name && d.key === img.key)) continue;
              await rm(img.dir, { recursive: true, force: true });
              io.out(`deleted ${img.dir}`);
              n++;
            }
            io.out(`${n} builder image${n === 1 ? "" : "s"} deleted from ${buildersDir()}`);
          },
        })
        .command({
          command: "shell <release> [command..]",
          describe: "Boot a fresh disposable builder, run a command (or a shell) in it, then discard it",
          builder: (b) =>
            accelOption(
              archOption(b)
                .positional("release", {
                  type: "string",
                  demandOption: true,
                  describe: "bookworm, trixie, or an image suite",
                })
                .positional("command", {
                  type: "string",
                  array: true,
                  describe: "command and arguments (after --)",
                })
                .option("keep-vm", {
                  type: "boolean",
                  default: false,
                  describe: "leave the VM running and say how to reach it",
                }),
            )
              .example("$0 vm shell bookworm -- uname -m", "prints x86_64")
              .example("$0 vm shell trixie", "an interactive root shell in a trixie builder")
              .example("$0 vm shell trixie --arch arm64 -- uname -m", "prints aarch64"),
          handler: async (a) => {
            const cmd = [
              ...((a.command as string[] | undefined) ?? []),
              ...((a["--"] as string[] | undefined) ?? []),
            ].map(String);
            if (cmd.length === 0 && !process.stdin.isTTY)
              throw new UsageError(
                "no command given and no terminal for a shell",
                "put the command after --, e.g. vmlive vm shell bookworm -- uname -m",
              );
            const logDir = await mkdtemp(path.join(os.tmpdir(), "vmlive-shell-"));
            let code: number;
            try {
              await using vm = await startBuilder({
                release: a.release as string,
                arch: a.arch as BuilderArch,
                accel: a.accel as AccelChoice,
                logDir,
                keep: a["keep-vm"] as boolean,
                say,
                // Ctrl-C while the VM boots stops it there, not once it is up.
                signal: interrupted,
              });
              if (cmd.length === 0) code = await runInteractive([...vm.sshArgv(), "-t"]);
              else
                code = (
                  await vm.exec(cmd, {
                    check: false,
                    signal: interrupted,
                    output: { line: (s, l) => (s === "stdout" ? io.out(l) : io.err(l)) },
                  })
                ).exitCode;
            } finally {
              await rm(logDir, { recursive: true, force: true });
            }
            if (code !== 0) throw new ExitWith(code);
          },
        })
        .demandCommand(1, "name a vm command: build, list, prune or shell"),
    handler: () => {},
  };
}
