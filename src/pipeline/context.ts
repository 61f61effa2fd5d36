// What a step gets to work with. Steps see a Machine and paths on it, never
// execa or SSH; what one step learns for later ones (and for the report)
// goes into `state`, which is saved in the work area so that `--steps`
// subsets can run later against a kept work area.
import type { LoadedImage } from "../config/load.js";
import type { Machine, OutputSink } from "../machine/machine.js";
import type { StageName } from "./stage-keys.js";
import type { StageRecord, StageRun } from "./stages.js";

/** Paths on the machine. */
export interface WorkPaths {
  /** The work area of this image: everything below is kept between runs. */
  root: string;
  /** The image's root filesystem. */
  rootfs: string;
  /** The ISO's file tree (live/, boot/, EFI/, .disk/). */
  isoTree: string;
  /** Files uploaded from the image folder: hooks/, overlay/, keyring, config.json. */
  input: string;
  /** Finished artifacts: the ISO, SHA256SUMS, the package manifest. */
  out: string;
}

export function workPaths(root: string): WorkPaths {
  return {
    root,
    rootfs: `${root}/rootfs`,
    isoTree: `${root}/iso`,
    input: `${root}/input`,
    out: `${root}/out`,
  };
}

export interface PackageEntry {
  name: string;
  version: string;
  arch: string;
}

export interface HookRecord {
  path: string;
  where: "chroot" | "builder";
  seconds: number;
  exitCode: number;
}

export interface Artifact {
  name: string;
  bytes: number;
  sha256: string;
}

/** Something of the build that the check step found in the finished root filesystem. */
export interface Leftover {
  /** Where: a path in the image (/etc/machine-id, /etc/apt/sources.list:3) or in the work area. */
  path: string;
  problem: string;
  fix: string;
}

/** Facts steps record for later steps and the build report. Saved as state.json in the work area. */
export interface BuildState {
  /** Steps that finished, in order, with their wall time. */
  done: { step: string; seconds: number }[];
  manifest?: PackageEntry[];
  hooks?: HookRecord[];
  /** Kernel version taken out of the rootfs, e.g. 6.1.0-28-amd64. */
  kernelVersion?: string;
  /** Bytes and file count of the rootfs when it was squashed. */
  rootfs?: { bytes: number; files: number };
  squashfs?: { path: string; bytes: number; files: number };
  iso?: { path: string; bytes: number };
  /** Random id of this build's ISO, written to /.disk/ so GRUB finds its own medium. */
  isoId?: string;
  /** Files collected to the host output folder. */
  artifacts?: Artifact[];
  /** Tool versions in the machine, for the report. */
  tools?: Record<string, string>;
  /** What the check step looked for in the root filesystem, and the build leftovers it found there. */
  check?: { leftovers: number; checked: string[]; found: Leftover[] };
  /** The key of each stage the work area holds (see stages.ts): what a rebuild may reuse. */
  stages?: Partial<Record<StageName, StageRecord>>;
}

/** Where a step reports progress: short lines for people, full command output for the log file. */
export interface StepLog {
  /** One line of progress ("installing 12 packages"). */
  say(message: string): void;
  /** Command output: every line into the log file, and to the console prefixed with the step's name. */
  readonly output: OutputSink;
  /** The log file on the host. */
  readonly file: string;
}

export interface BuildContext {
  image: LoadedImage;
  machine: Machine;
  work: WorkPaths;
  state: BuildState;
  log: StepLog;
  /** Aborted when the user interrupts; pass it to every exec. */
  signal: AbortSignal;
  /** Seconds since the epoch that every timestamp in the image and ISO is clamped to. */
  sourceDateEpoch: number;
  /** Host folder the artifacts are collected into (renamed to its final name when the build succeeds). */
  outDir: string;
  /** Host folder for logs, screenshots, diagnostics of this build (inside outDir). */
  logDir: string;
  /** The shared package cache, when this build uses it (src/cache). */
  packageCache?: BuildCache;
  /** Stage reuse: whether customize starts after the package installation, and where it snapshots (stages.ts). */
  stages?: StageRun;
}

export interface BuildCache {
  /** The proxy as the machine reaches it: http://127.0.0.1:PORT/ here, http://10.0.2.2:PORT/ in the builder VM. */
  proxy: string;
}
