import { describe, expect, it } from "vitest";
import {
  binfmtLines,
  diskLine,
  doctorSummary,
  formatDoctorLines,
  parseRelease,
  releaseSummary,
  versionAtLeast,
  versionIn,
  type DoctorLine,
} from "../../../src/host/doctor.js";
import { parseBinfmtHandler } from "../../../src/host/binfmt.js";

const GiB = 1024 ** 3;

describe("formatDoctorLines", () => {
  it("aligns status and name columns, with FAIL in capitals", () => {
    const lines: DoctorLine[] = [
      { name: "xorriso", status: "ok", detail: "1.5.4" },
      {
        name: "mmdebstrap",
        status: "fail",
        detail: "mmdebstrap: not found: install Debian package mmdebstrap",
      },
      { name: "kvm", status: "warn", detail: "no vmx/svm" },
    ];
    expect(formatDoctorLines(lines)).toEqual([
      "ok    xorriso     1.5.4",
      "FAIL  mmdebstrap  mmdebstrap: not found: install Debian package mmdebstrap",
      "warn  kvm         no vmx/svm",
    ]);
  });

  it("leaves no trailing spaces when a detail is empty", () => {
    expect(formatDoctorLines([{ name: "x", status: "ok", detail: "" }])).toEqual(["ok    x"]);
  });
});

describe("doctorSummary", () => {
  const l = (status: DoctorLine["status"]): DoctorLine => ({ name: "n", status, detail: "d" });

  it("says the host is ready when all is ok", () => {
    expect(doctorSummary([l("ok"), l("ok")])).toBe(
      "2 ok, 0 warnings, 0 failures: vmlive can build on this host",
    );
  });
  it("still says ready with warnings only", () => {
    expect(doctorSummary([l("ok"), l("warn")])).toMatch(/^1 ok, 1 warning, 0 failures: vmlive can build/);
  });
  it("points at the FAIL lines and ./setup when something fails", () => {
    expect(doctorSummary([l("fail"), l("fail"), l("warn")])).toMatch(
      /^0 ok, 1 warning, 2 failures: fix the FAIL lines .*\.\/setup/,
    );
  });
});

describe("diskLine", () => {
  it("is ok from 20 GiB up", () => {
    expect(diskLine("work folder", "/w", "/w", 20 * GiB)).toEqual({
      name: "work folder",
      status: "ok",
      detail: "20.0 GiB free at /w",
    });
  });
  it("warns below 20 GiB", () => {
    expect(diskLine("work folder", "/w", "/w", 20 * GiB - 1).status).toBe("warn");
    expect(diskLine("work folder", "/w", "/w", 5 * GiB).status).toBe("warn");
  });
  it("fails below 5 GiB and says how much a build needs", () => {
    const d = diskLine("cache folder", "/c", "/c", 5 * GiB - 1);
    expect(d.status).toBe("fail");
    expect(d.detail).toContain("needs at least 5.0 GiB");
  });
  it("names the parent it measured when the folder does not exist yet", () => {
    expect(diskLine("cache folder", "/home/a/.cache/vmlive", "/home/a", 30 * GiB).detail).toBe(
      "30.0 GiB free at /home/a/.cache/vmlive (does not exist yet; measured at /home/a)",
    );
  });
});

describe("versions", () => {
  it("compares numerically, part by part", () => {
    expect(versionAtLeast("20.19.0", "20.19")).toBe(true);
    expect(versionAtLeast("v20.20.2", "20.19")).toBe(true);
    expect(versionAtLeast("22.1.0", "20.19")).toBe(true);
    expect(versionAtLeast("20.9.0", "20.19")).toBe(false);
    expect(versionAtLeast("18.20.4", "20.19")).toBe(false);
  });
  it("finds the version in a program's banner", () => {
    expect(versionIn("QEMU emulator version 7.2.22 (Debian 1:7.2+dfsg-7+deb12u18+b3)")).toBe("7.2.22");
    expect(versionIn("OpenSSH_9.2p1 Debian-2+deb12u10, OpenSSL 3.0.19")).toBe("9.2p1");
    expect(versionIn("grub-mkimage (GRUB) 2.06-13+deb12u2")).toBe("2.06-13+deb12u2");
    expect(versionIn("qemu-system-x86_64: no version here")).toBeUndefined();
  });
});

describe("Release file", () => {
  const release =
    "Origin: Debian\nLabel: Debian\nSuite: oldstable\nVersion: 12.12\nCodename: bookworm\n" +
    "Date: Sat, 06 Sep 2025 09:36:24 UTC\nArchitectures: all amd64 arm64\nMD5Sum:\n 0ed6d4c8 1234 main/Contents-all\n";

  it("reads the header fields and skips the checksum lists", () => {
    const f = parseRelease(release);
    expect(f).toMatchObject({ Suite: "oldstable", Version: "12.12", Codename: "bookworm" });
    expect(f.MD5Sum).toBeUndefined();
  });
  it("summarises Suite, Codename, Version and Date, leaving out what is absent (sid has no Version)", () => {
    expect(releaseSummary(parseRelease(release))).toBe(
      "Suite oldstable, Codename bookworm, Version 12.12, Date Sat, 06 Sep 2025 09:36:24 UTC",
    );
    expect(releaseSummary({ Suite: "unstable", Codename: "sid" })).toBe("Suite unstable, Codename sid");
  });
});

describe("binfmtLines", () => {
  const handlers = ["qemu-aarch64", "qemu-arm"];
  const h = (state: string, flags: string) =>
    parseBinfmtHandler(`${state}\ninterpreter /usr/libexec/qemu-binfmt/x-binfmt-P\nflags: ${flags}\n`);

  it("gives one warning when binfmt_misc is not mounted, with the mount command", () => {
    const lines = binfmtLines({ mounted: false }, handlers, "x64");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ name: "binfmt_misc", status: "warn" });
    expect(lines[0]!.detail).toContain("arm64 images need qemu-aarch64");
    expect(lines[0]!.detail).toContain("mount -t binfmt_misc");
  });

  it("checks each handler: ok, disabled, missing F, not registered", () => {
    const lines = binfmtLines(
      {
        mounted: true,
        enabled: true,
        handlers: { "qemu-aarch64": h("enabled", "POCF"), "qemu-arm": h("disabled", "OC") },
      },
      handlers,
      "x64",
    );
    expect(lines.map((l) => [l.name, l.status])).toEqual([
      ["binfmt_misc", "ok"],
      ["binfmt qemu-aarch64", "ok"],
      ["binfmt qemu-arm", "warn"],
    ]);
    expect(lines[2]!.detail).toContain("update-binfmts --enable qemu-arm");

    const noF = binfmtLines(
      { mounted: true, enabled: true, handlers: { "qemu-aarch64": h("enabled", "OC") } },
      ["qemu-aarch64"],
      "x64",
    );
    expect(noF[1]!.detail).toContain("without the F flag");

    const none = binfmtLines({ mounted: true, enabled: true, handlers: {} }, ["qemu-arm"], "x64");
    expect(none[1]!.detail).toMatch(
      /^not registered: armhf images need it; install Debian package qemu-user-static/,
    );
  });

  it("warns when binfmt_misc is switched off as a whole", () => {
    const lines = binfmtLines({ mounted: true, enabled: false, handlers: {} }, [], "x64");
    expect(lines).toEqual([expect.objectContaining({ name: "binfmt_misc", status: "warn" })]);
  });
});
