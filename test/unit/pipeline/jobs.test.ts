// How many builds run at once: --jobs, bounded by this host's cores and, with
// builder VMs, by the memory they take; the reason said whenever it is lowered.
import { writeFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { boundJobs, HOST_RESERVE_BYTES, hostResources } from "../../../src/pipeline/jobs.js";
import { tempDir } from "../../support/tmp.js";

const GiB = 1024 ** 3;

describe("bounding --jobs by the host", () => {
  it("runs what was asked when the host has room, silently", () => {
    expect(boundJobs(2, 5, { cpus: 8, availableBytes: 64 * GiB }, 4 * GiB)).toEqual({ jobs: 2 });
  });

  it("counts only the builds there are, saying why only when the host takes jobs away", () => {
    expect(boundJobs(8, 3, { cpus: 2, availableBytes: 64 * GiB })).toEqual({
      jobs: 2,
      why: expect.any(String),
    });
    expect(boundJobs(8, 2, { cpus: 2, availableBytes: 64 * GiB })).toEqual({ jobs: 2 });
  });

  it("lowers it to the cores, saying so", () => {
    expect(boundJobs(4, 4, { cpus: 2, availableBytes: 64 * GiB }, 4 * GiB)).toEqual({
      jobs: 2,
      why: "--jobs 4: running 2 at a time: this host has 2 CPU cores",
    });
  });

  it("lowers it to the builder VMs that fit in free memory beside the host's share", () => {
    // 13 GiB: one GiB for the host leaves 12, three 4 GiB builders.
    expect(boundJobs(6, 6, { cpus: 16, availableBytes: 13 * GiB }, 4 * GiB)).toEqual({
      jobs: 3,
      why:
        "--jobs 6: running 3 at a time: 13.0 GiB of memory is available and each builder VM takes " +
        "4.0 GiB, with 1.0 GiB left for this host",
    });
    expect(boundJobs(6, 6, { cpus: 16, availableBytes: 13 * GiB - 1 }, 4 * GiB).jobs).toBe(2);
  });

  it("gives both reasons when both bind, and never goes below one job", () => {
    const r = boundJobs(4, 4, { cpus: 1, availableBytes: 2 * GiB }, 4 * GiB);
    expect(r.jobs).toBe(1);
    expect(r.why).toContain("this host has 1 CPU core;");
    expect(r.why).toContain("2.0 GiB of memory is available");
    expect(boundJobs(1, 1, { cpus: 1, availableBytes: 0 }, 4 * GiB)).toEqual({ jobs: 1 });
  });

  it("does not bound host-backend builds by builder memory", () => {
    expect(boundJobs(3, 3, { cpus: 4, availableBytes: HOST_RESERVE_BYTES })).toEqual({ jobs: 3 });
  });

  it("reads MemAvailable, not MemFree, from /proc/meminfo", () => {
    const f = path.join(tempDir("vmlive-meminfo-"), "meminfo");
    writeFileSync(
      f,
      "MemTotal:       16315940 kB\nMemFree:          402100 kB\nMemAvailable:    9862344 kB\n",
    );
    const r = hostResources(f);
    expect(r.availableBytes).toBe(9862344 * 1024);
    expect(r.cpus).toBeGreaterThanOrEqual(1);
  });
});
