// The values that go into a CI file: the cron schedule, runner labels, and
// the command line in its header that makes it again.
import { execa } from "execa";
import { describe, expect, it } from "vitest";
import { checkRunnerLabels, checkSchedule, regenerateCommand } from "../../../src/ci/settings.js";
import { UsageError } from "../../../src/errors.js";

describe("checkSchedule", () => {
  it.each(["0 2 * * *", "*/15 0-6 1,15 JAN-jun MON-FRI", "59 23 31 12 6", "0 0 * * sun"])(
    "takes %s",
    (cron) => {
      expect(checkSchedule(`  ${cron} `)).toBe(cron);
    },
  );

  it.each([
    ["0 2 * *", /has 4 fields, not 5/],
    ["@daily", /has 1 field, not 5/],
    ["60 2 * * *", /minute "60" is not 0-59/],
    ["0 24 * * *", /hour "24" is not 0-23/],
    ["0 2 0 * *", /day of month "0" is not 1-31/],
    ["0 2 * FOO *", /month "FOO" is not 1-12 or a name/],
    ["0 2 * * 7", /day of week "7" is not 0-6/],
    ["0 5-2 * * *", /hour "5-2" is not a range/],
    ["*/0 2 * * *", /minute "\*\/0" is not cron syntax/],
    ["0 2 * * 1-2-3", /not a range/],
  ])("refuses %s", (cron, message) => {
    expect(() => checkSchedule(cron)).toThrow(UsageError);
    expect(() => checkSchedule(cron)).toThrow(message);
  });
});

describe("checkRunnerLabels", () => {
  it("splits lists and drops repeats", () => {
    expect(checkRunnerLabels(["self-hosted,linux", "kvm", "linux"])).toEqual(["self-hosted", "linux", "kvm"]);
  });
  it.each(["", "a b", "${{ matrix.os }}", "-x"])("refuses %j", (label) => {
    expect(() => checkRunnerLabels([label])).toThrow(/not a runner label/);
  });
});

describe("regenerateCommand", () => {
  const base = { images: ["live-minimal"], all: false, schedule: "0 2 * * *", backend: "vm" as const };

  it("leaves defaults out", () => {
    expect(
      regenerateCommand("github", {
        ...base,
        output: ".github/workflows/vmlive.yml",
        runsOn: ["ubuntu-latest"],
      }),
    ).toBe("./bin/vmlive.js ci github live-minimal");
    expect(
      regenerateCommand("gitlab", { ...base, all: true, images: [], output: ".gitlab-ci.yml", runsOn: [] }),
    ).toBe("./bin/vmlive.js ci gitlab --all");
  });

  it("gives every other option, quoted for the shell", async () => {
    const cmd = regenerateCommand("github", {
      ...base,
      arches: ["amd64", "arm64"],
      backend: "host",
      schedule: "30 3 * * 1-5",
      runsOn: ["self-hosted", "kvm"],
      output: "ci/nightly.yml",
    });
    expect(cmd).toBe(
      "./bin/vmlive.js ci github live-minimal --arch amd64,arm64 --backend host --schedule '30 3 * * 1-5' " +
        "--runs-on self-hosted,kvm --output ci/nightly.yml",
    );
    // A shell splits it back into exactly those words.
    const words = await execa("sh", [
      "-c",
      `for w in ${cmd.replace("./bin/vmlive.js", "")}; do echo "$w"; done`,
    ]);
    expect(words.stdout.split("\n")).toContain("30 3 * * 1-5");
  });
});
