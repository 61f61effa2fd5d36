// A command as the progress display shows it: one short line that says what
// runs, without the wrapper every chroot command is wrapped in.
import { shellJoin } from "../../process/quote.js";
import { printable } from "./text.js";

// chrootArgv (machine/chroot.ts) makes
//   unshare ... sh -c SCRIPT vmlive-chroot ROOTFS /usr/bin/env -i VAR=... COMMAND...
// and only COMMAND says anything about the step.
const CHROOT_MARK = "vmlive-chroot";
const ASSIGNMENT = /^[A-Za-z_][A-Za-z0-9_]*=/;

/** The command inside a chroot wrapper, or undefined when argv is not one. */
export function insideChroot(argv: readonly string[]): string[] | undefined {
  const i = argv.indexOf(CHROOT_MARK);
  if (i < 0 || argv[i + 2] !== "/usr/bin/env" || argv[i + 3] !== "-i") return undefined;
  const rest = argv.slice(i + 4);
  const first = rest.findIndex((w) => !ASSIGNMENT.test(w));
  return first < 0 ? undefined : rest.slice(first);
}

/** argv as one line of shell words, "chroot: " in front of a command run inside the image. */
export function commandLine(argv: readonly string[]): string {
  if (argv.length === 0) return "";
  const inner = insideChroot(argv);
  const text = (inner ? "chroot: " : "") + shellJoin(inner ?? argv);
  return printable(text.replace(/\s+/g, " "));
}
