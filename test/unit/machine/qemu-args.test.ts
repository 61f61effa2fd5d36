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
    expect(drives[0]).toMatch(/^file=\/t\/root.qcow2,if=virtio,format=qcow2/);
    expect(drives[1]).toMatch(/^file=\/t\/work.raw,if=virtio,format=raw/);
  });

  it("hands keys over fw_cfg under opt/vmlive/", () => {
    expect(opts(qemuArgv(spec), "-fw_cfg")).toEqual([
      "name=opt/vmlive/hostkey,file=/t/host_key",
      "name=opt/vmlive/authorized_keys,file=/t/client_key.pub",
    ]);
  });

  it("doubles commas in paths, as qemu's option syntax needs", () => {
    const drives = opts(qemuArgv({ ...spec, rootDisk: "/a,b/root.qcow2" }), "-drive");
    expect(drives[0]).toMatch(/^file=\/a,,b\/root.qcow2,if=virtio/);
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
    expect(opts(argv, "-device")).toEqual(["virtio-net-pci,netdev=n0"]);
    expect(opts(argv, "-netdev")).toEqual(["user,id=n0,hostfwd=tcp:127.0.0.1:40022-:22"]);
  });
});
