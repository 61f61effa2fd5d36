import { existsSync } from "node:fs";
import type { CommandModule } from "yargs";
import { UsageError, VerificationError } from "../../errors.js";
import { checkThresholds, diffBuilds, type Thresholds } from "../../history/diff.js";
import { diffText } from "../../history/diff-text.js";
import { historyFile, openHistory } from "../../history/open.js";
import { resolveDiff } from "../../history/resolve.js";
import type { Io } from "../io.js";

interface Args {
  a?: string;
  b?: string;
  out: string;
  json: boolean;
  "max-iso-growth"?: number;
  "max-boot-slowdown"?: number;
  "fail-on-removed": boolean;
  "fail-on-downgraded": boolean;
}

export function diffCommand(io: Io): CommandModule<object, Args> {
  return {
    command: "diff [a] [b]",
    describe: "Compare two builds: packages added, removed, up- and downgraded, sizes, boot and step times",
    builder: (y) =>
      y
        .positional("a", {
          type: "string",
          describe:
            "the older build: an id from `vmlive history`, a build folder, or an image name (its latest successful build)",
        })
        .positional("b", {
          type: "string",
          describe:
            "the newer build (an id, a folder or an image name); without it, A against the build before it",
        })
        .option("out", {
          type: "string",
          default: "out",
          describe: "the output folder whose history.sqlite to read (the builds' --out)",
        })
        .option("json", { type: "boolean", default: false, describe: "print the comparison as JSON" })
        .option("max-iso-growth", {
          type: "number",
          requiresArg: true,
          describe: "fail (exit 1) when the ISO grew by more than PCT percent",
        })
        .option("max-boot-slowdown", {
          type: "number",
          requiresArg: true,
          describe: "fail when any boot way took more than PCT percent longer, or no longer boots",
        })
        .option("fail-on-removed", {
          type: "boolean",
          default: false,
          describe: "fail when a package of the older build is missing from the newer one",
        })
        .option("fail-on-downgraded", {
          type: "boolean",
          default: false,
          describe: "fail when a package has a lower version (Debian ordering) in the newer build",
        })
        .example("$0 diff", "the latest two successful builds, when the history has a single image")
        .example("$0 diff live-minimal", "its latest successful build against the successful one before")
        .example("$0 diff 7", "build 7 against the build before it of the same image, suite and arch")
        .example("$0 diff 5 7 --json", "build 5 against build 7, as JSON")
        .example(
          "$0 diff ~/old-build live-minimal",
          "a build folder (recorded or not) against live-minimal's latest",
        )
        .example(
          "$0 diff live-minimal --max-iso-growth 5 --max-boot-slowdown 20 --fail-on-removed",
          "in CI: exit 1 when the new build got bigger, slower to boot, or lost a package",
        )
        .epilogue(
          "A build is an id, a build folder (recorded or not) or an image name (its latest successful\n" +
            "build). With one image name, its latest successful build is compared with the successful\n" +
            "one before it of the same suite and arch; with one id or folder, that build with the build\n" +
            "before it; with none, the history must hold a single image.\n" +
            "Versions are compared by Debian's rules (1:2.0 > 3.0, 2.0~rc1 < 2.0 < 2.0+deb12u1).\n" +
            "Thresholds are percentages of the older build's value; a threshold that cannot be checked\n" +
            "(no ISO, no boot test, no package list) fails too. Exit codes: 0 no threshold crossed,\n" +
            "1 a threshold crossed (each is named with the measured value), 2 usage error.",
        ) as never,
    handler: async (a) => {
      const thresholds: Thresholds = {
        maxIsoGrowth: percentArg("max-iso-growth", a["max-iso-growth"]),
        maxBootSlowdown: percentArg("max-boot-slowdown", a["max-boot-slowdown"]),
        failOnRemoved: a["fail-on-removed"],
        failOnDowngraded: a["fail-on-downgraded"],
      };
      const file = historyFile(a.out);
      const db = existsSync(file) ? openHistory(file) : undefined;
      try {
        const [from, to] = await resolveDiff({ db, file }, a.a, a.b);
        const d = diffBuilds(from, to);
        const regressions = checkThresholds(d, thresholds);
        io.out(a.json ? JSON.stringify({ ...d, regressions }, null, 2) : diffText(d));
        if (regressions.length)
          throw new VerificationError(
            `${d.to.label} crosses ${regressions.length === 1 ? "a threshold" : `${regressions.length} thresholds`} against ${d.from.label}:\n` +
              regressions.map((r) => `  ${r.message}`).join("\n"),
          );
      } finally {
        db?.close();
      }
    },
  };
}

function percentArg(flag: string, v: number | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (!Number.isFinite(v) || v < 0)
    throw new UsageError(
      `--${flag} ${v}: not a percentage`,
      `write a number of percent, 0 or more, e.g. --${flag} 5`,
    );
  return v;
}
