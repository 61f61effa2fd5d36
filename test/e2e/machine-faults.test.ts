// Machine faults for real: the builder VM's qemu killed (kill -9) while a
// step runs, and a command in the VM that hangs. Two builder VM boots (about
// a minute each under TCG), then seconds each.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, expect, it } from "vitest";
import { CommandError } from "../../src/errors.js";
import { startBuilder } from "../../src/machine/qemu/start-builder.js";
import type { BuildReport } from "../../src/report/report.js";
import { PROJECT_ROOT } from "../../src/paths.js";
import { vmlive } from "../support/cli.js";
import { qemuProcesses } from "../support/processes.js";

const tmp = mkdtempSync(path.join(os.tmpdir(), "vmlive-e2e-faults-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const image = path.join(PROJECT_ROOT, "test", "fixtures", "images", "vm-small");

it("the builder VM killed mid-step: the build fails within 30 s, names the step and the VM, with its console", async () => {
  const out = path.join(tmp, "out");
  const child = vmlive(["build", image, "--steps", "bootstrap", "--out", out], {
    env: { VMLIVE_WORK_DIR: path.join(tmp, "work") },
  });
  let output = "";
  child.all!.on("data", (b: Buffer) => (output += b.toString()));

  // Wait until mmdebstrap runs in the VM: its own output is in the build log.
  const buildLog = () => {
    const partial = existsSync(out) ? readdirSync(out).find((d) => d.endsWith(".partial")) : undefined;
    return partial ? path.join(out, partial, "logs", "build.log") : undefined;
  };
  const deadline = Date.now() + 200_000;
  for (;;) {
    const log = buildLog();
    const text = log && existsSync(log) ? readFileSync(log, "utf8") : "";
    if (/mmdebstrap essential bookworm amd64 from/.test(text) && /[|!] I: /.test(text)) break;
    if (Date.now() > deadline || child.exitCode !== null)
      throw new Error(`bootstrap was not seen running:\n${output}\n${text}`);
    await new Promise((r) => setTimeout(r, 500));
  }

  // This build's qemu: the one whose serial log is in this build's logs folder.
  const ours = qemuProcesses().filter((q) => q.cmdline.includes(out));
  expect(ours).toHaveLength(1);
  const runDirs = [...new Set(ours[0]!.cmdline.match(/\/[^\0,]*\/vmlive-vm-[A-Za-z0-9]+/g) ?? [])];
  expect(runDirs).toHaveLength(1);
  expect(readdirSync(runDirs[0]!)).toEqual(expect.arrayContaining(["client_key", "host_key"]));
  const killed = Date.now();
  process.kill(Number(ours[0]!.pid), "SIGKILL");
  const r = await child;
  const seconds = (Date.now() - killed) / 1000;
  console.log(
    `kill -9 of qemu to vmlive's exit: ${seconds.toFixed(1)} s\n${r.stderr.split("\n").slice(-30).join("\n")}`,
  );

  expect(r.exitCode, r.all).toBe(1);
  expect(seconds).toBeLessThan(30);
  expect(r.stderr).toMatch(/step bootstrap failed/);
  expect(r.stderr).toMatch(
    /command failed \(vm\): mmdebstrap .*: the builder VM stopped while this ran \(qemu was killed by SIGKILL\)/,
  );
  // The last lines of the builder's serial console, from the log the failed build keeps.
  const dir = readdirSync(out).find((d) => d.endsWith(".failed"));
  expect(dir).toMatch(/^vm-small-bookworm-amd64-\d{8}-\d{6}\.failed$/);
  const serial = readFileSync(path.join(out, dir!, "logs", "builder-serial.log"), "utf8").trimEnd();
  // (Serial consoles end their lines with CR LF; the message keeps the text.)
  const last = serial.replace(/\r/g, "").split("\n").slice(-3);
  expect(last.length).toBeGreaterThan(0);
  for (const line of last) expect(r.stderr).toContain(`  | ${line}`);

  // Nothing left: no qemu, no per-build keys or disks, and the report says failed.
  expect(qemuProcesses().filter((q) => q.cmdline.includes(out))).toEqual([]);
  expect(existsSync(runDirs[0]!)).toBe(false);
  const report = JSON.parse(readFileSync(path.join(out, dir!, "report.json"), "utf8")) as BuildReport;
  expect(report.status).toBe("failed");
  expect(report.error).toMatch(/the builder VM stopped while this ran/);
});

it("a command that hangs in the builder VM: the diagnostics bundle first, then the watchdog", async () => {
  const logDir = path.join(tmp, "hang-logs");
  mkdirSync(logDir);
  await using vm = await startBuilder({ release: "bookworm", accel: "auto", logDir, say: () => undefined });
  const t0 = Date.now();
  const err = await vm
    .exec(["sh", "-c", "echo started; sleep 600 & wait"], { idleTimeoutMs: 3_000 })
    .catch((e: unknown) => e);
  expect(err).toBeInstanceOf(CommandError);
  expect((err as CommandError).detail.cause).toMatch(/no output and no progress for 3 s/);
  expect(Date.now() - t0).toBeLessThan(60_000);
  const bundles = readdirSync(logDir).filter((f) => /^diagnostics-.*\.txt$/.test(f));
  expect(bundles).toHaveLength(1);
  const bundle = readFileSync(path.join(logDir, bundles[0]!), "utf8");
  expect(bundle).toMatch(/^command: sh -c 'echo started; sleep 600 & wait'$/m);
  expect(bundle).toMatch(/^machine: qemu\/(tcg|kvm): bookworm amd64 builder/m);
  // The hung command and its child in the VM's process tree, disks, mounts, kernel log, console.
  expect(bundle).toMatch(/^== processes\n\s*PID\s+PPID\s+STAT\s+ELAPSED\s+TIME\s+COMMAND$/m);
  expect(bundle).toMatch(/^\s*\d+\s+\d+\s+\S+\s+\S+\s+\S+\s+.*sh -c echo started; sleep 600 & wait$/m);
  expect(bundle).toMatch(/^\s*\d+\s+\d+\s+\S+\s+\S+\s+\S+\s+.*\\_ sleep 600$/m);
  expect(bundle).toMatch(/^== disk space\nFilesystem\s+Size/m);
  expect(bundle).toMatch(/^\/dev\/vdb \/work ext4 /m);
  expect(bundle).toMatch(/^== kernel log \(last 50 lines\)$/m);
  expect(bundle).toMatch(/^== serial console \(last 50 lines\)\n[^]*VMLIVE-SSHD-READY/m);
  // The watchdog stopped the whole group: nothing of it is left in the VM.
  expect((await vm.exec(["pgrep", "-f", "sleep 600"], { check: false })).exitCode).toBe(1);
});
