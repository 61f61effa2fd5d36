// The live terminal display, drawn on a virtual screen: what a person sees
// while builds run (step lists, ticking times, the current command, output
// scrolling above) and what stays when the run ends or breaks off.
import { describe, expect, it } from "vitest";
import { chrootArgv } from "../../../src/machine/chroot.js";
import type { RunEvent, Unstamped } from "../../../src/report/events.js";
import { TtyProgress } from "../../../src/report/progress/tty.js";
import { at, T0 } from "./event-times.js";
import { Screen } from "./screen.js";

const A = "live-minimal/bookworm/amd64";
const B = "trixie-arm64/trixie/arm64";
const STEPS = ["bootstrap", "customize", "squash"];

function display(columns = 100, rows = 40) {
  const screen = new Screen(columns, rows);
  let seconds = 0;
  const tty = new TtyProgress(screen, { now: () => T0 + seconds * 1000, redrawMs: 0, tickMs: 0 });
  return {
    screen,
    tty,
    /** Send an event that happened at second `s` (the clock moves there too). */
    send(s: number, e: Unstamped) {
      seconds = s;
      tty.handle({ ...e, time: at(s) } as RunEvent);
    },
    tick(s: number) {
      seconds = s;
      tty.draw();
    },
  };
}

function start(d: ReturnType<typeof display>, builds: string[]) {
  d.send(0, {
    type: "run-start",
    jobs: 1,
    builds: builds.map((b) => {
      const [image, suite, arch] = b.split("/") as [string, string, string];
      return { build: b, image, suite, arch };
    }),
  });
}

const buildStart = (build: string) => ({
  type: "build-start" as const,
  build,
  image: build.split("/")[0]!,
  suite: build.split("/")[1]!,
  arch: build.split("/")[2]!,
  backend: "vm",
  steps: STEPS,
});

/** The live block: the screen from its first ▶ line down. */
const block = (s: Screen) => {
  const lines = s.text().split("\n");
  return lines.slice(lines.findIndex((l) => l.startsWith("▶ "))).join("\n");
};

describe("the live terminal display", () => {
  it("shows the running build's steps, ticking times and current command, output scrolling above", () => {
    const d = display();
    start(d, [A, B]);
    d.send(0, buildStart(A));
    d.send(2, { type: "say", build: A, label: "machine", message: "starting the bookworm-amd64 builder" });
    expect(block(d.screen)).toBe(
      [
        `▶ ${A}  00:02`,
        "    starting the bookworm-amd64 builder",
        "    · bootstrap",
        "    · customize",
        "    · squash",
        `  waiting: ${B}`,
      ].join("\n"),
    );
    d.send(10, { type: "step-start", build: A, step: "bootstrap", summary: "debootstrap bookworm" });
    d.send(11, { type: "step-end", build: A, step: "bootstrap", ok: true, seconds: 61.5 });
    d.send(72, { type: "step-start", build: A, step: "customize", summary: "packages, users, hooks" });
    d.send(73, { type: "say", build: A, label: "customize", message: "installing 6 packages" });
    d.send(74, {
      type: "command",
      build: A,
      step: "customize",
      site: "vm",
      argv: chrootArgv("/work/build/rootfs", ["apt-get", "install", "-y", "sudo"], { X: "1" }),
    });
    d.send(75, {
      type: "output",
      build: A,
      label: "customize",
      stream: "stdout",
      text: "Unpacking sudo ...",
    });
    d.tick(80);
    expect(block(d.screen)).toBe(
      [
        `▶ ${A}  01:20`,
        "    ✓ bootstrap  1 min 2 s",
        "    ▶ customize  00:08  installing 6 packages",
        "        $ chroot: apt-get install -y sudo",
        "    · squash",
        `  waiting: ${B}`,
      ].join("\n"),
    );
    d.tick(81);
    expect(block(d.screen)).toContain("▶ customize  00:09  installing 6 packages");
    // Above the block, in order: progress lines with the build's clock, command output labelled.
    const above = d.screen.text().split("\n");
    expect(
      above.slice(
        0,
        above.findIndex((l) => l.startsWith("▶ ")),
      ),
    ).toEqual([
      `00:02 ${A} [machine] starting the bookworm-amd64 builder`,
      `00:10 ${A} [bootstrap] debootstrap bookworm`,
      `00:11 ${A} [bootstrap] done in 1 min 2 s`,
      `01:12 ${A} [customize] packages, users, hooks`,
      `01:13 ${A} [customize] installing 6 packages`,
      `${A} customize| Unpacking sudo ...`,
    ]);
    expect(d.screen.cursorVisible).toBe(false);
    d.tty.close();
  });

  it("collapses finished builds to one line and leaves nothing drawn at the end", () => {
    const d = display();
    start(d, [A, B]);
    d.send(0, buildStart(A));
    d.send(1, { type: "step-start", build: A, step: "bootstrap", summary: "debootstrap" });
    d.send(12, { type: "step-end", build: A, step: "bootstrap", ok: false, seconds: 11 });
    d.send(12, {
      type: "build-end",
      build: A,
      status: "failed",
      seconds: 12,
      dir: "/out/a.failed",
      error: "step bootstrap failed: vm: debootstrap: exit code 1\nmore",
    });
    d.send(12, buildStart(B));
    d.send(13, { type: "step-start", build: B, step: "bootstrap", summary: "debootstrap" });
    expect(d.screen.text()).toContain(`▶ ${B}  00:01`);
    expect(d.screen.text()).not.toContain(`▶ ${A}`);
    d.send(90, {
      type: "build-end",
      build: B,
      status: "success",
      seconds: 78,
      dir: "/out/b",
      iso: "/out/b/b.iso",
      isoBytes: 1,
    });
    d.tty.close();
    const lines = d.screen.text().split("\n");
    expect(lines.filter((l) => /^[✓✗]/.test(l))).toEqual([
      `✗ ${A}  failed after 12.0 s in bootstrap: step bootstrap failed: vm: debootstrap: exit code 1`,
      `✓ ${B}  built in 1 min 18 s: /out/b`,
    ]);
    expect(d.screen.text()).not.toMatch(/▶|·|waiting/);
    expect(d.screen.cursorVisible).toBe(true);
    expect(d.screen.escapes).toContain("\x1b[?25l");
    expect(d.screen.escapes.at(-1)).toBe("\x1b[?25h");
  });

  it("erases the block and says so when the run stops with builds still running", () => {
    const d = display();
    start(d, [A]);
    d.send(0, buildStart(A));
    d.send(1, { type: "step-start", build: A, step: "bootstrap", summary: "debootstrap" });
    d.tick(30);
    d.tty.close();
    expect(d.screen.text().split("\n").at(-1)).toBe(`✗ ${A}  stopped after 30.0 s`);
    expect(d.screen.text()).not.toContain("▶");
    expect(d.screen.cursorVisible).toBe(true);
    // Closed is closed: later events draw nothing.
    const writes = d.screen.writes;
    d.send(31, { type: "step-end", build: A, step: "bootstrap", ok: true, seconds: 30 });
    expect(d.screen.writes).toBe(writes);
  });

  it("keeps every line of the block within the screen's width and height", () => {
    const d = display(40, 8);
    const builds = [A, B, "xfce-desktop/bookworm/amd64", "bookworm-i386/bookworm/i386"];
    start(d, builds);
    for (const b of builds.slice(0, 3)) {
      d.send(0, buildStart(b));
      d.send(1, { type: "step-start", build: b, step: "customize", summary: "customize" });
      d.send(2, {
        type: "command",
        build: b,
        site: "vm",
        argv: ["apt-get", "install", "-y", ..."x".repeat(99)],
      });
    }
    const shown = block(d.screen).split("\n");
    expect(shown.length).toBeLessThanOrEqual(8 - 2);
    for (const l of shown) expect([...l].length).toBeLessThan(40);
    // Too many for full step lists: a line per build and its command, each cut to the width.
    expect(shown[0]).toBe(`▶ ${A}  00:02  …`);
    expect(shown[1]).toBe("    $ apt-get install -y x x x x x x x…");
    expect(shown.at(-1)).toBe("  … 3 builds running: a taller termina…");
    d.tty.close();
    expect(d.screen.text()).not.toContain("▶");
  });

  it("turns escape sequences and carriage returns in command output into plain text", () => {
    const d = display();
    start(d, [A]);
    d.send(0, buildStart(A));
    d.send(1, {
      type: "output",
      build: A,
      label: "squash",
      stream: "stdout",
      text: "\x1b[32m 10%\r 55%\r100%\x1b[0m\tdone",
    });
    d.tty.close();
    expect(d.screen.text()).toContain("      squash| 100%  done");
  });
});

describe("making way for a message written past the display", () => {
  it("erases the block so the message stands alone, and draws it again below on the next event", () => {
    const d = display();
    start(d, [A]);
    d.send(0, buildStart(A));
    d.send(1, { type: "step-start", build: A, step: "bootstrap", summary: "debootstrap" });
    d.tty.clear();
    d.screen.write("\nvmlive: SIGINT: stopping and cleaning up (again to quit at once)\n");
    d.send(2, { type: "step-end", build: A, step: "bootstrap", ok: false, seconds: 1 });
    d.tty.close();
    const lines = d.screen.text().split("\n");
    expect(lines).toEqual([
      `00:01 [bootstrap] debootstrap`,
      "",
      "vmlive: SIGINT: stopping and cleaning up (again to quit at once)",
      `00:02 [bootstrap] failed after 1.0 s`,
      `✗ ${A}  stopped after 2.0 s`,
    ]);
  });
});
