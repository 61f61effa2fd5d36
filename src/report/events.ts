// What a run of `vmlive build` tells the world while it works: one event per
// thing that happened, in order. The progress renderers (terminal, plain
// lines, JSON lines) read nothing else, and `--json` prints these objects as
// they are, one per line; docs/events.md documents them for other programs.

/** Fields every event has. */
interface EventBase {
  /** When it happened: ISO 8601 in UTC with milliseconds ("2026-12-01T10:55:02.123Z"). */
  time: string;
}

/** Fields of every event that belongs to one build of the run. */
interface BuildScoped extends EventBase {
  /** The build it belongs to: "IMAGE/SUITE/ARCH" (see buildLabel). */
  build: string;
}

/** One build as planned: what the run will build. */
export interface PlannedBuildRef {
  build: string;
  image: string;
  suite: string;
  arch: string;
}

/** The run starts: every build it will try, in order, and how many run at once. */
export interface RunStartEvent extends EventBase {
  type: "run-start";
  builds: PlannedBuildRef[];
  jobs: number;
}

/** A build starts: its image, the backend, and the steps it will run in order. */
export interface BuildStartEvent extends BuildScoped {
  type: "build-start";
  image: string;
  suite: string;
  arch: string;
  backend: string;
  steps: string[];
}

/** A step of a build starts; `summary` says what it does. */
export interface StepStartEvent extends BuildScoped {
  type: "step-start";
  step: string;
  summary: string;
}

/** A build runs a program on its machine (host or builder VM); `step` is the running step, if any. */
export interface CommandEvent extends BuildScoped {
  type: "command";
  step?: string;
  site: "host" | "vm";
  argv: string[];
}

/** One line a program printed (only without --quiet); `label` is the step (or "vmlive") it ran for. */
export interface OutputEvent extends BuildScoped {
  type: "output";
  label: string;
  stream: "stdout" | "stderr";
  text: string;
}

/** A progress line for people, from a build (`build` set) or from the run itself (`build` absent). */
export interface SayEvent extends EventBase {
  type: "say";
  build?: string;
  /** Who says it: a step name, "vmlive", "machine", "boot". */
  label: string;
  message: string;
}

/** A step of a build ended, passed (`ok`) or failed, after `seconds`. */
export interface StepEndEvent extends BuildScoped {
  type: "step-end";
  step: string;
  ok: boolean;
  seconds: number;
}

/** `--boot-test`: the finished ISO was booted one way (cd-bios, usb-uefi, ...); `reason` says why it failed. */
export interface BootWayEvent extends BuildScoped {
  type: "boot-way";
  way: string;
  ok: boolean;
  seconds: number;
  reason?: string;
}

/** The build's output folder got its final name (NAME, or NAME.failed when the build failed). */
export interface FolderEvent extends BuildScoped {
  type: "folder";
  dir: string;
}

/** A build ended. `dir` is its output folder (when it got one), `iso` the ISO's path; `error` the whole message. */
export interface BuildEndEvent extends BuildScoped {
  type: "build-end";
  status: "success" | "failed" | "interrupted";
  seconds: number;
  dir?: string;
  iso?: string;
  isoBytes?: number;
  error?: string;
}

/** The run ended: how many builds passed, failed, were interrupted or never started, and the exit code. */
export interface RunEndEvent extends EventBase {
  type: "run-end";
  passed: number;
  failed: number;
  interrupted: number;
  notStarted: number;
  seconds: number;
  exitCode: number;
}

export type RunEvent =
  | RunStartEvent
  | BuildStartEvent
  | StepStartEvent
  | CommandEvent
  | OutputEvent
  | SayEvent
  | StepEndEvent
  | BootWayEvent
  | FolderEvent
  | BuildEndEvent
  | RunEndEvent;

export type RunEventType = RunEvent["type"];

/**
 * Every event type, each with one line for docs/events.md. A Record over the
 * union, so a new event cannot be added without a line here (the compiler
 * says so), nor without its section in docs/events.md (a test says so).
 */
export const EVENT_TYPES: Readonly<Record<RunEventType, string>> = {
  "run-start": "the run starts",
  "build-start": "a build starts",
  "step-start": "a step of a build starts",
  command: "a build runs a program",
  output: "a line of a program's output",
  say: "a progress line for people",
  "step-end": "a step ended",
  "boot-way": "the ISO was booted one way",
  folder: "a build's output folder got its final name",
  "build-end": "a build ended",
  "run-end": "the run ended",
};

/** Where events go. */
export type EventSink = (e: RunEvent) => void;

/** Omit keys from each member of a union (plain Omit would merge the members). */
type OmitEach<E, K extends PropertyKey> = E extends unknown ? Omit<E, K> : never;

/** An event as its producer makes it: the time is stamped on emission. */
export type Unstamped<E extends RunEvent = RunEvent> = OmitEach<E, "time">;

/** The events that belong to one build, as its log makes them (the log adds `build` and `time`). */
export type BuildEventInput = OmitEach<Extract<RunEvent, { build: string }>, "time" | "build">;

/** Stamp an event with the time now and send it to `sink`. */
export function emitAt(sink: EventSink | undefined, e: Unstamped, now = new Date()): void {
  sink?.({ ...e, time: now.toISOString() } as RunEvent);
}

/** How a build is named in progress lines and events: "live-minimal/bookworm/amd64". */
export function buildLabel(b: { image: string; suite: string; arch: string }): string {
  return `${b.image}/${b.suite}/${b.arch}`;
}
