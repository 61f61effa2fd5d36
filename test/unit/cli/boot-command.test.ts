// `vmlive boot` refuses what cannot work before any qemu starts: a damaged
// ISO, half a login, commands nobody can log in for, impossible ways.
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import type { Io } from "../../../src/cli/io.js";
import { main } from "../../../src/cli/main.js";
import { fakeIso } from "../../support/fake-iso.js";
import { tempDir } from "../../support/tmp.js";

async function vmliveBoot(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const io: Io = { out: (t) => void (out += t + "\n"), err: (t) => void (err += t + "\n") };
  const code = await main(["boot", ...args, "--accel", "tcg"], io);
  return { code, out, err };
}

const d = tempDir("vmlive-boot-cli-");
const iso = path.join(d, "x.iso");
fakeIso(iso);

describe("vmlive boot", () => {
  it("fails at once on a truncated ISO, saying so", async () => {
    const cut = path.join(d, "cut.iso");
    fakeIso(cut, 400, 40 * 2048);
    const r = await vmliveBoot([cut]);
    expect(r.code).toBe(1);
    expect(r.err).toContain(`vmlive: ${cut} is truncated`);
    expect(r.out).toBe("");
  });

  it.each([
    [["--user", "live"], "--user and --password go together"],
    [
      ["--command", "id"],
      "the commands run after logging in on the serial console: say --user and --password",
    ],
    [["--ways", "cd-bios", "--arch", "arm64"], "arm64 machines have no BIOS: cd-bios cannot be booted"],
    [["--ways", "cd-uefi", "--arch", "i386", "--secure-boot"], "Secure Boot is not available for i386"],
    [["--arch", "amd64", "--success", "login:("], "--success login:(: Invalid regular expression"],
    [["--arch", "amd64", "--ways", "dvd-bios"], "unknown boot way dvd-bios"],
  ])("refuses %j as a usage error", async (args, message) => {
    const r = await vmliveBoot([iso, ...args]);
    expect(r.err).toContain(message);
    expect(r.code).toBe(2);
  });

  it("refuses an ISO whose report.json says it is for an architecture it cannot boot", async () => {
    const dir = path.join(d, "riscv64");
    mkdirSync(dir);
    const rvIso = path.join(dir, "rv.iso");
    fakeIso(rvIso);
    writeFileSync(
      path.join(dir, "report.json"),
      JSON.stringify({ config: { arch: "riscv64" }, artifacts: [{ name: "rv.iso" }] }),
    );
    const r = await vmliveBoot([rvIso]);
    expect(r.err).toContain("the ISO is for riscv64: vmlive boots amd64, i386, arm64, armhf ISOs");
    expect(r.code).toBe(2);
  });
});

describe("vmlive build --boot-test", () => {
  const image = (yaml: string) => {
    const dir = tempDir("vmlive-boot-image-");
    writeFileSync(path.join(dir, "image.yaml"), "description: test\n" + yaml);
    return dir;
  };
  const vmliveBuild = async (args: string[]) => {
    let err = "";
    const io: Io = { out: () => undefined, err: (t) => void (err += t + "\n") };
    return { code: await main(["build", ...args, "--boot-test", "--out", d], io), err };
  };

  it("refuses an image without a serial console before building anything", async () => {
    const dir = image("");
    const r = await vmliveBuild([dir]);
    expect(r.err).toContain(
      "iso.serial_console: the boot test watches the serial console: set one, e.g. ttyS0",
    );
    expect(r.code).toBe(2);
  });

  it("refuses --steps that do not put an ISO in the output folder", async () => {
    const dir = image("iso:\n  serial_console: ttyS0\n");
    const r = await vmliveBuild([dir, "--steps", "squash,iso"]);
    expect(r.err).toContain("--boot-test boots the ISO that the collect step puts in the output folder");
    expect(r.code).toBe(2);
  });
});
