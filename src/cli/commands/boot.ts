import path from "node:path";
import type { CommandModule } from "yargs";
import { bootAllWays } from "../../boot/boot-all.js";
import { bootTable, wayDetails } from "../../boot/boot-report.js";
import { missingForBoot } from "../../boot/firmware.js";
import { checkIsoFile, isoKernelArch } from "../../boot/iso-file.js";
import { BOOT_TEST_DEFAULTS, planFromConfig, reportBeside, type BootPlan } from "../../boot/plan.js";
import {
  ALL_WAYS,
  archFirmwares,
  BOOT_ARCHES,
  defaultWays,
  FIRMWARES,
  parseWayName,
  wayName,
  WAY_NAMES,
  type BootArch,
  type BootWay,
} from "../../boot/ways.js";
import { UsageError, VerificationError } from "../../errors.js";
import type { AccelChoice } from "../../machine/qemu/accel.js";
import { chooseAccel } from "../../machine/qemu/accel.js";
import { interrupted } from "../interrupt.js";
import type { Io } from "../io.js";
import { accelOption } from "./vm.js";

interface Args {
  iso: string;
  ways?: string[];
  arch?: BootArch;
  timeout?: number;
  success?: string;
  "secure-boot"?: boolean;
  command?: string[];
  user?: string;
  password?: string;
  logs?: string;
  accel: AccelChoice;
}

/** `--ways usb-uefi,cd-bios` (repeatable): always booted in the fixed order of ALL_WAYS. */
export function parseWays(names: readonly string[], arch: BootArch): BootWay[] {
  const wanted = names.flatMap((n) => n.split(",")).filter(Boolean);
  const bad = wanted.filter((w) => !(WAY_NAMES as readonly string[]).includes(w));
  if (bad.length) throw new UsageError(`unknown boot way ${bad.join(", ")}`, `ways: ${WAY_NAMES.join(", ")}`);
  const ways = ALL_WAYS.filter((a) => wanted.includes(wayName(a)));
  const impossible = ways.filter((w) => !archFirmwares(arch).includes(w.firmware));
  if (impossible.length)
    throw new UsageError(
      `${arch} machines have no BIOS: ${impossible.map(wayName).join(", ")} cannot be booted`,
      `use ${defaultWays(arch, FIRMWARES).join(", ")}`,
    );
  return ways;
}

export function bootCommand(io: Io): CommandModule<object, Args> {
  return {
    command: "boot <iso>",
    describe: "Boot a live ISO in qemu as CD and USB stick, BIOS and UEFI, to its login prompt",
    builder: (y) =>
      accelOption(
        y
          .positional("iso", { type: "string", demandOption: true, describe: "the ISO file" })
          .option("ways", {
            type: "string",
            array: true,
            describe: `which ways to boot, comma-separated: ${WAY_NAMES.join(", ")} (default: boot_test.ways, else all the architecture has)`,
          })
          .option("arch", {
            choices: BOOT_ARCHES,
            describe: "the ISO's architecture (default: from report.json beside it, else from its kernel)",
          })
          .option("timeout", {
            type: "number",
            describe: `seconds each boot, and then each command, may take (default: boot_test.timeout, else ${BOOT_TEST_DEFAULTS.timeout}: TCG is slow)`,
          })
          .option("success", {
            type: "string",
            describe: `regular expression on the serial console that means "booted" (default: boot_test.success, else ${BOOT_TEST_DEFAULTS.success})`,
          })
          .option("secure-boot", {
            type: "boolean",
            describe:
              "boot UEFI ways with Secure Boot on and Microsoft's keys enrolled (default: iso.secure_boot)",
          })
          .option("command", {
            type: "string",
            array: true,
            describe:
              "a shell command to run in the booted system, must exit 0 (repeatable; default: boot_test.commands)",
          })
          .option("user", {
            type: "string",
            describe: "log in on the serial console as this user (default: the image's user, or root)",
          })
          .option("password", { type: "string", describe: "the user's password" })
          .option("logs", {
            type: "string",
            describe:
              "folder for serial logs, screenshots and boot-report.json (default: boot/ beside the ISO)",
          }),
      )
        .example(
          "$0 boot out/live-minimal-*/live-minimal-bookworm-amd64.iso",
          "every way, settings from report.json",
        )
        .example("$0 boot my.iso --ways cd-bios,usb-uefi", "two of them")
        .epilogue(
          "Settings not given come from the image config in the vmlive report.json beside the ISO, if any: " +
            "boot_test (ways, success, timeout, commands), iso.secure_boot and the user to log in as.",
        )
        .example(
          "$0 boot my.iso --ways cd-bios --user live --password live --command 'systemctl is-system-running --wait'",
          "and check the system came up cleanly",
        ) as never,
    handler: async (a) => {
      const say = (m: string) => io.err(`vmlive: ${m}`);
      const iso = path.resolve(a.iso);
      await checkIsoFile(iso);
      const plan = await resolvePlan(iso, a, say);
      const missing = missingForBoot(plan.arch, plan.ways, plan.secureBoot);
      if (missing.length)
        throw new VerificationError(`this host cannot boot the ISO:\n  ${missing.join("\n  ")}`);
      const logDir = path.resolve(a.logs ?? path.join(path.dirname(iso), "boot"));
      const accel = await chooseAccel(a.accel, say);
      const report = await bootAllWays(plan, { accel, logDir, signal: interrupted, say });
      io.out(bootTable(report));
      for (const w of report.ways) {
        const details = wayDetails(w, logDir);
        if (details) io.err(details);
      }
      if (interrupted.aborted) throw interrupted.reason;
      const failed = report.ways.filter((w) => !w.ok).map((w) => w.way);
      if (failed.length)
        throw new VerificationError(
          `the ISO did not pass the boot test: ${failed.join(", ")}`,
          `serial logs, screenshots and boot-report.json in ${logDir}`,
        );
    },
  };
}

/** The image's boot_test settings (from the report.json beside the ISO), then the command line's. */
async function resolvePlan(iso: string, a: Args, say: (m: string) => void): Promise<BootPlan> {
  const report = await reportBeside(iso);
  if (report && !(BOOT_ARCHES as readonly string[]).includes(report.config.arch))
    throw new UsageError(`the ISO is for ${report.config.arch}: vmlive boots ${BOOT_ARCHES.join(", ")} ISOs`);
  const fromImage = report ? planFromConfig(iso, report.config) : undefined;
  if (fromImage) say(`boot test settings from ${path.join(path.dirname(iso), "report.json")}`);

  let arch = a.arch ?? fromImage?.arch;
  if (!arch) {
    arch = await isoKernelArch(iso).catch(() => undefined);
    if (arch) say(`the ISO's kernel is for ${arch}`);
    else {
      arch = "amd64";
      say("could not tell the ISO's architecture from its kernel; booting it as amd64 (say --arch)");
    }
  }
  // Settings made for another architecture do not carry over to the one asked for.
  const base = fromImage?.arch === arch ? fromImage : undefined;

  const ways = a.ways
    ? parseWays(a.ways, arch)
    : (base?.ways ?? defaultWays(arch, FIRMWARES).map(parseWayName));
  let success = base?.success ?? new RegExp(BOOT_TEST_DEFAULTS.success);
  if (a.success !== undefined) {
    try {
      success = new RegExp(a.success);
    } catch (e) {
      throw new UsageError(`--success ${a.success}: ${(e as Error).message}`);
    }
  }
  if (a.timeout !== undefined && !(a.timeout > 0))
    throw new UsageError("--timeout must be a number of seconds");
  if ((a.user === undefined) !== (a.password === undefined))
    throw new UsageError("--user and --password go together: the name and password to log in with");
  const login = a.user !== undefined ? { user: a.user, password: a.password! } : base?.login;
  const commands = a.command ?? base?.commands ?? [];
  if (commands.length && !login)
    throw new UsageError(
      "the commands run after logging in on the serial console: say --user and --password",
      "or boot an ISO whose report.json names a user with a password",
    );
  return {
    iso,
    arch,
    secureBoot: a["secure-boot"] ?? base?.secureBoot ?? false,
    ways,
    success,
    timeoutMs:
      a.timeout !== undefined ? a.timeout * 1000 : (base?.timeoutMs ?? BOOT_TEST_DEFAULTS.timeout * 1000),
    commands,
    login,
    menuText: base?.menuText,
  };
}
