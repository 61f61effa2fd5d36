// The build log: every line of every command into one file on the host, and
// the same build as events (progress lines, steps, commands, and unless
// quiet command output) for whoever shows it: a terminal, CI, a program.
import { appendFileSync, mkdirSync } from "node:fs";
import path from "node:path";
import type { OutputSink } from "../machine/machine.js";
import type { StepLog } from "../pipeline/context.js";
import { fmtClock, fmtSeconds, type StepProgress } from "../pipeline/runner.js";
import { emitAt, type BuildEventInput, type EventSink } from "./events.js";

export class BuildLog implements StepProgress {
  /** The step running now, named in command events. */
  private step: string | undefined;

  constructor(
    readonly file: string,
    /** Where this build's events go; the file gets everything whether or not anyone listens. */
    private readonly events: EventSink | undefined,
    /** The build's label in events ("live-minimal/bookworm/amd64"). */
    readonly build: string,
    private readonly quiet = false,
    private readonly started = Date.now(),
  ) {
    mkdirSync(path.dirname(file), { recursive: true });
  }

  private write(text: string): void {
    appendFileSync(this.file, text + "\n");
  }

  private line(label: string, message: string): void {
    this.write(`${fmtClock((Date.now() - this.started) / 1000)} [${label}] ${message}`);
  }

  /** One of this build's events, stamped now. */
  emit(e: BuildEventInput): void {
    emitAt(this.events, { ...e, build: this.build });
  }

  /** A progress line for people: the file and a `say` event. */
  say(label: string, message: string): void {
    this.line(label, message);
    emitAt(this.events, { type: "say", build: this.build, label, message });
  }

  stepStart(step: string, summary: string): void {
    this.step = step;
    this.line(step, summary);
    this.emit({ type: "step-start", step, summary });
  }

  stepEnd(step: string, ok: boolean, seconds: number): void {
    this.step = undefined;
    this.line(step, `${ok ? "done in" : "failed after"} ${fmtSeconds(seconds)}`);
    this.emit({ type: "step-end", step, ok, seconds });
  }

  /** A program the build runs (the file gets its output, not its argv: the output says what matters). */
  command(argv: readonly string[], site: "host" | "vm"): void {
    this.emit({ type: "command", ...(this.step ? { step: this.step } : {}), site, argv: [...argv] });
  }

  /** The StepLog a step writes to. */
  forStep(label: string): StepLog {
    const output: OutputSink = {
      line: (stream, text) => {
        this.write(`${label}${stream === "stderr" ? "!" : "|"} ${text}`);
        if (!this.quiet) this.emit({ type: "output", label, stream, text });
      },
    };
    return { say: (m) => this.say(label, m), output, file: this.file };
  }
}
