// The few kinds of failure vmlive reports. They are formatted in exactly one
// place (src/cli/report-error.ts), which alone decides the exit code.

/** Exit codes, as documented in README.md. */
export const ExitCode = {
  ok: 0,
  failure: 1,
  usage: 2,
  interrupted: 130,
  terminated: 143,
} as const;

/** Wrong command-line usage: a flag, an argument, an image that does not exist. */
export class UsageError extends Error {
  override readonly name = "UsageError";
  constructor(
    message: string,
    readonly hint?: string,
  ) {
    super(message);
  }
}

/** One problem found in an image config, with where it is. */
export interface ConfigProblem {
  /** The file the problem is in, as the user should see it (relative when possible). */
  file: string;
  /** Dotted path of the field, e.g. "user.name" or "hooks.2.path"; "" for the whole file. */
  path: string;
  message: string;
  /** 1-based line in the file, when known. */
  line?: number;
}

/** An image config that cannot be used; carries every problem found, not just the first. */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
  constructor(readonly problems: readonly ConfigProblem[]) {
    super(problems.map(formatProblem).join("\n"));
  }
}

export function formatProblem(p: ConfigProblem): string {
  const where = p.line ? `${p.file}:${p.line}` : p.file;
  return p.path ? `${where}: ${p.path}: ${p.message}` : `${where}: ${p.message}`;
}

/** Where a command ran, for error messages. */
export type CommandSite = "host" | "vm" | "chroot";

/** A command that failed: exit code, signal, or could not start. */
export class CommandError extends Error {
  override readonly name = "CommandError";
  constructor(
    readonly argv: readonly string[],
    readonly site: CommandSite,
    readonly detail: {
      exitCode?: number;
      signal?: string;
      /** Last lines of stderr (or stdout when stderr was empty). */
      tail?: string;
      logPath?: string;
      cause?: string;
    },
  ) {
    super(`${site}: ${argv.join(" ")}: ${describeEnd(detail)}`);
  }
}

function describeEnd(d: CommandError["detail"]): string {
  if (d.cause) return d.cause;
  if (d.signal) return `killed by ${d.signal}`;
  if (d.exitCode === 127) return "exit code 127 (command not found)";
  if (d.exitCode === 126) return "exit code 126 (not executable)";
  return `exit code ${d.exitCode ?? "unknown"}`;
}

/** A build step failed; wraps its cause and names the step. */
export class StepError extends Error {
  override readonly name = "StepError";
  constructor(
    readonly step: string,
    override readonly cause: unknown,
  ) {
    super(`step ${step} failed: ${cause instanceof Error ? cause.message : String(cause)}`);
  }
}

/** A check of the result (an image, a host requirement) that did not pass. */
export class VerificationError extends Error {
  override readonly name = "VerificationError";
  constructor(
    message: string,
    readonly hint?: string,
  ) {
    super(message);
  }
}

/** The user interrupted vmlive (SIGINT/SIGTERM). */
export class InterruptedError extends Error {
  override readonly name = "InterruptedError";
  constructor(readonly signal: "SIGINT" | "SIGTERM") {
    super(`interrupted by ${signal}`);
  }
}

/** Not a failure of vmlive: end with this exit code, silently (`vm shell -- cmd` passes the command's on). */
export class ExitWith extends Error {
  override readonly name = "ExitWith";
  constructor(readonly code: number) {
    super(`exit ${code}`);
  }
}
