// The builder VM for real: boot it (making the cached builder image first if
// needed), drive it over SSH, and tear it down. Slow under TCG: e2e only.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { mkdtempSync, rmSync } from "node:fs";
import { execFileSync } from "node:child_process";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CommandError } from "../../src/errors.js";
import { GUEST_ROOTFS, QemuMachine, rootfsLayersDir } from "../../src/machine/qemu/qemu-machine.js";
import type { LayerManifest } from "../../src/machine/qemu/rootfs-layers.js";
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

  describe("downloads of big files on the work disk, read off the disk image", () => {
    const big = "/work/build/out/big.bin";
    /** Run `f` with an empty host folder to download into, removed afterwards. */
    const intoFolder = async (f: (dir: string) => Promise<void>) => {
      const dir = mkdtempSync(path.join(os.tmpdir(), "vmlive-e2e-disk-read-"));
      try {
        await f(dir);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    };

    it("arrive whole, checked against the guest's sha256, without SFTP", async () => {
      await vm.exec(["sh", "-c", 'mkdir -p "${1%/*}" && head -c 50000000 /dev/urandom > "$1"', "mk", big]);
      const want = (await vm.exec(["sha256sum", big])).stdout.split(" ")[0];
      await intoFolder(async (dir) => {
        const before = vm.bytesReadOffWorkDisk;
        await vm.download(big, path.join(dir, "big.bin"));
        expect(vm.bytesReadOffWorkDisk - before).toBe(50_000_000);
        expect(
          execFileSync("sha256sum", [path.join(dir, "big.bin")], { encoding: "utf8" }).split(" ")[0],
        ).toBe(want);
        // The file system is thawed again: the guest can write to it.
        await vm.exec(["sh", "-c", 'echo more >> "$1"', "append", big]);
        expect(readdirSync(dir)).toEqual(["big.bin"]);
      });
    });

    it("are checked against the sha256 the caller gives, and refused when it does not match", async () => {
      await intoFolder(async (dir) => {
        const want = (await vm.exec(["sha256sum", big])).stdout.split(" ")[0]!;
        await vm.download(big, path.join(dir, "ok.bin"), { sha256: want });
        const wrong = want.replace(/^./, (c) => (c === "0" ? "1" : "0"));
        await expect(vm.download(big, path.join(dir, "bad.bin"), { sha256: wrong })).rejects.toThrow(
          /is corrupt/,
        );
        expect(readdirSync(dir)).toEqual(["ok.bin"]);
      });
    });

    it("stop when aborted, leaving no partial file and the file system thawed", async () => {
      await intoFolder(async (dir) => {
        const ac = new AbortController();
        const copy = vm.download(big, path.join(dir, "big.bin"), { signal: ac.signal });
        setTimeout(() => ac.abort(new Error("stopped by the test")), 300);
        await expect(copy).rejects.toThrow("stopped by the test");
        expect(readdirSync(dir)).toEqual([]);
        await vm.exec(["sh", "-c", 'echo more >> "$1" && rm -f "$1"', "append", big], { timeoutMs: 30_000 });
      });
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

describe("the root filesystem's qcow2 snapshots, kept beside the work disk", () => {
  const area = mkdtempSync(path.join(os.tmpdir(), "vmlive-e2e-layers-"));
  afterAll(() => rmSync(area, { recursive: true, force: true }));
  const workDisk = path.join(area, "work.raw");
  const layersDir = rootfsLayersDir(workDisk);
  const start = () =>
    startBuilder({
      release: "bookworm",
      accel: "auto",
      logDir,
      workDisk,
      say: (m) => console.log(`vmlive: ${m}`),
    });
  /** The root filesystem's files (name=content), sorted. */
  const files = async (vm: QemuMachine) =>
    (
      await vm.exec([
        "sh",
        "-c",
        'cd "$1" && for f in *; do [ -e "$f" ] && echo "$f=$(cat "$f")"; done; true',
        "ls",
        GUEST_ROOTFS,
      ])
    ).stdout
      .split("\n")
      .filter(Boolean);
  const write = (vm: QemuMachine, name: string, text: string) =>
    vm.exec(["sh", "-c", 'printf %s "$2" > "$1"', "write", `${GUEST_ROOTFS}/${name}`, text]);
  const layerFiles = () =>
    readdirSync(layersDir)
      .filter((f) => f.startsWith("L-"))
      .sort();

  it("takes snapshots without copying, keeps them across VMs, and restores each", async () => {
    {
      await using vm = await start();
      const s = vm.rootfsSnapshots;
      expect(s.path).toBe(GUEST_ROOTFS);
      expect((await vm.exec(["findmnt", "-n", "-o", "SOURCE", GUEST_ROOTFS])).stdout).toMatch(
        /^\/dev\/vd[c-z]\n$/,
      );
      await s.empty();
      expect(await files(vm)).toEqual([]);
      await write(vm, "a", "one");
      const taken = await s.take("bootstrap", "k1");
      expect(taken.what).toMatch(/^qcow2 layer L-\d+\.raw$/);
      await write(vm, "a", "two");
      await write(vm, "b", "two");
      await s.take("packages", "k2");
      await write(vm, "c", "three");
      expect((await s.list()).map((x) => `${x.name}:${x.key}`)).toEqual(["bootstrap:k1", "packages:k2"]);
    }
    // Only what layers.json reaches is left: the base, the packages layer and the active one.
    const manifest = JSON.parse(readFileSync(path.join(layersDir, "layers.json"), "utf8")) as LayerManifest;
    expect(layerFiles()).toEqual(Object.keys(manifest.layers).sort());
    expect(layerFiles()).toHaveLength(3);
    const chain = execFileSync(
      "qemu-img",
      ["info", "--backing-chain", "-U", path.join(layersDir, manifest.active)],
      {
        encoding: "utf8",
      },
    );
    expect(chain.match(/^image: /gm)).toHaveLength(3);
    {
      await using vm = await start();
      expect(await files(vm)).toEqual(["a=two", "b=two", "c=three"]);
      await vm.rootfsSnapshots.restore("packages");
      expect(await files(vm)).toEqual(["a=two", "b=two"]);
      await write(vm, "d", "four");
    }
    {
      await using vm = await start();
      expect(await files(vm)).toEqual(["a=two", "b=two", "d=four"]);
      await vm.rootfsSnapshots.restore("bootstrap");
      expect(await files(vm)).toEqual(["a=one"]);
      // Restoring one snapshot leaves the other as it was.
      expect((await vm.rootfsSnapshots.list()).map((x) => x.name)).toEqual(["bootstrap", "packages"]);
      await vm.rootfsSnapshots.drop("packages");
      await vm.rootfsSnapshots.empty();
      expect(await files(vm)).toEqual([]);
      expect((await vm.exec(["ls", "-A", GUEST_ROOTFS])).stdout).toBe("");
    }
    // The bootstrap snapshot is still kept; the dropped packages layer is gone.
    const after = JSON.parse(readFileSync(path.join(layersDir, "layers.json"), "utf8")) as LayerManifest;
    expect(Object.keys(after.snapshots)).toEqual(["bootstrap"]);
    expect(layerFiles()).toEqual(Object.keys(after.layers).sort());
    expect(layerFiles()).toHaveLength(2);
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
