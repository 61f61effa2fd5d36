// GRUB's configuration: the menu (templates/grub.cfg.hbs) and the small early
// config built into the GRUB images, which finds the ISO by its marker file
// and hands over to the menu.
import { readFileSync } from "node:fs";
import path from "node:path";
import Handlebars from "handlebars";
import type { ImageConfig } from "../../config/load.js";
import { TEMPLATES_DIR } from "../../paths.js";
import { hasPcSerial } from "./platforms.js";

export interface SerialConsole {
  /** The kernel's console= value, as configured: ttyS0,115200n8. */
  kernel: string;
  /** GRUB's serial settings; undefined when the device is not a PC UART (ttyAMA0), which GRUB cannot address by unit. */
  grub?: { unit: number; speed: number; word: number; parity: "no" | "odd" | "even" };
}

/** Parse `ttyS0,115200n8` (the kernel's form; the schema has checked it). */
export function parseSerialConsole(spec: string, pcSerial = true): SerialConsole {
  const m = /^tty([A-Za-z]+)([0-9]+)(?:,([0-9]+)(?:([noe])([5-8]))?)?$/.exec(spec);
  if (!m) throw new Error(`not a serial console spec: ${spec}`);
  if (m[1] !== "S" || !pcSerial) return { kernel: spec };
  const parity = ({ n: "no", o: "odd", e: "even" } as const)[(m[4] ?? "n") as "n" | "o" | "e"];
  return {
    kernel: spec,
    grub: { unit: Number(m[2]), speed: Number(m[3] ?? 9600), word: Number(m[5] ?? 8), parity },
  };
}

export interface MenuEntry {
  id: string;
  title: string;
  /** The kernel command line after /live/vmlinuz. */
  params: string;
}

/**
 * Kernel parameters of the safe-mode entry: live-build's "failsafe" set
 * (LB_BOOTAPPEND_LIVE_FAILSAFE) without `memtest` (modern kernels then test
 * memory at boot) and `vga=788` (legacy VESA mode, ignored on UEFI).
 */
export const SAFE_MODE_PARAMS = [
  "noapic",
  "noapm",
  "nodma",
  "nomce",
  "nolapic",
  "nomodeset",
  "nosmp",
  "nosplash",
];

/** The four entries: live, safe mode, to RAM, persistence; console= last, the serial one very last (it becomes /dev/console). */
export function menuEntries(config: ImageConfig): MenuEntry[] {
  const consoles = [
    "console=tty0",
    ...(config.iso.serial_console ? [`console=${config.iso.serial_console}`] : []),
  ];
  const line = (...extra: string[]) =>
    ["boot=live", "components", ...extra, ...config.kernel.append, ...consoles].join(" ");
  const what = config.iso.menu_title;
  return [
    { id: "live", title: `${what} (${config.arch})`, params: line("quiet") },
    { id: "safe", title: `${what} (${config.arch}, safe mode)`, params: line(...SAFE_MODE_PARAMS) },
    { id: "toram", title: `${what} (${config.arch}, load to RAM)`, params: line("toram", "quiet") },
    {
      id: "persistence",
      title: `${what} (${config.arch}, persistence)`,
      params: line("persistence", "quiet"),
    },
  ];
}

/** A GRUB word in double quotes: inside them only `\`, `$` and `"` are special, and are escaped. */
export function grubString(s: string): string {
  return `"${s.replace(/[\\$"]/g, (c) => `\\${c}`)}"`;
}

let compiled: HandlebarsTemplateDelegate | undefined;

function template(): HandlebarsTemplateDelegate {
  if (!compiled) {
    const hb = Handlebars.create();
    hb.registerHelper("grubString", (s: unknown) => grubString(String(s)));
    const text = readFileSync(path.join(TEMPLATES_DIR, "grub.cfg.hbs"), "utf8");
    // noEscape: this is not HTML; strict: a misspelt field fails instead of rendering empty.
    compiled = hb.compile(text, { noEscape: true, strict: true });
  }
  return compiled;
}

/** templates/grub.cfg.hbs for this image and build id. */
export function renderGrubCfg(config: ImageConfig, isoId: string): string {
  const serial = config.iso.serial_console
    ? parseSerialConsole(config.iso.serial_console, hasPcSerial(config.arch)).grub
    : undefined;
  return template()({
    isoId,
    timeout: config.iso.timeout,
    serial: serial ?? false,
    entries: menuEntries(config),
  });
}

/**
 * The config built into the GRUB images (grub-mkimage -c), and written to
 * /EFI/debian/grub.cfg for Debian's signed GRUB: find the ISO by its marker,
 * then read its menu. The marker makes GRUB pick this medium even when another
 * vmlive stick is plugged in.
 */
export function earlyConfig(isoId: string): string {
  return [
    `search --no-floppy --set=root --file /.disk/vmlive-${isoId}`,
    "set prefix=($root)/boot/grub",
    "configfile ($root)/boot/grub/grub.cfg",
    "",
  ].join("\n");
}
