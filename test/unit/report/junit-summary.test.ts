// junit.xml and summary.md from a build report: the XML is read back with a
// real XML parser, the Markdown checked for its tables and failure text.
import { XMLParser, XMLValidator } from "fast-xml-parser";
import { describe, expect, it } from "vitest";
import { junitXml, xmlEscape } from "../../../src/report/junit.js";
import type { BuildReport } from "../../../src/report/report.js";
import { summaryMarkdown } from "../../../src/report/summary.js";

function report(over: Partial<BuildReport> = {}): BuildReport {
  return {
    vmlive: "0.1.0",
    image: "live-minimal",
    suite: "bookworm",
    arch: "amd64",
    status: "success",
    started: "2026-12-01T07:17:18.321Z",
    finished: "2026-12-01T07:22:09.609Z",
    seconds: 291.3,
    machine: "host: ci (2 cpu)",
    sourceDateEpoch: 1796109438,
    steps: [
      { step: "bootstrap", seconds: 39.4, ok: true },
      { step: "customize", seconds: 119.1, ok: true },
    ],
    tools: {},
    hooks: [],
    artifacts: [{ name: "live-minimal-bookworm-amd64.iso", bytes: 245_366_784, sha256: "ab".repeat(32) }],
    packages: 168,
    config: {} as BuildReport["config"],
    ...over,
  };
}

const parse = (xml: string) =>
  new XMLParser({
    ignoreAttributes: false,
    attributeNamePrefix: "",
    isArray: (n) => n === "testcase" || n === "testsuite",
  }).parse(xml);

describe("junitXml", () => {
  it("is valid XML with one test case per step, and per boot way after a boot test", () => {
    const xml = junitXml(
      report({
        bootTest: {
          ok: false,
          report: "boot/boot-report.json",
          ways: [
            { way: "cd-bios", ok: true, seconds: 66, screenshots: [], commands: [] },
            {
              way: "usb-uefi",
              ok: false,
              seconds: 600,
              screenshots: [],
              commands: [],
              reason: "no login: <after> 600 s",
            },
          ],
        },
      }),
    );
    expect(XMLValidator.validate(xml)).toBe(true);
    const doc = parse(xml);
    const [build, boot] = doc.testsuites.testsuite;
    expect(build.name).toBe("build live-minimal-bookworm-amd64");
    expect(build.tests).toBe("2");
    expect(build.failures).toBe("0");
    expect(build.testcase.map((c: { name: string }) => c.name)).toEqual(["bootstrap", "customize"]);
    expect(build.testcase[0].time).toBe("39.400");
    expect(boot.failures).toBe("1");
    expect(boot.testcase[1].failure.message).toBe("no login: <after> 600 s");
  });

  it("puts the error on the failed step, and a build that failed before any step still fails", () => {
    const failed = parse(
      junitXml(
        report({
          status: "failed",
          error: 'step squash failed: squashfs is 4 KiB & "tiny"\nsecond line',
          steps: [
            { step: "bootstrap", seconds: 1, ok: true },
            { step: "squash", seconds: 2, ok: false },
          ],
        }),
      ),
    );
    const squash = failed.testsuites.testsuite[0].testcase[1];
    expect(squash.failure.message).toBe('step squash failed: squashfs is 4 KiB & "tiny"');
    expect(squash.failure["#text"]).toContain("second line");

    const early = parse(junitXml(report({ status: "failed", error: "no builder VM for woody", steps: [] })));
    expect(early.testsuites.testsuite[0].failures).toBe("1");
    expect(early.testsuites.testsuite[0].testcase[0].failure.message).toBe("no builder VM for woody");
  });

  it("escapes markup and drops control characters XML cannot hold", () => {
    expect(xmlEscape(`a<b>&"c'\u0001\u001b[31m`)).toBe("a&lt;b&gt;&amp;&quot;c&apos;[31m");
    expect(XMLValidator.validate(junitXml(report({ status: "failed", error: "\u001b[31mred\u0007" })))).toBe(
      true,
    );
  });
});

describe("summaryMarkdown", () => {
  it("says what was built, each step's time, the artifacts and how it booted", () => {
    const md = summaryMarkdown(
      report({
        bootTest: {
          ok: true,
          report: "boot/boot-report.json",
          ways: [
            {
              way: "cd-bios",
              ok: true,
              seconds: 66,
              screenshots: [],
              commands: [{ command: "true", exitCode: 0 }],
            },
          ],
        },
      }),
    );
    expect(md).toMatch(/^## Built: live-minimal bookworm amd64, boots\n/);
    expect(md).toContain("| customize | ok | 1 min 59 s |");
    expect(md).toContain(`| live-minimal-bookworm-amd64.iso | 234.0 MiB | \`${"ab".repeat(32)}\` |`);
    expect(md).toContain("| cd-bios | ok | 1 min 6 s | 1/1 ok |");
  });

  it("shows a failure with its error, and keeps table cells on one line", () => {
    const md = summaryMarkdown(
      report({
        status: "failed",
        error: "step squash failed: a | b",
        steps: [{ step: "squash", seconds: 2, ok: false }],
      }),
    );
    expect(md).toMatch(/^## FAILED: live-minimal/);
    expect(md).toContain("```text\nstep squash failed: a | b\n```");
    expect(md).toContain("| squash | FAILED | 2.0 s |");
  });
});
