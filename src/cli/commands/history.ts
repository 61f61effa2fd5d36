import { existsSync } from "node:fs";
import type { CommandModule } from "yargs";
import { UsageError } from "../../errors.js";
import { BUILD_STATUSES, type BuildStatus } from "../../history/build-folder.js";
import { columns, fmtDate } from "../../history/format.js";
import { historyFile, openHistory } from "../../history/open.js";
import { countBuilds, listBuilds, type HistoryRow } from "../../history/queries.js";
import { fmtSeconds } from "../../pipeline/runner.js";
import { humanBytes } from "../../steps/boot/machine-files.js";
import type { Io } from "../io.js";

interface Args {
  image?: string;
  suite?: string;
  arch?: string;
  status?: BuildStatus;
  limit: number;
  json: boolean;
  out: string;
}

export function historyCommand(io: Io): CommandModule<object, Args> {
  return {
    command: "history [image]",
    describe: "List the recorded builds, newest first: status, times, sizes, packages, boot test",
    builder: (y) =>
      y
        .positional("image", { type: "string", describe: "only builds of this image (its name)" })
        .option("suite", { type: "string", requiresArg: true, describe: "only builds for this Debian suite" })
        .option("arch", { type: "string", requiresArg: true, describe: "only builds for this architecture" })
        .option("status", {
          choices: BUILD_STATUSES,
          describe: "only builds that ended so",
        })
        .option("limit", {
          type: "number",
          default: 20,
          requiresArg: true,
          describe: "show at most this many builds (0: all)",
        })
        .option("json", {
          type: "boolean",
          default: false,
          describe: "print the rows as a JSON array (sizes in bytes, times in seconds)",
        })
        .option("out", {
          type: "string",
          default: "out",
          describe: "the output folder whose history.sqlite to read (the builds' --out)",
        })
        .example("$0 history", "the last 20 builds of every image")
        .example("$0 history live-minimal --status failed", "the failed builds of live-minimal")
        .example("$0 history --arch arm64 --limit 0", "every arm64 build")
        .example(
          "$0 history live-minimal --json --out /srv/iso",
          "as JSON, for builds made with --out /srv/iso",
        )
        .epilogue(
          "Every `vmlive build` records its build in OUT/history.sqlite when it ends, failed or not.\n" +
            "Columns: id (for vmlive diff), start date (UTC), image, suite, arch, status, build time,\n" +
            "ISO size, packages in the image, boot test (ways that booted), the build folder in OUT.",
        ) as never,
    handler: (a) => {
      if (!Number.isInteger(a.limit) || a.limit < 0)
        throw new UsageError(
          `--limit ${a.limit}: not a number of builds`,
          "write 0 (all) or more, e.g. --limit 50",
        );
      const file = historyFile(a.out);
      const filter = { image: a.image, suite: a.suite, arch: a.arch, status: a.status };
      let rows: HistoryRow[] = [];
      let total = 0;
      let any = false;
      if (existsSync(file)) {
        const db = openHistory(file);
        try {
          rows = listBuilds(db, { ...filter, limit: a.limit });
          total = countBuilds(db, filter);
          any = countBuilds(db, {}) > 0;
        } finally {
          db.close();
        }
      }
      if (a.json) {
        io.out(JSON.stringify(rows, null, 2));
        return;
      }
      if (!rows.length) {
        io.out(
          any
            ? `no builds in ${file} match ${describeFilter(filter)}; \`vmlive history --out ${a.out}\` lists them all`
            : `no builds recorded in ${file} yet: every \`vmlive build --out ${a.out}\` records its build there`,
        );
        return;
      }
      io.out(historyTable(rows));
      if (total > rows.length) io.out(`(the newest ${rows.length} of ${total}; --limit 0 shows all)`);
    },
  };
}

export function historyTable(rows: readonly HistoryRow[]): string {
  return columns([
    ["id", "date", "image", "suite", "arch", "status", "time", "ISO", "packages", "boot", "folder"],
    ...rows.map((r) => [
      String(r.id),
      fmtDate(r.started),
      r.image,
      r.suite,
      r.arch,
      r.status,
      fmtSeconds(r.seconds),
      r.isoBytes === null ? "-" : humanBytes(r.isoBytes),
      r.packages === null ? "-" : String(r.packages),
      r.boot ? `${r.boot.ok}/${r.boot.ways} ok` : "-",
      r.folder,
    ]),
  ]).join("\n");
}

function describeFilter(f: Record<string, string | undefined>): string {
  return Object.entries(f)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => (k === "image" ? v : `--${k} ${v}`))
    .join(" ");
}
