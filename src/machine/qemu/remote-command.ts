// The command line an SSH exec channel carries for one Machine.exec(): a pure
// function, so its quoting can be tested against a real `sh -c` on the host.
//
// sshd runs the line with the login shell (`$SHELL -c LINE`) as a new session
// leader, so the shell's PID is also its process group ID. The line first
// announces that PID on stdout (the client strips the announcement), then
// changes directory and `exec`s the program, which keeps the PID: the client
// can later stop the whole tree with `kill -- -PID` over a second channel.
import { shellJoin, shellQuote } from "../../process/quote.js";

/** Prefix of the first stdout line a remote command prints: its PID (= process group). */
export const PID_MARKER = "vmlive-pid:";

export interface RemoteCommandOptions {
  /** Added to the command's environment. */
  env?: Readonly<Record<string, string>>;
  /** Working directory on the machine. */
  cwd?: string;
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Build the shell line for `argv`; every word that comes from the caller is quoted by shellJoin. */
export function remoteCommand(argv: readonly string[], opts: RemoteCommandOptions = {}): string {
  const [program] = argv;
  if (program === undefined) throw new Error("remote command: empty argv");
  const assignments = Object.entries(opts.env ?? {}).map(([name, value]) => {
    if (!ENV_NAME.test(name))
      throw new Error(`remote command: invalid environment variable name ${JSON.stringify(name)}`);
    return `${name}=${value}`;
  });
  // `env NAME=VALUE PROG` would read a program name containing "=" as one more assignment.
  if (assignments.length > 0 && program.includes("="))
    throw new Error(
      `remote command: a program name cannot contain "=" when env is set: ${JSON.stringify(program)}`,
    );
  const parts = [`echo ${shellQuote(PID_MARKER)}$$`];
  if (opts.cwd !== undefined) parts.push(`cd ${shellJoin(["--", opts.cwd])}`);
  parts.push(`exec ${shellJoin(assignments.length > 0 ? ["env", "--", ...assignments, ...argv] : argv)}`);
  return parts.join(" && ");
}

/** The command line that stops a remote process group: TERM, then KILL after `graceMs` if it is still there. */
export function killGroupCommand(pid: number, graceMs: number): string {
  if (!Number.isSafeInteger(pid) || pid <= 1) throw new Error(`kill: invalid pid ${pid}`);
  const tries = Math.max(1, Math.ceil(graceMs / 100));
  // `kill -SIG -PID` (no `--`: dash's kill rejects it) signals the whole group.
  const group = shellQuote(`-${pid}`);
  return [
    `kill -TERM ${group} 2>/dev/null || exit 0`,
    `i=0; while [ "$i" -lt ${tries} ] && kill -0 ${group} 2>/dev/null; do sleep 0.1; i=$((i+1)); done`,
    `kill -KILL ${group} 2>/dev/null; exit 0`,
  ].join("; ");
}
