import type { CommandModule } from "yargs";
import { cacheInfoLines, inspectCache } from "../../cache/inspect.js";
import { cachePaths } from "../../cache/paths.js";
import { withIdleCache } from "../../cache/proxy.js";
import { clearAll, listEntries, removeEntries, selectPrune, type PruneRule } from "../../cache/store.js";
import { parseSize } from "../../config/schema/common.js";
import { UsageError, VerificationError } from "../../errors.js";
import { humanBytes } from "../../steps/boot/machine-files.js";
import type { Io } from "../io.js";

/** Days a plain `vmlive cache prune` keeps unused files. */
export const DEFAULT_PRUNE_DAYS = 30;

interface ShowArgs {
  json: boolean;
}

interface PruneArgs {
  "older-than"?: number;
  "max-size"?: string;
  "dry-run": boolean;
}

/** The prune rule of the command line: at least one limit, --older-than 30 when none is given. */
export function pruneRule(a: { "older-than"?: number; "max-size"?: string }): PruneRule {
  const days = a["older-than"];
  if (days !== undefined && !(Number.isFinite(days) && days >= 0))
    throw new UsageError(
      `--older-than ${String(days)}: not a number of days`,
      "give the days a file may go unused, e.g. --older-than 30 (0 removes everything)",
    );
  let maxBytes: number | undefined;
  if (a["max-size"] !== undefined) {
    maxBytes = parseSize(a["max-size"]);
    if (maxBytes === undefined)
      throw new UsageError(
        `--max-size ${a["max-size"]}: not a size`,
        "write bytes or a size such as 500M, 10G, 1.5GiB",
      );
  }
  if (days === undefined && maxBytes === undefined) return { olderThanDays: DEFAULT_PRUNE_DAYS };
  return { olderThanDays: days, maxBytes };
}

/** A folder vmlive may not write (root's cache, looked at by a user): say whose it is. */
function notWritable(e: unknown, folder: string): never {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === "EACCES" || code === "EPERM")
    throw new VerificationError(
      `cannot change the package cache in ${folder}: permission denied`,
      "builds run as root keep it in root's cache folder: run the same command with sudo",
    );
  throw e;
}

export function cacheCommand(io: Io): CommandModule {
  const say = (m: string) => io.err(`vmlive: ${m}`);
  return {
    command: "cache",
    describe: "Show the shared package cache (size, packages, its proxy), prune it or clear it",
    builder: (y) =>
      y
        .option("json", { type: "boolean", default: false, describe: "print what it shows as JSON" })
        .command({
          command: "prune",
          describe: "Remove cached files not used lately, or the least recently used beyond a size",
          builder: (b) =>
            b
              .option("older-than", {
                type: "number",
                requiresArg: true,
                describe: `remove files no build fetched for DAYS days (default ${DEFAULT_PRUNE_DAYS} when no --max-size)`,
              })
              .option("max-size", {
                type: "string",
                requiresArg: true,
                describe:
                  "then remove the least recently used files until the cache holds at most SIZE (500M, 10G)",
              })
              .option("dry-run", {
                type: "boolean",
                default: false,
                describe: "only list what would be removed",
              })
              .example("$0 cache prune", `remove what no build used for ${DEFAULT_PRUNE_DAYS} days`)
              .example("$0 cache prune --older-than 7 --max-size 5G", "a week, then at most 5 GiB")
              .example("$0 cache prune --max-size 2G --dry-run", "what keeping 2 GiB would remove")
              .epilogue(
                "A file's last use is the later of its download and the last time the cache served it " +
                  "(from apt-cacher-ng's transfer log). Refused while a build uses the cache; a build " +
                  "that starts meanwhile waits for the prune.",
              ) as never,
          handler: async (a) => {
            const args = a as unknown as PruneArgs;
            const rule = pruneRule(args);
            const paths = cachePaths();
            const run = async () => {
              const entries = await listEntries(paths);
              const gone = selectPrune(entries, rule);
              const bytes = gone.reduce((n, e) => n + e.bytes, 0);
              const left = entries.reduce((n, e) => n + e.bytes, 0) - bytes;
              if (args["dry-run"]) {
                for (const e of gone)
                  io.out(
                    `${new Date(e.lastUsed).toISOString().slice(0, 10)}  ${humanBytes(e.bytes)}  ${e.path}`,
                  );
                io.out(
                  `would remove ${gone.length} of ${entries.length} files (${humanBytes(bytes)}); ${humanBytes(left)} would stay`,
                );
                return;
              }
              await removeEntries(paths, gone).catch((e: unknown) => notWritable(e, paths.files));
              const packages = gone.filter((e) => e.kind === "package").length;
              io.out(
                `removed ${gone.length} files (${packages} packages, ${humanBytes(bytes)}); the cache holds ${humanBytes(left)}`,
              );
            };
            // A dry run changes nothing: it needs neither the lock nor an idle cache.
            if (args["dry-run"]) await run();
            else await withIdleCache(run, { paths, say }).catch((e: unknown) => notWritable(e, paths.root));
          },
        })
        .command({
          command: "clear",
          describe: "Remove every cached file (the next build fetches everything from the mirror again)",
          builder: (b) =>
            b
              .example("$0 cache clear", "empty the cache")
              .epilogue(
                "Refused while a build uses the cache; a build that starts meanwhile waits.",
              ) as never,
          handler: async () => {
            const paths = cachePaths();
            let freed = 0;
            await withIdleCache(
              async () => {
                freed = (await listEntries(paths)).reduce((n, e) => n + e.bytes, 0);
                await clearAll(paths);
              },
              { paths, say },
            ).catch((e: unknown) => notWritable(e, paths.root));
            io.out(`cleared the package cache in ${paths.files} (${humanBytes(freed)})`);
          },
        })
        .example("$0 cache", "where the cache is, its size, packages, proxy and what it saved")
        .example("$0 cache --json", "the same for scripts")
        .example("$0 cache prune --older-than 14", "remove what no build used for two weeks")
        .example("$0 cache clear", "empty it")
        .epilogue(
          "Builds fetch Debian packages through one apt-cacher-ng on 127.0.0.1 (the builder VM reaches it " +
            "as 10.0.2.2), started by the first build and stopped when the last one ends; files live in " +
            "$VMLIVE_CACHE_DIR/packages or ~/.cache/vmlive/packages. Only http:// mirrors are cached: " +
            "https ones are fetched directly. vmlive build --no-cache, or VMLIVE_CACHE=off, bypasses it. " +
            "See docs/cache.md.",
        ) as never,
    handler: async (a) => {
      const args = a as unknown as ShowArgs;
      const info = await inspectCache();
      if (args.json) return io.out(JSON.stringify(info, null, 2));
      const lines = cacheInfoLines(info);
      const w = Math.max(...lines.map(([k]) => k.length));
      for (const [k, v] of lines) io.out(`${k.padEnd(w)}  ${v}`);
    },
  };
}
