// The BuildContext a step test runs a step with: an image parsed from a bit of
// YAML, a FakeMachine, work paths on it, and a log that records what the step
// said and the command output it passed on.
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { parseImageConfig, type LoadedImage } from "../../src/config/load.js";
import { workPaths, type BuildContext, type BuildState } from "../../src/pipeline/context.js";
import { FakeMachine } from "./fake-machine.js";
import { tempDir } from "./tmp.js";

export interface StepContextOptions {
  /** image.yaml without its description line. */
  yaml?: string;
  machine?: FakeMachine;
  /** The work area on the machine; default /work/img. */
  root?: string;
  /** What earlier steps recorded; `done` defaults to []. */
  state?: Partial<BuildState>;
  /**
   * Put the image in a temporary folder: image.yaml and these files, mode 0755
   * (paths starting with hooks/ go into the hooks folder next to images/).
   * Without it the image's folders do not exist.
   */
  files?: Record<string, string>;
}

export interface StepContext {
  ctx: BuildContext;
  machine: FakeMachine;
  /** What the step said, line by line. */
  said: string[];
  /** Command output the step passed to the log. */
  lines: string[];
  imageDir: string;
}

export function stepContext(opts: StepContextOptions = {}): StepContext {
  const yaml = opts.yaml ?? "";
  const machine = opts.machine ?? new FakeMachine();
  const base = opts.files ? imageFolder(yaml, opts.files) : "/nonexistent";
  const imageDir = path.join(base, "images", "img");
  const image: LoadedImage = {
    name: "img",
    dir: imageDir,
    file: path.join(imageDir, "image.yaml"),
    hooksDir: path.join(base, "hooks"),
    displayFile: "images/img/image.yaml",
    config: parseImageConfig(`description: test\n${yaml}`, "image.yaml"),
  };
  const said: string[] = [];
  const lines: string[] = [];
  const ctx: BuildContext = {
    image,
    machine,
    work: workPaths(opts.root ?? "/work/img"),
    state: { done: [], ...opts.state },
    log: { say: (s) => said.push(s), output: { line: (_s, t) => lines.push(t) }, file: "/logs/build.log" },
    signal: new AbortController().signal,
    sourceDateEpoch: 1_700_000_000,
    outDir: "/out",
    logDir: "/logs",
  };
  return { ctx, machine, said, lines, imageDir };
}

/** A temporary folder with images/img/image.yaml, hooks/ and `files`; returns the folder. */
function imageFolder(yaml: string, files: Record<string, string>): string {
  const dir = tempDir("vmlive-step-test-");
  const imageDir = path.join(dir, "images", "img");
  mkdirSync(imageDir, { recursive: true });
  mkdirSync(path.join(dir, "hooks"));
  writeFileSync(path.join(imageDir, "image.yaml"), yaml);
  for (const [f, text] of Object.entries(files)) {
    const p = path.join(f.startsWith("hooks/") ? dir : imageDir, f);
    mkdirSync(path.dirname(p), { recursive: true });
    writeFileSync(p, text, { mode: 0o755 });
  }
  return dir;
}
