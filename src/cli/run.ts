// The executable's body: run main() and exit with its code. The first SIGINT
// or SIGTERM interrupts cleanly (see interrupt.ts); a second one exits now.
import { ExitCode } from "../errors.js";
import { interrupt } from "./interrupt.js";
import { main } from "./main.js";

for (const sig of ["SIGINT", "SIGTERM"] as const)
  process.on(sig, () => {
    if (interrupt(sig))
      process.stderr.write(`\nvmlive: ${sig}: stopping and cleaning up (again to quit at once)\n`);
    else process.exit(sig === "SIGINT" ? ExitCode.interrupted : ExitCode.terminated);
  });

process.exitCode = await main(process.argv.slice(2));
