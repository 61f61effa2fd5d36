// What a boot test does, resolved once: from the image config (image.yaml
// when building, or the config a vmlive report.json beside the ISO keeps),
// then whatever the command line says instead.
import { readFile } from "node:fs/promises";
import path from "node:path";
import type { ImageConfig } from "../config/load.js";
import type { RuleProblem } from "../config/rules.js";
import { bootTest as bootTestSchema } from "../config/schema/boot-test.js";
import { UsageError } from "../errors.js";
import type { BuildReport } from "../report/report.js";
import { consoleLogin } from "./login.js";
import type { ConsoleLogin } from "./serial-console.js";
import {
  BOOT_ARCHES,
  defaultWays,
  isArmBoot,
  isBootArch,
  parseWayName,
  type BootArch,
  type BootWay,
} from "./ways.js";

export interface BootPlan {
  iso: string;
  arch: BootArch;
  secureBoot: boolean;
  ways: BootWay[];
  success: RegExp;
  timeoutMs: number;
  commands: string[];
  login?: ConsoleLogin;
  /** Text on the serial console that shows the boot menu is up. */
  menuText?: string;
}

/** The boot_test settings of an image that says nothing about it. */
export const BOOT_TEST_DEFAULTS = bootTestSchema.parse({});

/** What the image says about booting it; undefined for an architecture vmlive cannot boot. */
export function planFromConfig(iso: string, c: ImageConfig): BootPlan | undefined {
  if (!isBootArch(c.arch)) return undefined;
  // A report.json from before boot_test existed has none: its defaults apply.
  const parsed = bootTestSchema.safeParse(c.boot_test ?? {});
  if (!parsed.success)
    throw new UsageError(
      `the image config's boot_test is not valid: ${parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`,
    );
  const bt = parsed.data;
  return {
    iso,
    arch: c.arch,
    secureBoot: c.iso.secure_boot,
    ways: (bt.ways ?? defaultWays(c.arch, c.iso.bootloaders)).map(parseWayName),
    success: new RegExp(bt.success),
    timeoutMs: bt.timeout * 1000,
    commands: bt.commands,
    login: consoleLogin(c),
    // Every entry starts with the menu title: the whole menu is drawn once it shows.
    menuText: c.iso.menu_title,
  };
}

/**
 * What stops an image from being boot-tested at all, found before anything
 * is built: the test watches the serial console, so there must be one.
 */
export function bootTestProblems(c: ImageConfig): RuleProblem[] {
  if (!isBootArch(c.arch))
    return [
      {
        path: "arch",
        message: `vmlive boots ${BOOT_ARCHES.join(", ")} ISOs in qemu, not ${c.arch}: build without --boot-test`,
      },
    ];
  if (c.iso.serial_console === null)
    return [
      {
        path: "iso.serial_console",
        message: `the boot test watches the serial console: set one, e.g. ${isArmBoot(c.arch) ? "ttyAMA0" : "ttyS0,115200n8"}`,
      },
    ];
  return [];
}

/** The report.json of the vmlive build that made this ISO, when it lies beside it. */
export async function reportBeside(iso: string): Promise<BuildReport | undefined> {
  const file = path.join(path.dirname(iso), "report.json");
  const text = await readFile(file, "utf8").catch(() => undefined);
  if (text === undefined) return undefined;
  try {
    const r = JSON.parse(text) as BuildReport;
    const name = path.basename(iso);
    return r.config && r.artifacts?.some((a) => a.name === name) ? r : undefined;
  } catch {
    return undefined;
  }
}
