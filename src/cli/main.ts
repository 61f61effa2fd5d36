// vmlive's entry point: the yargs command table and the one top-level catch.
import yargs from "yargs";
import { UsageError } from "../errors.js";
import { bootCommand } from "./commands/boot.js";
import { buildCommand } from "./commands/build.js";
import { cacheCommand } from "./commands/cache.js";
import { checkCommand } from "./commands/check.js";
import { ciCommand } from "./commands/ci.js";
import { configCommand } from "./commands/config.js";
import { diffCommand } from "./commands/diff.js";
import { doctorCommand } from "./commands/doctor.js";
import { historyCommand } from "./commands/history.js";
import { listCommand } from "./commands/list.js";
import { summaryCommand } from "./commands/summary.js";
import { usbCommand } from "./commands/usb.js";
import { vmCommand } from "./commands/vm.js";
import { interrupted } from "./interrupt.js";
import { processIo, type Io } from "./io.js";
import { reportError } from "./report-error.js";
import { VERSION } from "../version.js";

/** Run vmlive with these arguments; returns the exit code. Never calls process.exit. */
export async function main(argv: readonly string[], io: Io = processIo): Promise<number> {
  let helpShown = false;
  const parser = yargs()
    .scriptName("vmlive")
    // Words after `--` stay apart (a["--"]), for commands that pass them on.
    .parserConfiguration({ "populate--": true })
    .usage(
      "vmlive: build Debian live images inside a disposable, release-specific qemu VM\n\n" +
        "Usage: $0 <command> [options]",
    )
    .command(buildCommand(io))
    .command(bootCommand(io))
    .command(cacheCommand(io))
    .command(checkCommand(io))
    .command(listCommand(io))
    .command(configCommand(io))
    .command(doctorCommand(io))
    .command(vmCommand(io))
    .command(usbCommand(io))
    .command(ciCommand(io))
    .command(summaryCommand(io))
    .command(historyCommand(io))
    .command(diffCommand(io))
    .demandCommand(1, "name a command (see the list above)")
    .recommendCommands()
    .strict()
    .version(VERSION)
    .help()
    .alias("h", "help")
    .wrap(Math.min(110, process.stdout.columns ?? 100))
    .epilogue(
      "Exit codes: 0 success, 1 build or verification failure, 2 usage or config error, 130 interrupted.\n" +
        "Images live in ./images/NAME/image.yaml (or $VMLIVE_IMAGES); see docs/image-config.md.",
    )
    .exitProcess(false)
    .fail((msg, err) => {
      if (err) throw err;
      // yargs says only "Did you mean check?" for a mistyped command.
      const text = msg?.startsWith("Did you mean") ? `unknown command. ${msg}` : (msg ?? "invalid usage");
      throw new UsageError(text, "see `vmlive --help`");
    });
  parser.showHelpOnFail(false);
  try {
    await parser.parseAsync([...argv], {}, (_err, _argv, output) => {
      if (output) {
        helpShown = true;
        io.out(output);
      }
    });
    return 0;
  } catch (e) {
    if (helpShown && !(e instanceof Error)) return 0;
    // Whatever a command threw while being interrupted (a killed process, a
    // cancelled transfer), the user's interruption is the story to tell.
    const r = reportError(interrupted.aborted ? interrupted.reason : e);
    if (r.text) io.err(r.text);
    return r.exitCode;
  }
}
