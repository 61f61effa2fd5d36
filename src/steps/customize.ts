// customize: turn the bootstrapped base into the live system. In order:
// prepare (no daemons, DNS, noninteractive apt), the build mirror's sources,
// packages (then a snapshot of the rootfs, see pipeline/stages.ts), the overlay,
// host name/locale/time zone, users, hooks, then finish (the image's sources, no
// build leftovers) and the package manifest.
// Every command inside the image goes through chrootArgv; see customize/*.ts.
import type { Step } from "../pipeline/steps.js";
import type { BuildContext } from "../pipeline/context.js";
import { verifyHooksAndOverlay } from "./inputs.js";
import { copyOverlay, installPackages, useBuildSources } from "./customize/apt.js";
import { existsOnMachine, inChroot, markers } from "./customize/exec.js";
import { finish } from "./customize/finish.js";
import { runHooks } from "./customize/hooks.js";
import { writeManifest } from "./customize/manifest.js";
import { prepare, useBuildResolvConf } from "./customize/prepare.js";
import { configureSystem } from "./customize/system.js";
import { configureUsers } from "./customize/users.js";

async function run(ctx: BuildContext): Promise<void> {
  await prepare(ctx);
  if (ctx.stages?.packagesReused) {
    // The rootfs is the packages snapshot (stages.ts): sources and packages are in it, from
    // before finish(); prepare() above wrote this build's proxy and DNS over the snapshot's.
    ctx.log.say("packages: reused from the snapshot; starting after the package installation");
  } else {
    await useBuildSources(ctx);
    await installPackages(ctx);
    if (ctx.stages) {
      // The downloaded .debs would only make the snapshot bigger and slower (finish removes them anyway).
      await inChroot(ctx, ["apt-get", "clean"], { check: false, quiet: true });
      // Kept before the hooks, so that a changed hook reruns from here, not from apt.
      await ctx.stages.packagesInstalled(ctx);
    }
  }
  await useBuildResolvConf(ctx);
  await copyOverlay(ctx);
  await configureSystem(ctx);
  await configureUsers(ctx);
  await runHooks(ctx);
  await finish(ctx);
  await writeManifest(ctx);
}

/** After a failed or interrupted run(): finish what prepare() started. No-op when nothing is pending. */
async function cleanup(ctx: BuildContext): Promise<void> {
  if (!(await existsOnMachine(ctx, markers(ctx).unfinished))) return;
  await finish(ctx);
}

export const customizeStep: Step = {
  name: "customize",
  summary: "install packages, copy the overlay, run hooks, set up users, remove build leftovers",
  verify: verifyHooksAndOverlay,
  run,
  cleanup,
};
