// SIGINT and SIGTERM on the builder-VM backend: while the VM boots, and while
// each step runs inside it. vmlive exits 130 / 143 without waiting for the
// guest, and leaves no qemu or other process of its session, nothing in its
// TMPDIR (the VM's keys, overlay disk and known_hosts live there), no
// package-cache user entry and no output folder that looks finished; the work
// disk, kept between runs, is a clean file system; and the interrupted build
// run again succeeds.
import { execa } from "execa";
import { existsSync, mkdirSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { GUEST_WORK_AREA } from "../../src/machine/qemu/qemu-machine.js";
import { hostWorkDir } from "../../src/pipeline/build.js";
import { PROJECT_ROOT } from "../../src/paths.js";
import type { BuildReport } from "../../src/report/report.js";
import {
  cacheUserEntries,
  idleProxyRunning,
  mountsBelow,
  pidsOf,
  sessionProcesses,
  startDetached,
  type Detached,
  halfWritten,
} from "../support/interrupt.js";
import { liveMinimal } from "../support/live-minimal.js";
import { tempDir } from "../support/tmp.js";
import { seedVmWorkDisk } from "../support/vm-seeded.js";
import { VM_SMALL_STEPS, vmSmall } from "../support/vm-small.js";

const IMAGE = path.join(PROJECT_ROOT, "test", "fixtures", "images", "vm-small");
const root = tempDir("vmlive-e2e-interrupt-vm-");
const work = path.join(root, "work");
// mmdebstrap's extract variant (unpack, configure nothing): the rerun that must succeed then takes
// under 3 minutes in a TCG builder on a busy 2-core host, instead of about 10 for the image's own essential variant.
const BUILD = ["build", IMAGE, "--steps", "bootstrap", "--set", "bootstrap.variant=extract", "--quiet"];

interface Outcome {
  run: Detached;
  exitCode: number | undefined;
  all: string;
  out: string;
  tmp: string;
  /** The session's processes just before the signal. */
  before: string[];
  seconds: number;
}

/** Where a run works: the image, the root of its work areas, and the build's arguments. */
interface Area {
  image: string;
  work: string;
  build: readonly string[];
}
const OWN: Area = { image: "vm-small", work, build: BUILD };

/** The output folder of a build of `image`, finished or not. */
const folderOf = (image: string) => new RegExp(`^${image}-bookworm-amd64-\\d{8}-\\d{6}$`);
/** The kept work disk of `area`'s image on the VM backend. */
const workDiskOf = (area: Area) => path.join(hostWorkDir(area.image, "amd64", "vm", area.work), "work.raw");

/** Start the build, wait until `ready` says it is there, send `signal` as a user would, wait for the end. */
async function interrupt(
  name: string,
  signal: "SIGINT" | "SIGTERM",
  ready: (run: Detached) => Promise<unknown>,
  area: Area = OWN,
): Promise<Outcome> {
  const out = path.join(root, name, "out");
  const tmp = path.join(root, name, "tmp");
  mkdirSync(tmp, { recursive: true });
  const run = startDetached([...area.build, "--out", out], {
    VMLIVE_WORK_DIR: area.work,
    TMPDIR: tmp,
    PATH: process.env.PATH!,
  });
  await ready(run);
  const before = await run.sessionProcesses();
  const t0 = Date.now();
  // SIGINT to the whole process group (a terminal's Ctrl-C, which qemu hears too); SIGTERM to vmlive alone.
  if (signal === "SIGINT") process.kill(-run.pid, "SIGINT");
  else process.kill(run.pid, "SIGTERM");
  const r = await run.done;
  return {
    run,
    exitCode: r.exitCode,
    all: r.all ?? "",
    out,
    tmp,
    before,
    seconds: (Date.now() - t0) / 1000,
  };
}

/** What every interrupted run must (not) leave. */
async function expectNothingLeft(
  o: Outcome,
  signal: "SIGINT" | "SIGTERM",
  area: Area = OWN,
): Promise<BuildReport> {
  expect(o.exitCode, o.all).toBe(signal === "SIGINT" ? 130 : 143);
  expect(o.all).toContain(`interrupted by ${signal}`);
  expect(await sessionProcesses(o.run.pid)).toEqual([]);
  expect(cacheUserEntries([o.run.pid, ...pidsOf(o.before)])).toEqual([]);
  expect(await idleProxyRunning()).toBe(false);
  expect(mountsBelow([area.work, o.out, o.tmp])).toEqual([]);
  // The VM's folder (client and host keys, the overlay disk, known_hosts) is gone with it.
  expect(readdirSync(o.tmp)).toEqual([]);
  const folders = readdirSync(o.out).filter((n) => n !== "history.sqlite");
  expect(folders).toHaveLength(1);
  expect(folders[0]!.replace(/\.failed$/, "")).toMatch(folderOf(area.image));
  expect(folders[0]!.endsWith(".failed")).toBe(true);
  const report = JSON.parse(
    readFileSync(path.join(o.out, folders[0]!, "report.json"), "utf8"),
  ) as BuildReport;
  expect(report.status).toBe("interrupted");
  expect(report.error).toContain(`interrupted by ${signal}`);
  // Powered off cleanly or killed before it was used: e2fsck finds nothing to mend either way.
  const disk = workDiskOf(area);
  expect(existsSync(disk)).toBe(true);
  const fsck = await execa("e2fsck", ["-n", "-f", disk], { reject: false, all: true });
  expect(fsck.exitCode, fsck.all).toBe(0);
  expect(await halfWritten((sub) => namesOnDisk(disk, path.posix.join(GUEST_WORK_AREA, sub)))).toEqual([]);
  return report;
}

/** The names in a folder of a work disk nothing has mounted, read with debugfs; none when it is not there. */
async function namesOnDisk(disk: string, dir: string): Promise<string[]> {
  const r = await execa("debugfs", ["-R", `ls -p ${dir}`, disk]);
  if (/not found/i.test(r.stderr)) return [];
  // "/INODE/MODE/UID/GID/NAME/SIZE/"
  return r.stdout
    .split("\n")
    .map((l) => l.split("/")[5])
    .filter((n): n is string => n !== undefined && n !== "" && n !== "." && n !== "..");
}

const qemuIn = async (run: Detached) =>
  (await run.sessionProcesses()).some((p) => / qemu-system-/.test(` ${p.split(" ").slice(1).join(" ")}`));

async function until(ok: () => Promise<boolean>, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error(`not within ${ms / 1000} s`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

describe("interrupting a build in the builder VM", () => {
  it("SIGINT while the VM boots: exit 130 at once, no qemu, no keys or disks left", async () => {
    const o = await interrupt("boot", "SIGINT", async (run) => {
      await until(() => qemuIn(run), 120_000);
      // Well inside the boot: the guest is not up for many seconds under TCG.
      await new Promise((r) => setTimeout(r, 2_000));
      expect(run.events.some((e) => e.type === "step-start")).toBe(false);
    });
    const report = await expectNothingLeft(o, "SIGINT");
    expect(report.steps).toEqual([]);
    // Not after the guest came up: the wait for it stops with the interruption.
    expect(o.seconds).toBeLessThan(15);
  });

  it("SIGTERM during bootstrap in the VM: exit 143, the VM gone, the work disk clean", async () => {
    const o = await interrupt("bootstrap", "SIGTERM", async (run) => {
      await run.waitFor((e) => e.type === "command" && e.argv?.[0] === "mmdebstrap", 300_000);
      await new Promise((r) => setTimeout(r, 5_000));
    });
    const report = await expectNothingLeft(o, "SIGTERM");
    expect(report.steps).toEqual([expect.objectContaining({ step: "bootstrap", ok: false })]);
    expect(o.run.events.find((e) => e.type === "step-end" && e.step === "bootstrap")?.ok).toBe(false);
  });

  it("the same build run again succeeds on the same work disk", async () => {
    const out = path.join(root, "again", "out");
    const tmp = path.join(root, "again", "tmp");
    mkdirSync(tmp, { recursive: true });
    const run = startDetached([...BUILD, "--out", out], {
      VMLIVE_WORK_DIR: work,
      TMPDIR: tmp,
      PATH: process.env.PATH!,
    });
    const r = await run.done;
    expect(r.exitCode, r.all).toBe(0);
    const folder = readdirSync(out).find((n) => folderOf("vm-small").test(n));
    expect(folder, readdirSync(out).join(", ")).toBeDefined();
    const report = JSON.parse(readFileSync(path.join(out, folder!, "report.json"), "utf8")) as BuildReport;
    expect(report.status).toBe("success");
    expect(report.steps).toEqual([expect.objectContaining({ step: "bootstrap", ok: true })]);
    expect(readdirSync(tmp)).toEqual([]);
    expect(await sessionProcesses(run.pid)).toEqual([]);
  });
});

// The later steps run in the work area of the shared vm-small build (test/support/vm-small.ts),
// squash first, then customize, which squash needs. vm-small has no kernel, so its builds end with
// squash; check (again), boot, iso, verify and collect follow in live-minimal's work area.
describe("interrupting later steps inside the builder VM", () => {
  let shared: Area;
  const steps = (names: string) => ["build", IMAGE, "--steps", names, "--quiet"];
  const working = (step: string) => (run: Detached) =>
    run.waitFor((e) => e.type === "command" && e.step === step, 300_000);

  it("SIGINT during squash in the VM: exit 130, the VM gone, the work disk clean", async () => {
    const b = await vmSmall();
    if (b.exitCode !== 0) throw new Error(`the shared vm-small build failed (exit ${b.exitCode}):\n${b.all}`);
    // check first: the steps before the first one named must be done, and vm-small never runs boot.
    shared = { image: "vm-small", work: b.work, build: steps("check,squash") };
    const o = await interrupt(
      "squash",
      "SIGINT",
      async (run) => {
        await run.waitFor((e) => e.type === "command" && e.argv?.[0] === "mksquashfs", 300_000);
        await new Promise((r) => setTimeout(r, 2_000));
      },
      shared,
    );
    const report = await expectNothingLeft(o, "SIGINT", shared);
    expect(report.steps).toEqual([
      expect.objectContaining({ step: "check", ok: true }),
      expect.objectContaining({ step: "squash", ok: false }),
    ]);
  });

  it("SIGTERM during customize in the VM, then the same steps again succeed", async () => {
    shared = { ...shared, build: steps("customize") };
    const o = await interrupt(
      "customize",
      "SIGTERM",
      async (run) => {
        await working("customize")(run);
        await new Promise((r) => setTimeout(r, 1_000));
      },
      shared,
    );
    const report = await expectNothingLeft(o, "SIGTERM", shared);
    expect(report.steps).toEqual([expect.objectContaining({ step: "customize", ok: false })]);

    const out = path.join(root, "customize-again", "out");
    const run = startDetached([...steps(VM_SMALL_STEPS.slice(1).join(",")), "--out", out], {
      VMLIVE_WORK_DIR: shared.work,
      PATH: process.env.PATH!,
    });
    const r = await run.done;
    expect(r.exitCode, r.all).toBe(0);
    const folder = readdirSync(out).find((n) => folderOf("vm-small").test(n));
    const again = JSON.parse(readFileSync(path.join(out, folder!, "report.json"), "utf8")) as BuildReport;
    expect(again.steps.map((s) => [s.step, s.ok])).toEqual([
      ["customize", true],
      ["check", true],
      ["squash", true],
    ]);
  });
});

// live-minimal's VM work disk is made from the shared host build's work area (test/support/vm-seeded.ts):
// its root filesystem has a kernel, which would take over an hour to build under TCG. Last steps first,
// as a step that runs again drops what the later ones made: each run leaves what the next one needs.
describe("interrupting check, boot, iso, verify and collect inside the builder VM", () => {
  const seeded = path.join(root, "seeded");
  const steps = (names: string): Area => ({
    image: "live-minimal",
    work: seeded,
    build: ["build", "live-minimal", "--backend", "vm", "--steps", names, "--quiet"],
  });
  const command = (step: string, match: (argv: string[]) => boolean) => (run: Detached) =>
    run.waitFor((e) => e.type === "command" && e.step === step && match(e.argv ?? []), 300_000);
  const stepsOf = (r: BuildReport) => r.steps.map((s) => [s.step, s.ok]);
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

  /** Run `area`'s build to its end; it must succeed. Returns its output folder and report. */
  async function succeeds(name: string, area: Area): Promise<{ dir: string; report: BuildReport }> {
    const out = path.join(root, name, "out");
    const run = startDetached([...area.build, "--out", out], {
      VMLIVE_WORK_DIR: area.work,
      PATH: process.env.PATH!,
    });
    const r = await run.done;
    expect(r.exitCode, r.all).toBe(0);
    expect(await sessionProcesses(run.pid)).toEqual([]);
    const folder = readdirSync(out).find((n) => folderOf(area.image).test(n));
    expect(folder, readdirSync(out).join(", ")).toBeDefined();
    const dir = path.join(out, folder!);
    return { dir, report: JSON.parse(readFileSync(path.join(dir, "report.json"), "utf8")) as BuildReport };
  }

  it("SIGTERM during collect, while the ISO is read off the work disk", async () => {
    const b = await liveMinimal();
    if (b.exitCode !== 0)
      throw new Error(`the shared live-minimal build failed (exit ${b.exitCode}):\n${b.all}`);
    await seedVmWorkDisk("live-minimal", b.env.VMLIVE_WORK_DIR!, seeded);
    const a = steps("collect");
    const o = await interrupt(
      "seeded-collect",
      "SIGTERM",
      async (run) => {
        // After the checksums the ISO comes over: the work disk frozen and read on the host, then
        // checked against a sha256 made in the guest (seconds under TCG).
        await run.waitFor((e) => e.type === "command" && e.argv?.includes("write-sums") === true, 300_000);
        await sleep(1_500);
      },
      a,
    );
    expect(stepsOf(await expectNothingLeft(o, "SIGTERM", a))).toEqual([["collect", false]]);
  });

  it("SIGINT during verify in the VM", async () => {
    const a = steps("verify,collect");
    // At once: verify's two xorriso runs take about 2 s under TCG.
    const o = await interrupt(
      "seeded-verify",
      "SIGINT",
      command("verify", (argv) => argv[0] === "xorriso"),
      a,
    );
    expect(stepsOf(await expectNothingLeft(o, "SIGINT", a))).toEqual([["verify", false]]);
  });

  it("SIGTERM during iso in the VM, while xorriso writes the ISO; then the same steps again succeed", async () => {
    const a = steps("iso,verify,collect");
    const o = await interrupt(
      "seeded-iso",
      "SIGTERM",
      async (run) => {
        await command(
          "iso",
          (argv) => argv[0] === "xorriso" && argv.some((w) => w.endsWith(".iso.partial")),
        )(run);
        await sleep(5_000);
      },
      a,
    );
    expect(stepsOf(await expectNothingLeft(o, "SIGTERM", a))).toEqual([["iso", false]]);

    const { dir, report } = await succeeds("seeded-iso-again", a);
    expect(stepsOf(report)).toEqual([
      ["iso", true],
      ["verify", true],
      ["collect", true],
    ]);
    // What came over is the ISO the VM made: its checksum is the one the VM wrote into SHA256SUMS.
    const sums = await execa("sha256sum", ["-c", "SHA256SUMS"], { cwd: dir, reject: false, all: true });
    expect(sums.exitCode, sums.all).toBe(0);
    expect(sums.all).toContain("live-minimal-bookworm-amd64.iso: OK");
  });

  it("SIGINT during boot in the VM; then boot again succeeds", async () => {
    const a = steps("boot");
    const o = await interrupt(
      "seeded-boot",
      "SIGINT",
      async (run) => {
        await command("boot", (argv) => argv[0] === "grub-mkimage")(run);
        await sleep(1_000);
      },
      a,
    );
    expect(stepsOf(await expectNothingLeft(o, "SIGINT", a))).toEqual([["boot", false]]);
    expect(stepsOf((await succeeds("seeded-boot-again", a)).report)).toEqual([["boot", true]]);
  });

  // Last of all: check coming again drops everything after it.
  it("SIGTERM during check in the VM; then check again succeeds", async () => {
    const a = steps("check");
    const o = await interrupt(
      "seeded-check",
      "SIGTERM",
      async (run) => {
        // The check script's walk of the root filesystem.
        await command("check", (argv) => argv[0] === "sh" && argv[3] === "vmlive-check")(run);
        await sleep(1_000);
      },
      a,
    );
    expect(stepsOf(await expectNothingLeft(o, "SIGTERM", a))).toEqual([["check", false]]);
    expect(stepsOf((await succeeds("seeded-check-again", a)).report)).toEqual([["check", true]]);
  });
});
