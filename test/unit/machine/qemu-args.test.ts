import { describe, expect, it } from "vitest";
import { qemuArgv, type VmSpec } from "../../../src/machine/qemu/args.js";

const spec: VmSpec = {
  arch: "amd64",
  accel: "tcg",
  cpus: 2,
  memoryMiB: 4096,
  kernel: "/c/vmlinux",
  initrd: "/c/initrd.img",
  rootDisk: "/t/root.qcow2",
  workDisk: "/t/work.raw",
  rootfsDisks: [
    { id: "L-3", file: "/w/rootfs/L-3.qcow2", format: "qcow2" },
    { id: "L-4", file: "/w/rootfs/L-4.raw", format: "raw" },
  ],
  qmpSocket: "/t/qmp.sock",
  sshPort: 40022,
  fwCfg: { hostkey: "/t/host_key", authorized_keys: "/t/client_key.pub" },
  serialLog: "/logs/serial.log",
  pidFile: "/t/qemu.pid",
};

/** The value after an option, e.g. opt(argv, "-m"). */
const opts = (argv: string[], name: string) => argv.flatMap((a, i) => (a === name ? [argv[i + 1]!] : []));

describe("qemuArgv", () => {
  it("forwards SSH from 127.0.0.1 only", () => {
    const [netdev] = opts(qemuArgv(spec), "-netdev");
    expect(netdev).toBe("user,id=n0,hostfwd=tcp:127.0.0.1:40022-:22");
  });

  it("uses multi-threaded TCG with -cpu max, or KVM with the host CPU", () => {
    expect(opts(qemuArgv(spec), "-accel")).toEqual(["tcg,thread=multi"]);
    expect(opts(qemuArgv(spec), "-cpu")).toEqual(["max"]);
    const kvm = qemuArgv({ ...spec, accel: "kvm" });
    expect(opts(kvm, "-accel")).toEqual(["kvm"]);
    expect(opts(kvm, "-cpu")).toEqual(["host"]);
  });

  it("boots the kernel directly with the root overlay as vda and the work disk as vdb", () => {
    const argv = qemuArgv(spec);
    expect(opts(argv, "-kernel")).toEqual(["/c/vmlinux"]);
    expect(opts(argv, "-append")[0]).toContain("root=/dev/vda");
    const drives = opts(argv, "-drive");
    expect(drives[0]).toBe("file=/t/root.qcow2,if=none,id=root,format=qcow2,cache=unsafe,discard=unmap");
    expect(drives[1]).toBe("file=/t/work.raw,if=none,id=work,format=raw,cache=writeback,discard=unmap");
    // Disks are devices in this order, so the guest names them in it.
    expect(
      opts(argv, "-device")
        .filter((d) => d.startsWith("virtio-blk,"))
        .slice(0, 2),
    ).toEqual(["virtio-blk,drive=root", "virtio-blk,drive=work"]);
  });

  it("attaches the root filesystem's disks after those two, each named by its serial", () => {
    const argv = qemuArgv(spec);
    const drives = opts(argv, "-drive");
    expect(drives.slice(2)).toEqual([
      "file=/w/rootfs/L-3.qcow2,if=none,id=L-3,format=qcow2,cache=writeback,discard=unmap",
      "file=/w/rootfs/L-4.raw,if=none,id=L-4,format=raw,cache=writeback,discard=unmap",
    ]);
    expect(
      opts(argv, "-device")
        .filter((d) => d.startsWith("virtio-blk,"))
        .slice(2),
    ).toEqual(["virtio-blk,drive=L-3,serial=vmlive-L-3", "virtio-blk,drive=L-4,serial=vmlive-L-4"]);
  });

  it("serves qemu's monitor on a unix socket, not on the network", () => {
    expect(opts(qemuArgv(spec), "-qmp")).toEqual(["unix:/t/qmp.sock,server=on,wait=off"]);
  });

  it("hands keys over fw_cfg under opt/vmlive/", () => {
    expect(opts(qemuArgv(spec), "-fw_cfg")).toEqual([
      "name=opt/vmlive/hostkey,file=/t/host_key",
      "name=opt/vmlive/authorized_keys,file=/t/client_key.pub",
    ]);
  });

  it("doubles commas in paths, as qemu's option syntax needs", () => {
    const drives = opts(qemuArgv({ ...spec, rootDisk: "/a,b/root.qcow2" }), "-drive");
    expect(drives[0]).toMatch(/^file=\/a,,b\/root.qcow2,if=none/);
  });

  it("captures the serial console to the log file, shows no display, makes no default devices", () => {
    const argv = qemuArgv(spec);
    expect(opts(argv, "-serial")).toEqual(["file:/logs/serial.log"]);
    expect(opts(argv, "-display")).toEqual(["none"]);
    expect(argv).toContain("-nodefaults");
  });

  it("uses the aarch64 system emulator and virt board for arm64", () => {
    const argv = qemuArgv({ ...spec, arch: "arm64" });
    expect(argv[0]).toBe("qemu-system-aarch64");
    expect(opts(argv, "-machine")).toEqual(["virt"]);
    expect(opts(argv, "-append")[0]).toContain("console=ttyAMA0");
    // Under TCG, qemu's own pointer-authentication algorithm: QARMA costs a lot of host time.
    expect(opts(argv, "-cpu")).toEqual(["max,pauth-impdef=on"]);
    expect(opts(qemuArgv({ ...spec, arch: "arm64", accel: "kvm" }), "-cpu")).toEqual(["host"]);
    // The same virtio PCI devices and SSH forwarding as on amd64.
    expect(opts(argv, "-device").filter((d) => d.startsWith("virtio-net"))).toEqual([
      "virtio-net-pci,netdev=n0",
    ]);
    expect(opts(argv, "-netdev")).toEqual(["user,id=n0,hostfwd=tcp:127.0.0.1:40022-:22"]);
  });
});
