// A Machine for fast step tests: records every call and answers from a
// script of handlers, first match wins. It keeps the real contract (CommandError
// on non-zero exit unless check is false, output to the sink line by line),
// which test/unit/machine/fake-contract.test.ts checks against the same suite
// the host and qemu backends pass.
import { CommandError } from "../../src/errors.js";
import type { CopyOptions, ExecOptions, ExecResult, Machine } from "../../src/machine/machine.js";

export interface Reply {
  exitCode?: number;
  stdout?: string;
  stderr?: string;
  signal?: string;
}

type Matcher = string | RegExp | ((argv: readonly string[]) => boolean);
type Handler = Reply | ((argv: readonly string[], opts: ExecOptions) => Reply | Promise<Reply>);

export interface Call {
  kind: "exec" | "upload" | "download";
  argv: readonly string[];
  /** exec: its options; upload and download: their CopyOptions (a part of ExecOptions). */
  opts?: ExecOptions;
}

export class FakeMachine implements Machine {
  readonly site = "vm" as const;
  readonly description = "fake machine";
  readonly calls: Call[] = [];
  disposed = false;
  private readonly rules: { match: Matcher; handler: Handler }[] = [];

  /** Answer commands matching `match` (a program name, a regexp over the joined argv, or a predicate). */
  on(match: Matcher, handler: Handler): this {
    this.rules.unshift({ match, handler });
    return this;
  }

  /** The joined argv of every exec so far, in order. */
  get commands(): string[] {
    return this.calls.filter((c) => c.kind === "exec").map((c) => c.argv.join(" "));
  }

  async exec(argv: readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
    this.calls.push({ kind: "exec", argv, opts });
    const rule = this.rules.find((r) => matches(r.match, argv));
    const reply = rule
      ? await (typeof rule.handler === "function" ? rule.handler(argv, opts) : rule.handler)
      : {};
    const result: ExecResult = {
      exitCode: reply.exitCode ?? 0,
      signal: reply.signal,
      stdout: reply.stdout ?? "",
      stderr: reply.stderr ?? "",
    };
    for (const [stream, text] of [
      ["stdout", result.stdout],
      ["stderr", result.stderr],
    ] as const)
      for (const line of text.split("\n").slice(0, text.endsWith("\n") ? -1 : undefined))
        if (text) opts.output?.line(stream, line);
    if ((opts.check ?? true) && result.exitCode !== 0)
      throw new CommandError(argv, "vm", {
        exitCode: result.exitCode,
        signal: result.signal,
        tail: result.stderr,
      });
    return result;
  }

  async upload(hostPath: string, machinePath: string, opts?: CopyOptions): Promise<void> {
    this.calls.push({ kind: "upload", argv: [hostPath, machinePath], ...(opts && { opts }) });
  }

  async download(machinePath: string, hostPath: string, opts?: CopyOptions): Promise<void> {
    this.calls.push({ kind: "download", argv: [machinePath, hostPath], ...(opts && { opts }) });
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.disposed = true;
  }
}

function matches(m: Matcher, argv: readonly string[]): boolean {
  if (typeof m === "string") return argv[0] === m;
  if (m instanceof RegExp) return m.test(argv.join(" "));
  return m(argv);
}
