// Hostile input (test/fixtures/hostile/corpus.ts): broken-configs.test.ts has
// the honest mistakes, this the attacks: shell metacharacters in every field
// that reaches a command or a file name, path traversal, absurd sizes, wrong
// types, unknown and duplicate keys, YAML bombs, and files that are not small
// UTF-8 text. Each must be refused by loadImage or verifyPlan, before any
// machine starts, with exactly one problem that names the file, the field and
// the fix; `vmlive check` exits 2.
import path from "node:path";
import { describe, expect, it } from "vitest";
import type { Io } from "../../../src/cli/io.js";
import { main } from "../../../src/cli/main.js";
import { loadImage } from "../../../src/config/load.js";
import { ConfigError, type ConfigProblem } from "../../../src/errors.js";
import { verifyPlan } from "../../../src/pipeline/plan.js";
import { HOSTILE_CLASSES, hostileImage } from "../../fixtures/hostile/corpus.js";

function problemsOf(root: string, folder: string, sets: readonly string[]): ConfigProblem[] {
  try {
    return verifyPlan(loadImage(path.join("images", folder), { cwd: root, sets }));
  } catch (e) {
    if (e instanceof ConfigError) return [...e.problems];
    throw e;
  }
}

async function check(dir: string, sets: readonly string[] = []) {
  const out: string[] = [];
  const err: string[] = [];
  const io: Io = { out: (t) => void out.push(t), err: (t) => void err.push(t) };
  const code = await main(["check", dir, ...sets.flatMap((s) => ["--set", s])], io);
  return { code, out: out.join("\n"), err: err.join("\n") };
}

describe.each(Object.entries(HOSTILE_CLASSES))("hostile input: %s", (_cls, cases) => {
  it.each(cases.map((c) => [c.name, c] as const))(
    "%s is refused before any machine starts",
    async (_n, c) => {
      const { root, dir } = hostileImage(c);
      const problems = problemsOf(root, c.folder ?? "test", c.sets ?? []);
      expect(problems, JSON.stringify(problems).slice(0, 2000)).toHaveLength(1);
      const [p] = problems as [ConfigProblem];
      expect(p.path).toBe(c.path);
      expect(p.message).toContain(c.message);
      expect(p.file).toBe(c.file ?? path.join("images", "test", "image.yaml"));
      expect(p.line).toBe(c.line);

      const r = await check(dir, c.sets);
      expect(r.code).toBe(2);
      expect(r.out).toBe("");
      expect(r.err).toContain(c.message);
      expect(r.err).toMatch(/vmlive: 1 problem in the image config; nothing was built\.$/);
    },
  );
});

describe("the corpus", () => {
  it("has every class the hardening asks for, each with several cases", () => {
    for (const cases of Object.values(HOSTILE_CLASSES)) expect(cases.length).toBeGreaterThanOrEqual(4);
    const all = Object.values(HOSTILE_CLASSES).flat();
    expect(new Set(all.map((c) => c.name)).size).toBe(all.length);
  });

  it("reaches every string field that ends up in a command or a file name", () => {
    const fields = new Set(
      HOSTILE_CLASSES["shell metacharacters"]!.map((c) =>
        c.path.replace(/\.\d+$/, "").replace(/^env\..*/, "env"),
      ),
    );
    for (const f of [
      "user.name",
      "user.password",
      "root.password_hash",
      "hostname",
      "packages",
      "bootstrap.packages",
      "bootstrap.components",
      "iso.volume_id",
      "iso.menu_title",
      "iso.serial_console",
      "locale",
      "timezone",
      "kernel.flavour",
      "kernel.append",
      "mirror.build",
      "mirror.image",
      "env",
      "description",
      "hooks.0.path",
      "overlay",
    ])
      expect(fields, f).toContain(f);
  });

  it("leaves well-formed aliases alone: the bomb guard counts, it does not forbid", () => {
    const { root } = hostileImage({
      name: "aliases",
      yaml: "packages: &p [less, nano]\nbootstrap:\n  packages: *p\n",
      path: "",
      message: "",
    });
    const img = loadImage(path.join("images", "test"), { cwd: root });
    expect(img.config.bootstrap.packages).toEqual(["less", "nano"]);
  });
});
