// Progress on a terminal: the build's lines scroll by as they always did
// (progress lines, and command output unless --quiet), and below them a live
// block, redrawn in place, shows every running build's steps with ✓, ✗ or ▶,
// each step's time ticking every second, and what the running step does now.
// A finished build leaves one line above the block. The block is erased and
// the cursor given back when the run ends, however it ends.
import { fmtClock, fmtSeconds } from "../../pipeline/runner.js";
import type { RunEvent } from "../events.js";
import { commandLine } from "./command-line.js";
import type { Progress } from "./progress.js";
import { cut, printable } from "./text.js";

/** What the display writes to: standard error when it is a terminal. */
export interface Terminal {
  write(text: string): unknown;
  columns?: number;
  rows?: number;
}

export interface TtyOptions {
  /** The clock the times tick by (tests set their own). */
  now?: () => number;
  /** Redraw at most this often on events; 0 redraws on every event. */
  redrawMs?: number;
  /** Redraw this often so the times tick; 0 never (tests draw by sending events). */
  tickMs?: number;
}

// The few ANSI sequences the display uses: cursor up N lines, erase to the end
// of the screen, hide and show the cursor.
const up = (n: number) => `\r\x1b[${n}A`;
const ERASE_DOWN = "\x1b[J";
const HIDE_CURSOR = "\x1b[?25l";
const SHOW_CURSOR = "\x1b[?25h";

const MARK = { pending: "·", running: "▶", ok: "✓", failed: "✗" } as const;

interface StepView {
  name: string;
  state: keyof typeof MARK;
  started?: number;
  seconds?: number;
}

interface BuildView {
  label: string;
  state: "waiting" | "running" | "done";
  started: number;
  steps: StepView[];
  /** The last thing the build said: what it is doing, when no command says it better. */
  activity?: string;
  /** The command running now, as one line. */
  command?: string;
}

export class TtyProgress implements Progress {
  private readonly views = new Map<string, BuildView>();
  /** Lines to print above the block at the next draw. */
  private readonly above: string[] = [];
  /** Lines of the block on the screen now, below which the cursor stands. */
  private drawn = 0;
  private several = false;
  private hidden = false;
  private closed = false;
  private readonly now: () => number;
  private readonly ticker?: NodeJS.Timeout;
  private pending?: NodeJS.Timeout;
  // A second Ctrl-C exits at once: the cursor must not stay hidden.
  private readonly onExit = () => {
    if (this.hidden && !this.closed) this.term.write(SHOW_CURSOR);
  };

  constructor(
    private readonly term: Terminal,
    private readonly o: TtyOptions = {},
  ) {
    this.now = o.now ?? Date.now;
    const tick = o.tickMs ?? 1000;
    if (tick > 0) this.ticker = setInterval(() => this.draw(), tick).unref();
    process.on("exit", this.onExit);
  }

  handle(e: RunEvent): void {
    if (this.closed) return;
    switch (e.type) {
      case "run-start":
        this.several = e.builds.length > 1;
        for (const b of e.builds) this.view(b.build);
        break;
      case "build-start": {
        const v = this.view(e.build);
        v.state = "running";
        v.started = Date.parse(e.time);
        v.steps = e.steps.map((name) => ({ name, state: "pending" }));
        break;
      }
      case "step-start": {
        const v = this.view(e.build);
        const s = this.step(v, e.step);
        s.state = "running";
        s.started = Date.parse(e.time);
        v.activity = e.summary;
        v.command = undefined;
        this.log(e.build, e.time, `[${e.step}] ${e.summary}`);
        break;
      }
      case "step-end": {
        const v = this.view(e.build);
        const s = this.step(v, e.step);
        s.state = e.ok ? "ok" : "failed";
        s.seconds = e.seconds;
        v.activity = v.command = undefined;
        this.log(
          e.build,
          e.time,
          `[${e.step}] ${e.ok ? "done in" : "failed after"} ${fmtSeconds(e.seconds)}`,
        );
        break;
      }
      case "command":
        this.view(e.build).command = commandLine(e.argv);
        break;
      case "say": {
        const lines = e.message.split("\n").filter((l) => l.trim());
        if (e.build) {
          const v = this.view(e.build);
          if (lines.length) v.activity = printable(lines[0]!);
          for (const l of lines) this.log(e.build, e.time, `[${e.label}] ${l}`);
        } else for (const l of lines) this.above.push(`vmlive: ${l}`);
        break;
      }
      case "output":
        this.above.push(`${this.several ? `${e.build} ` : "      "}${e.label}| ${printable(e.text)}`);
        break;
      case "boot-way":
        this.view(e.build).activity = `${e.way}: ${e.ok ? "booted" : "FAILED"}`;
        break;
      case "build-end": {
        const v = this.view(e.build);
        v.state = "done";
        this.above.push(collapsed(v, e));
        break;
      }
      case "folder":
      case "run-end":
        return;
    }
    this.requestDraw();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.ticker);
    clearTimeout(this.pending);
    process.off("exit", this.onExit);
    // Builds the run did not see end (it failed itself) are said, not left drawn.
    for (const v of this.views.values())
      if (v.state === "running")
        this.above.push(`✗ ${v.label}  stopped after ${fmtSeconds(this.elapsed(v.started))}`);
    let s = this.drawn ? up(this.drawn) + ERASE_DOWN : "";
    for (const l of this.above.splice(0)) s += l + "\n";
    if (this.hidden) s += SHOW_CURSOR;
    this.drawn = 0;
    if (s) this.term.write(s);
  }

  clear(): void {
    if (this.closed || this.drawn === 0) return;
    this.term.write(up(this.drawn) + ERASE_DOWN);
    this.drawn = 0;
  }

  /** Redraw now: the lines waiting to go above the block, then the block. */
  draw(): void {
    if (this.closed) return;
    const block = this.block();
    if (this.drawn === 0 && block.length === 0 && this.above.length === 0) return;
    let s = "";
    if (!this.hidden && block.length) {
      s += HIDE_CURSOR;
      this.hidden = true;
    }
    if (this.drawn) s += up(this.drawn) + ERASE_DOWN;
    for (const l of this.above.splice(0)) s += l + "\n";
    for (const l of block) s += l + "\n";
    this.drawn = block.length;
    this.term.write(s);
  }

  private requestDraw(): void {
    const ms = this.o.redrawMs ?? 50;
    if (ms === 0) return this.draw();
    this.pending ??= setTimeout(() => {
      this.pending = undefined;
      this.draw();
    }, ms);
  }

  /** A line in the scrolling part: MM:SS since the build started, like the build log. */
  private log(build: string, time: string, text: string): void {
    const v = this.view(build);
    const clock = fmtClock((Date.parse(time) - v.started) / 1000);
    this.above.push(`${clock} ${this.several ? `${build} ` : ""}${printable(text)}`);
  }

  private view(label: string): BuildView {
    let v = this.views.get(label);
    if (!v) {
      v = { label, state: "waiting", started: this.now(), steps: [] };
      this.views.set(label, v);
    }
    return v;
  }

  private step(v: BuildView, name: string): StepView {
    let s = v.steps.find((x) => x.name === name);
    if (!s) v.steps.push((s = { name, state: "pending" }));
    return s;
  }

  private elapsed(since: number): number {
    return Math.max(0, (this.now() - since) / 1000);
  }

  /** The live block: full step lists when they fit on the screen, a line or two per build when not. */
  private block(): string[] {
    const running = [...this.views.values()].filter((v) => v.state === "running");
    const waiting = [...this.views.values()].filter((v) => v.state === "waiting").map((v) => v.label);
    const tail = waiting.length ? [`  waiting: ${waiting.join(", ")}`] : [];
    // A terminal that does not know its size says 0.
    const width = Math.max(20, (this.term.columns || 80) - 1);
    const room = Math.max(2, (this.term.rows || 24) - 2);
    let lines = [...running.flatMap((v) => this.full(v)), ...tail];
    if (lines.length > room) lines = [...running.flatMap((v) => this.compact(v)), ...tail];
    if (lines.length > room)
      lines = [
        ...lines.slice(0, room - 1),
        `  … ${running.length} builds running: a taller terminal shows them all`,
      ];
    return lines.map((l) => cut(l.trimEnd(), width));
  }

  private full(v: BuildView): string[] {
    const pad = Math.max(0, ...v.steps.map((s) => s.name.length));
    const lines = [`▶ ${v.label}  ${fmtClock(this.elapsed(v.started))}`];
    const current = v.steps.find((s) => s.state === "running");
    for (const s of v.steps) {
      const name = s.name.padEnd(pad);
      if (s.state === "running") {
        lines.push(
          `    ${MARK.running} ${name}  ${fmtClock(this.elapsed(s.started ?? v.started))}  ${v.activity ?? ""}`.trimEnd(),
        );
        if (v.command) lines.push(`        $ ${v.command}`);
      } else
        lines.push(
          `    ${MARK[s.state]} ${name}${s.seconds === undefined ? "" : `  ${fmtSeconds(s.seconds)}`}`,
        );
    }
    // Before the first step (the builder VM starting) and after the last (the boot test).
    if (!current && (v.activity || v.command)) {
      if (v.activity) lines.splice(1, 0, `    ${v.activity}`);
      if (v.command) lines.splice(v.activity ? 2 : 1, 0, `        $ ${v.command}`);
    }
    return lines;
  }

  private compact(v: BuildView): string[] {
    const s = v.steps.find((x) => x.state === "running");
    const done = v.steps.filter((x) => x.state === "ok").length;
    const now = s
      ? `${s.name} ${fmtClock(this.elapsed(s.started ?? v.started))} (${done}/${v.steps.length})`
      : (v.activity ?? "");
    return [
      `▶ ${v.label}  ${fmtClock(this.elapsed(v.started))}  ${now}`,
      ...(v.command ? [`    $ ${v.command}`] : []),
    ];
  }
}

/** The one line a finished build leaves. */
function collapsed(v: BuildView, e: Extract<RunEvent, { type: "build-end" }>): string {
  if (e.status === "success")
    return `✓ ${v.label}  built in ${fmtSeconds(e.seconds)}${e.dir ? `: ${e.dir}` : ""}`;
  const step = v.steps.find((s) => s.state === "failed" || s.state === "running");
  const first = e.error ? printable(e.error.split("\n")[0] ?? "") : "";
  const how = e.status === "failed" ? "failed" : "interrupted";
  return `✗ ${v.label}  ${how} after ${fmtSeconds(e.seconds)}${step ? ` in ${step.name}` : ""}${first ? `: ${first}` : ""}`;
}
