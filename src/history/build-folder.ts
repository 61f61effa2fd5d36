// What the history keeps of one build, read from its finished folder: the
// report.json and manifest.tsv every build writes there, and nothing of the
// build's internals, so any folder vmlive wrote can be recorded or compared.
import { readFile } from "node:fs/promises";
import path from "node:path";
import { z } from "zod";
import { VerificationError } from "../errors.js";

export const REPORT_FILE = "report.json";
export const MANIFEST_FILE = "manifest.tsv";

export interface PackageRow {
  name: string;
  version: string;
  arch: string;
}

export interface StepRow {
  step: string;
  seconds: number;
  ok: boolean;
}

export interface ArtifactRow {
  name: string;
  bytes: number;
  sha256: string;
}

export interface BootRow {
  way: string;
  ok: boolean;
  seconds: number;
}

export const BUILD_STATUSES = ["success", "failed", "interrupted"] as const;
export type BuildStatus = (typeof BUILD_STATUSES)[number];

/** One build as the history and the diff see it. */
export interface BuildRecord {
  /** The build folder: as given when read from disk, relative to the output folder when from the history. */
  folder: string;
  image: string;
  suite: string;
  arch: string;
  status: BuildStatus;
  error?: string;
  /** ISO 8601, UTC. */
  started: string;
  finished: string;
  seconds: number;
  vmlive?: string;
  machine?: string;
  kernelVersion?: string;
  isoBytes?: number;
  squashfsBytes?: number;
  /** Packages in the image; unknown when the build stopped before it had any. */
  packageCount?: number;
  steps: StepRow[];
  artifacts: ArtifactRow[];
  /** manifest.tsv, sorted by name and architecture; undefined when the folder has none. */
  packages?: PackageRow[];
  /** The boot test's ways; undefined when the ISO was not boot-tested. */
  boots?: BootRow[];
  tools: Record<string, string>;
  config?: unknown;
}

const count = z.number().int().nonnegative();
const reportSchema = z.object({
  vmlive: z.string().optional(),
  image: z.string().min(1),
  suite: z.string().min(1),
  arch: z.string().min(1),
  status: z.enum(BUILD_STATUSES),
  error: z.string().optional(),
  started: z.iso.datetime({ offset: true }),
  finished: z.iso.datetime({ offset: true }),
  seconds: z.number().nonnegative(),
  machine: z.string().optional(),
  kernelVersion: z.string().optional(),
  squashfs: z.object({ bytes: count }).optional(),
  iso: z.object({ bytes: count }).optional(),
  steps: z.array(z.object({ step: z.string(), seconds: z.number(), ok: z.boolean() })).default([]),
  artifacts: z.array(z.object({ name: z.string(), bytes: count, sha256: z.string() })).default([]),
  packages: count.optional(),
  tools: z.record(z.string(), z.string()).default({}),
  config: z.unknown().optional(),
  bootTest: z
    .object({ ways: z.array(z.object({ way: z.string(), ok: z.boolean(), seconds: z.number() })) })
    .optional(),
});

/** Read a build folder's report.json and (when there is one) manifest.tsv. */
export async function readBuildFolder(dir: string): Promise<BuildRecord> {
  const reportFile = path.join(dir, REPORT_FILE);
  const text = await readFile(reportFile, "utf8").catch((e: NodeJS.ErrnoException) => {
    throw new VerificationError(
      `${reportFile}: cannot read the build report: ${e.code === "ENOENT" ? "no such file" : e.message}`,
      "name a folder that vmlive build wrote (out/IMAGE-SUITE-ARCH-DATE)",
    );
  });
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new VerificationError(`${reportFile}: not JSON: ${(e as Error).message}`);
  }
  const parsed = reportSchema.safeParse(json);
  if (!parsed.success)
    throw new VerificationError(
      `${reportFile}: not a vmlive build report:\n` +
        parsed.error.issues.map((i) => `  ${i.path.join(".") || "(top)"}: ${i.message}`).join("\n"),
    );
  const r = parsed.data;
  const packages = await readManifest(path.join(dir, MANIFEST_FILE));
  return {
    folder: dir,
    image: r.image,
    suite: r.suite,
    arch: r.arch,
    status: r.status,
    error: r.error,
    started: new Date(r.started).toISOString(),
    finished: new Date(r.finished).toISOString(),
    seconds: r.seconds,
    vmlive: r.vmlive,
    machine: r.machine,
    kernelVersion: r.kernelVersion,
    isoBytes: r.iso?.bytes ?? r.artifacts.find((a) => a.name.endsWith(".iso"))?.bytes,
    squashfsBytes: r.squashfs?.bytes,
    // A build that failed after customize knows its count but never collected the manifest.
    packageCount: packages?.length ?? (r.packages ? r.packages : undefined),
    steps: r.steps,
    artifacts: r.artifacts,
    packages,
    boots: r.bootTest?.ways.map((w) => ({ way: w.way, ok: w.ok, seconds: w.seconds })),
    tools: r.tools,
    config: r.config,
  };
}

/** manifest.tsv: package<TAB>version<TAB>arch per line; undefined when the file does not exist. */
export async function readManifest(file: string): Promise<PackageRow[] | undefined> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw e;
  }
  return parseManifestTsv(text, file);
}

export function parseManifestTsv(text: string, file: string): PackageRow[] {
  const rows: PackageRow[] = [];
  const seen = new Set<string>();
  text.split("\n").forEach((line, i) => {
    if (!line.trim()) return;
    const f = line.split("\t");
    if (f.length !== 3 || f.some((x) => !x))
      throw new VerificationError(
        `${file}:${i + 1}: expected package<TAB>version<TAB>architecture, got ${JSON.stringify(line.slice(0, 120))}`,
      );
    const [name, version, arch] = f as [string, string, string];
    const key = `${name}:${arch}`;
    if (seen.has(key)) throw new VerificationError(`${file}:${i + 1}: ${key} is listed twice`);
    seen.add(key);
    rows.push({ name, version, arch });
  });
  return rows.sort(byNameArch);
}

export function byNameArch(a: PackageRow, b: PackageRow): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : a.arch < b.arch ? -1 : a.arch > b.arch ? 1 : 0;
}
