// The builder VM for real: boot it (making the cached builder image first if
// needed), drive it over SSH, and tear it down. Slow under TCG: e2e only.
import { existsSync, readFileSync } from "node:fs";
import { mkdtempSync, rmSync } from "node:fs";
import { execFileSync } from "node:child_process";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CommandError } from "../../src/errors.js";
import { QemuMachine } from "../../src/machine/qemu/qemu-machine.js";
import { startBuilder } from "../../src/machine/qemu/start-builder.js";
import {
  CONNECTION_DROPPED,
  HOST_KEY_MISMATCH,
  SshSession,
  type SshConnectOptions,
} from "../../src/machine/qemu/ssh-session.js";
import { vmlive } from "../support/cli.js";
import { machineContract } from "../support/machine-contract.js";
import { qemuProcesses } from "../support/processes.js";

const logDir = mkdtempSync(path.join(os.tmpdir(), "vmlive-e2e-vm-"));
afterAll(() => rmSync(logDir, { recursive: true, force: true }));

const boot = () =>
  startBuilder({ release: "bookworm", accel: "auto", logDir, say: (m) => console.log(`vmlive: ${m}`) });

machineContract("QemuMachine (bookworm builder)", boot, {
  realCommands: true,
  files: true,
  onIdle: true,
  slowCopies: true,
});

describe("the builder VM", () => {
  let vm: QemuMachine;
  let port: number;
  const connectOptions = (overrides: Partial<SshConnectOptions> = {}): SshConnectOptions => {
    const t = vm.sshTarget();
    return {
      port,
      user: "root",
      privateKeyPath: t.privateKeyPath,
      hostPublicKey: readFileSync(t.hostPublicKeyPath, "utf8"),
      readyTimeoutMs: 20_000,
      ...overrides,
    };
  };
  beforeAll(async () => {
    vm = await boot();
    port = vm.sshTarget().port;
  });
  afterAll(async () => {
    await vm?.[Symbol.asyncDispose]();
  });

  it("is the release and architecture asked for, with the builder's tools and a work disk", async () => {
    expect((await vm.exec(["uname", "-m"])).stdout).toBe("x86_64\n");
    expect((await vm.exec(["sh", "-c", ". /etc/os-release; echo $VERSION_CODENAME"])).stdout).toBe(
      "bookworm\n",
    );
    for (const tool of [
      "debootstrap",
      "mmdebstrap",
      "mksquashfs",
      "xorriso",
      "grub-mkimage",
      "qemu-aarch64-static",
    ])
      await vm.exec(["sh", "-c", `command -v ${tool}`]);
    expect((await vm.exec(["findmnt", "-n", "-o", "SOURCE", "/work"])).stdout.trim()).toBe("/dev/vdb");
  });

  it("listens for SSH on 127.0.0.1 only", async () => {
    const argv = readFileSync(path.join(path.dirname(vm.sshTarget().privateKeyPath), "qemu.argv"), "utf8");
    expect(argv).toContain(`hostfwd=tcp:127.0.0.1:${port}-:22`);
    const listening = execFileSync("ss", ["-Hltn", `sport = :${port}`], { encoding: "utf8" });
    expect(listening.trim().split(/\s+/)[3]).toBe(`127.0.0.1:${port}`);
  });

  describe("SSH to a builder VM, beyond the contract", () => {
    it("refuses a VM that presents another host key", async () => {
      // The client's own key is a valid ed25519 key, just not the VM's host key.
      const wrong = readFileSync(vm.sshTarget().clientPublicKeyPath, "utf8");
      await expect(SshSession.connect(connectOptions({ hostPublicKey: wrong }))).rejects.toThrow(
        HOST_KEY_MISMATCH,
      );
    });

    it("rejects a host key line that is not one", async () => {
      await expect(
        SshSession.connect(connectOptions({ hostPublicKey: "ssh-ed25519 not-base64!" })),
      ).rejects.toThrow(/not an OpenSSH public key line/);
    });

    it("reports a dropped connection during exec instead of hanging", async () => {
      // A TCP relay between SshSession and the VM that can be cut, as if qemu died.
      const sockets = new Set<net.Socket>();
      const relay = net.createServer((inbound) => {
        const outbound = net.connect(port!, "127.0.0.1");
        for (const s of [inbound, outbound]) {
          sockets.add(s);
          s.on("error", () => undefined);
        }
        inbound.pipe(outbound).pipe(inbound);
      });
      await new Promise<void>((r) => relay.listen(0, "127.0.0.1", r));
      const relayPort = (relay.address() as net.AddressInfo).port;
      const s = await SshSession.connect(connectOptions({ port: relayPort }));
      try {
        expect((await s.exec(["echo", "through the relay"])).stdout).toBe("through the relay\n");
        const running = s.exec(["sleep", "600"]);
        setTimeout(() => {
          for (const sock of sockets) sock.destroy();
        }, 1_000);
        const t0 = Date.now();
        const err = await running.then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(err).toBeInstanceOf(CommandError);
        expect((err as CommandError).detail.cause).toMatch(new RegExp(`^${CONNECTION_DROPPED}`));
        expect(Date.now() - t0).toBeLessThan(10_000);
        expect(s.connected).toBe(false);
        await expect(s.exec(["true"])).rejects.toThrow(CONNECTION_DROPPED);
        expect(String(err)).toContain(`vm: sleep 600: ${CONNECTION_DROPPED}`);
        // Only the connection was cut: the VM runs on and answers on its own session.
        expect(process.kill(vm.qemuPid!, 0)).toBe(true);
        expect((await vm.exec(["echo", "still up"])).stdout).toBe("still up\n");
      } finally {
        await s.close();
        relay.close();
      }
      // The sleep is still running in the VM (nothing could kill it); clean it up.
      const t = await SshSession.connect(connectOptions());
      await t.exec(["pkill", "-x", "-f", "sleep 600"], { check: false });
      await t.close();
    });

    it("rejects env names that are not names, before running anything", async () => {
      const s = await SshSession.connect(connectOptions());
      try {
        await expect(s.exec(["true"], { env: { "A B": "x" } })).rejects.toThrow(
          /invalid environment variable name/,
        );
      } finally {
        await s.close();
      }
    });

    it("reports a missing source clearly", async () => {
      const s = await SshSession.connect(connectOptions());
      try {
        await expect(s.upload("/nonexistent/vmlive-file", "/tmp/x")).rejects.toThrow(/cannot read/);
        await expect(s.download("/nonexistent/vmlive-file", "/tmp/x")).rejects.toThrow(
          /vm:\/nonexistent\/vmlive-file/,
        );
      } finally {
        await s.close();
      }
    });
  });

  it("is gone after disposal: no qemu, no keys, no disks", async () => {
    const runDir = path.dirname(vm.sshTarget().privateKeyPath);
    const before = connectOptions({ readyTimeoutMs: 3_000 });
    await vm[Symbol.asyncDispose]();
    expect(existsSync(runDir)).toBe(false);
    await expect(SshSession.connect(before)).rejects.toThrow();
  });
});

describe("vmlive vm shell", () => {
  it("runs a command in a fresh bookworm builder and passes its output and exit code on", async () => {
    const r = await vmlive(["vm", "shell", "bookworm", "--", "uname", "-m"]);
    expect(r.exitCode, r.all).toBe(0);
    expect(r.stdout).toBe("x86_64");
    // The builder image made by the tests above is reused, not made again.
    expect(r.stderr).not.toMatch(/making the bookworm-amd64 builder image/);
    const failing = await vmlive(["vm", "shell", "bookworm", "--", "sh", "-c", "exit 7"]);
    expect(failing.exitCode).toBe(7);
  });

  it("on SIGINT while a command runs: exit 130, no qemu left, no temporary files", async () => {
    const before = new Set(qemuProcesses().map((q) => q.pid));
    const child = vmlive(["vm", "shell", "bookworm", "--", "sleep", "600"]);
    let stderr = "";
    await new Promise<void>((resolve, reject) => {
      child.stderr!.on("data", (b: Buffer) => {
        stderr += b.toString();
        // Interrupt once the VM is up and the command has had a moment to start.
        if (/up in [0-9.]+ s/.test(stderr)) setTimeout(resolve, 3_000);
      });
      setTimeout(() => reject(new Error(`the VM did not come up:\n${stderr}`)), 300_000);
    });
    // This VM's qemu, and the temporary folders its command line names (keys, disks, serial log).
    const ours = qemuProcesses().filter((q) => !before.has(q.pid));
    expect(ours).toHaveLength(1);
    const dirs = [...new Set(ours[0]!.cmdline.match(/\/[^\0,]*\/vmlive-(vm|shell)-[A-Za-z0-9]+/g) ?? [])];
    expect(dirs.length).toBeGreaterThanOrEqual(2);
    expect(dirs.every((d) => existsSync(d))).toBe(true);
    child.kill("SIGINT");
    const r = await child;
    expect(r.exitCode, r.all).toBe(130);
    expect(r.stderr).toMatch(/interrupted by SIGINT/);
    expect(qemuProcesses().filter((q) => q.pid === ours[0]!.pid)).toEqual([]);
    expect(dirs.filter((d) => existsSync(d))).toEqual([]);
  });
});
