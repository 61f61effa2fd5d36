// The build as JUnit XML (junit.xml in the output folder), the format every
// CI engine shows as test results: one test case per step and, after
// --boot-test, one per boot way. Failed steps and ways carry the error text.
import type { BuildReport } from "./report.js";

export const JUNIT_FILE = "junit.xml";

/** XML text and attribute values: the five special characters, and no control characters XML 1.0 forbids. */
export function xmlEscape(s: string): string {
  return (
    s
      // eslint-disable-next-line no-control-regex
      .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, "")
      .replace(/&/g, "&amp;")
      .replace(/</g, "&lt;")
      .replace(/>/g, "&gt;")
      .replace(/"/g, "&quot;")
      .replace(/'/g, "&apos;")
  );
}

interface Case {
  name: string;
  seconds: number;
  failure?: string;
}

function suite(name: string, classname: string, timestamp: string, cases: readonly Case[]): string {
  const failures = cases.filter((c) => c.failure !== undefined).length;
  const time = cases.reduce((a, c) => a + c.seconds, 0);
  const body = cases.map((c) => {
    const open = `    <testcase classname="${xmlEscape(classname)}" name="${xmlEscape(c.name)}" time="${c.seconds.toFixed(3)}"`;
    if (c.failure === undefined) return `${open}/>`;
    const first = c.failure.split("\n")[0] ?? "";
    return `${open}>\n      <failure message="${xmlEscape(first)}">${xmlEscape(c.failure)}</failure>\n    </testcase>`;
  });
  return [
    `  <testsuite name="${xmlEscape(name)}" tests="${cases.length}" failures="${failures}" errors="0" skipped="0" time="${time.toFixed(3)}" timestamp="${xmlEscape(timestamp)}">`,
    ...body,
    "  </testsuite>",
  ].join("\n");
}

export function junitXml(r: BuildReport): string {
  const id = `${r.image}-${r.suite}-${r.arch}`;
  const steps: Case[] = r.steps.map((s) => ({
    name: s.step,
    seconds: s.seconds,
    ...(!s.ok && { failure: r.error ?? `step ${s.step} failed` }),
  }));
  // A build that stopped before any step ran (bad machine, interrupted) is still a failure to show.
  if (r.status !== "success" && steps.every((s) => s.failure === undefined))
    steps.push({ name: "build", seconds: r.seconds, failure: r.error ?? r.status });
  const suites = [suite(`build ${id}`, `vmlive.build.${id}`, r.started, steps)];
  if (r.bootTest)
    suites.push(
      suite(
        `boot ${id}`,
        `vmlive.boot.${id}`,
        r.finished,
        r.bootTest.ways.map((w) => ({
          name: w.way,
          seconds: w.seconds,
          ...(!w.ok && { failure: w.reason ?? `did not boot as ${w.way}` }),
        })),
      ),
    );
  return `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites name="vmlive ${xmlEscape(id)}">\n${suites.join("\n")}\n</testsuites>\n`;
}
