// Synthetic finished build folders: the report.json and manifest.tsv that
// `vmlive build` writes, with only what a test says changed.
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";

export interface FakeBuild {
  image?: string;
  suite?: string;
  arch?: string;
  status?: "success" | "failed" | "interrupted";
  /** ISO 8601; also names the folder. */
  started: string;
  seconds?: number;
  isoBytes?: number;
  squashfsBytes?: number;
  steps?: [string, number][];
  /** name -> version (arch amd64 unless "name:arch"); null: no manifest.tsv. */
  packages?: Record<string, string> | null;
  boots?: [string, boolean, number][];
  error?: string;
}

export const BASE_PACKAGES = {
  base: "13",
  bash: "5.2.15-2+b7",
  libc6: "2.36-9+deb12u8",
  "live-boot": "1:20230131",
  nano: "7.2-1+deb12u1",
  "tzdata:all": "2024a-0+deb12u1",
};

/** Write a build folder under `out`; returns its path. */
export function writeBuild(out: string, b: FakeBuild): string {
  const image = b.image ?? "live-minimal";
  const suite = b.suite ?? "bookworm";
  const arch = b.arch ?? "amd64";
  const status = b.status ?? "success";
  const stamp = b.started.replace(/[-:]/g, "").replace("T", "-").slice(0, 15);
  const dir = path.join(out, `${image}-${suite}-${arch}-${stamp}${status === "success" ? "" : ".failed"}`);
  mkdirSync(dir, { recursive: true });
  const seconds = b.seconds ?? 300;
  const packages = b.packages === undefined ? BASE_PACKAGES : b.packages;
  const isoName = `${image}-${suite}-${arch}.iso`;
  const report = {
    vmlive: "0.1.0",
    image,
    suite,
    arch,
    status,
    ...(b.error !== undefined && { error: b.error }),
    started: b.started,
    finished: new Date(Date.parse(b.started) + seconds * 1000).toISOString(),
    seconds,
    machine: "host (test)",
    sourceDateEpoch: 1700000000,
    steps: (
      b.steps ?? [
        ["bootstrap", 60],
        ["customize", 200],
        ["squash", 30],
        ["iso", 10],
      ]
    ).map(([step, s]) => ({ step, seconds: s, ok: true })),
    hooks: [],
    ...(b.squashfsBytes !== undefined && {
      squashfs: { path: "/w/live/filesystem.squashfs", bytes: b.squashfsBytes, files: 9 },
    }),
    ...(b.isoBytes !== undefined && { iso: { path: `/w/out/${isoName}`, bytes: b.isoBytes } }),
    artifacts:
      b.isoBytes === undefined
        ? []
        : [
            { name: isoName, bytes: b.isoBytes, sha256: "a".repeat(64) },
            { name: "manifest.tsv", bytes: 100, sha256: "b".repeat(64) },
          ],
    packages: packages ? Object.keys(packages).length : 0,
    tools: { xorriso: "1.5.4" },
    config: { name: image, suite, arch, packages: { install: Object.keys(packages ?? {}) } },
    ...(b.boots && {
      bootTest: {
        ok: b.boots.every(([, ok]) => ok),
        report: "boot/boot-report.json",
        ways: b.boots.map(([way, ok, s]) => ({ way, ok, seconds: s, screenshots: [], commands: [] })),
      },
    }),
  };
  writeFileSync(path.join(dir, "report.json"), JSON.stringify(report, null, 2) + "\n");
  if (packages)
    writeFileSync(
      path.join(dir, "manifest.tsv"),
      Object.entries(packages)
        .map(([n, v]) => {
          const [name, a] = n.split(":");
          return `${name}\t${v}\t${a ?? arch}\n`;
        })
        .join(""),
    );
  return dir;
}
