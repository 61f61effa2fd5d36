import { describe, expect, it } from "vitest";
import { bootTable, makeBootReport, wayDetails } from "../../../src/boot/boot-report.js";
import { printable, type BootResult } from "../../../src/boot/boot-test.js";

const ok: BootResult = {
  way: "cd-bios",
  ok: true,
  seconds: 93.24,
  serialLog: "/out/boot/boot-cd-bios.serial.log",
  screenshots: ["/out/boot/boot-cd-bios-menu.png", "/out/boot/boot-cd-bios-booted.png"],
  commands: [
    { command: "systemctl is-system-running --wait", exitCode: 0, seconds: 0.44, output: "running\n" },
  ],
};
const failed: BootResult = {
  way: "usb-uefi",
  ok: false,
  seconds: 120,
  serialLog: "/out/boot/boot-usb-uefi.serial.log",
  screenshots: ["/out/boot/boot-usb-uefi-failed.png"],
  commands: [
    { command: "test -f /nonexistent", exitCode: 1, seconds: 0.1, output: "" },
    {
      command: "grep -c deb /etc/apt/sources.list",
      exitCode: 2,
      seconds: 0.2,
      output: "grep: no such file\n",
    },
    { command: "sleep 1000", seconds: 600, output: "" },
  ],
  reason: "`test -f /nonexistent` exited with 1",
  serialTail: "live@x:~$ \nlive@x:~$ ",
};
const report = makeBootReport({
  iso: "/out/x.iso",
  arch: "amd64",
  secureBoot: false,
  accel: "tcg",
  started: new Date(0),
  finished: new Date(1000),
  results: [ok, failed],
  dir: "/out/boot",
});

describe("the boot report", () => {
  it("names its files relative to its folder, rounds times, and is ok only if every way is", () => {
    expect(report.ok).toBe(false);
    expect(report.ways[0]).toEqual({
      way: "cd-bios",
      ok: true,
      seconds: 93.2,
      serialLog: "boot-cd-bios.serial.log",
      screenshots: ["boot-cd-bios-menu.png", "boot-cd-bios-booted.png"],
      commands: [
        { command: "systemctl is-system-running --wait", exitCode: 0, seconds: 0.4, output: "running\n" },
      ],
    });
    // A command that did not finish has no exit code: null in JSON.
    expect(JSON.parse(JSON.stringify(report)).ways[1].commands[2].exitCode).toBeNull();
    expect(
      makeBootReport({ ...report, started: new Date(), finished: new Date(), results: [], dir: "/" }).ok,
    ).toBe(false);
  });

  it("prints as a table, a line per way", () => {
    expect(bootTable(report)).toBe(
      [
        "way       result  boot time  commands  screenshots",
        "cd-bios   ok      93.2 s     1/1 ok    boot-cd-bios-menu.png boot-cd-bios-booted.png",
        "usb-uefi  FAILED  120.0 s    0/3 ok    boot-usb-uefi-failed.png",
      ].join("\n"),
    );
  });

  it("says why a way failed, how each command ended, and the console's last lines", () => {
    expect(wayDetails(report.ways[1]!, "/out/boot")).toBe(
      [
        "usb-uefi: `test -f /nonexistent` exited with 1",
        "  FAIL test -f /nonexistent  (exit 1, 0.1 s)",
        "  FAIL grep -c deb /etc/apt/sources.list  (exit 2, 0.2 s)",
        "       | grep: no such file",
        "  FAIL sleep 1000  (did not finish, 600.0 s)",
        "  serial console, last lines (full log /out/boot/boot-usb-uefi.serial.log):",
        "  | live@x:~$ ",
        "  | live@x:~$ ",
      ].join("\n"),
    );
    expect(wayDetails(report.ways[0]!, "/out/boot")).toBe(
      "cd-bios:\n  ok   systemctl is-system-running --wait  (exit 0, 0.4 s)",
    );
  });
});

describe("printable", () => {
  it("drops the terminal control GRUB and getty send, keeping the text", () => {
    const grub =
      "\x1b[2J\x1b[=3h\x1b[?25h\x1b[H\x1b[J\x1b[1;1H\x1b[0m\x1b[37m\x1b[40m  Booting `Live'\r\n\r\n\x1b[?2004hlive@x:~$ \x07";
    expect(printable(grub)).toBe("  Booting `Live'\n\nlive@x:~$ ");
  });
});
