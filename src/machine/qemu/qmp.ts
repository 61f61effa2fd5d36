// A client for qemu's machine protocol (QMP) on a unix socket: JSON objects
// one per line, a greeting, capabilities negotiation, then commands answered
// by {"return"} or {"error"} carrying the command's id; events in between are
// ignored. The builder VM uses it for what only qemu can do while the guest
// runs: an external qcow2 snapshot of a disk (rootfs-layers.ts).
import net from "node:net";

export class QmpError extends Error {
  constructor(
    readonly command: string,
    readonly errorClass: string,
    desc: string,
  ) {
    super(`qemu refused ${command}: ${desc} (${errorClass})`);
  }
}

interface Pending {
  command: string;
  resolve(v: unknown): void;
  reject(e: Error): void;
}

export class QmpClient {
  private buffer = "";
  private nextId = 1;
  private readonly pending = new Map<string, Pending>();
  private closedWith: Error | undefined;

  private constructor(private readonly socket: net.Socket) {
    socket.setEncoding("utf8");
    socket.on("data", (chunk: string) => this.onData(chunk));
    const fail = (e: Error) => {
      this.closedWith ??= e;
      for (const p of this.pending.values()) p.reject(this.closedWith);
      this.pending.clear();
    };
    socket.on("error", fail);
    socket.on("close", () => fail(new Error("the qemu monitor connection closed")));
  }

  /** Connect, read the greeting and leave negotiation mode. */
  static async connect(socketPath: string, timeoutMs = 10_000): Promise<QmpClient> {
    const socket = net.createConnection(socketPath);
    const greeting = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no QMP greeting on ${socketPath} after ${timeoutMs} ms`)),
        timeoutMs,
      );
      let seen = "";
      const onData = (chunk: Buffer) => {
        seen += chunk.toString("utf8");
        const nl = seen.indexOf("\n");
        if (nl < 0) return;
        clearTimeout(timer);
        socket.off("data", onData);
        socket.off("error", onError);
        // Anything after the greeting line belongs to the client.
        if (nl + 1 < seen.length) socket.unshift(Buffer.from(seen.slice(nl + 1), "utf8"));
        if (!seen.slice(0, nl).includes('"QMP"'))
          reject(new Error(`not a QMP greeting: ${seen.slice(0, nl)}`));
        else resolve();
      };
      const onError = (e: Error) => {
        clearTimeout(timer);
        reject(e);
      };
      socket.on("data", onData);
      socket.once("error", onError);
    });
    try {
      await greeting;
    } catch (e) {
      socket.destroy();
      throw e;
    }
    const c = new QmpClient(socket);
    await c.execute("qmp_capabilities");
    return c;
  }

  /** Run one command; resolves with its "return" value, rejects with QmpError on its "error". */
  execute(command: string, args?: Record<string, unknown>): Promise<unknown> {
    if (this.closedWith) return Promise.reject(this.closedWith);
    const id = String(this.nextId++);
    return new Promise((resolve, reject) => {
      this.pending.set(id, { command, resolve, reject });
      this.socket.write(
        JSON.stringify({ execute: command, ...(args ? { arguments: args } : {}), id }) + "\n",
      );
    });
  }

  close(): void {
    this.closedWith ??= new Error("the qemu monitor connection was closed");
    this.socket.destroy();
  }

  private onData(chunk: string): void {
    this.buffer += chunk;
    let nl: number;
    while ((nl = this.buffer.indexOf("\n")) >= 0) {
      const line = this.buffer.slice(0, nl).trim();
      this.buffer = this.buffer.slice(nl + 1);
      if (line) this.onMessage(line);
    }
  }

  private onMessage(line: string): void {
    let msg: { id?: unknown; return?: unknown; error?: { class?: string; desc?: string } };
    try {
      msg = JSON.parse(line) as typeof msg;
    } catch {
      return;
    }
    if (typeof msg.id !== "string") return; // an event
    const p = this.pending.get(msg.id);
    if (!p) return;
    this.pending.delete(msg.id);
    if (msg.error)
      p.reject(
        new QmpError(p.command, msg.error.class ?? "GenericError", msg.error.desc ?? "no reason given"),
      );
    else p.resolve(msg.return);
  }
}
