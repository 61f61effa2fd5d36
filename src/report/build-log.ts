// The build log: every line of every command into one file on the host, and
// a readable stream on the console: step headers, progress lines, and
// (unless quiet) command output prefixed with the step's name.
import { appendFileSync, mkdirSync } from "node:fs";
import path from "node:path";
import type { OutputSink } from "../machine/machine.js";
import type { StepLog } from "../pipeline/context.js";

export interface Console {
  line(text: string): void;
}

export class BuildLog {
  constructor(
    readonly file: string,
    private readonly console: Console,
    private readonly quiet = false,
    private readonly started = Date.now(),
  ) {
    mkdirSync(path.dirname(file), { recursive: true });
  }

  private stamp(): string {
    const s = Math.floor((Date.now() - this.started) / 1000);
    return `${String(Math.floor(s / 60)).padStart(2, "0")}:${String(s % 60).padStart(2, "0")}`;
  }

  private write(text: string): void {
    appendFileSync(this.file, text + "\n");
  }

  /** A progress line for people: console and file. */
  say(label: string, message: string): void {
    const line = `${this.stamp()} [${label}] ${message}`;
    this.write(line);
    this.console.line(line);
  }

  /** The StepLog a step writes to. */
  forStep(label: string): StepLog {
    const output: OutputSink = {
      line: (stream, text) => {
        this.write(`${label}${stream === "stderr" ? "!" : "|"} ${text}`);
        if (!this.quiet) this.console.line(`      ${label}| ${text}`);
      },
    };
    return { say: (m) => this.say(label, m), output, file: this.file };
  }
}
