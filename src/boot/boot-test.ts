// Booting a finished ISO in qemu one way and watching its serial console
// until the live system reaches the point the image names (a login prompt
// by default). Screenshots of the boot menu and of the booted screen are
// taken through qemu's monitor (screendump), for people to look at.
import { existsSync } from "node:fs";
import { copyFile, mkdtemp, open, readFile, rm, stat } from "node:fs/promises";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { VerificationError } from "../errors.js";
import type { Accel } from "../machine/qemu/args.js";
import { startBackground, tailLines } from "../process/run.js";
import { bootArgv, FIRMWARE_FILES, wayName, type BootWay } from "./args.js";

export interface BootTestOptions {
  iso: string;
  arch: "amd64" | "i386" | "arm64";
  way: BootWay;
  accel: Accel;
  /** Where the serial log and screenshots go (kept). */
  logDir: string;
  timeoutMs: number;
  /** What on the serial console means "booted"; default a login prompt. */
  success?: RegExp;
  /** Text on the serial console that shows the boot menu is up (for its screenshot). */
  menuText?: string;
  memoryMiB?: number;
  signal?: AbortSignal;
}

export interface BootResult {
  way: string;
  ok: boolean;
  seconds: number;
  serialLog: string;
  screenshots: string[];
  /** Why it failed, with the serial console's last lines. */
  reason?: string;
}

/** Fail fast on a file that is not an ISO 9660 image at all (truncated, corrupted, wrong file). */
export async function checkIsoFile(iso: string): Promise<void> {
  if (!existsSync(iso)) throw new VerificationError(`${iso}: no such file`);
  const size = (await stat(iso)).size;
  const fh = await open(iso, "r");
  try {
    const buf = Buffer.alloc(5);
    const { bytesRead } = await fh.read(buf, 0, 5, 32769); // primary volume descriptor: "CD001"
    if (bytesRead < 5 || buf.toString("latin1") !== "CD001")
      throw new VerificationError(
        `${iso} is not an ISO 9660 image (no CD001 volume descriptor; ${size} bytes)`,
        "is it truncated or damaged? rebuild it",
      );
    if (size % 2048 !== 0)
      throw new VerificationError(
        `${iso} is truncated: ${size} bytes is not a whole number of 2048-byte sectors`,
      );
  } finally {
    await fh.close();
  }
}

export async function bootTest(o: BootTestOptions): Promise<BootResult> {
  await checkIsoFile(o.iso);
  const name = wayName(o.way);
  const serialLog = path.join(o.logDir, `boot-${name}.serial.log`);
  const tmp = await mkdtemp(path.join(os.tmpdir(), "vmlive-boot-"));
  const monitorSocket = path.join(tmp, "monitor.sock");
  const screenshots: string[] = [];
  let varsFile: string | undefined;
  if (o.way.firmware === "uefi") {
    varsFile = path.join(tmp, "vars.fd");
    await copyFile(FIRMWARE_FILES[o.arch === "arm64" ? "arm64" : "amd64"].vars, varsFile);
  }
  const argv = bootArgv({
    arch: o.arch,
    accel: o.accel,
    way: o.way,
    iso: o.iso,
    memoryMiB: o.memoryMiB ?? 2048,
    varsFile,
    serialLog,
    monitorSocket,
  });
  const success = o.success ?? /login:/;
  const started = Date.now();
  const qemu = startBackground(argv);
  const shot = async (label: string) => {
    const file = path.join(o.logDir, `boot-${name}-${label}.png`);
    if (await screendump(monitorSocket, file)) screenshots.push(file);
  };
  try {
    let menuSeen = false;
    for (;;) {
      const text = await readFile(serialLog, "utf8").catch(() => "");
      if (!menuSeen && o.menuText && text.includes(o.menuText)) {
        menuSeen = true;
        await shot("menu");
      }
      if (success.test(text)) {
        await shot("booted");
        return { way: name, ok: true, seconds: (Date.now() - started) / 1000, serialLog, screenshots };
      }
      const why = !qemu.running
        ? `qemu exited: ${tailLines((await qemu.exited).stderr, 5)}`
        : o.signal?.aborted
          ? "interrupted"
          : Date.now() - started > o.timeoutMs
            ? `no ${success.source} on the serial console after ${Math.round(o.timeoutMs / 1000)} s`
            : undefined;
      if (why) {
        if (qemu.running) await shot("failed");
        return {
          way: name,
          ok: false,
          seconds: (Date.now() - started) / 1000,
          serialLog,
          screenshots,
          reason: `${why}\nserial console (last lines, full log ${serialLog}):\n${tailLines(text, 15)}`,
        };
      }
      await new Promise((r) => setTimeout(r, 500));
    }
  } finally {
    qemu.kill("SIGKILL");
    await qemu.exited;
    await rm(tmp, { recursive: true, force: true });
  }
}

/** Ask qemu's monitor for a PNG of the screen; false if it did not come. */
async function screendump(socket: string, file: string): Promise<boolean> {
  await new Promise<void>((resolve) => {
    const c = net.createConnection(socket);
    c.on("error", () => resolve());
    c.on("connect", () => {
      c.write(`screendump ${file} -f png\n`);
      // The monitor answers with a prompt once the file is written.
      setTimeout(() => (c.end(), resolve()), 1500);
    });
  });
  return existsSync(file) && (await stat(file)).size > 0;
}
