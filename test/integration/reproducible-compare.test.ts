// The comparison of --check-reproducible on real images: squashfs images made
// by mksquashfs and ISOs made by xorriso from small trees, one file changed
// between them, and the report has to name it.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync, chmodSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { VerificationError } from "../../src/errors.js";
import type { BuildOptions, BuildResult } from "../../src/pipeline/build.js";
import {
  buildTwiceAndCompare,
  compareBuilds,
  describeComparison,
  identical,
} from "../../src/pipeline/reproducible.js";
import type { BuildReport } from "../../src/report/report.js";
import { compareSquashfs } from "../../src/util/squashfs-compare.js";

const tools = ["/usr/bin/mksquashfs", "/usr/bin/unsquashfs", "/usr/bin/xorriso"].every(existsSync);
const EPOCH = 1_764_547_200;
const dir = mkdtempSync(path.join(os.tmpdir(), "vmlive-repro-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A small root: a few files, a folder, a symlink; `change` edits it before squashing. */
function rootTree(name: string, change?: (root: string) => void): string {
  const root = path.join(dir, name);
  mkdirSync(path.join(root, "etc"), { recursive: true });
  mkdirSync(path.join(root, "usr/bin"), { recursive: true });
  writeFileSync(path.join(root, "etc/hostname"), "live\n");
  writeFileSync(path.join(root, "etc/shadow"), "root:*:20423:0:99999:7:::\n");
  writeFileSync(path.join(root, "usr/bin/tool"), Buffer.alloc(100_000, 1));
  chmodSync(path.join(root, "usr/bin/tool"), 0o755);
  execFileSync("ln", ["-s", "../etc/hostname", path.join(root, "usr/name")]);
  change?.(root);
  return root;
}

function squash(root: string, out: string): string {
  execFileSync("mksquashfs", [root, out, "-noappend", "-no-progress", "-quiet", "-comp", "gzip"], {
    env: { ...process.env, SOURCE_DATE_EPOCH: String(EPOCH) },
  });
  return out;
}

/** An ISO like vmlive's: the squashfs at /live/filesystem.squashfs, a menu beside it. */
function iso(name: string, squashfs: string, menu = "menuentry live {}\n"): string {
  const tree = path.join(dir, `${name}-tree`);
  mkdirSync(path.join(tree, "live"), { recursive: true });
  mkdirSync(path.join(tree, "boot/grub"), { recursive: true });
  execFileSync("cp", [squashfs, path.join(tree, "live/filesystem.squashfs")]);
  writeFileSync(path.join(tree, "boot/grub/grub.cfg"), menu);
  execFileSync("find", [tree, "-exec", "touch", "-h", "-d", `@${EPOCH}`, "{}", "+"]);
  const out = path.join(dir, `${name}.iso`);
  execFileSync(
    "xorriso",
    ["-as", "mkisofs", "-r", "-J", "-V", "TEST", "-partition_offset", "16", "-o", out, tree],
    { env: { ...process.env, SOURCE_DATE_EPOCH: String(EPOCH) }, stdio: "ignore" },
  );
  return out;
}

describe.skipIf(!tools)("compareSquashfs on real images", () => {
  it("names the one file whose content differs", async () => {
    const a = squash(rootTree("s1"), path.join(dir, "s1.sq"));
    const b = squash(
      rootTree("s2", (r) => writeFileSync(path.join(r, "etc/shadow"), "root:*:20788:0:99999:7:::\n")),
      path.join(dir, "s2.sq"),
    );
    const c = await compareSquashfs(a, b, { scratch: path.join(dir, "cmp1") });
    expect(c.first?.path).toBe("/etc/shadow");
    expect(c.first?.differences).toEqual(["content (first difference at byte 9)"]);
    expect(c.differing).toBe(1);
    expect(existsSync(path.join(dir, "cmp1"))).toBe(false);
  });

  it("names a mode, an mtime to the second and a file only one image has", async () => {
    const a = squash(rootTree("m1"), path.join(dir, "m1.sq"));
    const b = squash(
      rootTree("m2", (r) => {
        chmodSync(path.join(r, "usr/bin/tool"), 0o700);
        utimesSync(path.join(r, "etc/hostname"), EPOCH - 7, EPOCH - 7);
        writeFileSync(path.join(r, "etc/extra"), "x");
      }),
      path.join(dir, "m2.sq"),
    );
    const c = await compareSquashfs(a, b, { scratch: path.join(dir, "cmp2") });
    // The images' order: /etc (its size changed with the new entry), then /etc/extra ...
    expect(c.first?.path).toBe("/etc");
    expect(c.first?.differences[0]).toMatch(/^size /);
    expect(c.differing).toBe(4);
    // Seconds apart within one minute: only the unpacked file tells them apart.
    const a2 = squash(
      rootTree("t1", (r) => utimesSync(path.join(r, "etc/hostname"), EPOCH - 50, EPOCH - 50)),
      path.join(dir, "t1.sq"),
    );
    const b2 = squash(
      rootTree("t2", (r) => utimesSync(path.join(r, "etc/hostname"), EPOCH - 43, EPOCH - 43)),
      path.join(dir, "t2.sq"),
    );
    const t = await compareSquashfs(a2, b2, { scratch: path.join(dir, "cmp3") });
    expect(t.first).toEqual({
      path: "/etc/hostname",
      differences: ["mtime 2025-11-30T23:59:10Z vs 2025-11-30T23:59:17Z"],
    });
  });
});

describe.skipIf(!tools)("compareBuilds on real ISOs", () => {
  const sq = squash(rootTree("b1"), path.join(dir, "b1.sq"));
  it("finds identical ISOs identical, with both hashes", async () => {
    const c = await compareBuilds(iso("i1", sq), iso("i2", sq), path.join(dir, "cb1"));
    expect(identical(c)).toBe(true);
    expect(describeComparison(c)).toMatch(
      /^reproducible: squashfs SHA256 [0-9a-f]{64}, ISO SHA256 [0-9a-f]{64} identical/,
    );
  });

  it("names the ISO file that holds the first differing byte when the squashfs is the same", async () => {
    const c = await compareBuilds(iso("j1", sq), iso("j2", sq, "menuentry LIVE {}\n"), path.join(dir, "cb2"));
    expect(c.squashfs.a).toBe(c.squashfs.b);
    expect(c.isoWhere).toMatch(/^file \/boot\/grub\/grub\.cfg \(byte 10 of it\)$/);
  });

  it("names the squashfs path and the ISO offset inside the squashfs", async () => {
    const sq2 = squash(
      rootTree("b2", (r) => writeFileSync(path.join(r, "usr/bin/tool"), Buffer.alloc(100_000, 2))),
      path.join(dir, "b2.sq"),
    );
    const c = await compareBuilds(iso("k1", sq), iso("k2", sq2), path.join(dir, "cb3"));
    const text = describeComparison(c);
    expect(text).toContain("first difference: /usr/bin/tool: content (first difference at byte 0)");
    expect(c.isoWhere).toMatch(/^file \/live\/filesystem\.squashfs \(byte \d+ of it\)$/);
  });
});

describe.skipIf(!tools)("buildTwiceAndCompare with builds that differ", () => {
  it("fails naming the difference and keeps the second build as NAME.repro", async () => {
    const out = path.join(dir, "out");
    const sqA = squash(rootTree("f1"), path.join(dir, "f1.sq"));
    const sqB = squash(
      rootTree("f2", (r) => writeFileSync(path.join(r, "etc/hostname"), "Live\n")),
      path.join(dir, "f2.sq"),
    );
    const calls: BuildOptions[] = [];
    // Stands in for build(): a folder with an ISO, as collect leaves it.
    const fake = async (o: BuildOptions): Promise<BuildResult> => {
      calls.push(o);
      const d = path.join(path.resolve(o.out), `img-bookworm-amd64-2026010${calls.length}-000000`);
      mkdirSync(d, { recursive: true });
      execFileSync("cp", [iso(`f${calls.length}`, calls.length === 1 ? sqA : sqB), path.join(d, "img.iso")]);
      const report = { image: "img", arch: "amd64", artifacts: [{ name: "img.iso", bytes: 0, sha256: "" }] };
      return { dir: d, report: report as unknown as BuildReport };
    };
    const o = {
      image: "img",
      backend: "host" as const,
      accel: "auto" as const,
      clean: false,
      out,
      keepVm: false,
      quiet: true,
      bootTest: true,
      signal: new AbortController().signal,
    };
    const before = process.env.SOURCE_DATE_EPOCH;
    process.env.SOURCE_DATE_EPOCH = String(EPOCH);
    const e = await buildTwiceAndCompare(o, fake).catch((x: unknown) => x);
    if (before === undefined) delete process.env.SOURCE_DATE_EPOCH;
    else process.env.SOURCE_DATE_EPOCH = before;
    expect(e).toBeInstanceOf(VerificationError);
    expect((e as Error).message).toContain(
      "first difference: /etc/hostname: content (first difference at byte 0)",
    );
    // Both from scratch, one epoch; the second apart, not booted, not recorded.
    expect(calls.map((c) => [c.clean, c.sourceDateEpoch])).toEqual([
      [true, EPOCH],
      [true, EPOCH],
    ]);
    expect(calls[1]!.workRoot).toMatch(/\.repro$/);
    expect([calls[1]!.scratch, calls[1]!.bootTest]).toEqual([true, false]);
    const first = path.join(out, "img-bookworm-amd64-20260101-000000");
    expect(existsSync(path.join(`${first}.repro`, "img.iso"))).toBe(true);
    expect((e as VerificationError).hint).toContain(`${first}.repro`);
  });
});
