#!/usr/bin/env node
// vmlive's command. The TypeScript in src/ is compiled to dist/ by `npm install`
// (the prepare script) or `npm run build`.
import { existsSync } from "node:fs";

const entry = new URL("../dist/cli/run.js", import.meta.url);
if (!existsSync(entry)) {
  process.stderr.write(
    "vmlive: not built yet: run `npm install` (or `npm run build`) in the vmlive folder\n",
  );
  process.exit(1);
}
await import(entry.href);
