// The boot step against a FakeMachine: kernel discovery, files written,
// grub-mkimage and the FAT image commands, Secure Boot layout, failures.
import { describe, expect, it } from "vitest";
import { VerificationError } from "../../../src/errors.js";
import { bootStep, isoIdFor, pickKernel } from "../../../src/steps/boot.js";
import { espCommands, espFiles, espSizeKiB, espVolumeId } from "../../../src/steps/boot/efiboot.js";
import { secureBootFiles } from "../../../src/steps/boot/platforms.js";
import { FakeMachine } from "../../support/fake-machine.js";
import { stepContext } from "../../support/step-context.js";

const context = (yaml: string, m: FakeMachine) => stepContext({ yaml, machine: m }).ctx;

/** A builder where everything is installed and the rootfs has one kernel with live-boot. */
function builder(): FakeMachine {
  return new FakeMachine()
    .on("ls", {
      stdout:
        "System.map-6.1.0-50-amd64\nconfig-6.1.0-50-amd64\ninitrd.img-6.1.0-50-amd64\nvmlinuz-6.1.0-50-amd64\n",
    })
    .on("stat", { stdout: "704512\n" })
    .on("grub-mkimage", { stdout: "grub-mkimage (GRUB) 2.06-13+deb12u2\n" });
}

const writes = (m: FakeMachine) =>
  new Map(
    m.calls
      .filter((c) => c.kind === "exec" && c.argv[0] === "sh" && c.argv[3] === "write-file")
      .map((c) => [c.argv[4]!, String(c.opts?.stdin)]),
  );

describe("pickKernel", () => {
  it("takes the one vmlinuz-*", () => {
    expect(pickKernel("config-6.1.0-50-amd64\nvmlinuz-6.1.0-50-amd64\n", "/r/boot")).toBe("6.1.0-50-amd64");
  });
  it("fails on none and on several, naming them", () => {
    expect(() => pickKernel("config-x\n", "/r/boot")).toThrow(/no kernel in \/r\/boot/);
    expect(() => pickKernel("vmlinuz-6.1.0-1-amd64\nvmlinuz-6.1.0-2-amd64\n", "/r/boot")).toThrow(
      /2 kernels in \/r\/boot \(6\.1\.0-1-amd64, 6\.1\.0-2-amd64\)/,
    );
  });
});

describe("isoIdFor", () => {
  it("is stable for the same image and epoch, and differs otherwise", () => {
    const a = isoIdFor("img", "bookworm", "amd64", 1_700_000_000);
    expect(a).toMatch(/^[0-9a-f]{16}$/);
    expect(isoIdFor("img", "bookworm", "amd64", 1_700_000_000)).toBe(a);
    expect(isoIdFor("img", "bookworm", "amd64", 1_700_000_001)).not.toBe(a);
    expect(isoIdFor("other", "bookworm", "amd64", 1_700_000_000)).not.toBe(a);
  });
});

describe("ESP image", () => {
  it("sizes it to the files plus slack, in whole MiB", () => {
    expect(espSizeKiB([704512])).toBe(2048); // the prototype's BOOTX64.EFI gave a 2 MiB image
    expect(espSizeKiB([1024 * 1024])).toBe(2048);
    expect(espSizeKiB([100])).toBe(1024);
  });
  it("makes folders before files, with mkfs.vfat, mmd and mcopy -m", () => {
    const files = espFiles("amd64", secureBootFiles("amd64"), {
      grubEfi: "/b/BOOTX64.EFI",
      earlyCfg: "/b/early.cfg",
    });
    const cmds = espCommands("/w/efiboot.img", 7168, "84d771d8", files);
    expect(cmds[0]).toEqual([
      "mkfs.vfat",
      "--invariant",
      "-C",
      "-n",
      "VMLIVE_EFI",
      "-i",
      "84d771d8",
      "/w/efiboot.img",
      "7168",
    ]);
    expect(cmds[1]).toEqual(["mmd", "-i", "/w/efiboot.img", "::/EFI", "::/EFI/BOOT", "::/EFI/debian"]);
    expect(cmds.slice(2).map((c) => c.slice(-2))).toEqual([
      ["/usr/lib/shim/shimx64.efi.signed", "::/EFI/BOOT/BOOTX64.EFI"],
      ["/usr/lib/grub/x86_64-efi-signed/grubx64.efi.signed", "::/EFI/BOOT/grubx64.efi"],
      ["/usr/lib/shim/mmx64.efi.signed", "::/EFI/BOOT/mmx64.efi"],
      ["/b/early.cfg", "::/EFI/debian/grub.cfg"],
      ["/b/early.cfg", "::/EFI/BOOT/grub.cfg"],
    ]);
    expect(espVolumeId("84d771d885d81e2c")).toBe("84d771d8");
  });
  it("uses the architecture's removable-media name", () => {
    const f = { grubEfi: "/b/g.efi", earlyCfg: "/b/e.cfg" };
    expect(espFiles("amd64", undefined, f)).toEqual([{ from: "/b/g.efi", to: "/EFI/BOOT/BOOTX64.EFI" }]);
    expect(espFiles("i386", undefined, f)[0]!.to).toBe("/EFI/BOOT/BOOTIA32.EFI");
    expect(espFiles("arm64", undefined, f)[0]!.to).toBe("/EFI/BOOT/BOOTAA64.EFI");
    expect(espFiles("arm64", secureBootFiles("arm64"), f).map((x) => x.from)).toContain(
      "/usr/lib/grub/arm64-efi-signed/grubaa64.efi.signed",
    );
  });
});

describe("bootStep.run", () => {
  it("copies kernel and initrd, writes the marker, info and grub.cfg, builds BIOS and UEFI GRUB", async () => {
    const m = builder();
    const ctx = context("iso: {serial_console: 'ttyS0,115200n8'}", m);
    await bootStep.run(ctx);
    const id = isoIdFor("img", "bookworm", "amd64", 1_700_000_000);
    expect(ctx.state.kernelVersion).toBe("6.1.0-50-amd64");
    expect(ctx.state.isoId).toBe(id);
    const c = m.commands;
    expect(c).toContain("cp /work/img/rootfs/boot/vmlinuz-6.1.0-50-amd64 /work/img/iso/live/vmlinuz");
    expect(c).toContain("cp /work/img/rootfs/boot/initrd.img-6.1.0-50-amd64 /work/img/iso/live/initrd.img");
    expect(c).toContain("test -e /work/img/rootfs/usr/share/initramfs-tools/scripts/live");
    const w = writes(m);
    expect(w.get(`/work/img/iso/.disk/vmlive-${id}`)).toBe("");
    expect(w.get("/work/img/iso/.disk/info")).toBe("Debian Live - img bookworm amd64 2023-11-14 22:13\n");
    expect(w.get("/work/img/iso/boot/grub/grub.cfg")).toContain(`--file /.disk/vmlive-${id}`);
    expect(w.get("/work/img/iso/boot/grub/grub.cfg")).toContain("serial --unit=0 --speed=115200");
    expect(w.get("/work/img/boot-build/grub-early.cfg")).toBe(
      `search --no-floppy --set=root --file /.disk/vmlive-${id}\nset prefix=($root)/boot/grub\nconfigfile ($root)/boot/grub/grub.cfg\n`,
    );
    expect(c).toContain(
      "grub-mkimage -O i386-pc-eltorito -d /usr/lib/grub/i386-pc -p /boot/grub -c /work/img/boot-build/grub-early.cfg " +
        "-o /work/img/iso/boot/grub/i386-pc/eltorito.img biosdisk search search_fs_file search_label configfile normal " +
        "linux echo test true sleep serial terminal iso9660 part_msdos part_gpt fat ls cat halt reboot",
    );
    expect(
      c.some(
        (x) =>
          x.startsWith(
            "grub-mkimage -O x86_64-efi -d /usr/lib/grub/x86_64-efi -p /boot/grub -c /work/img/boot-build/grub-early.cfg -o /work/img/boot-build/BOOTX64.EFI ",
          ) && x.endsWith(" all_video efi_gop"),
      ),
    ).toBe(true);
    expect(c).toContain("cp /usr/lib/grub/i386-pc/boot_hybrid.img /work/img/boot_hybrid.img");
    expect(c).toContain(
      `mkfs.vfat --invariant -C -n VMLIVE_EFI -i ${id.slice(0, 8)} /work/img/efiboot.img 2048`,
    );
    expect(c).toContain(
      "mcopy -m -i /work/img/efiboot.img /work/img/boot-build/esp/EFI/BOOT/BOOTX64.EFI ::/EFI/BOOT/BOOTX64.EFI",
    );
    // Every command got the step's signal; only argv arrays, no shell strings with config values.
    for (const call of m.calls) expect(call.opts?.signal).toBe(ctx.signal);
  });

  it("builds only the EFI GRUB for arm64", async () => {
    const m = builder();
    await bootStep.run(context("arch: arm64", m));
    const mk = m.commands.filter((c) => c.startsWith("grub-mkimage -O"));
    expect(mk).toHaveLength(1);
    expect(mk[0]).toMatch(
      /^grub-mkimage -O arm64-efi -d \/usr\/lib\/grub\/arm64-efi .* -o \/work\/img\/boot-build\/BOOTAA64.EFI /,
    );
    expect(m.commands.join("\n")).not.toMatch(/i386-pc/);
  });

  it("with Secure Boot puts shim, the signed GRUB and /EFI/debian/grub.cfg on the ESP, and builds no EFI GRUB", async () => {
    const m = builder();
    await bootStep.run(context("iso: {secure_boot: true}", m));
    const c = m.commands;
    expect(c.filter((x) => x.startsWith("grub-mkimage -O x86_64-efi"))).toEqual([]);
    expect(c).toContain(
      "install -D -m 0644 /usr/lib/shim/shimx64.efi.signed /work/img/boot-build/esp/EFI/BOOT/BOOTX64.EFI",
    );
    expect(c).toContain(
      "install -D -m 0644 /usr/lib/grub/x86_64-efi-signed/grubx64.efi.signed /work/img/boot-build/esp/EFI/BOOT/grubx64.efi",
    );
    expect(c).toContain(
      "mcopy -m -i /work/img/efiboot.img /work/img/boot-build/esp/EFI/debian/grub.cfg ::/EFI/debian/grub.cfg",
    );
    expect(c).toContain("mmd -i /work/img/efiboot.img ::/EFI ::/EFI/BOOT ::/EFI/debian");
    expect(writes(m).get("/work/img/iso/EFI/debian/grub.cfg")).toMatch(
      /^search --no-floppy --set=root --file \/\.disk\/vmlive-/,
    );
    // The BIOS side is unchanged.
    expect(c.some((x) => x.startsWith("grub-mkimage -O i386-pc-eltorito"))).toBe(true);
  });

  it("fetches a GRUB the builder lacks from the image's archive, with the bootstrap's keyring", async () => {
    const m = builder()
      .on((a) => a[0] === "test" && a[2] === "/usr/lib/grub/arm64-efi", { exitCode: 1 })
      .on("find", { stdout: "/work/img/boot-build/archive/debs/grub-efi-arm64-bin_2.12-9_arm64.deb\n" });
    await bootStep.run(context("suite: trixie\narch: arm64", m));
    const c = m.commands;
    const dir = "/work/img/boot-build/archive";
    expect(writes(m).get(`${dir}/sources.list`)).toBe(
      "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian trixie main\n",
    );
    const update = c.find((x) => x.startsWith("apt-get") && x.endsWith(" update"))!;
    expect(update).toContain(`-o Dir::State=${dir}/state -o Dir::State::status=/dev/null`);
    expect(update).toContain("-o APT::Architecture=arm64 -o APT::Architectures=arm64");
    const download = m.calls.find((x) => x.argv.at(-2) === "download")!;
    expect(download.argv.at(-1)).toBe("grub-efi-arm64-bin");
    expect(download.opts?.cwd).toBe(`${dir}/debs`);
    expect(c).toContain(`dpkg-deb -x ${dir}/debs/grub-efi-arm64-bin_2.12-9_arm64.deb ${dir}/root`);
    expect(c.find((x) => x.startsWith("grub-mkimage -O arm64-efi"))).toContain(
      `-d ${dir}/root/usr/lib/grub/arm64-efi `,
    );
  });

  it("fails when the fetched GRUB package has no modules", async () => {
    const m = builder()
      .on((a) => a[0] === "test" && a[2] === "/usr/lib/grub/x86_64-efi", { exitCode: 1 })
      .on((a) => a[0] === "test" && a[2]!.endsWith("/kernel.img"), { exitCode: 1 })
      .on("find", { stdout: "/work/img/boot-build/archive/debs/grub-efi-amd64-bin_2.06_amd64.deb\n" });
    await expect(bootStep.run(context("", m))).rejects.toThrow(
      /grub-efi-amd64-bin from http:\/\/deb\.debian\.org\/debian has no \/usr\/lib\/grub\/x86_64-efi\/kernel\.img/,
    );
  });

  it("takes shim and the signed GRUB from the image's archive when the machine lacks them", async () => {
    const dir = "/work/img/boot-build/archive-signed";
    const debs = [
      "shim-signed_1.44_amd64.deb",
      "shim-helpers-amd64-signed_1.44_amd64.deb",
      "grub-efi-amd64-signed_1.2_amd64.deb",
    ];
    const m = builder()
      .on((a) => a[0] === "test" && a[2] === "/usr/lib/shim/shimx64.efi.signed", { exitCode: 1 })
      .on("find", { stdout: debs.map((d) => `${dir}/debs/${d}\n`).join("") });
    await bootStep.run(context("iso: {secure_boot: true}", m));
    const download = m.calls.find((x) => x.argv.at(-4) === "download")!;
    expect(download.argv.slice(-3)).toEqual([
      "shim-signed",
      "shim-helpers-amd64-signed",
      "grub-efi-amd64-signed",
    ]);
    for (const d of debs) expect(m.commands).toContain(`dpkg-deb -x ${dir}/debs/${d} ${dir}/root`);
    // Unpacked into the build folder after it was made afresh, not before (it would be gone).
    const wipe = m.commands.findIndex((c) => c.startsWith("rm -rf --one-file-system /work/img/boot-build "));
    expect(wipe).toBeGreaterThanOrEqual(0);
    expect(m.commands.findIndex((c) => c.startsWith(`dpkg-deb -x ${dir}/`))).toBeGreaterThan(wipe);
    const staged = m.commands.filter((c) => c.startsWith("install -D -m 0644"));
    expect(staged.find((c) => c.includes("/EFI/BOOT/BOOTX64.EFI"))).toContain(
      `${dir}/root/usr/lib/shim/shimx64.efi.signed`,
    );
    expect(staged.find((c) => c.includes("/EFI/BOOT/grubx64.efi"))).toContain(
      `${dir}/root/usr/lib/grub/x86_64-efi-signed/grubx64.efi.signed`,
    );
  });

  it("fails naming the packages when neither the machine nor the archive has the signed shim", async () => {
    const m = builder()
      .on((a) => a[0] === "test" && a[2]!.endsWith("/usr/lib/shim/shimx64.efi.signed"), { exitCode: 1 })
      .on("find", { stdout: "a.deb\nb.deb\nc.deb\n" });
    await expect(bootStep.run(context("iso: {secure_boot: true}", m))).rejects.toMatchObject({
      hint: expect.stringContaining("shim-signed"),
    });
  });

  it("fails on two kernels, and on a rootfs without live-boot", async () => {
    const two = builder().on("ls", { stdout: "vmlinuz-6.1.0-1-amd64\nvmlinuz-6.1.0-2-amd64\n" });
    await expect(bootStep.run(context("", two))).rejects.toThrow(VerificationError);
    const noLive = builder().on((a) => a[0] === "test" && a[2]!.endsWith("/scripts/live"), { exitCode: 1 });
    await expect(bootStep.run(context("", noLive))).rejects.toThrow(/live-boot is not installed/);
    const noInitrd = builder().on((a) => a[0] === "test" && a[2]!.includes("initrd.img-"), { exitCode: 1 });
    await expect(bootStep.run(context("", noInitrd))).rejects.toThrow(
      /no initrd for kernel 6\.1\.0-50-amd64/,
    );
  });

  it("cleans up its scratch folder", async () => {
    const m = new FakeMachine();
    await bootStep.cleanup!(context("", m));
    expect(m.commands).toEqual(["rm -rf /work/img/boot-build"]);
  });
});
