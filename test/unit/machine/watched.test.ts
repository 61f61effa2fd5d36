// The watched machine's clock: the machine's busy time, with overlapping and
// nested commands counted once, failed ones counted too, and copies included.
import { describe, expect, it } from "vitest";
import { CommandClock, watchExecs } from "../../../src/machine/watched.js";
import { FakeMachine } from "../../support/fake-machine.js";

/** A clock the test moves by hand. */
function manualClock() {
  let t = 0;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

/** A promise the test resolves when it likes. */
function gate() {
  let open!: () => void;
  const p = new Promise<void>((r) => (open = r));
  return { p, open };
}

describe("CommandClock", () => {
  it("adds up operations one after another", () => {
    const t = manualClock();
    const c = new CommandClock(t.now);
    const a = c.start();
    t.advance(1500);
    a();
    t.advance(10_000); // nothing running: vmlive's own time
    const b = c.start();
    t.advance(250);
    b();
    expect(c.totals()).toEqual({ count: 2, seconds: 1.75 });
  });

  it("counts overlapping and nested operations once", () => {
    const t = manualClock();
    const c = new CommandClock(t.now);
    const outer = c.start(); // 0
    t.advance(1000);
    const inner = c.start(); // 1000, nested
    t.advance(500);
    inner(); // 1500
    t.advance(500);
    const overlap = c.start(); // 2000, starts before outer ends
    t.advance(1000);
    outer(); // 3000
    t.advance(2000);
    overlap(); // 5000
    expect(c.totals()).toEqual({ count: 3, seconds: 5 });
  });

  it("ignores a second end of the same operation", () => {
    const t = manualClock();
    const c = new CommandClock(t.now);
    const a = c.start();
    const b = c.start();
    t.advance(1000);
    a();
    a(); // must not end b's interval early
    t.advance(1000);
    b();
    expect(c.totals()).toEqual({ count: 2, seconds: 2 });
  });

  it("counts a running operation up to now", () => {
    const t = manualClock();
    const c = new CommandClock(t.now);
    c.start();
    t.advance(3000);
    expect(c.totals().seconds).toBe(3);
  });
});

describe("watchExecs with a clock", () => {
  it("times execs, failed ones and copies, overlapping ones once", async () => {
    const t = manualClock();
    const clock = new CommandClock(t.now);
    const slow = gate();
    const fake = new FakeMachine()
      .on("slow", async () => {
        await slow.p;
        return {};
      })
      .on("fails", () => {
        t.advance(200);
        return { exitCode: 3 };
      });
    const announced: string[] = [];
    const m = watchExecs(fake, (argv) => announced.push(argv[0]!), clock);

    const running = m.exec(["slow"]);
    t.advance(1000);
    await m.exec(["quick"]); // while slow runs: no extra time
    t.advance(1000);
    slow.open();
    await running;
    expect(clock.totals()).toEqual({ count: 2, seconds: 2 });

    t.advance(5000); // idle
    await expect(m.exec(["fails"])).rejects.toThrow();
    await m.upload("/host/file", "/vm/file");
    expect(clock.totals()).toEqual({ count: 4, seconds: 2.2 });
    expect(announced).toEqual(["slow", "quick", "fails"]);
    expect(fake.calls.map((c) => c.kind)).toEqual(["exec", "exec", "exec", "upload"]);
  });

  it("passes results through unchanged", async () => {
    const fake = new FakeMachine().on("echo", { stdout: "hi\n" });
    const r = await watchExecs(fake, () => undefined).exec(["echo", "hi"]);
    expect(r).toEqual({ exitCode: 0, signal: undefined, stdout: "hi\n", stderr: "" });
  });
});
