import type { CommandModule } from "yargs";
import { VerificationError } from "../../errors.js";
import { cacheDir, workDir } from "../../host/dirs.js";
import { doctorSummary, formatDoctorLines, runDoctor } from "../../host/doctor.js";
import type { Io } from "../io.js";

interface Args {
  mirror: string;
  suite: string;
  json: boolean;
}

export function doctorCommand(io: Io): CommandModule<object, Args> {
  return {
    command: "doctor",
    describe: "Check this host: tools, firmware, binfmt, KVM, disk space, the mirror",
    builder: (y) =>
      y
        .option("mirror", {
          type: "string",
          default: "http://deb.debian.org/debian",
          requiresArg: true,
          describe: "Debian archive to ask",
        })
        .option("suite", {
          type: "string",
          default: "bookworm",
          requiresArg: true,
          describe: "suite to ask it for",
        })
        .option("json", { type: "boolean", default: false, describe: "print the lines as JSON" })
        .example("$0 doctor", "check everything against deb.debian.org")
        .example("$0 doctor --suite trixie", "ask the mirror for trixie")
        .example("$0 doctor --mirror http://mirror.lan/debian", "try another mirror")
        .example("$0 doctor --json", "for scripts: [{name, status, detail}, ...]")
        .epilogue(
          "Each line is ok, warn (works, but slower or limited) or FAIL (fix it before building).\n" +
            "Exit code 1 when any line is FAIL. ./setup installs every Debian package vmlive needs.",
        ) as never,
    handler: async (a) => {
      const lines = await runDoctor({
        mirror: a.mirror,
        suite: a.suite,
        cacheDir: cacheDir(),
        workDir: workDir(),
      });
      if (a.json) io.out(JSON.stringify(lines, null, 2));
      else {
        for (const l of formatDoctorLines(lines)) io.out(l);
        io.out("");
        io.out(doctorSummary(lines));
      }
      const failed = lines.filter((l) => l.status === "fail").map((l) => l.name);
      if (failed.length)
        throw new VerificationError(
          `this host is not ready: ${failed.join(", ")}`,
          "each FAIL line says what to do; ./setup installs the Debian packages vmlive needs",
        );
    },
  };
}
