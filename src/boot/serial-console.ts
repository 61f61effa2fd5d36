// Talking to a machine over its serial console, as a person at a terminal
// would: wait for some text, type a line or a key, log in, run a command and
// read its exit status. The console is a unix socket (qemu's chardev server);
// everything it says is kept as one transcript that waits match against.
import { randomBytes } from "node:crypto";
import net from "node:net";
import { fmtSeconds } from "../pipeline/runner.js";
import { markedCommand, parseMarked, readyMarker, readyProbe, type MarkedResult } from "./markers.js";

/** Keys as a VT100 terminal sends them; GRUB's serial terminal reads these. */
export const KEYS = { up: "\x1b[A", down: "\x1b[B", enter: "\r" } as const;
export type Key = keyof typeof KEYS;

/** Who logs in on the console: a name and password to type, or a getty that logs in by itself. */
export type ConsoleLogin = { user: string; password: string } | { user: string; autologin: true };

/** The console stopped answering (timeout) or went away (closed); `transcript` is what it said. */
export class ConsoleError extends Error {
  override readonly name = "ConsoleError";
  constructor(
    message: string,
    readonly transcript: string,
  ) {
    super(message);
  }
}

interface Waiter {
  check(): void;
  fail(e: Error): void;
}

export interface WaitOptions {
  timeoutMs: number;
  /** Match only text that arrived after this transcript offset (see mark()). */
  from?: number;
  signal?: AbortSignal;
}

export class SerialConsole {
  private text = "";
  private closed = false;
  private readonly waiters = new Set<Waiter>();
  private commands = 0;
  /** In every marker: no text from elsewhere (a log of an earlier boot, printed by a command) passes for ours. */
  private readonly session = randomBytes(3).toString("hex");

  private constructor(private readonly socket: net.Socket) {
    socket.setEncoding("latin1");
    socket.on("data", (chunk: string) => {
      this.text += chunk;
      for (const w of [...this.waiters]) w.check();
    });
    const gone = () => {
      this.closed = true;
      for (const w of [...this.waiters]) w.fail(new ConsoleError("the serial console closed", this.text));
    };
    socket.on("close", gone);
    socket.on("error", gone);
  }

  /** Connect to a console socket, retrying while its server (qemu, starting) has not made it yet. */
  static async connect(path: string, timeoutMs = 10_000): Promise<SerialConsole> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        const s = await new Promise<net.Socket>((resolve, reject) => {
          const c = net.createConnection(path);
          c.once("connect", () => (c.off("error", reject), resolve(c)));
          c.once("error", reject);
        });
        return new SerialConsole(s);
      } catch (e) {
        if (Date.now() > deadline)
          throw new ConsoleError(`could not connect to the serial console ${path}: ${String(e)}`, "");
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  }

  /** Everything the console has said so far. */
  get transcript(): string {
    return this.text;
  }

  /** An offset into the transcript: wait({from}) then ignores what came before. */
  mark(): number {
    return this.text.length;
  }

  /** Wait until `re` matches the transcript (from `from` on); rejects with ConsoleError on timeout or close. */
  waitFor(re: RegExp, o: WaitOptions): Promise<RegExpExecArray> {
    const from = o.from ?? 0;
    return this.until(() => re.exec(this.text.slice(from)) ?? undefined, `${re}`, o);
  }

  /** Wait until `test` finds what it looks for in the transcript. */
  until<T>(
    test: (transcript: string) => T | undefined,
    what: string,
    o: Omit<WaitOptions, "from">,
  ): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const finish = (settle: () => void) => {
        clearTimeout(timer);
        this.waiters.delete(waiter);
        o.signal?.removeEventListener("abort", onAbort);
        settle();
      };
      const waiter: Waiter = {
        check: () => {
          const r = test(this.text);
          if (r !== undefined) finish(() => resolve(r));
        },
        fail: (e) => finish(() => reject(e)),
      };
      const onAbort = () => waiter.fail(new ConsoleError(`interrupted while waiting for ${what}`, this.text));
      const timer = setTimeout(() => {
        const after = fmtSeconds(o.timeoutMs / 1000);
        waiter.fail(new ConsoleError(`no ${what} on the serial console after ${after}`, this.text));
      }, o.timeoutMs);
      this.waiters.add(waiter);
      o.signal?.addEventListener("abort", onAbort, { once: true });
      if (o.signal?.aborted) return onAbort();
      waiter.check();
      if (this.closed && this.waiters.has(waiter))
        waiter.fail(new ConsoleError("the serial console closed", this.text));
    });
  }

  /** Send text as typed, unchanged. */
  send(text: string): Promise<void> {
    if (this.closed) return Promise.reject(new ConsoleError("the serial console closed", this.text));
    return new Promise((resolve, reject) =>
      this.socket.write(text, "latin1", (e) => (e ? reject(e) : resolve())),
    );
  }

  /** Type a line and press Enter (a terminal sends carriage return). */
  sendLine(line: string): Promise<void> {
    return this.send(line + "\r");
  }

  /** Press keys one by one, with a pause so an escape sequence is never split or merged with the next. */
  async press(keys: readonly Key[], pauseMs = 300): Promise<void> {
    for (const k of keys) {
      await this.send(KEYS[k]);
      await new Promise((r) => setTimeout(r, pauseMs));
    }
  }

  /**
   * Log in at the getty's prompt and wait until a shell reads what is typed.
   * The password is typed only after the prompt for it; a wrong one fails at
   * once with the console's answer rather than at the timeout.
   */
  async login(who: ConsoleLogin, o: { timeoutMs: number; signal?: AbortSignal }): Promise<void> {
    const wait = (re: RegExp, from: number, timeoutMs = o.timeoutMs) =>
      this.waitFor(re, { signal: o.signal, from, timeoutMs });
    let from = 0;
    if (!("autologin" in who)) {
      await wait(/login:/, 0);
      // Enter first: a fresh prompt, whatever kernel messages were printed over the old one.
      from = this.mark();
      await this.sendLine("");
      await wait(/login: *\r?$/m, from);
      from = this.mark();
      await this.sendLine(who.user);
      await wait(/Password: *\r?$/im, from);
      from = this.mark();
      await this.sendLine(who.password);
      // The prompt's look is the image's business: seeing one only saves a probe or two.
      await wait(/Login incorrect|[$#%>] *$/, from, 30_000).catch(() => undefined);
    }
    await this.shellReady(from, o);
  }

  /**
   * Type a probe until the shell answers it: what is typed while login still
   * runs may be thrown away. `from` is where a "Login incorrect" would start.
   */
  private async shellReady(from: number, o: { timeoutMs: number; signal?: AbortSignal }): Promise<void> {
    const id = `${this.session}-r${++this.commands}`;
    const ready = new RegExp(`${readyMarker(id)}|Login incorrect`);
    const deadline = Date.now() + o.timeoutMs;
    for (;;) {
      await this.sendLine(readyProbe(id));
      try {
        const answer = await this.waitFor(ready, {
          from,
          timeoutMs: Math.min(15_000, Math.max(1, deadline - Date.now())),
          signal: o.signal,
        });
        if (answer[0] === "Login incorrect")
          throw new ConsoleError(
            "logging in failed: Login incorrect (wrong user name or password?)",
            this.text,
          );
        return;
      } catch (e) {
        if (!(e instanceof ConsoleError) || /Login incorrect/.test(e.message)) throw e;
        if (Date.now() >= deadline || this.closed || o.signal?.aborted)
          throw new ConsoleError(`no shell answered on the serial console: ${e.message}`, this.text);
      }
    }
  }

  /** Run one shell command in the logged-in shell; its output and exit status. */
  async run(command: string, o: { timeoutMs: number; signal?: AbortSignal }): Promise<MarkedResult> {
    const id = `${this.session}-${++this.commands}`;
    const from = this.mark();
    await this.sendLine(markedCommand(command, id));
    return this.until((t) => parseMarked(t.slice(from), id), `end of \`${command}\``, o);
  }

  close(): void {
    this.socket.destroy();
  }
}
