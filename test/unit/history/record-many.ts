// A separate vmlive process recording build folders, for the test of writers
// finishing at once: `tsx record-many.ts HISTORY START_AT_MS DIR...`.
import { recordBuild } from "../../../src/history/record.js";

const [file, startAt, ...dirs] = process.argv.slice(2);
// Both processes begin at the same moment, so their transactions really overlap.
await new Promise((r) => setTimeout(r, Math.max(0, Number(startAt) - Date.now())));
for (const d of dirs) await recordBuild(file!, d);
process.stdout.write(`recorded ${dirs.length}\n`);
