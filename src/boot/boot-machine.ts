// One qemu machine booting an ISO one way, with its serial console to talk
// to and its screen to photograph. Everything it made (the firmware variable
// copy, the sockets) goes when it is disposed; the serial log stays.
import { existsSync } from "node:fs";
import { copyFile, mkdtemp, rm, stat } from "node:fs/promises";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import type { Accel } from "../machine/qemu/args.js";
import { startBackground, tailLines, type BackgroundProcess } from "../process/run.js";
import { bootArgv } from "./args.js";
import { uefiFirmware } from "./firmware.js";
import { SerialConsole } from "./serial-console.js";
import type { BootArch, BootWay } from "./ways.js";

export interface BootMachineOptions {
  arch: BootArch;
  accel: Accel;
  way: BootWay;
  iso: string;
  /** A writable disk image booted as the USB stick instead of the ISO. */
  disk?: string;
  secureBoot?: boolean;
  memoryMiB?: number;
  /** Where qemu logs the serial console (replaced if it exists). */
  serialLog: string;
  allowReboot?: boolean;
}

export class BootMachine implements AsyncDisposable {
  private constructor(
    private readonly qemu: BackgroundProcess,
    private readonly tmp: string,
    private readonly monitorSocket: string,
    readonly console: SerialConsole,
    readonly serialLog: string,
  ) {}

  static async start(o: BootMachineOptions): Promise<BootMachine> {
    const tmp = await mkdtemp(path.join(os.tmpdir(), "vmlive-boot-"));
    try {
      const firmware = o.way.firmware === "uefi" ? uefiFirmware(o.arch, o.secureBoot ?? false) : undefined;
      let varsFile: string | undefined;
      if (firmware) {
        varsFile = path.join(tmp, "vars.fd");
        await copyFile(firmware.vars, varsFile);
      }
      const monitorSocket = path.join(tmp, "monitor.sock");
      const serialSocket = path.join(tmp, "serial.sock");
      const qemu = startBackground(
        bootArgv({
          arch: o.arch,
          accel: o.accel,
          way: o.way,
          iso: o.iso,
          disk: o.disk,
          memoryMiB: o.memoryMiB ?? 2048,
          firmware,
          varsFile,
          serialSocket,
          serialLog: o.serialLog,
          monitorSocket,
          allowReboot: o.allowReboot,
        }),
      );
      // qemu refusing its command line ends it before the socket is there: say why, not "no socket".
      const connecting = SerialConsole.connect(serialSocket, 30_000);
      const result = await Promise.race([connecting, qemu.exited]);
      if (!(result instanceof SerialConsole)) {
        void connecting.then((c) => c.close()).catch(() => undefined);
        throw new Error(
          `qemu did not start: ${tailLines(result.stderr, 5) || `exit code ${result.exitCode}`}`,
        );
      }
      return new BootMachine(qemu, tmp, monitorSocket, result, o.serialLog);
    } catch (e) {
      await rm(tmp, { recursive: true, force: true });
      throw e;
    }
  }

  get running(): boolean {
    return this.qemu.running;
  }

  /** Why qemu ended, for a failure message; undefined while it runs. */
  async exitReason(): Promise<string | undefined> {
    if (this.qemu.running) return undefined;
    const r = await this.qemu.exited;
    const err = tailLines(r.stderr, 5);
    return err
      ? `qemu exited: ${err}`
      : `qemu exited (exit code ${r.exitCode ?? r.signal}): the machine powered off, rebooted or crashed`;
  }

  /** A PNG of the screen, through the monitor's screendump; false if none came. */
  async screenshot(file: string): Promise<boolean> {
    if (!this.qemu.running) return false;
    await hmp(this.monitorSocket, `screendump ${hmpString(file)} -f png`).catch(() => undefined);
    return existsSync(file) && (await stat(file)).size > 0;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.console.close();
    this.qemu.kill("SIGKILL");
    await this.qemu.exited;
    await rm(this.tmp, { recursive: true, force: true });
  }
}

/** Run one human-monitor command; resolves with its output when the monitor prompts again. */
async function hmp(socket: string, command: string, timeoutMs = 20_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = net.createConnection(socket);
    let text = "";
    let sent = false;
    const timer = setTimeout(
      () => finish(new Error(`no answer from the qemu monitor to ${command}`)),
      timeoutMs,
    );
    const finish = (e?: Error) => {
      clearTimeout(timer);
      c.destroy();
      if (e) reject(e);
      else resolve(text);
    };
    c.setEncoding("latin1");
    c.on("error", (e) => finish(e));
    c.on("data", (chunk: string) => {
      text += chunk;
      const prompts = text.split("(qemu) ").length - 1;
      // The banner ends with the first prompt; the command's output with the second.
      if (!sent && prompts >= 1) {
        sent = true;
        c.write(`${command}\n`);
      } else if (sent && prompts >= 2) finish();
    });
  });
}

/** A word for the human monitor's parser: in double quotes, with \\ and " escaped (paths may hold spaces). */
export function hmpString(s: string): string {
  return `"${s.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}
