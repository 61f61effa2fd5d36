// The one place errors become text and exit codes.
import {
  CommandError,
  ConfigError,
  ExitWith,
  ExitCode,
  InterruptedError,
  StepError,
  UsageError,
  VerificationError,
} from "../errors.js";

export interface Reported {
  text: string;
  exitCode: number;
}

export function reportError(err: unknown): Reported {
  if (err instanceof ExitWith) return { text: "", exitCode: err.code };
  if (err instanceof ConfigError) {
    const n = err.problems.length;
    return {
      text: `${err.message}\nvmlive: ${n} problem${n === 1 ? "" : "s"} in the image config; nothing was built.`,
      exitCode: ExitCode.usage,
    };
  }
  if (err instanceof UsageError)
    return {
      text: `vmlive: ${err.message}${err.hint ? `\n  hint: ${err.hint}` : ""}`,
      exitCode: ExitCode.usage,
    };
  if (err instanceof InterruptedError)
    return {
      text: `vmlive: ${err.message}; stopped what was running and cleaned up`,
      exitCode: err.signal === "SIGTERM" ? ExitCode.terminated : ExitCode.interrupted,
    };
  if (err instanceof StepError) {
    const inner = reportError(err.cause);
    return {
      text: `vmlive: step ${err.step} failed\n${inner.text}`,
      exitCode: err.cause instanceof InterruptedError ? inner.exitCode : ExitCode.failure,
    };
  }
  if (err instanceof CommandError) {
    const d = err.detail;
    const lines = [`vmlive: command failed (${err.site}): ${err.message.slice(err.site.length + 2)}`];
    if (d.tail) lines.push(d.tail.replace(/^/gm, "  | "));
    if (d.logPath) lines.push(`  full log: ${d.logPath}`);
    return { text: lines.join("\n"), exitCode: ExitCode.failure };
  }
  if (err instanceof VerificationError)
    return {
      text: `vmlive: ${err.message}${err.hint ? `\n  hint: ${err.hint}` : ""}`,
      exitCode: ExitCode.failure,
    };
  const stack = err instanceof Error ? (err.stack ?? err.message) : String(err);
  return {
    text: `vmlive: internal error (a bug in vmlive; please report it with this text):\n${stack}`,
    exitCode: ExitCode.failure,
  };
}
