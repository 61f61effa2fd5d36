import type { CommandModule } from "yargs";
import type { Io } from "../io.js";

export function doctorCommand(_io: Io): CommandModule {
  return { command: "doctor", describe: "Check this host", handler: () => {} };
}
