// The serial protocol against a fake guest: a real unix socket server that
// acts like a getty, then like a terminal in front of a real sh (echoing what
// is typed, \n becoming \r\n), so the lines vmlive types are really run.
import { spawn } from "node:child_process";
import net from "node:net";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { ConsoleError, SerialConsole } from "../../../src/boot/serial-console.js";
import { tempDir } from "../../support/tmp.js";

interface Guest {
  socket: string;
  /** Every byte the guest received, as typed. */
  received: () => string;
  close: () => Promise<void>;
}

const tty = (s: string) => s.replace(/\r?\n/g, "\r\n");

async function fakeGuest(
  o: { autologin?: boolean; password?: string; listenAfterMs?: number } = {},
): Promise<Guest> {
  const socket = path.join(tempDir("vmlive-serial-"), "serial.sock");
  let received = "";
  const conns = new Set<net.Socket>();
  const server = net.createServer((c) => {
    conns.add(c);
    let buf = "";
    let state: "login" | "password" | "shell" = o.autologin ? "shell" : "login";
    let user = "";
    const prompt = () => c.write("live@guest:~$ ");
    c.write("\r\nDebian GNU/Linux 12 guest ttyS0\r\n\r\n");
    if (o.autologin) {
      c.write("guest login: live (automatic login)\r\n\r\n");
      prompt();
    } else c.write("guest login: ");
    // Like a shell, read the next line only when the last command is done and the prompt is out.
    let busy = Promise.resolve();
    c.on("data", (d) => {
      received += d.toString("latin1");
      buf += d.toString("latin1");
      let i: number;
      while ((i = buf.indexOf("\r")) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        busy = busy.then(() => handle(line));
      }
    });
    const handle = async (line: string) => {
      if (state === "login") {
        c.write(line + "\r\n");
        if (line === "") c.write("guest login: ");
        else {
          user = line;
          state = "password";
          c.write("Password: ");
        }
      } else if (state === "password") {
        c.write("\r\n");
        if (user === "live" && line === (o.password ?? "secret")) {
          c.write("Linux guest 6.1.0-50-amd64\r\n\r\n");
          state = "shell";
          prompt();
        } else {
          state = "login";
          c.write("\r\nLogin incorrect\r\nguest login: ");
        }
      } else {
        c.write(line + "\r\n");
        // stdout and stderr on one file, as both are the terminal in a real guest.
        const sh = spawn("sh", ["-c", 'exec 2>&1; eval "$1"', "sh", line], {
          stdio: ["ignore", "pipe", "inherit"],
        });
        sh.stdout.on("data", (x: Buffer) => c.write(tty(x.toString())));
        await new Promise((r) => sh.on("close", r));
        prompt();
      }
    };
    c.on("error", () => undefined);
  });
  const listen = () => new Promise<void>((r) => server.listen(socket, r));
  if (o.listenAfterMs) setTimeout(() => void listen(), o.listenAfterMs);
  else await listen();
  return {
    socket,
    received: () => received,
    close: () =>
      new Promise<void>((r) => {
        for (const c of conns) c.destroy();
        server.close(() => r());
      }),
  };
}

let guest: Guest | undefined;
let con: SerialConsole | undefined;
afterEach(async () => {
  con?.close();
  await guest?.close();
  con = guest = undefined;
});

describe("SerialConsole", () => {
  it("logs in with name and password, then runs commands and reads their output and exit status", async () => {
    guest = await fakeGuest();
    con = await SerialConsole.connect(guest.socket);
    await con.login({ user: "live", password: "secret" }, { timeoutMs: 10_000 });
    expect(await con.run('echo "it\'s $((6*7))"; echo to stderr >&2', { timeoutMs: 10_000 })).toEqual({
      exitCode: 0,
      output: "it's 42\nto stderr\n",
    });
    expect(await con.run("exit 7", { timeoutMs: 10_000 })).toEqual({ exitCode: 7, output: "" });
    // The shell is still there after a command that exits.
    expect((await con.run("printf ok", { timeoutMs: 10_000 })).output).toBe("ok");
    // What was typed: Enter for a fresh prompt, the name, the password, lines ending in carriage return.
    expect(guest.received()).toMatch(/^\rlive\rsecret\rprintf /);
  });

  it("fails at once on a wrong password, with the console's answer", async () => {
    guest = await fakeGuest({ password: "other" });
    con = await SerialConsole.connect(guest.socket);
    const t = Date.now();
    const e = await con
      .login({ user: "live", password: "secret" }, { timeoutMs: 15_000 })
      .catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ConsoleError);
    expect((e as ConsoleError).message).toMatch(/Login incorrect/);
    expect((e as ConsoleError).transcript).toContain("Login incorrect");
    expect(Date.now() - t).toBeLessThan(5_000);
  });

  it("types nothing but the probe for an autologin console", async () => {
    guest = await fakeGuest({ autologin: true });
    con = await SerialConsole.connect(guest.socket);
    await con.login({ user: "live", autologin: true }, { timeoutMs: 10_000 });
    expect(guest.received()).toMatch(/^printf '@@%s@@\\n' VMLIVE-READY-[0-9a-f]{6}-r1\r$/);
  });

  it("waits for text from a mark on, and times out naming what it waited for", async () => {
    guest = await fakeGuest();
    con = await SerialConsole.connect(guest.socket);
    expect((await con.waitFor(/login: $/, { timeoutMs: 5_000 }))[0]).toBe("login: ");
    const mark = con.mark();
    const e = await con.waitFor(/login: $/, { from: mark, timeoutMs: 200 }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ConsoleError);
    expect((e as ConsoleError).message).toBe("no /login: $/ on the serial console after 0.2 s");
    expect((e as ConsoleError).transcript).toContain("guest login: ");
  });

  it("gives up a wait when the console closes, and when the signal aborts", async () => {
    guest = await fakeGuest();
    con = await SerialConsole.connect(guest.socket);
    const ac = new AbortController();
    const aborted = con.waitFor(/never/, { timeoutMs: 10_000, signal: ac.signal });
    ac.abort();
    await expect(aborted).rejects.toThrow(/interrupted while waiting for \/never\//);
    const waiting = con.waitFor(/never/, { timeoutMs: 10_000 });
    await guest.close();
    await expect(waiting).rejects.toThrow("the serial console closed");
    await expect(con.send("x")).rejects.toThrow("the serial console closed");
  });

  it("presses keys as a VT100 terminal sends them", async () => {
    guest = await fakeGuest({ autologin: true });
    con = await SerialConsole.connect(guest.socket);
    await con.waitFor(/\$ $/, { timeoutMs: 5_000 });
    const from = con.mark();
    await con.press(["down", "down", "up", "enter"], 10);
    // The fake shell answers the line with a new prompt: everything was sent by then.
    await con.waitFor(/\$ $/, { from, timeoutMs: 5_000 });
    expect(guest.received()).toBe("\x1b[B\x1b[B\x1b[A\r");
  });

  it("connects to a socket its server makes a little later (qemu starting up)", async () => {
    guest = await fakeGuest({ listenAfterMs: 400 });
    con = await SerialConsole.connect(guest.socket, 5_000);
    await con.waitFor(/login:/, { timeoutMs: 5_000 });
  });

  it("says which socket it could not reach", async () => {
    const missing = path.join(tempDir("vmlive-serial-"), "none.sock");
    await expect(SerialConsole.connect(missing, 300)).rejects.toThrow(
      `could not connect to the serial console ${missing}`,
    );
  });
});
