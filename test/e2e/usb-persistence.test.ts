// Persistence for real: the e2e run's live-minimal ISO (or the one
// VMLIVE_TEST_ISO names) written by `vmlive usb` to a disk image, booted as a
// USB stick with the GRUB menu's persistence entry on BIOS, a file written and
// the machine powered off; then booted again, on UEFI, where the file must
// still be there. Both boots are driven over the serial console.
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BootMachine } from "../../src/boot/boot-machine.js";
import type { Firmware } from "../../src/boot/ways.js";
import { chooseAccel } from "../../src/machine/qemu/accel.js";
import { vmlive } from "../support/cli.js";
import { liveMinimal } from "../support/live-minimal.js";

const isRoot = process.getuid?.() === 0;
const tmp = mkdtempSync(path.join(os.tmpdir(), "vmlive-e2e-usb-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const LOGIN = { user: "live", password: "live" };
/** live-minimal's menu: default, safe mode, load to RAM, persistence. */
const PERSISTENCE_ENTRY_DOWNS = 3;
const BOOT_MS = 20 * 60_000;
const MARK = `persisted-${process.pid}-${Date.now()}`;

/**
 * Boot the stick with the persistence entry, log in, run `commands` (each must
 * succeed); returns their outputs. With `powerOff` the machine is then shut
 * down cleanly, as a user would, and qemu must end.
 */
async function bootPersistent(
  stick: string,
  firmware: Firmware,
  commands: string[],
  o: { powerOff: boolean },
): Promise<string[]> {
  const accel = await chooseAccel("auto", () => undefined);
  await using m = await BootMachine.start({
    arch: "amd64",
    accel,
    way: { media: "usb", firmware },
    iso: stick,
    disk: stick,
    serialLog: path.join(tmp, `usb-${firmware}.serial.log`),
  });
  const c = m.console;
  // The entries are drawn once the menu is up; keys stop GRUB's countdown.
  await c.waitFor(/persistence\)/, { timeoutMs: 5 * 60_000 });
  await c.press(Array<"down">(PERSISTENCE_ENTRY_DOWNS).fill("down"));
  await c.press(["enter"]);
  await c.login(LOGIN, { timeoutMs: BOOT_MS });
  const outputs: string[] = [];
  for (const command of commands) {
    const r = await c.run(command, { timeoutMs: 5 * 60_000 });
    expect(r.exitCode, `${command}:\n${r.output}`).toBe(0);
    outputs.push(r.output);
  }
  if (o.powerOff) {
    await c.sendLine("echo live | sudo -S -p '' systemctl poweroff");
    const deadline = Date.now() + 5 * 60_000;
    while (m.running && Date.now() < deadline) await new Promise((r) => setTimeout(r, 1000));
    expect(m.running, "the machine did not power off").toBe(false);
  }
  return outputs;
}

describe.runIf(isRoot)("vmlive usb: a stick whose changes survive a reboot", () => {
  let stick: string;
  let usb: Awaited<ReturnType<typeof vmlive>>;

  beforeAll(async () => {
    let iso = process.env.VMLIVE_TEST_ISO;
    if (!iso) {
      const b = await liveMinimal();
      if (b.exitCode !== 0 || !b.iso) throw new Error(`build failed (exit ${b.exitCode}):\n${b.all}`);
      iso = b.iso;
    }
    stick = path.join(tmp, "stick.img");
    usb = await vmlive(["usb", iso, stick, "--persistence", "256M"]);
  });

  it("writes the stick", () => {
    expect(usb.exitCode, usb.all).toBe(0);
  });

  it("keeps a file written on a BIOS boot for the next boot, on UEFI", async () => {
    const [mounted] = await bootPersistent(
      stick,
      "bios",
      [
        // live-boot mounts the ISO's partition 1 as the medium and the persistence partition beside it.
        "findmnt -n -o SOURCE /run/live/medium; findmnt -n -o SOURCE,FSTYPE /run/live/persistence/sda4",
        `echo ${MARK} > ~/persistence-proof && sync`,
      ],
      { powerOff: true },
    );
    expect(mounted).toMatch(/^\/dev\/sda1\n\/dev\/sda4 +ext4\n$/);

    const [proof] = await bootPersistent(stick, "uefi", ["cat ~/persistence-proof"], { powerOff: false });
    expect(proof).toBe(`${MARK}\n`);
  });
});
