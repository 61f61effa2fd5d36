import { writeFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { consoleLogin } from "../../../src/boot/login.js";
import {
  bootTestProblems,
  BOOT_TEST_DEFAULTS,
  planFromConfig,
  reportBeside,
} from "../../../src/boot/plan.js";
import { defaultWays } from "../../../src/boot/ways.js";
import { parseImageConfig } from "../../../src/config/load.js";
import { tempDir } from "../../support/tmp.js";

const config = (yaml: string) => parseImageConfig("description: test\n" + yaml, "image.yaml");

describe("defaultWays", () => {
  it("are the ways the architecture has and the ISO boots", () => {
    expect(defaultWays("amd64", ["bios", "uefi"])).toEqual(["cd-bios", "cd-uefi", "usb-bios", "usb-uefi"]);
    expect(defaultWays("i386", ["bios"])).toEqual(["cd-bios", "usb-bios"]);
    expect(defaultWays("arm64", ["bios", "uefi"])).toEqual(["cd-uefi", "usb-uefi"]);
    expect(defaultWays("armhf", ["uefi"])).toEqual(["cd-uefi", "usb-uefi"]);
    expect(defaultWays("armhf", ["bios", "uefi"])).toEqual(["cd-uefi", "usb-uefi"]);
  });
});

describe("consoleLogin", () => {
  it("prefers autologin, then the user's password, then root's", () => {
    expect(consoleLogin(config("user:\n  password: pw\n  autologin: true\n"))).toEqual({
      user: "live",
      autologin: true,
    });
    expect(consoleLogin(config("user:\n  name: amy\n  password: pw\n"))).toEqual({
      user: "amy",
      password: "pw",
    });
    expect(consoleLogin(config("root:\n  locked: false\n  password: r\n"))).toEqual({
      user: "root",
      password: "r",
    });
  });

  it("has nobody when the only password is a hash, which cannot be typed", () => {
    expect(consoleLogin(config("user:\n  password_hash: $y$j9T$abc$def\n"))).toBeUndefined();
  });
});

describe("planFromConfig", () => {
  it("takes the image's boot_test, Secure Boot and menu title", () => {
    const c = config(
      "iso:\n  menu_title: My Live\n  serial_console: ttyS0\n  bootloaders: [uefi]\n  secure_boot: true\n" +
        "user:\n  password: pw\nboot_test:\n  success: 'Welcome|login:'\n  timeout: 900\n  commands: [id]\n",
    );
    expect(planFromConfig("/o/x.iso", c)).toEqual({
      iso: "/o/x.iso",
      arch: "amd64",
      secureBoot: true,
      ways: [
        { media: "cd", firmware: "uefi" },
        { media: "usb", firmware: "uefi" },
      ],
      success: /Welcome|login:/,
      timeoutMs: 900_000,
      commands: ["id"],
      login: { user: "live", password: "pw" },
      menuText: "My Live",
    });
  });

  it("fills in the defaults for a config from before boot_test (an older report.json)", () => {
    const { boot_test: _, ...old } = config("arch: arm64\n");
    const plan = planFromConfig("/o/x.iso", old as never)!;
    expect(plan.ways.map((w) => `${w.media}-${w.firmware}`)).toEqual(["cd-uefi", "usb-uefi"]);
    expect(plan.success.source).toBe(BOOT_TEST_DEFAULTS.success);
    expect(plan.timeoutMs).toBe(BOOT_TEST_DEFAULTS.timeout * 1000);
  });

  it("boots armhf on UEFI as CD and USB stick, the ways its virt machine has", () => {
    const plan = planFromConfig("/o/x.iso", config("arch: armhf\niso:\n  serial_console: ttyAMA0,115200\n"))!;
    expect(plan.arch).toBe("armhf");
    expect(plan.ways.map((w) => `${w.media}-${w.firmware}`)).toEqual(["cd-uefi", "usb-uefi"]);
  });
});

describe("bootTestProblems", () => {
  it("needs a serial console to watch, naming the field and a value for the architecture", () => {
    expect(bootTestProblems(config(""))).toEqual([
      { path: "iso.serial_console", message: expect.stringContaining("e.g. ttyS0,115200n8") },
    ]);
    expect(bootTestProblems(config("arch: arm64\n"))[0]!.message).toContain("ttyAMA0");
    expect(bootTestProblems(config("iso:\n  serial_console: ttyS0\n"))).toEqual([]);
    expect(bootTestProblems(config("arch: armhf\n"))).toEqual([
      { path: "iso.serial_console", message: expect.stringContaining("e.g. ttyAMA0") },
    ]);
    expect(bootTestProblems(config("arch: armhf\niso:\n  serial_console: ttyAMA0,115200\n"))).toEqual([]);
  });
});

describe("reportBeside", () => {
  it("reads the report.json of the build that made the ISO, and only that", async () => {
    const d = tempDir("vmlive-beside-");
    const iso = path.join(d, "x.iso");
    expect(await reportBeside(iso)).toBeUndefined();
    const report = { config: config(""), artifacts: [{ name: "x.iso", bytes: 1, sha256: "0" }] };
    writeFileSync(path.join(d, "report.json"), JSON.stringify(report));
    expect((await reportBeside(iso))?.config.arch).toBe("amd64");
    expect(await reportBeside(path.join(d, "other.iso"))).toBeUndefined();
    writeFileSync(path.join(d, "report.json"), "{not json");
    expect(await reportBeside(iso)).toBeUndefined();
  });
});
