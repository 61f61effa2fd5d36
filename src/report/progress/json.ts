// `--json`: every event as one JSON object per line on stdout, nothing else
// there, for programs that follow a run (docs/events.md says what each is).
import type { RunEvent } from "../events.js";
import type { Progress } from "./progress.js";

export class JsonProgress implements Progress {
  constructor(private readonly line: (text: string) => void) {}

  handle(e: RunEvent): void {
    this.line(JSON.stringify(e));
  }

  close(): void {}
}
