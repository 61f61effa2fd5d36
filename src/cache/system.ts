// What the proxy's lifecycle asks of the operating system, behind one
// interface so that the lifecycle can be tested with a fake: start a detached
// process, look at processes in /proc, ask a port whether apt-cacher-ng
// answers, find a free port.
import { spawn } from "node:child_process";
import { accessSync, closeSync, constants, openSync, readFileSync } from "node:fs";
import http from "node:http";
import net from "node:net";
import path from "node:path";
import { ACNG_PORTS } from "./acng-config.js";

export interface ProxySystem {
  /** apt-cacher-ng's path, or undefined when it is not installed. */
  program(): string | undefined;
  /** Start `argv` detached from this process (it may outlive it), output appended to `logFile`; its PID. */
  start(argv: readonly string[], logFile: string): number;
  /** Whether `pid` is a running (not a zombie) apt-cacher-ng whose command line names `confDir`. */
  isProxy(pid: number, confDir: string): boolean;
  /** When process `pid` started (an opaque token, stable for its life), or undefined when it is gone. */
  processStart(pid: number): string | undefined;
  /** Whether apt-cacher-ng answers on 127.0.0.1:`port`. */
  answers(port: number): Promise<boolean>;
  /** A port on 127.0.0.1 that nothing listens on, in ACNG_PORTS. */
  freePort(): Promise<number>;
  kill(pid: number, signal: NodeJS.Signals): void;
  sleep(ms: number): Promise<void>;
}

/** /proc/PID/stat's fields after the command name: [state, ppid, ...]; undefined when the process is gone. */
function statFields(pid: number): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name is in parentheses and may itself hold spaces and parentheses.
    return stat
      .slice(stat.lastIndexOf(")") + 2)
      .trim()
      .split(" ");
  } catch {
    return undefined;
  }
}

function findProgram(): string | undefined {
  // /usr/sbin is not on an ordinary user's PATH on Debian.
  const dirs = [...(process.env.PATH ?? "").split(":").filter(Boolean), "/usr/sbin"];
  for (const d of dirs) {
    const p = path.join(d, "apt-cacher-ng");
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // not here
    }
  }
  return undefined;
}

function answers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.get({ host: "127.0.0.1", port, path: "/", timeout: 2_000 }, (res) => {
      let body = "";
      res.setEncoding("latin1");
      res.on("data", (c: string) => {
        if (body.length < 65_536) body += c;
      });
      res.on("end", () => resolve(body.includes("Apt-Cacher NG")));
      res.on("error", () => resolve(false));
    });
    req.on("timeout", () => req.destroy());
    req.on("error", () => resolve(false));
  });
}

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once("error", () => resolve(false));
    s.listen(port, "127.0.0.1", () => s.close(() => resolve(true)));
  });
}

async function freePort(): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const port = ACNG_PORTS.min + Math.floor(Math.random() * (ACNG_PORTS.max - ACNG_PORTS.min + 1));
    if (await portIsFree(port)) return port;
  }
  throw new Error(`no free port on 127.0.0.1 between ${ACNG_PORTS.min} and ${ACNG_PORTS.max}`);
}

export const realProxySystem: ProxySystem = {
  program: findProgram,
  start(argv, logFile) {
    const [file, ...args] = argv;
    if (!file) throw new Error("start: empty argv");
    // Not run() or startBackground(): those end the program with vmlive, and the
    // proxy must outlive the build that started it while other builds use it.
    const fd = openSync(logFile, "a");
    try {
      const child = spawn(file, args, { detached: true, stdio: ["ignore", fd, fd] });
      child.on("error", () => undefined);
      child.unref();
      if (child.pid === undefined) throw new Error(`could not start ${file}`);
      return child.pid;
    } finally {
      closeSync(fd);
    }
  },
  isProxy(pid, confDir) {
    const f = statFields(pid);
    if (!f || f[0] === "Z" || f[0] === "X") return false;
    try {
      const argv = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
      return path.basename(argv[0] ?? "") === "apt-cacher-ng" && argv.includes(confDir);
    } catch {
      return false;
    }
  },
  processStart(pid) {
    const f = statFields(pid);
    // Field 22 of /proc/PID/stat, the start time in clock ticks since boot; index 19 after the name.
    return f && f[0] !== "Z" && f[0] !== "X" ? f[19] : undefined;
  },
  answers,
  freePort,
  kill(pid, signal) {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  },
  sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
};
