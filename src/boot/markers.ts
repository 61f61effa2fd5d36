// Running one command on a serial console and reading back its output and
// exit status. What is typed is echoed back by the terminal, so the markers
// are printed with printf from pieces: the echo of the typed line never
// contains a whole marker, only the command's own output does.
import { shellQuote } from "../process/quote.js";

const ID = /^[A-Za-z0-9-]+$/;

function checkId(id: string): void {
  if (!ID.test(id)) throw new Error(`not a marker id: ${id}`);
}

/** The text the shell prints when it is ready (answer to readyProbe). */
export const readyMarker = (id: string) => `@@VMLIVE-READY-${id}@@`;

/** A line that makes a shell print readyMarker(id): typed until it answers, to know the shell reads. */
export function readyProbe(id: string): string {
  checkId(id);
  return `printf '@@%s@@\\n' VMLIVE-READY-${id}`;
}

/**
 * The line typed for one command: begin marker, the command, end marker with
 * its exit status. The command goes to `sh -c` as one quoted word, so it
 * reaches the guest's shell exactly as written and an `exit` in it ends only
 * that sh; stdin is /dev/null so a command that reads waits for nobody.
 */
export function markedCommand(command: string, id: string): string {
  checkId(id);
  return (
    `printf '@@%s@@\\n' VMLIVE-BEGIN-${id}; ` +
    `sh -c ${shellQuote(command)} </dev/null; ` +
    `printf '\\n@@%s:%d@@\\n' VMLIVE-END-${id} "$?"`
  );
}

export interface MarkedResult {
  exitCode: number;
  /** What the command printed (stdout and stderr, as the terminal showed them), without carriage returns. */
  output: string;
}

/** The result of markedCommand(…, id) in a console transcript; undefined until the end marker is there. */
export function parseMarked(transcript: string, id: string): MarkedResult | undefined {
  checkId(id);
  const text = transcript.replace(/\r/g, "");
  const begin = `@@VMLIVE-BEGIN-${id}@@\n`;
  const start = text.indexOf(begin);
  if (start < 0) return undefined;
  const from = start + begin.length;
  const end = new RegExp(`\\n@@VMLIVE-END-${id}:(\\d+)@@`).exec(text.slice(from - 1));
  if (!end) return undefined;
  // from - 1: the newline that ends the begin marker also starts an end marker right after it (no output).
  const output = text.slice(from, from - 1 + end.index);
  return { exitCode: Number(end[1]), output };
}
