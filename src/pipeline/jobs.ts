// How many builds may run at once: what the user asked for (--jobs), but
// never more than this host's cores, nor (with builder VMs) more VMs than
// its free memory holds with room left for the host itself.
import { readFileSync } from "node:fs";
import os from "node:os";
import { humanBytes } from "../steps/boot/machine-files.js";

export interface HostResources {
  cpus: number;
  /** Memory available for new processes without swapping (MemAvailable). */
  availableBytes: number;
}

/** Memory left to this host beside the builder VMs: vmlive, ssh, the page cache that keeps it responsive. */
export const HOST_RESERVE_BYTES = 1024 ** 3;

/** This host's cores and available memory (/proc/meminfo's MemAvailable; free memory where that is missing). */
export function hostResources(meminfo = "/proc/meminfo"): HostResources {
  let availableBytes = os.freemem();
  try {
    const kb = /^MemAvailable:\s+(\d+) kB$/m.exec(readFileSync(meminfo, "utf8"))?.[1];
    if (kb) availableBytes = Number(kb) * 1024;
  } catch {
    // not Linux, or no /proc: os.freemem() is the best there is
  }
  return { cpus: os.availableParallelism(), availableBytes };
}

export interface JobBound {
  jobs: number;
  /** Why fewer jobs run than asked for; unset when none were taken away. */
  why?: string;
}

/**
 * `requested` jobs for `builds` builds, bounded by the host: one core per job,
 * and for builder VMs `vmBytes` (the largest builder's memory) per job plus
 * HOST_RESERVE_BYTES. Never below one: a single build runs whatever the host.
 */
export function boundJobs(
  requested: number,
  builds: number,
  host: HostResources,
  vmBytes?: number,
): JobBound {
  const wanted = Math.max(1, Math.min(requested, builds));
  const byCores = Math.max(1, host.cpus);
  const byMemory =
    vmBytes === undefined
      ? Infinity
      : Math.max(1, Math.floor((host.availableBytes - HOST_RESERVE_BYTES) / vmBytes));
  const jobs = Math.min(wanted, byCores, byMemory);
  if (jobs === wanted) return { jobs };
  const reasons: string[] = [];
  if (byCores < wanted) reasons.push(`this host has ${host.cpus} CPU core${host.cpus === 1 ? "" : "s"}`);
  if (byMemory < wanted)
    reasons.push(
      `${humanBytes(Math.max(0, host.availableBytes))} of memory is available and each builder VM takes ` +
        `${humanBytes(vmBytes!)}, with ${humanBytes(HOST_RESERVE_BYTES)} left for this host`,
    );
  return { jobs, why: `--jobs ${requested}: running ${jobs} at a time: ${reasons.join("; ")}` };
}
