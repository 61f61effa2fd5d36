// The build report (report.json): what was built, how, how long each step
// took, what went in and what came out.
import type { BuildBootTest } from "../boot/boot-report.js";
import type { ImageConfig } from "../config/load.js";
import type { BuildState } from "../pipeline/context.js";
import type { StepTiming } from "../pipeline/runner.js";
import type { GitSource } from "../source/git.js";
import type { CommandTotals } from "../machine/watched.js";
import { VERSION } from "../version.js";

export interface BuildReport {
  vmlive: string;
  image: string;
  suite: string;
  arch: string;
  status: "success" | "failed" | "interrupted";
  error?: string;
  started: string;
  finished: string;
  seconds: number;
  machine: string;
  builderImage?: string;
  sourceDateEpoch: number;
  steps: StepTiming[];
  hooks: BuildState["hooks"];
  /** The check step: what it looked for in the root filesystem and the build leftovers it found. */
  check?: BuildState["check"];
  kernelVersion?: string;
  rootfs?: BuildState["rootfs"];
  squashfs?: BuildState["squashfs"];
  iso?: BuildState["iso"];
  artifacts: BuildState["artifacts"];
  packages: number;
  tools: Record<string, string>;
  config: ImageConfig;
  /** `--git`: the repository and commit the image was built from. */
  source?: GitSource;
  /** `vmlive build --boot-test`: how the ISO booted, added after the build. */
  bootTest?: BuildBootTest;
  /** The commands run on the machine: how many, and their wall time with overlapping ones counted once. */
  commands?: CommandTotals;
}

export function makeReport(
  r: Omit<
    BuildReport,
    "vmlive" | "hooks" | "check" | "kernelVersion" | "rootfs" | "squashfs" | "iso" | "artifacts" | "packages"
  > & { state: BuildState },
): BuildReport {
  const { state, ...rest } = r;
  return {
    vmlive: VERSION,
    ...rest,
    hooks: state.hooks ?? [],
    check: state.check,
    kernelVersion: state.kernelVersion,
    rootfs: state.rootfs,
    squashfs: state.squashfs,
    iso: state.iso,
    artifacts: state.artifacts ?? [],
    packages: state.manifest?.length ?? 0,
  };
}
