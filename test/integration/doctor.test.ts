// Runs the real doctor on this host: every line must say something, and on a
// CPU without vmx/svm (the project's machines) KVM must be reported unusable.
import { readFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect, it } from "vitest";
import { runDoctor } from "../../src/host/doctor.js";

const cpuinfo = (() => {
  try {
    return readFileSync("/proc/cpuinfo", "utf8");
  } catch {
    return "";
  }
})();
const hasVirtFlag = /^flags\s*:.*\b(vmx|svm)\b/m.test(cpuinfo);

it("reports every requirement of this host with a detail, and KVM honestly", async () => {
  const lines = await runDoctor({
    mirror: "http://deb.debian.org/debian",
    suite: "bookworm",
    cacheDir: path.join(os.tmpdir(), "vmlive-doctor-test", "cache"),
    workDir: path.join(os.tmpdir(), "vmlive-doctor-test", "work"),
  });
  expect(lines.length).toBeGreaterThan(20);
  for (const l of lines) {
    expect(l.name).not.toBe("");
    expect(["ok", "warn", "fail"]).toContain(l.status);
    expect(l.detail.trim(), `detail of ${l.name}`).not.toBe("");
  }
  const kvm = lines.find((l) => l.name === "kvm");
  expect(kvm).toBeDefined();
  if (process.arch === "x64" && !hasVirtFlag) {
    expect(kvm!.status).toBe("warn");
    expect(kvm!.detail).toMatch(/vmx\/svm/);
  }
});
