// customize's snapshot point: after the package installation, before the
// overlay, users and hooks; and skipping apt when the snapshot was restored.
import { describe, expect, it } from "vitest";
import type { BuildContext } from "../../../src/pipeline/context.js";
import { customizeStep } from "../../../src/steps/customize.js";
import { FakeMachine } from "../../support/fake-machine.js";
import { stepContext } from "../../support/step-context.js";

/** The command inside a chrootArgv (after `env -i VAR=...`), joined; the argv itself for a machine command. */
function inner(argv: readonly string[]): string {
  if (argv[0] !== "unshare") return argv.join(" ");
  const rest = argv.slice(argv.indexOf("-i") + 1);
  return rest.slice(rest.findIndex((w) => !/^[A-Za-z_][A-Za-z0-9_]*=/.test(w))).join(" ");
}

function setup(packagesReused: boolean) {
  const events: string[] = [];
  const machine = new FakeMachine()
    .on(/dpkg-query -L dpkg/, { stdout: "/sbin/start-stop-daemon\n" })
    .on(/^cat \/etc\/resolv\.conf$/, { stdout: "nameserver 10.0.2.3\n" })
    .on(/readlink \/etc\/resolv\.conf/, { exitCode: 1 })
    .on(/getent passwd/, { exitCode: 2 })
    .on(/customize-resolv-link$/, { exitCode: 1 });
  const { ctx } = stepContext({
    machine,
    root: "/w",
    yaml: "suite: bookworm\nuser: {name: live, password: pw}\npackages: [less]\nhooks: [show.sh]\n",
    files: { "show.sh": "#!/bin/sh\n" },
  });
  const c: BuildContext = {
    ...ctx,
    stages: {
      packagesReused,
      packagesInstalled: async () => void events.push(`snapshot after ${machine.calls.length} calls`),
    },
  };
  return { c, machine, events };
}

describe("customize and its packages snapshot", () => {
  it("takes the snapshot after apt-get install and before the overlay, users and hooks", async () => {
    const { c, machine, events } = setup(false);
    await customizeStep.run(c);
    expect(events).toHaveLength(1);
    const at = Number(/after (\d+) calls/.exec(events[0]!)![1]);
    const before = machine.calls.slice(0, at).map((x) => inner(x.argv));
    const after = machine.calls.slice(at).map((x) => inner(x.argv));
    expect(before.some((x) => x.startsWith("apt-get install"))).toBe(true);
    // The downloaded packages are not copied into the snapshot.
    expect(before.at(-1)).toBe("apt-get clean");
    expect(after.some((x) => x.startsWith("apt-get install") || x.startsWith("apt-get update"))).toBe(false);
    expect(after.some((x) => x.startsWith("useradd"))).toBe(true);
    expect(after.some((x) => x.includes("/tmp/vmlive-hooks/01-show.sh"))).toBe(true);
  });

  it("on a restored packages snapshot: no apt, a fresh prepare, then users and hooks", async () => {
    const { c, machine, events } = setup(true);
    await customizeStep.run(c);
    const cmds = machine.calls.map((x) => inner(x.argv));
    expect(events).toEqual([]);
    expect(cmds.some((x) => x.startsWith("apt-get install") || x.startsWith("apt-get update"))).toBe(false);
    // prepare() rewrites this build's apt settings (its proxy) over the snapshot's.
    expect(cmds.some((x) => x.includes("vmlive-write /etc/apt/apt.conf.d/00vmlive-build"))).toBe(true);
    expect(cmds.some((x) => x.includes("/tmp/vmlive-hooks/01-show.sh"))).toBe(true);
  });
});
