import { mkdtempSync, rmSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { QmpClient, QmpError } from "../../../src/machine/qemu/qmp.js";

/** A qemu monitor stand-in: greets, then answers each command as `answer` says, with events in between. */
function fakeMonitor(answer: (cmd: { execute: string; arguments?: unknown }) => object) {
  const dir = mkdtempSync(path.join(os.tmpdir(), "vmlive-qmp-"));
  const socket = path.join(dir, "qmp.sock");
  const seen: { execute: string; arguments?: unknown }[] = [];
  const server = net.createServer((c) => {
    // The greeting and the first event arrive in one write, as qemu may send them.
    c.write('{"QMP": {"version": {}, "capabilities": []}}\n{"event": "RESUME", "timestamp": {}}\n');
    let buf = "";
    c.on("data", (d) => {
      buf += d.toString();
      let nl: number;
      while ((nl = buf.indexOf("\n")) >= 0) {
        const cmd = JSON.parse(buf.slice(0, nl)) as { execute: string; arguments?: unknown; id: string };
        buf = buf.slice(nl + 1);
        seen.push({ execute: cmd.execute, ...(cmd.arguments ? { arguments: cmd.arguments } : {}) });
        const a = answer(cmd);
        // As qemu exiting: the connection closes with the command unanswered.
        if ("hangUp" in a) return void c.destroy();
        c.write(`{"event": "SOMETHING", "timestamp": {}}\n${JSON.stringify({ ...a, id: cmd.id })}\n`);
      }
    });
  });
  const ready = new Promise<void>((r) => server.listen(socket, r));
  return {
    socket,
    seen,
    ready,
    close: () =>
      new Promise<void>((r) => server.close(() => (rmSync(dir, { recursive: true, force: true }), r()))),
  };
}

const open: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const o of open.splice(0)) await o.close();
});

describe("QmpClient", () => {
  it("negotiates capabilities, then runs commands and returns their result, ignoring events", async () => {
    const m = fakeMonitor((c) => ({ return: c.execute === "query-status" ? { status: "running" } : {} }));
    open.push(m);
    await m.ready;
    const q = await QmpClient.connect(m.socket);
    expect(await q.execute("query-status")).toEqual({ status: "running" });
    await q.execute("blockdev-snapshot-sync", { device: "L-3", mode: "existing" });
    expect(m.seen).toEqual([
      { execute: "qmp_capabilities" },
      { execute: "query-status" },
      { execute: "blockdev-snapshot-sync", arguments: { device: "L-3", mode: "existing" } },
    ]);
    q.close();
  });

  it("rejects with qemu's own words when a command fails", async () => {
    const m = fakeMonitor((c) =>
      c.execute === "qmp_capabilities"
        ? { return: {} }
        : { error: { class: "GenericError", desc: "No such device" } },
    );
    open.push(m);
    await m.ready;
    const q = await QmpClient.connect(m.socket);
    const e = await q.execute("blockdev-snapshot-sync", { device: "nope" }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(QmpError);
    expect(String(e)).toContain("qemu refused blockdev-snapshot-sync: No such device (GenericError)");
    q.close();
  });

  it("fails the commands in flight when qemu goes away, and later ones at once", async () => {
    const m = fakeMonitor((c) => (c.execute === "qmp_capabilities" ? { return: {} } : { hangUp: true }));
    open.push(m);
    await m.ready;
    const q = await QmpClient.connect(m.socket);
    await expect(q.execute("stop")).rejects.toThrow(/connection closed/);
    await expect(q.execute("cont")).rejects.toThrow(/connection closed/);
  });

  it("says so when there is no monitor on the socket", async () => {
    await expect(QmpClient.connect("/nonexistent/qmp.sock", 1000)).rejects.toThrow(/ENOENT/);
  });
});
