// The qemu machines running on this host, read from /proc: what the e2e
// tests look at to prove that vmlive left no VM behind.
import { readdirSync, readFileSync } from "node:fs";

/** Running qemu-system processes with their command lines. */
export function qemuProcesses(): { pid: string; cmdline: string }[] {
  return readdirSync("/proc").flatMap((pid) => {
    if (!/^\d+$/.test(pid)) return [];
    try {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8");
      return cmdline.startsWith("qemu-system-") ? [{ pid, cmdline }] : [];
    } catch {
      return [];
    }
  });
}
