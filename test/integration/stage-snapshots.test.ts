// Snapshots of a root filesystem for real on this host: a small tree with
// what a Debian root holds (owners, setuid, hard links, symlinks, device
// nodes, a fifo, xattrs, a sparse file, timestamps) is copied to a snapshot
// and restored over a changed rootfs by the commands the host backend runs
// (the builder VM keeps qcow2 layers instead, test/e2e/builder-vm.test.ts); `find -printf`, stat and the xattrs must come back as they were.
// Needs root (chown, mknod).
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { HostMachine } from "../../src/machine/host.js";
import { workPaths } from "../../src/pipeline/context.js";
import {
  dropSnapshot,
  listSnapshots,
  restoreSnapshot,
  snapshotPath,
  takeSnapshot,
  type SnapshotEnv,
} from "../../src/pipeline/snapshots.js";
import { tempDir } from "../support/tmp.js";

const sh = (script: string, cwd: string) => execFileSync("sh", ["-euc", script], { cwd, encoding: "utf8" });

/** Everything about a tree that a copy could lose, one line per entry, sorted. */
function listing(root: string): string {
  const find = sh("find . -printf '%p %y %m %U:%G %n %s %S %T@ %l\\n' | sort", root);
  // Device numbers, and which names share an inode (inode numbers differ between copies, the groups must not).
  const devices = sh("find . \\( -type b -o -type c \\) -exec stat -c '%n %t:%T' {} + | sort", root);
  const links = sh(
    "find . -type f -links +1 -printf '%i %p\\n' | sort | awk '{g[$1]=g[$1] \" \" $2} END {for (i in g) print g[i]}' | sort",
    root,
  );
  const xattrs = execFileSync(
    "python3",
    [
      "-c",
      "import os,sys\nfor d,ds,fs in sorted(os.walk('.')):\n for n in sorted(ds+fs):\n  p=os.path.join(d,n)\n  for a in sorted(os.listxattr(p,follow_symlinks=False)):\n   print(p,a,os.getxattr(p,a,follow_symlinks=False))",
    ],
    { cwd: root, encoding: "utf8" },
  );
  return [find, devices, links, xattrs].join("---\n");
}

/** A small root filesystem with the awkward things a real one has. */
function makeRoot(rootfs: string): void {
  mkdirSync(rootfs, { recursive: true });
  sh(
    [
      "mkdir -p etc usr/bin var/lib/empty home/live dev tmp",
      "printf 'root:x:0:0\\n' > etc/passwd",
      "printf 'secret\\n' > etc/shadow && chmod 0640 etc/shadow && chown 0:42 etc/shadow",
      "printf '#!/bin/sh\\n' > usr/bin/sudo && chmod 4755 usr/bin/sudo",
      "printf 'busy\\n' > usr/bin/busybox && ln usr/bin/busybox usr/bin/sh-link && ln usr/bin/busybox usr/bin/ls-link",
      "ln -s ../usr/bin etc/bin-rel && ln -s /usr/bin/busybox etc/abs-link && ln -s /nowhere etc/dangling",
      "chown -h 1000:1000 etc/dangling",
      "printf 'x\\n' > home/live/.profile && chown -R 1000:1000 home/live && chmod 0700 home/live",
      "mknod dev/null c 1 3 && mknod dev/loop0 b 7 0 && mkfifo dev/fifo && chmod 0666 dev/null",
      "chmod 1777 tmp",
      "truncate -s 64M var/lib/sparse",
      "touch -h -d '2001-02-03 04:05:06' etc/abs-link etc/passwd var/lib/empty",
    ].join("\n"),
    rootfs,
  );
  execFileSync("python3", [
    "-c",
    "import os,sys\nos.setxattr(sys.argv[1],'user.vmlive',b'kept')\nos.setxattr(sys.argv[2],'trusted.overlay.opaque',b'y')",
    path.join(rootfs, "usr/bin/busybox"),
    path.join(rootfs, "var/lib/empty"),
  ]);
}

describe("snapshots on the host", () => {
  it("a snapshot and its restore keep owners, modes, links, devices, xattrs and times", async () => {
    const work = workPaths(path.join(tempDir("vmlive-snapshots-"), "work"));
    makeRoot(work.rootfs);
    const said: string[] = [];
    const env: SnapshotEnv = { machine: new HostMachine(), work, say: (m) => said.push(m) };
    const before = listing(work.rootfs);
    expect(before).toMatch(/\.\/dev\/null c 666 0:0/);
    expect(before).toMatch(/\.\/usr\/bin\/busybox \.\/usr\/bin\/ls-link \.\/usr\/bin\/sh-link/);
    expect(before).toMatch(/user\.vmlive b'kept'/);

    const taken = await takeSnapshot(env, "packages", "a".repeat(64));
    expect(listing(snapshotPath(work, "packages"))).toBe(before);
    // The sparse file stays sparse: the snapshot is far smaller than 64 MiB.
    expect(taken.bytes).toBeLessThan(1 << 20);
    expect(said.join("\n")).toMatch(/snapshot packages: .* copied in .* \(key aaaaaaaaaaaa\)/);
    expect(await listSnapshots(env)).toEqual([
      { name: "packages", key: "a".repeat(64), taken: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) },
    ]);

    // What the hooks of a build would do to the rootfs.
    sh(
      "rm etc/shadow usr/bin/sh-link && chmod 0755 home/live && echo new > etc/new && chown 5:5 etc/passwd",
      work.rootfs,
    );
    expect(listing(work.rootfs)).not.toBe(before);

    await restoreSnapshot(env, "packages");
    expect(listing(work.rootfs)).toBe(before);
    // The snapshot itself is still there, for the next rebuild.
    expect(listing(snapshotPath(work, "packages"))).toBe(before);

    await dropSnapshot(env, "packages");
    expect(existsSync(snapshotPath(work, "packages"))).toBe(false);
    expect(await listSnapshots(env)).toEqual([]);
  });

  it("a half-written snapshot (NAME.tmp, or no key) is not listed", async () => {
    const work = workPaths(path.join(tempDir("vmlive-snapshots-"), "work"));
    mkdirSync(`${work.root}/snapshots/bootstrap.tmp`, { recursive: true });
    mkdirSync(`${work.root}/snapshots/packages`, { recursive: true });
    writeFileSync(`${work.root}/snapshots/bootstrap.key`, "b".repeat(64));
    const env: SnapshotEnv = { machine: new HostMachine(), work, say: () => {} };
    expect(await listSnapshots(env)).toEqual([]);
  });
});
