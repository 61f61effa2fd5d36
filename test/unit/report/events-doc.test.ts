// docs/events.md documents exactly the events of src/report/events.ts: every
// type has its section, and each section's table names exactly its fields.
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { PROJECT_ROOT } from "../../../src/paths.js";
import { EVENT_TYPES, type RunEvent, type RunEventType } from "../../../src/report/events.js";

const doc = readFileSync(path.join(PROJECT_ROOT, "docs", "events.md"), "utf8");

/** The sections of the doc: "## `type`" and the backticked names in the first column of its table. */
function sections(): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let current: string[] | undefined;
  for (const line of doc.split("\n")) {
    const h = /^## `([a-z-]+)`$/.exec(line);
    if (h) out.set(h[1]!, (current = []));
    else if (current && line.startsWith("| `"))
      current.push(...[...line.split("|")[1]!.matchAll(/`([A-Za-z]+)`/g)].map((m) => m[1]!));
  }
  return out;
}

const t = "2026-12-01T10:55:00.000Z";
const b = { build: "live-minimal/bookworm/amd64" };
// One of each, every optional field set: the compiler checks each against its type.
const samples: { [K in RunEventType]: Extract<RunEvent, { type: K }> } = {
  "run-start": {
    type: "run-start",
    time: t,
    builds: [{ ...b, image: "live-minimal", suite: "bookworm", arch: "amd64" }],
    jobs: 1,
  },
  "build-start": {
    type: "build-start",
    time: t,
    ...b,
    image: "live-minimal",
    suite: "bookworm",
    arch: "amd64",
    backend: "vm",
    steps: ["bootstrap"],
  },
  "step-start": { type: "step-start", time: t, ...b, step: "bootstrap", summary: "debootstrap" },
  command: { type: "command", time: t, ...b, step: "bootstrap", site: "vm", argv: ["true"] },
  output: { type: "output", time: t, ...b, label: "bootstrap", stream: "stdout", text: "x" },
  say: { type: "say", time: t, ...b, label: "vmlive", message: "x" },
  "step-end": { type: "step-end", time: t, ...b, step: "bootstrap", ok: true, seconds: 1 },
  "boot-way": { type: "boot-way", time: t, ...b, way: "cd-bios", ok: false, seconds: 1, reason: "x" },
  folder: { type: "folder", time: t, ...b, dir: "/out/x" },
  "build-end": {
    type: "build-end",
    time: t,
    ...b,
    status: "failed",
    seconds: 1,
    dir: "/out/x.failed",
    iso: "/out/x/x.iso",
    isoBytes: 1,
    error: "x",
  },
  "run-end": {
    type: "run-end",
    time: t,
    passed: 0,
    failed: 1,
    interrupted: 0,
    notStarted: 0,
    seconds: 1,
    exitCode: 1,
  },
};

describe("docs/events.md", () => {
  it("has a section for exactly the event types of the union, in its order", () => {
    expect([...sections().keys()]).toEqual(Object.keys(EVENT_TYPES));
  });

  it.each(Object.keys(EVENT_TYPES) as RunEventType[])("documents every field of %s", (type) => {
    const fields = Object.keys(samples[type]).filter((k) => k !== "type" && k !== "time");
    expect(sections().get(type)?.sort()).toEqual(fields.sort());
  });
});
