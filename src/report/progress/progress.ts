// Which progress display a run gets: a live one on a terminal, plain lines in
// CI (no terminal), JSON lines with --json; --progress overrides the guess.
import { UsageError } from "../../errors.js";
import type { RunEvent } from "../events.js";
import { JsonProgress } from "./json.js";
import { PlainProgress } from "./plain.js";
import { TtyProgress, type Terminal } from "./tty.js";

/** Shows a run's events to someone; close() leaves the screen (or stream) tidy. */
export interface Progress {
  handle(e: RunEvent): void;
  /**
   * Take whatever is drawn off the screen now, so that a message written
   * past the display (Ctrl-C's) stands on its own; the next event draws again.
   */
  clear?(): void;
  close(): void;
}

export const PROGRESS_MODES = ["tty", "plain", "json"] as const;
export type ProgressMode = (typeof PROGRESS_MODES)[number];

export interface ProgressChoice {
  /** --progress, when given. */
  progress?: ProgressMode;
  /** --json. */
  json?: boolean;
  /** Whether standard error is a terminal. */
  isTTY: boolean;
  env?: Readonly<Record<string, string | undefined>>;
}

export function chooseProgress(o: ProgressChoice): ProgressMode {
  if (o.json && o.progress !== undefined && o.progress !== "json")
    throw new UsageError(
      `--json and --progress ${o.progress} ask for two different displays`,
      "--json is short for --progress json: give one of them",
    );
  if (o.json) return "json";
  if (o.progress) return o.progress;
  // A terminal that cannot move its cursor (TERM=dumb: editors' shells) gets lines.
  return o.isTTY && (o.env ?? process.env).TERM !== "dumb" ? "tty" : "plain";
}

export interface ProgressOutputs {
  /** Standard output, a line at a time (only JSON goes there). */
  out(text: string): void;
  /** Standard error, a line at a time. */
  err(text: string): void;
  /** Standard error as a terminal, for the live display. */
  terminal: Terminal;
}

export function startProgress(mode: ProgressMode, o: ProgressOutputs): Progress {
  if (mode === "json") return new JsonProgress(o.out);
  if (mode === "plain") return new PlainProgress(o.err);
  return new TtyProgress(o.terminal);
}
