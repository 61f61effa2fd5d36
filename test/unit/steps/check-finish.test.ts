// customize's finish removes every leftover of the build that the check step
// looks for and that vmlive itself makes: the two are kept in step here.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { ABSENT } from "../../../src/steps/check/leftovers.js";
import { finish } from "../../../src/steps/customize/finish.js";
import { FakeMachine } from "../../support/fake-machine.js";
import { stepContext } from "../../support/step-context.js";
import { tempDir } from "../../support/tmp.js";

const ROOT = "/w/img";
const ROOTFS = `${ROOT}/rootfs`;

function inner(argv: readonly string[]): readonly string[] {
  if (argv[0] !== "unshare") return argv;
  const rest = argv.slice(argv.indexOf("-i") + 1);
  return rest.slice(rest.findIndex((w) => !/^[A-Za-z_][A-Za-z0-9_]*=/.test(w)));
}

async function finishCalls() {
  const fake = new FakeMachine()
    .on((a) => inner(a)[0] === "readlink", { exitCode: 1 })
    .on(/^cat .*\.customize-resolv-link$/, { exitCode: 1 });
  const { ctx } = stepContext({ machine: fake, root: ROOT });
  await finish(ctx);
  return fake.calls.map((c) => ({ argv: inner(c.argv), stdin: c.opts?.stdin }));
}

describe("customize's finish and the check", () => {
  it("removes every path the check must not find, of those vmlive makes", async () => {
    const calls = await finishCalls();
    const removed = calls.filter((c) => c.argv[0] === "rm").flatMap((c) => c.argv);
    const clean = calls.find((c) => c.argv[3] === "vmlive-clean")!.argv[2]!;
    const tmpFind = calls.find((c) => c.argv[0] === "find" && c.argv.includes(`${ROOTFS}/tmp`))!.argv;
    for (const { pattern } of ABSENT) {
      if (pattern.startsWith("/tmp/"))
        expect(tmpFind, pattern).toEqual(expect.arrayContaining(["-mindepth", "1"]));
      else if (pattern.includes("*")) expect(clean, pattern).toContain(`"$r"${pattern}`);
      else expect(removed, pattern).toContain(`${ROOTFS}${pattern}`);
    }
    expect(clean).toContain('"$r"/var/lib/dbus/machine-id');
    const machineId = calls.find((c) => c.argv[3] === "vmlive-write" && c.argv[4] === "/etc/machine-id");
    expect(machineId?.stdin).toBe("");
  });

  it("removes the half-written files of an interrupted write, and nothing else", async () => {
    const calls = await finishCalls();
    const clean = calls.find((c) => c.argv[3] === "vmlive-clean")!.argv;
    // The real script on a small tree: what it deletes and what it leaves.
    const r = tempDir("vmlive-finish-");
    const put = (p: string) => {
      mkdirSync(path.dirname(path.join(r, p)), { recursive: true });
      writeFileSync(path.join(r, p), "x");
    };
    for (const p of [
      "etc/hosts.vmlive-new",
      "etc/sudoers.d/90-vmlive-live.vmlive-new",
      "usr/sbin/policy-rc.d.vmlive-new",
      "etc/hosts",
      "usr/share/doc/x.vmlive-new",
      "var/log/apt/history.log",
    ])
      put(p);
    symlinkSync("usr/sbin", path.join(r, "sbin"));
    execFileSync(clean[0]!, [...clean.slice(1, 4), r]);
    expect(existsSync(path.join(r, "etc/hosts.vmlive-new"))).toBe(false);
    expect(existsSync(path.join(r, "etc/sudoers.d/90-vmlive-live.vmlive-new"))).toBe(false);
    expect(existsSync(path.join(r, "usr/sbin/policy-rc.d.vmlive-new"))).toBe(false);
    expect(existsSync(path.join(r, "etc/hosts"))).toBe(true);
    // vmlive never writes there: not its file.
    expect(existsSync(path.join(r, "usr/share/doc/x.vmlive-new"))).toBe(true);
  });
});
