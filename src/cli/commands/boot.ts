import { mkdir } from "node:fs/promises";
import path from "node:path";
import type { CommandModule } from "yargs";
import { bootTest, checkIsoFile } from "../../boot/boot-test.js";
import { FIRMWARES, MEDIA, wayName, type BootWay } from "../../boot/args.js";
import { UsageError, VerificationError } from "../../errors.js";
import type { AccelChoice } from "../../machine/qemu/accel.js";
import { chooseAccel } from "../../machine/qemu/accel.js";
import { interrupted } from "../interrupt.js";
import type { Io } from "../io.js";
import { accelOption } from "./vm.js";

const ALL_WAYS = MEDIA.flatMap((media) => FIRMWARES.map((firmware) => ({ media, firmware })));

interface Args {
  iso: string;
  ways: string[];
  arch: "amd64" | "i386";
  timeout: number;
  logs?: string;
  accel: AccelChoice;
}

export function parseWays(names: readonly string[]): BootWay[] {
  const wanted = names.flatMap((n) => n.split(",")).filter(Boolean);
  const bad = wanted.filter((w) => !ALL_WAYS.some((a) => wayName(a) === w));
  if (bad.length)
    throw new UsageError(`unknown boot way ${bad.join(", ")}`, `ways: ${ALL_WAYS.map(wayName).join(", ")}`);
  return ALL_WAYS.filter((a) => wanted.includes(wayName(a)));
}

export function bootCommand(io: Io): CommandModule<object, Args> {
  return {
    command: "boot <iso>",
    describe: "Boot a live ISO in qemu as CD and USB stick, BIOS and UEFI, until its login prompt",
    builder: (y) =>
      accelOption(
        y
          .positional("iso", { type: "string", demandOption: true, describe: "the ISO file" })
          .option("ways", {
            type: "string",
            array: true,
            default: ALL_WAYS.map(wayName),
            describe: "which ways to boot (comma-separated)",
          })
          .option("arch", {
            choices: ["amd64", "i386"] as const,
            default: "amd64" as const,
            describe: "the ISO's architecture",
          })
          .option("timeout", {
            type: "number",
            default: 600,
            describe: "seconds each boot may take (TCG is slow)",
          })
          .option("logs", {
            type: "string",
            describe: "folder for serial logs and screenshots (default: beside the ISO)",
          }),
      )
        .example("$0 boot out/live-minimal-*/live-minimal-bookworm-amd64.iso", "all four ways")
        .example("$0 boot my.iso --ways cd-bios,usb-uefi", "two of them") as never,
    handler: async (a) => {
      const ways = parseWays(a.ways);
      await checkIsoFile(a.iso);
      const logDir = path.resolve(a.logs ?? path.dirname(a.iso));
      await mkdir(logDir, { recursive: true });
      const accel = await chooseAccel(a.accel, (m) => io.err(`vmlive: ${m}`));
      const failed: string[] = [];
      for (const way of ways) {
        io.err(`vmlive: booting ${a.iso} as ${wayName(way)} ...`);
        const r = await bootTest({
          iso: a.iso,
          arch: a.arch,
          way,
          accel,
          logDir,
          timeoutMs: a.timeout * 1000,
          menuText: "GNU GRUB",
          signal: interrupted,
        });
        io.out(
          `${r.ok ? "ok  " : "FAIL"}  ${r.way.padEnd(9)} ${r.seconds.toFixed(1)} s  ${r.screenshots.map((s) => path.basename(s)).join(" ")}`,
        );
        if (!r.ok) {
          io.err(r.reason ?? "");
          failed.push(r.way);
        }
      }
      if (failed.length)
        throw new VerificationError(
          `the ISO did not boot: ${failed.join(", ")}`,
          `serial logs and screenshots in ${logDir}`,
        );
    },
  };
}
