// Booting a finished ISO in qemu one way and watching its serial console
// until the live system reaches the point the image names (a login prompt
// by default); then, if asked, logging in and running commands inside it.
// Screenshots of the boot menu and of the booted screen are taken through
// qemu's monitor (screendump), for people to look at.
import { existsSync } from "node:fs";
import path from "node:path";
import { VerificationError } from "../errors.js";
import type { Accel } from "../machine/qemu/args.js";
import { tailLines } from "../process/run.js";
import { BootMachine } from "./boot-machine.js";
import { checkIsoFile } from "./iso-file.js";
import { BOOT_TEST_DEFAULTS } from "./plan.js";
import { ConsoleError, type ConsoleLogin } from "./serial-console.js";
import { wayName, type BootArch, type BootWay } from "./ways.js";

export interface BootTestOptions {
  iso: string;
  arch: BootArch;
  way: BootWay;
  accel: Accel;
  /** Where the serial log and screenshots go (kept). */
  logDir: string;
  /** How long the boot may take to reach `success`, and then each command. */
  timeoutMs: number;
  /** What on the serial console means "booted"; default boot_test's (a login prompt). */
  success?: RegExp;
  /** Text on the serial console that shows the boot menu is up (for its screenshot); default GRUB's banner. */
  menuText?: string;
  /** Boot through firmware with Secure Boot on and Microsoft's keys enrolled (UEFI ways). */
  secureBoot?: boolean;
  /**
   * The GRUB menu entry to start, counted from 0 (the default entry): when
   * the menu is up, Down is pressed this many times, then Enter. Needs GRUB
   * on the serial console (iso.serial_console).
   */
  entry?: number;
  /** A writable disk image to boot as the USB stick instead of the ISO (a stick with persistence). */
  disk?: string;
  /** Shell commands run one by one in the booted system, after logging in as `login`. */
  commands?: readonly string[];
  login?: ConsoleLogin;
  /** Start of this boot's file names (default boot-WAY), so two boots of one way keep both. */
  label?: string;
  memoryMiB?: number;
  signal?: AbortSignal;
}

export interface CommandResult {
  command: string;
  /** Undefined when the command did not finish in time (or did not run). */
  exitCode?: number;
  seconds: number;
  output: string;
}

export interface BootResult {
  way: string;
  ok: boolean;
  /** Seconds from starting qemu to `success` (or to the failure). */
  seconds: number;
  serialLog: string;
  screenshots: string[];
  commands: CommandResult[];
  /** Why it failed, in one line. */
  reason?: string;
  /** The serial console's last lines, when it failed. */
  serialTail?: string;
}

/**
 * What a boot that will never reach its goal prints: seen, the test fails at
 * once instead of at the timeout (ten minutes, under TCG).
 */
const DEAD_ENDS: readonly { text: RegExp; why: string }[] = [
  {
    text: /BdsDxe: No bootable option or device was found/,
    why:
      "the UEFI firmware found nothing it could boot " +
      "(Access Denied in the lines before it: Secure Boot refused the boot loader)",
  },
  { text: /Kernel panic - not syncing/, why: "the kernel panicked" },
  {
    text: /Unable to find a medium containing a live file system/,
    why: "live-boot found no medium with the live file system",
  },
];

/** GRUB prints this at the top of its menu, on every terminal it draws on. */
const GRUB_BANNER = "GNU GRUB";
/** Lines of the serial console kept in a failure. */
const TAIL = 15;

export async function bootTest(o: BootTestOptions): Promise<BootResult> {
  if (o.disk) {
    if (!existsSync(o.disk)) throw new VerificationError(`${o.disk}: no such disk image`);
  } else await checkIsoFile(o.iso);
  if (o.commands?.length && !o.login)
    throw new VerificationError("commands need a login on the serial console (a user and password)");
  const name = wayName(o.way);
  const label = o.label ?? `boot-${name}`;
  const serialLog = path.join(o.logDir, `${label}.serial.log`);
  const screenshots: string[] = [];
  const commands: CommandResult[] = [];
  const started = Date.now();
  let bootSeconds: number | undefined;
  await using vm = await BootMachine.start({
    arch: o.arch,
    accel: o.accel,
    way: o.way,
    iso: o.iso,
    disk: o.disk,
    secureBoot: o.secureBoot,
    memoryMiB: o.memoryMiB,
    serialLog,
  });
  const shot = async (what: string) => {
    const file = path.join(o.logDir, `${label}-${what}.png`);
    if (await vm.screenshot(file)) screenshots.push(file);
  };
  const wait = { timeoutMs: o.timeoutMs, signal: o.signal };
  try {
    const menu = vm.console
      .waitFor(new RegExp(escapeRegExp(o.menuText ?? GRUB_BANNER)), wait)
      .then(async () => {
        // The banner comes first; give the rest of the menu a moment to be drawn.
        await sleep(1500);
        await shot("menu");
        if (o.entry) await vm.console.press([...Array<"down">(o.entry).fill("down"), "enter"]);
        else if (o.entry === 0) await vm.console.press(["enter"]);
      });
    // Choosing an entry must come before the boot; the screenshot alone is no reason to wait.
    if (o.entry !== undefined) await menu;
    else menu.catch(() => undefined);
    const success = o.success ?? new RegExp(BOOT_TEST_DEFAULTS.success);
    const end = await vm.console.until(
      (t) => (success.test(t) ? "booted" : DEAD_ENDS.find((d) => d.text.test(t))),
      `${success}`,
      wait,
    );
    if (end !== "booted") throw new Error(end.why);
    bootSeconds = (Date.now() - started) / 1000;
    // The serial console is a step ahead of the screen; let its login prompt appear too.
    await sleep(3000);
    await shot("booted");
    if (o.commands?.length) {
      await vm.console.login(o.login!, wait);
      for (const command of o.commands) {
        const t = Date.now();
        const r = await vm.console.run(command, wait).catch((e: unknown) => {
          commands.push({ command, seconds: (Date.now() - t) / 1000, output: "" });
          throw e;
        });
        commands.push({ command, exitCode: r.exitCode, seconds: (Date.now() - t) / 1000, output: r.output });
      }
      const failed = commands.filter((c) => c.exitCode !== 0);
      if (failed.length)
        return result(
          false,
          failed.map((c) => `\`${c.command}\` exited with ${c.exitCode}`).join("; "),
          vm.console.transcript,
        );
    }
    return result(true);
  } catch (e) {
    const why =
      (await vm.exitReason()) ??
      (o.signal?.aborted ? "interrupted" : e instanceof Error ? e.message : String(e));
    if (vm.running) await shot("failed");
    return result(false, why, e instanceof ConsoleError ? e.transcript : vm.console.transcript);
  }

  function result(ok: boolean, reason?: string, transcript?: string): BootResult {
    return {
      way: name,
      ok,
      seconds: bootSeconds ?? (Date.now() - started) / 1000,
      serialLog,
      screenshots,
      commands,
      ...(reason !== undefined && { reason }),
      ...(transcript !== undefined && !ok && { serialTail: tailLines(printable(transcript), TAIL) }),
    };
  }
}

/**
 * Console text safe to print on a terminal: GRUB and getty send escape
 * sequences (cursor moves, colours) that would redraw the user's screen.
 */
export function printable(text: string): string {
  return (
    text
      // eslint-disable-next-line no-control-regex
      .replace(/\x1b\[[0-9;?=<>]*[ -/]*[@-~]|\x1b[()][0-9A-Za-z]|\x1b[@-_]/g, "")
      .replace(/\r\n?/g, "\n")
      // eslint-disable-next-line no-control-regex
      .replace(/[\x00-\x08\x0b-\x1f\x7f]/g, "")
  );
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
