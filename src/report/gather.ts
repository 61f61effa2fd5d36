// Many builds as one report: every build folder under the folders given
// (CI artifact downloads nest them), read from its report.json, shown as one
// Markdown table and each failure's details, and merged into one junit.xml.
// A folder whose report.json is missing or broken is a failed build, named.
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { z } from "zod";
import { SUITES, ARCHES } from "../config/schema/system.js";
import { UsageError } from "../errors.js";
import { fmtSeconds } from "../pipeline/runner.js";
import { humanBytes } from "../steps/boot/machine-files.js";
import { junitXml, xmlEscape } from "./junit.js";
import type { BuildReport } from "./report.js";
import { cell } from "./summary.js";

export const REPORT_FILE = "report.json";

/** A build folder's name: IMAGE-SUITE-ARCH-YYYYMMDD-HHMMSS, with .failed after a failed build. */
const FOLDER_NAME = new RegExp(
  `^(?<image>.+)-(?<suite>${SUITES.join("|")})-(?<arch>${ARCHES.join("|")})-\\d{8}-\\d{6}(?:\\.failed)?$`,
);

/** The fields of report.json that this report reads; the rest is kept as it is. */
const reportSchema = z.looseObject({
  image: z.string(),
  suite: z.string(),
  arch: z.string(),
  status: z.enum(["success", "failed", "interrupted"]),
  error: z.string().optional(),
  started: z.string(),
  finished: z.string().default(""),
  seconds: z.number(),
  steps: z.array(z.looseObject({ step: z.string(), seconds: z.number(), ok: z.boolean() })),
  artifacts: z.array(z.looseObject({ name: z.string(), bytes: z.number() })).default([]),
  bootTest: z
    .looseObject({
      ok: z.boolean(),
      ways: z.array(
        z.looseObject({
          way: z.string(),
          ok: z.boolean(),
          seconds: z.number(),
          reason: z.string().optional(),
        }),
      ),
    })
    .optional(),
});

export interface GatheredBuild {
  /** The build folder, as the user should see it. */
  dir: string;
  image: string;
  suite: string;
  arch: string;
  /** The report, when report.json could be read. */
  report?: BuildReport;
  /** Why report.json could not be read. */
  problem?: string;
}

export interface Gathered {
  builds: GatheredBuild[];
  /** Expected IMAGE:ARCH pairs that have no build folder at all. */
  missing: { image: string; arch: string }[];
  /** The folders searched, as given. */
  roots: string[];
}

/** Is this a build folder? It has a report.json, or at least the name of one. */
function isBuildDir(dir: string): boolean {
  return existsSync(path.join(dir, REPORT_FILE)) || FOLDER_NAME.test(path.basename(dir));
}

/** Every build folder at or below `root`, sorted. Dot folders (builds still running, .git) are not entered. */
export function findBuildDirs(root: string): string[] {
  if (isBuildDir(root)) return [root];
  const found: string[] = [];
  for (const d of readdirSync(root, { withFileTypes: true }))
    if (d.isDirectory() && !d.name.startsWith(".")) found.push(...findBuildDirs(path.join(root, d.name)));
  return found.sort();
}

/** One build folder's report, or what is wrong with it. */
export function readBuild(dir: string): GatheredBuild {
  const fromName = FOLDER_NAME.exec(path.basename(dir))?.groups;
  const named = {
    dir,
    image: fromName?.image ?? path.basename(dir),
    suite: fromName?.suite ?? "?",
    arch: fromName?.arch ?? "?",
  };
  const file = path.join(dir, REPORT_FILE);
  if (!existsSync(file)) return { ...named, problem: `no ${REPORT_FILE} in the build folder` };
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, "utf8"));
  } catch (e) {
    return { ...named, problem: `${REPORT_FILE} is not valid JSON: ${(e as Error).message}` };
  }
  const r = reportSchema.safeParse(json);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    return { ...named, problem: `${REPORT_FILE}: ${issue.path.join(".") || "(top)"}: ${issue.message}` };
  }
  // Checked above for every field this report and junitXml() read.
  const report = r.data as unknown as BuildReport;
  return { dir, image: report.image, suite: report.suite, arch: report.arch, report };
}

/** `IMAGE:ARCH`, as --expect takes it. */
export function parseExpected(values: readonly string[]): { image: string; arch: string }[] {
  return values
    .flatMap((v) => v.split(","))
    .map((v) => {
      const m = /^([A-Za-z0-9][A-Za-z0-9._-]*):([a-z0-9]+)$/.exec(v.trim());
      if (!m || !(ARCHES as readonly string[]).includes(m[2]!))
        throw new UsageError(
          `--expect ${v}: not IMAGE:ARCH`,
          `for example live-minimal:amd64 (arches: ${ARCHES.join(", ")})`,
        );
      return { image: m[1]!, arch: m[2]! };
    });
}

/** Read every build below the roots; `expected` pairs without any folder are listed as missing. */
export function gatherBuilds(
  roots: readonly string[],
  expected: readonly { image: string; arch: string }[] = [],
): Gathered {
  const dirs: string[] = [];
  for (const root of roots) {
    if (!existsSync(root))
      throw new UsageError(`${root} does not exist`, "give build folders, or folders that hold them");
    // A report.json named directly stands for its folder.
    const dir = statSync(root).isDirectory() ? root : path.dirname(root);
    for (const d of findBuildDirs(dir)) if (!dirs.includes(d)) dirs.push(d);
  }
  const builds = dirs.map(readBuild);
  const missing = expected.filter(
    (x, i) =>
      expected.findIndex((y) => y.image === x.image && y.arch === x.arch) === i &&
      !builds.some((b) => b.image === x.image && b.arch === x.arch),
  );
  return { builds, missing, roots: [...roots] };
}

export type BuildOutcome = "ok" | "failed" | "boot failed" | "interrupted" | "unreadable";

export function outcome(b: GatheredBuild): BuildOutcome {
  if (!b.report) return "unreadable";
  if (b.report.status === "interrupted") return "interrupted";
  if (b.report.status !== "success") return "failed";
  return b.report.bootTest && !b.report.bootTest.ok ? "boot failed" : "ok";
}

/** Builds that did not pass, and expected builds that never left a folder. */
export function failureCount(g: Gathered): number {
  return g.builds.filter((b) => outcome(b) !== "ok").length + g.missing.length;
}

const STATUS_TEXT: Record<BuildOutcome, string> = {
  ok: "ok",
  failed: "FAILED",
  "boot failed": "built, boot FAILED",
  interrupted: "interrupted",
  unreadable: "no report",
};

/** A fenced block that text holding backticks cannot close early. */
function fenced(text: string): string[] {
  const longest = Math.max(2, ...[...text.matchAll(/`+/g)].map((m) => m[0].length));
  const fence = "`".repeat(longest + 1);
  return [`${fence}text`, text.trimEnd(), fence];
}

function row(b: GatheredBuild): string[] {
  const r = b.report;
  const iso = r?.artifacts?.find((a) => a.name.endsWith(".iso"));
  const boot = r?.bootTest ? `${r.bootTest.ways.filter((w) => w.ok).length}/${r.bootTest.ways.length}` : "-";
  return [
    b.image,
    b.suite,
    b.arch,
    STATUS_TEXT[outcome(b)],
    r ? fmtSeconds(r.seconds) : "-",
    iso ? humanBytes(iso.bytes) : "-",
    boot,
  ];
}

/** What a person needs about one build that did not pass. */
function failureDetails(b: GatheredBuild): string[] {
  const lines = [
    `### ${b.image} ${b.suite} ${b.arch}: ${STATUS_TEXT[outcome(b)]}`,
    "",
    `Folder: \`${b.dir}\``,
    "",
  ];
  const r = b.report;
  if (!r) return [...lines, `${b.problem}.`, ""];
  const failedStep = r.steps.find((s) => !s.ok);
  if (failedStep)
    lines.push(
      `Step **${failedStep.step}** failed after ${fmtSeconds(failedStep.seconds)}; ` +
        `the full log is \`${path.join(b.dir, "logs", "build.log")}\`.`,
      "",
    );
  if (r.error) lines.push(...fenced(r.error), "");
  for (const w of r.bootTest?.ways ?? [])
    if (!w.ok)
      lines.push(`- boot **${w.way}** failed: ${cell(w.reason?.split("\n")[0] ?? "no reason recorded")}`);
  if (r.bootTest && !r.bootTest.ok)
    lines.push("", `Serial logs and screenshots: \`${path.join(b.dir, "boot")}\`.`, "");
  return lines;
}

/** The Markdown report: the counts, a table of every build, then the details of each failure. */
export function gatheredMarkdown(g: Gathered): string {
  const failed = failureCount(g);
  const total = g.builds.length + g.missing.length;
  const lines = [
    `## vmlive: ${total} build${total === 1 ? "" : "s"}, ${total - failed} ok, ${failed} failed`,
    "",
  ];
  if (!total) return [...lines, `No build folders under ${g.roots.join(", ")}.`, ""].join("\n");
  const head = ["image", "suite", "arch", "status", "time", "ISO size", "boot ok"];
  const rows = [
    ...g.builds.map(row),
    ...g.missing.map((m) => [m.image, "-", m.arch, "no build folder", "-", "-", "-"]),
  ];
  lines.push(
    `| ${head.join(" | ")} |`,
    `| ${head.map(() => "---").join(" | ")} |`,
    ...rows.map((r) => `| ${r.map(cell).join(" | ")} |`),
    "",
  );
  const bad = g.builds.filter((b) => outcome(b) !== "ok");
  if (bad.length || g.missing.length) lines.push("## Failures", "");
  for (const b of bad) lines.push(...failureDetails(b));
  for (const m of g.missing)
    lines.push(
      `### ${m.image} ${m.arch}: no build folder`,
      "",
      "Its job left nothing to gather: it stopped before the build began (see the job's log).",
      "",
    );
  return lines.join("\n");
}

/** A test suite of one failing case, for a build that has no readable report. */
function failingSuite(name: string, caseName: string, message: string): string {
  const m = xmlEscape(message);
  return [
    `  <testsuite name="${xmlEscape(name)}" tests="1" failures="1" errors="0" skipped="0" time="0.000">`,
    `    <testcase classname="vmlive.build.${xmlEscape(name)}" name="${xmlEscape(caseName)}" time="0.000">`,
    `      <failure message="${m}">${m}</failure>`,
    "    </testcase>",
    "  </testsuite>",
  ].join("\n");
}

/** The test suites of one build's junit.xml (a build suite, and a boot suite after --boot-test). */
function suitesOf(r: BuildReport): string {
  const xml = junitXml(r);
  return xml.slice(xml.indexOf("<testsuite "), xml.lastIndexOf("</testsuites>")).trimEnd();
}

/** Every build's test suites in one junit.xml, for CI engines that show one test report per pipeline. */
export function mergedJunit(g: Gathered): string {
  const suites = [
    ...g.builds.map((b) =>
      b.report
        ? suitesOf(b.report)
        : failingSuite(`build ${b.image}-${b.suite}-${b.arch}`, REPORT_FILE, `${b.dir}: ${b.problem}`),
    ),
    ...g.missing.map((m) =>
      failingSuite(`build ${m.image}-${m.arch}`, "build folder", `no build folder for ${m.image} ${m.arch}`),
    ),
  ];
  return `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites name="vmlive">\n${suites.join("\n")}\n</testsuites>\n`;
}
