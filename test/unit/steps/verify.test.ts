// The verify step against xorriso's real reports on the prototype's ISO
// (/tmp/proto-iso/final/vmlive.iso, xorriso 1.5.4).
import { describe, expect, it } from "vitest";
import { VerificationError } from "../../../src/errors.js";
import { parseElTorito, parseLsdl } from "../../../src/steps/iso/xorriso.js";
import { bootProblems, fileProblems, verifyStep } from "../../../src/steps/verify.js";
import { FakeMachine } from "../../support/fake-machine.js";
import { stepContext } from "../../support/step-context.js";

const ID = "20261122T023740Z-final";
// `xorriso -indev vmlive.iso -report_el_torito plain -report_system_area plain`, stdout.
const REPORT = `El Torito catalog  : 38  1
El Torito cat path : /boot/boot.cat
El Torito images   :   N  Pltf  B   Emul  Ld_seg  Hdpt  Ldsiz         LBA
El Torito boot img :   1  BIOS  y   none  0x0000  0x00      4          39
El Torito boot img :   2  UEFI  y   none  0x0000  0x00   4096      116343
El Torito img path :   1  /boot/grub/i386-pc/eltorito.img
El Torito img opts :   1  boot-info-table grub2-boot-info
El Torito img blks :   2  1024
System area options: 0x00004201
System area summary: MBR protective-msdos-label grub2-mbr cyl-align-off GPT
ISO image size/512 : 465372
Partition offset   : 0
MBR heads per cyl  : 64
MBR secs per head  : 32
MBR partition table:   N Status  Type        Start       Blocks
MBR partition      :   1   0x00  0xee            1       470131
GPT                :   N  Info
GPT disk GUID      :      3230323631313242b030303233373430
GPT entry array    :      2  248  separated
GPT lba range      :      64  470068  470131
GPT partition name :   1  4700610070003000
GPT partname local :   1  Gap0
GPT partition GUID :   1  3230323631313242b031303233373430
GPT type GUID      :   1  a2a0d0ebe5b9334487c068b6b72699c7
GPT partition flags:   1  0x1000000000000001
GPT start and size :   1  64  465308
GPT partition name :   2  41007000700065006e006400650064003200
GPT partname local :   2  Appended2
GPT partition GUID :   2  3230323631313242b032303233373430
GPT type GUID      :   2  28732ac11ff8d211ba4b00a0c93ec93b
GPT partition flags:   2  0x0000000000000000
GPT start and size :   2  465372  4096
GPT partition name :   3  4700610070003100
GPT partname local :   3  Gap1
GPT partition GUID :   3  3230323631313242b033303233373430
GPT type GUID      :   3  a2a0d0ebe5b9334487c068b6b72699c7
GPT partition flags:   3  0x1000000000000001
GPT start and size :   3  469468  600
`;
// `xorriso -indev vmlive.iso -find / -type f -exec lsdl`, stdout.
const LSDL = `-r--r--r--    1 0        0              45 Nov 22 02:39 '/.disk/info'
-r--r--r--    1 0        0               0 Nov 22 02:39 '/.disk/vmlive-${ID}'
-r--r--r--    1 0        0            1033 Nov 22 02:39 '/boot/grub/grub.cfg'
-r--r--r--    1 0        0          161104 Nov 22 02:39 '/boot/grub/i386-pc/eltorito.img'
-r--r--r--    1 0        0        194617344 Nov 22 02:39 '/live/filesystem.squashfs'
-r--r--r--    1 0        0        35184275 Nov 22 02:39 '/live/initrd.img'
-r--r--r--    1 0        0         8222656 Nov 22 02:39 '/live/vmlinuz'
`;
const ISO = "/work/img/out/img-bookworm-amd64.iso";

const context = (yaml: string, m: FakeMachine) =>
  stepContext({
    yaml,
    machine: m,
    state: {
      isoId: ID,
      squashfs: { path: "/work/img/iso/live/filesystem.squashfs", bytes: 194617344, files: 13304 },
      iso: { path: ISO, bytes: 240707584 },
    },
  });

const iso = (report: string, lsdl: string) =>
  new FakeMachine()
    .on((a) => a[0] === "xorriso" && a.includes("-report_el_torito"), { stdout: report })
    .on((a) => a[0] === "xorriso" && a.includes("lsdl"), { stdout: lsdl });

const without = (text: string, re: RegExp) =>
  text
    .split("\n")
    .filter((l) => !re.test(l))
    .join("\n");

describe("xorriso report readers", () => {
  it("read the prototype ISO's El Torito entries, system area and partitions", () => {
    expect(parseElTorito(REPORT)).toEqual({
      platforms: ["BIOS", "UEFI"],
      systemArea: "MBR protective-msdos-label grub2-mbr cyl-align-off GPT",
      gptTypes: [
        "a2a0d0ebe5b9334487c068b6b72699c7",
        "28732ac11ff8d211ba4b00a0c93ec93b",
        "a2a0d0ebe5b9334487c068b6b72699c7",
      ],
      mbrTypes: ["0xee"],
    });
  });
  it("read file sizes from lsdl", () => {
    const f = parseLsdl(LSDL);
    expect(f.get("/live/filesystem.squashfs")).toBe(194617344);
    expect(f.get(`/.disk/vmlive-${ID}`)).toBe(0);
    expect(f.size).toBe(7);
  });
});

describe("verifyStep.run", () => {
  it("passes on the prototype's ISO", async () => {
    const m = iso(REPORT, LSDL);
    const { ctx, said } = context("", m);
    await verifyStep.run(ctx);
    expect(m.commands).toEqual([
      `xorriso -indev ${ISO} -report_el_torito plain -report_system_area plain`,
      `xorriso -indev ${ISO} -find / -type f -exec lsdl`,
    ]);
    expect(said.at(-1)).toMatch(/El Torito BIOS \+ UEFI/);
  });

  const fails = async (m: FakeMachine, re: RegExp, yaml = "") => {
    const err = await verifyStep.run(context(yaml, m).ctx).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(VerificationError);
    expect((err as Error).message).toMatch(re);
  };

  it("fails without the BIOS El Torito entry when bios is configured", async () => {
    await fails(iso(without(REPORT, /boot img :\s+1\s+BIOS/), LSDL), /no BIOS El Torito boot image/);
  });

  it("fails without the UEFI El Torito entry or the ESP when uefi is configured", async () => {
    await fails(iso(without(REPORT, /boot img :\s+2\s+UEFI/), LSDL), /no UEFI El Torito boot image/);
    await fails(iso(without(REPORT, /28732ac11ff8d211ba4b00a0c93ec93b/), LSDL), /no EFI system partition/);
  });

  it("does not ask for BIOS on a UEFI-only ISO", () => {
    const uefiOnly = without(REPORT, /BIOS|grub2-mbr|eltorito/);
    expect(bootProblems(uefiOnly, ["uefi"])).toEqual([]);
    expect(bootProblems(uefiOnly, ["bios", "uefi"])).toEqual([
      "no BIOS El Torito boot image (CD boot with BIOS)",
      "no GRUB hybrid MBR (USB boot with BIOS)",
    ]);
  });

  it("fails naming every missing file", async () => {
    await fails(
      iso(REPORT, without(LSDL, /vmlinuz|grub\.cfg/)),
      /\/live\/vmlinuz is missing\n\s+\/boot\/grub\/grub\.cfg is missing/,
    );
    await fails(
      iso(REPORT, without(LSDL, /filesystem\.squashfs/)),
      /\/live\/filesystem\.squashfs is missing/,
    );
    await fails(iso(REPORT, without(LSDL, /initrd/)), /\/live\/initrd\.img is missing/);
    await fails(iso(REPORT, without(LSDL, /vmlive-/)), new RegExp(`/.disk/vmlive-${ID} is missing`));
  });

  it("fails when the squashfs in the ISO is not the one the squash step made", async () => {
    await fails(
      iso(REPORT, LSDL.replace("194617344", "194613248")),
      /\/live\/filesystem\.squashfs is 194613248 bytes, the squash step made 194617344/,
    );
  });

  it("fails on an empty kernel", () => {
    expect(fileProblems(LSDL.replace("8222656", "0"), { bios: true })).toEqual(["/live/vmlinuz is empty"]);
  });

  it("fails clearly when there is no ISO in the state", async () => {
    const { ctx } = context("", new FakeMachine());
    ctx.state.iso = undefined;
    await expect(verifyStep.run(ctx)).rejects.toThrow(/no ISO to verify/);
  });
});
