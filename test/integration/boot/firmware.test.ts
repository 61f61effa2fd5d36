// The firmware vmlive boots with, checked against the descriptors Debian's
// packages install for qemu (/usr/share/qemu/firmware/*.json): each code and
// variable store pair is one Debian describes, Secure Boot ones have the keys
// enrolled, and vmlive asks for SMM exactly when the firmware requires it.
import { existsSync, readdirSync, readFileSync, realpathSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { uefiFirmware } from "../../../src/boot/firmware.js";
import { isArmBoot, type BootArch } from "../../../src/boot/ways.js";

const DIR = "/usr/share/qemu/firmware";

interface Descriptor {
  file: string;
  mapping: { executable: { filename: string }; "nvram-template"?: { filename: string } };
  features: string[];
  targets: { architecture: string; machines: string[] }[];
}

const descriptors: Descriptor[] = existsSync(DIR)
  ? readdirSync(DIR)
      .filter((f) => f.endsWith(".json"))
      .map((f) => ({
        file: f,
        ...(JSON.parse(readFileSync(path.join(DIR, f), "utf8")) as Omit<Descriptor, "file">),
      }))
  : [];
const real = (f: string) => (existsSync(f) ? realpathSync(f) : f);

describe.each([
  ["amd64", false],
  ["amd64", true],
  ["i386", false],
  ["arm64", false],
  ["arm64", true],
  ["armhf", false],
] as [BootArch, boolean][])("%s firmware, Secure Boot %s", (arch, secureBoot) => {
  const fw = uefiFirmware(arch, secureBoot);

  it.runIf(existsSync(fw.code))(`is a pair Debian's ${fw.pkg} describes, with SMM when it needs it`, () => {
    const d = descriptors.find(
      (x) =>
        real(x.mapping.executable.filename) === real(fw.code) &&
        real(x.mapping["nvram-template"]?.filename ?? "") === real(fw.vars),
    );
    expect(d, `no descriptor in ${DIR} for ${fw.code} with ${fw.vars}`).toBeDefined();
    expect(d!.features.includes("requires-smm"), d!.file).toBe(fw.smm);
    expect(d!.features.includes("enrolled-keys"), d!.file).toBe(secureBoot);
    // SMM means q35; the other x86 builds also run on the pc machine vmlive uses for them.
    const machines = d!.targets.flatMap((t) => t.machines);
    if (isArmBoot(arch)) expect(machines).toContain("virt-*");
    else expect(machines).toContain(fw.smm ? "pc-q35-*" : "pc-i440fx-*");
    const qemuArch = { amd64: "x86_64", i386: "i386", arm64: "aarch64", armhf: "arm" }[arch];
    expect(d!.targets.map((t) => t.architecture)).toContain(qemuArch);
    expect(existsSync(fw.vars), fw.vars).toBe(true);
  });
});
