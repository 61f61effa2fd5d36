import { describe, expect, it } from "vitest";
import { cpuVirtFlag, kvmVerdict, type KvmFacts } from "../../../src/host/kvm.js";

const good: KvmFacts = { hostArch: "x64", device: "ok", cpuFlag: "vmx" };

describe("kvmVerdict", () => {
  it("rejects a host without /dev/kvm", () => {
    const v = kvmVerdict({ ...good, device: "missing" });
    expect(v.usable).toBe(false);
    expect(v.reason).toMatch(/^KVM: no \/dev\/kvm .*; using TCG, expect builds ~20x slower$/);
  });

  it("rejects a /dev/kvm this user may not open, and says how to fix it", () => {
    const v = kvmVerdict({ ...good, device: "denied" });
    expect(v.usable).toBe(false);
    expect(v.reason).toContain("cannot open it read-write");
    expect(v.reason).toContain("adduser $USER kvm");
  });

  it("rejects a /dev/kvm that fails to open for another reason, quoting it", () => {
    const v = kvmVerdict({ ...good, device: { error: "EBUSY: resource busy" } });
    expect(v).toEqual({
      usable: false,
      reason: "KVM: /dev/kvm does not open: EBUSY: resource busy; using TCG, expect builds ~20x slower",
    });
  });

  it("rejects an x86 CPU without vmx/svm even though /dev/kvm opens", () => {
    expect(kvmVerdict({ ...good, cpuFlag: undefined })).toEqual({
      usable: false,
      reason:
        "KVM: /dev/kvm opens but the CPU has no vmx/svm flag (nested virtualisation is off); " +
        "using TCG, expect builds ~20x slower",
    });
  });

  it("does not ask for vmx/svm on an arm64 host", () => {
    expect(kvmVerdict({ hostArch: "arm64", device: "ok", cpuFlag: undefined }).usable).toBe(true);
  });

  it("accepts /dev/kvm plus vmx or svm when no test guest was asked for", () => {
    expect(kvmVerdict(good)).toEqual({
      usable: true,
      reason: "KVM: usable (/dev/kvm opens, CPU has vmx; no test guest run)",
    });
    expect(kvmVerdict({ ...good, cpuFlag: "svm" }).reason).toContain("CPU has svm");
  });

  it("says why the test guest was skipped", () => {
    const v = kvmVerdict({ ...good, bootSkipped: "qemu-system-x86_64 not found" });
    expect(v.usable).toBe(true);
    expect(v.reason).toContain("no test guest run: qemu-system-x86_64 not found");
  });

  it("accepts a test guest that runs fast under KVM", () => {
    const v = kvmVerdict({
      ...good,
      boot: { kvm: { ok: true, seconds: 0.12 }, tcg: { ok: true, seconds: 0.2 } },
    });
    expect(v).toEqual({
      usable: true,
      reason: "KVM: usable (/dev/kvm opens, CPU has vmx; a test guest ran in 0.1 s under -accel kvm)",
    });
  });

  it("rejects KVM when the test guest hangs", () => {
    const v = kvmVerdict({
      ...good,
      boot: { kvm: { ok: false, problem: "did not finish within 10 s" }, tcg: { ok: true, seconds: 0.2 } },
    });
    expect(v.usable).toBe(false);
    expect(v.reason).toContain("a test guest under -accel kvm did not finish within 10 s");
  });

  it("rejects KVM that is much slower than TCG (what the project's machines do)", () => {
    const v = kvmVerdict({
      ...good,
      boot: { kvm: { ok: true, seconds: 4.1 }, tcg: { ok: true, seconds: 0.17 } },
    });
    expect(v.usable).toBe(false);
    expect(v.reason).toContain("took 4.1 s under -accel kvm against 0.2 s under TCG");
  });

  it("does not call KVM slow when TCG could not be measured", () => {
    const v = kvmVerdict({
      ...good,
      boot: { kvm: { ok: true, seconds: 4 }, tcg: { ok: false, problem: "could not run" } },
    });
    expect(v.usable).toBe(true);
  });
});

describe("cpuVirtFlag", () => {
  const cpuinfo = (flags: string) =>
    `processor\t: 0\nvendor_id\t: GenuineIntel\nflags\t\t: ${flags}\nbugs\t\t: spectre_v1\n\nprocessor\t: 1\nflags\t\t: ${flags}\n`;

  it("finds vmx and svm as whole words", () => {
    expect(cpuVirtFlag(cpuinfo("fpu vme de pse tsc msr vmx sse2"))).toBe("vmx");
    expect(cpuVirtFlag(cpuinfo("fpu svm lm"))).toBe("svm");
  });

  it("finds neither when absent, even inside other flag names", () => {
    expect(cpuVirtFlag(cpuinfo("fpu vme hypervisor vmx_ept_fake svmx lm"))).toBeUndefined();
    expect(cpuVirtFlag("")).toBeUndefined();
  });
});
