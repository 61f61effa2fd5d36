import type { CommandModule } from "yargs";
import { BACKENDS, build, type Backend } from "../../pipeline/build.js";
import type { AccelChoice } from "../../machine/qemu/accel.js";
import { STEPS } from "../../steps/index.js";
import { interrupted } from "../interrupt.js";
import type { Io } from "../io.js";
import { setOption, type SetArgs } from "./options.js";
import { accelOption } from "./vm.js";

interface Args extends SetArgs {
  image: string;
  backend: Backend;
  accel: AccelChoice;
  steps?: string[];
  clean: boolean;
  out: string;
  "keep-vm": boolean;
  quiet: boolean;
  "boot-test": boolean;
}

export function buildCommand(io: Io): CommandModule<object, Args> {
  return {
    command: "build <image>",
    describe: "Build an image into a hybrid live ISO (BIOS and UEFI, CD and USB stick)",
    builder: (y) =>
      accelOption(
        setOption(
          y
            .positional("image", {
              type: "string",
              demandOption: true,
              describe: "image name under images/, or a path",
            })
            .option("backend", {
              choices: BACKENDS,
              default: "vm" as Backend,
              describe: "vm: a disposable builder VM for the image's release; host: this machine, as root",
            })
            .option("steps", {
              type: "string",
              array: true,
              describe: `run only these steps (comma-separated; always in pipeline order: ${STEPS.map((s) => s.name).join(", ")}) against the kept work area`,
            })
            .option("clean", {
              type: "boolean",
              default: false,
              describe: "drop the kept work area and start from scratch",
            })
            .option("out", {
              type: "string",
              default: "out",
              describe: "output folder; each build gets IMAGE-SUITE-ARCH-DATE inside it",
            })
            .option("keep-vm", {
              type: "boolean",
              default: false,
              describe: "leave the builder VM running afterwards and say how to reach it",
            })
            .option("quiet", {
              alias: "q",
              type: "boolean",
              default: false,
              describe: "show progress lines only, not every command's output (the log has all)",
            })
            .option("boot-test", {
              type: "boolean",
              default: false,
              describe:
                "then boot the ISO in qemu the ways image.yaml's boot_test names (default: every way); " +
                "results in report.json, serial logs and screenshots in boot/",
            }),
        ),
      )
        .example("$0 build live-minimal", "build the default image in a builder VM")
        .example("$0 build live-minimal --backend host", "build on this machine (root)")
        .example("$0 build live-minimal --steps squash,iso", "redo squashfs and ISO from the kept work area")
        .example("$0 build live-minimal --backend host --boot-test", "build, then boot the ISO four ways")
        .example(
          "$0 build trixie-arm64 --set iso.timeout=0 --out /srv/iso",
          "a variation, elsewhere",
        ) as never,
    handler: async (a) => {
      const r = await build({
        image: a.image,
        sets: a.set ?? [],
        backend: a.backend,
        accel: a.accel,
        steps: a.steps,
        clean: a.clean,
        out: a.out,
        keepVm: a["keep-vm"],
        quiet: a.quiet,
        bootTest: a["boot-test"],
        console: { line: (t) => io.err(t) },
        signal: interrupted,
      });
      const iso = r.report.artifacts?.find((x) => x.name.endsWith(".iso"));
      io.out(iso ? `${r.dir}/${iso.name}` : r.dir);
    },
  };
}
