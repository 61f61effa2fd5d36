// A Machine that says what it is about to run: each exec is announced (for
// the progress display's "current command") and then passed on unchanged.
// With a CommandClock it also times the machine's work, so the report can
// tell the machine's time (debootstrap, apt, mksquashfs ...) from vmlive's
// own (planning, logging, SSH round trips, waiting between commands).
import type { Machine, RootfsSnapshots } from "./machine.js";

/** What the machine was busy with: how many operations, and the wall time during which at least one ran. */
export interface CommandTotals {
  count: number;
  seconds: number;
}

/**
 * Sums the wall time of operations that may overlap or nest (an exec started
 * while another runs, e.g. a watchdog's probe): time is counted only while
 * at least one is running, so every second is counted once.
 */
export class CommandClock {
  private running = 0;
  private since = 0;
  private busyMs = 0;
  private started = 0;

  constructor(private readonly now: () => number = () => performance.now()) {}

  /** Mark one operation started; call the returned function once when it ends, however it ends. */
  start(): () => void {
    this.started++;
    if (this.running++ === 0) this.since = this.now();
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      if (--this.running === 0) this.busyMs += this.now() - this.since;
    };
  }

  /** The totals so far; operations still running count up to now. */
  totals(): CommandTotals {
    const open = this.running > 0 ? this.now() - this.since : 0;
    return { count: this.started, seconds: Math.round(this.busyMs + open) / 1000 };
  }

  /** Run `op` as one timed operation. */
  async time<T>(op: () => Promise<T>): Promise<T> {
    const end = this.start();
    try {
      return await op();
    } finally {
      end();
    }
  }
}

export function watchExecs(
  m: Machine,
  onExec: (argv: readonly string[]) => void,
  clock: CommandClock = new CommandClock(),
): Machine {
  return {
    get description() {
      return m.description;
    },
    site: m.site,
    exec: (argv, opts) => {
      onExec(argv);
      return clock.time(() => m.exec(argv, opts));
    },
    // Copies are the machine's work too (the ISO coming back from a builder VM).
    upload: (from, to, opts) => clock.time(() => m.upload(from, to, opts)),
    download: (from, to, opts) => clock.time(() => m.download(from, to, opts)),
    rootfsSnapshots: m.rootfsSnapshots && timedSnapshots(m.rootfsSnapshots, clock),
    // Watching a machine does not own it: whoever started it disposes of it.
    [Symbol.asyncDispose]: async () => undefined,
  };
}

/** The machine's snapshot operations are its work too. */
function timedSnapshots(s: RootfsSnapshots, clock: CommandClock): RootfsSnapshots {
  return {
    path: s.path,
    list: () => clock.time(() => s.list()),
    take: (name, key) => clock.time(() => s.take(name, key)),
    restore: (name) => clock.time(() => s.restore(name)),
    drop: (name) => clock.time(() => s.drop(name)),
    empty: () => clock.time(() => s.empty()),
  };
}
