// The check step: prove that customize left nothing of the build in the root
// filesystem (policy-rc.d, the start-stop-daemon stub, the build's apt and
// dpkg config and keyring, machine ids, SSH host keys, the build mirror in
// apt sources, proxy settings, vmlive's temporary files, the build machine's
// resolv.conf, an unlocked root). One fixed script on the machine does the
// looking (check/script.ts), since every round trip to a TCG builder is slow;
// check/leftovers.ts judges what it prints. Every leftover is reported at
// once, each with its fix, and the result goes into report.json.
import type { ImageConfig } from "../config/load.js";
import { VerificationError } from "../errors.js";
import type { BuildContext } from "../pipeline/context.js";
import type { Step } from "../pipeline/steps.js";
import {
  ABSENT,
  checkedList,
  leftoversMessage,
  parseFindings,
  type Expectations,
} from "./check/leftovers.js";
import { checkArgv } from "./check/script.js";
import { markers, onMachine } from "./customize/exec.js";

/** What the config allows in the image: its own mirrors in apt sources, a root password. */
export function expectations(c: ImageConfig): Expectations {
  const own = [c.mirror.image, c.mirror.security];
  return {
    buildMirror: own.includes(c.mirror.build) ? undefined : c.mirror.build,
    rootMayLogIn: !c.root.locked,
  };
}

async function run(ctx: BuildContext): Promise<void> {
  const e = expectations(ctx.image.config);
  const m = markers(ctx);
  const argv = checkArgv({
    rootfs: ctx.work.rootfs,
    buildMirror: e.buildMirror,
    markers: [m.unfinished, m.resolvLink],
    absent: ABSENT.map((a) => a.pattern),
  });
  // Quiet: what the script prints is judged here, and may quote a proxy's password.
  const r = await onMachine(ctx, argv, { quiet: true });
  const found = parseFindings(r.stdout, e, m);
  const checked = checkedList(e);
  ctx.state.check = { leftovers: found.length, checked, found };
  if (found.length)
    throw new VerificationError(
      leftoversMessage(ctx.work.rootfs, found),
      "fix each as said and build again; report.json lists them under check.found",
    );
  ctx.log.say(`no build leftovers in the image; checked: ${checked.join(", ")}`);
}

export const checkStep: Step = {
  name: "check",
  summary: "check that nothing of the build is left in the root filesystem",
  verify: () => [],
  run,
};
