// The xorriso argv builder and the iso step against a FakeMachine.
import { describe, expect, it } from "vitest";
import { VerificationError } from "../../../src/errors.js";
import { isoPath, isoStep } from "../../../src/steps/iso.js";
import { modificationDate, xorrisoArgv } from "../../../src/steps/iso/xorriso.js";
import { FakeMachine } from "../../support/fake-machine.js";
import { stepContext } from "../../support/step-context.js";

const ISO = "/work/img/out/img-bookworm-amd64.iso";

const context = (yaml: string, m: FakeMachine) => stepContext({ yaml, machine: m }).ctx;

function builder(isoBytes = 240707584): FakeMachine {
  return new FakeMachine()
    .on("du", { stdout: "238000000\t/work/img/iso\n" })
    .on("df", { stdout: "      Avail\n75775242240\n" })
    .on((a) => a[0] === "stat" && a[3] === "/work/img/efiboot.img", { stdout: "2097152\n" })
    .on((a) => a[0] === "stat" && a[3]!.endsWith(".iso"), { stdout: `${isoBytes}\n` })
    .on((a) => a[0] === "xorriso" && a[1] === "-version", {
      stdout: "xorriso 1.5.4 : RockRidge filesystem manipulator, libburnia project.\n",
    });
}

describe("xorrisoArgv", () => {
  it("is the measured argv for BIOS + UEFI, with partition 1 holding the volume", () => {
    expect(
      xorrisoArgv({
        tree: "/w/iso",
        output: "/w/out/x.iso.partial",
        volumeId: "VMLIVE_20261122",
        sourceDateEpoch: 1_700_000_000,
        bios: { eltorito: "boot/grub/i386-pc/eltorito.img", mbr: "/w/boot_hybrid.img" },
        uefi: { efiImage: "/w/efiboot.img" },
      }).join(" "),
    ).toBe(
      "xorriso -abort_on FAILURE -return_with SORRY 32 -report_about WARNING -as mkisofs " +
        "-iso-level 3 -full-iso9660-filenames -r -J -joliet-long -V VMLIVE_20261122 -A vmlive -publisher vmlive " +
        "--modification-date=2023111422132000 -c boot/boot.cat " +
        "-b boot/grub/i386-pc/eltorito.img -no-emul-boot -boot-load-size 4 -boot-info-table --grub2-boot-info " +
        "--grub2-mbr /w/boot_hybrid.img " +
        "-append_partition 2 0xef /w/efiboot.img -appended_part_as_gpt " +
        "-eltorito-alt-boot -e --interval:appended_partition_2:all:: -no-emul-boot " +
        "-partition_offset 16 -o /w/out/x.iso.partial /w/iso",
    );
  });

  it("has no BIOS parts and no -eltorito-alt-boot for UEFI only (arm64)", () => {
    const argv = xorrisoArgv({
      tree: "/w/iso",
      output: "/w/o.iso",
      volumeId: "ARM",
      sourceDateEpoch: 0,
      uefi: { efiImage: "/w/efiboot.img" },
    });
    expect(argv).not.toContain("-b");
    expect(argv).not.toContain("--grub2-mbr");
    expect(argv).not.toContain("-eltorito-alt-boot");
    expect(argv.join(" ")).toContain(
      "-c boot/boot.cat -append_partition 2 0xef /w/efiboot.img -appended_part_as_gpt -e --interval:appended_partition_2:all:: -no-emul-boot -partition_offset 16 -o /w/o.iso /w/iso",
    );
    expect(argv).toContain("--modification-date=1970010100000000");
  });

  it("keeps a volume id with spaces as one word", () => {
    const argv = xorrisoArgv({
      tree: "/t",
      output: "/o",
      volumeId: "MY LIVE",
      sourceDateEpoch: 0,
      uefi: { efiImage: "/e" },
    });
    expect(argv[argv.indexOf("-V") + 1]).toBe("MY LIVE");
  });

  it("needs at least one boot entry", () => {
    expect(() => xorrisoArgv({ tree: "/t", output: "/o", volumeId: "X", sourceDateEpoch: 0 })).toThrow(
      /BIOS or a UEFI/,
    );
  });

  it("formats the modification date in UTC", () => {
    expect(modificationDate(1_763_779_060)).toBe("2025112202374000");
  });
});

describe("isoStep.run", () => {
  it("writes NAME.iso.partial with SOURCE_DATE_EPOCH, renames it and records the ISO", async () => {
    const m = builder();
    const ctx = context("iso: {volume_id: VMLIVE_X}", m);
    await isoStep.run(ctx);
    expect(isoPath(ctx)).toBe(ISO);
    const x = m.calls.find((c) => c.argv[0] === "xorriso" && c.argv[1] === "-abort_on")!;
    expect(x.argv.slice(-3)).toEqual(["-o", `${ISO}.partial`, "/work/img/iso"]);
    expect(x.argv).toContain("VMLIVE_X");
    expect(x.argv).toContain("/work/img/boot_hybrid.img");
    expect(x.argv).toContain("/work/img/efiboot.img");
    expect(x.opts?.env).toEqual({ SOURCE_DATE_EPOCH: "1700000000" });
    expect(x.opts?.output).toBe(ctx.log.output);
    const c = m.commands;
    expect(c).toContain("find /work/img/iso -newermt @1700000000 -exec touch -h -d @1700000000 {} +");
    expect(c.indexOf(`mv -f ${ISO}.partial ${ISO}`)).toBeGreaterThan(c.indexOf(x.argv.join(" ")));
    expect(ctx.state.iso).toEqual({ path: ISO, bytes: 240707584 });
    expect(ctx.state.tools?.xorriso).toMatch(/^xorriso 1\.5\.4/);
  });

  it("checks for what the earlier steps made, and says which is missing", async () => {
    const m = builder().on((a) => a[0] === "test" && a[2] === "/work/img/efiboot.img", { exitCode: 1 });
    await expect(isoStep.run(context("", m))).rejects.toThrow(/\/work\/img\/efiboot.img is missing/);
    const bios = builder().on((a) => a[0] === "test" && a[2]!.endsWith("eltorito.img"), { exitCode: 1 });
    await expect(isoStep.run(context("", bios))).rejects.toThrow(/eltorito.img is missing/);
    // arm64 needs no BIOS files.
    await expect(isoStep.run(context("arch: arm64", bios))).resolves.toBeUndefined();
  });

  it("enforces iso.max_size: fails naming size and limit, and removes the ISO", async () => {
    const m = builder(800_000_000);
    const err = await isoStep.run(context("iso: {max_size: cd}", m)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(VerificationError);
    expect((err as Error).message).toBe(
      "the ISO is 762.9 MiB (800000000 bytes), more than iso.max_size 703.1 MiB (737280000 bytes); removed it",
    );
    expect(m.commands.at(-1)).toBe(`rm -f ${ISO}`);
  });

  it("passes when the ISO fits iso.max_size", async () => {
    const ctx = context("iso: {max_size: 300M}", builder());
    await isoStep.run(ctx);
    expect(ctx.state.iso?.bytes).toBe(240707584);
  });

  it("fails before xorriso when the output filesystem is too full", async () => {
    const m = builder().on("df", { stdout: "      Avail\n1048576\n" });
    await expect(isoStep.run(context("", m))).rejects.toThrow(
      /^out of space: need 229\.0 MiB, have 1\.0 MiB/,
    );
    expect(m.commands.some((c) => c.startsWith("xorriso -abort_on"))).toBe(false);
  });

  it("propagates xorriso's failure (exit 32 on SORRY) and leaves no final ISO", async () => {
    const m = builder().on((a) => a[0] === "xorriso" && a[1] === "-abort_on", {
      exitCode: 32,
      stderr: "xorriso : SORRY : Cannot open file\n",
    });
    await expect(isoStep.run(context("", m))).rejects.toThrow(/exit code 32/);
    expect(m.commands.some((c) => c.startsWith("mv "))).toBe(false);
    const cleanup = new FakeMachine();
    await isoStep.cleanup!(context("", cleanup));
    expect(cleanup.commands).toEqual([`rm -f ${ISO}.partial`]);
  });
});
