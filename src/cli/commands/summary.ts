import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import type { CommandModule } from "yargs";
import { VerificationError } from "../../errors.js";
import {
  failureCount,
  gatherBuilds,
  gatheredMarkdown,
  mergedJunit,
  outcome,
  parseExpected,
} from "../../report/gather.js";
import type { Io } from "../io.js";

interface Args {
  dirs: string[];
  junit?: string;
  fail: boolean;
  expect?: string[];
}

export function summaryCommand(io: Io): CommandModule<object, Args> {
  return {
    command: "summary <dirs...>",
    describe: "One Markdown report of many builds: a table of all, then each failure; exit 1 if any failed",
    builder: (y) =>
      y
        .positional("dirs", {
          type: "string",
          array: true,
          demandOption: true,
          describe: "build folders, or folders holding them at any depth (e.g. downloaded CI artifacts)",
        })
        .option("junit", {
          type: "string",
          requiresArg: true,
          describe: "also write all builds' test suites into this one junit.xml",
        })
        .option("fail", {
          type: "boolean",
          default: true,
          describe:
            "exit 1 when a build failed, did not boot or has no readable report.json (--no-fail: exit 0)",
        })
        .option("expect", {
          type: "string",
          array: true,
          requiresArg: true,
          describe:
            "IMAGE:ARCH that must have a build folder; one that has none counts as failed (repeatable)",
        })
        .example("$0 summary out", "every build under ./out")
        .example(
          '$0 summary builds --junit junit.xml >> "$GITHUB_STEP_SUMMARY"',
          "in CI, after downloading the artifacts",
        )
        .example("$0 summary out --no-fail", "report, but exit 0 whatever happened")
        .example(
          "$0 summary builds --expect live-minimal:amd64 --expect trixie-arm64:arm64",
          "a missing build fails too",
        ) as never,
    handler: async (a) => {
      const g = gatherBuilds(a.dirs, parseExpected(a.expect ?? []));
      io.out(gatheredMarkdown(g));
      if (a.junit) {
        await mkdir(path.dirname(path.resolve(a.junit)), { recursive: true });
        await writeFile(a.junit, mergedJunit(g));
      }
      const failed = failureCount(g);
      if (!a.fail) return;
      if (!g.builds.length && !g.missing.length)
        throw new VerificationError(
          `no build folders under ${a.dirs.join(", ")}`,
          "a build folder holds report.json; vmlive build writes one per build into --out",
        );
      if (failed) {
        const names = [
          ...g.builds.filter((b) => outcome(b) !== "ok").map((b) => `${b.image} ${b.arch}`),
          ...g.missing.map((m) => `${m.image} ${m.arch}`),
        ];
        throw new VerificationError(
          `${failed} of ${g.builds.length + g.missing.length} builds failed: ${names.join(", ")}`,
          "the summary above says why, and each build folder has its logs",
        );
      }
    },
  };
}
