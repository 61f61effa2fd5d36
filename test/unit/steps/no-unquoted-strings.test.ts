// Property: no config string reaches a shell unquoted. Hostile strings
// (test/fixtures/hostile/strings.ts) go into every field of image.yaml that
// allows them; the bootstrap, customize, boot, squash and iso steps run
// against FakeMachines; and every command they ran is searched for them. A
// string may travel only
//   - as a whole argv word (one starting with - only after `--`, or as a
//     positional argument of a fixed `sh -c` script),
//   - as NAME=VALUE in the environment of chrootArgv's `env -i`, or in the
//     exec's env option,
//   - on stdin,
//   - as the last part of an absolute path (a hook's file name): one word that
//     no program reads as an option,
// never inside the text of a `sh -c` script and never joined into another
// word. The fields whose values do reach argv words as they are (names,
// packages, URLs) must refuse every such string, and every option-like one.
import path from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseImageConfig } from "../../../src/config/load.js";
import { ConfigError } from "../../../src/errors.js";
import type { ExecOptions } from "../../../src/machine/machine.js";
import type { BuildContext } from "../../../src/pipeline/context.js";
import type { Step } from "../../../src/pipeline/steps.js";
import { bootStep } from "../../../src/steps/boot.js";
import { bootstrapStep } from "../../../src/steps/bootstrap.js";
import { customizeStep } from "../../../src/steps/customize.js";
import { isoStep } from "../../../src/steps/iso.js";
import { squashStep } from "../../../src/steps/squash.js";
import { sha512Crypt } from "../../../src/util/sha512-crypt.js";
import { hostileString, hostileWord, optionLike, SHELL_SPECIAL } from "../../fixtures/hostile/strings.js";
import { FakeMachine, type Call } from "../../support/fake-machine.js";
import { stepContext } from "../../support/step-context.js";

interface Planted {
  field: string;
  /** The value as the config holds it; it ends with its tag. */
  value: string;
  /** «N»: marks every place the value went, so no occurrence is missed. */
  tag: string;
}

const isShell = (w: string | undefined) => w !== undefined && /(^|\/)(sh|bash|dash|zsh)$/.test(w);
const ENV_WORD = /^[A-Za-z_][A-Za-z0-9_]*=/;

/** Where `value` went in one exec that it must not go; empty when every occurrence is allowed. */
function violations(calls: readonly Call[], planted: readonly Planted[]): string[] {
  const out: string[] = [];
  for (const c of calls) {
    if (c.kind === "download") continue;
    const where = `${c.kind} ${JSON.stringify(c.argv)}`;
    if (c.kind === "upload") {
      // argv[0] is the file found on the host (fs and sftp calls, no shell); argv[1] a path on the machine.
      if (!c.argv[0]!.startsWith("/")) out.push(`${where}: the host path is not absolute`);
      for (const p of planted)
        if (c.argv[1]!.includes(p.tag) && !inPathWord(c.argv[1]!, p))
          out.push(`${where}: ${p.field} joined into the machine path`);
      continue;
    }
    out.push(...execViolations(c.argv, c.opts ?? {}, planted).map((v) => `${where}: ${v}`));
  }
  return out;
}

function execViolations(argv: readonly string[], opts: ExecOptions, planted: readonly Planted[]): string[] {
  const out: string[] = [];
  // The text after `SHELL -c`, wherever it is nested (chrootArgv runs `sh -c ENTER ... sh -c WRITE ...`).
  const scripts = argv.flatMap((w, i) => (w === "-c" && isShell(argv[i - 1]) ? [i + 1] : []));
  // `env -i NAME=VALUE ...`: chrootArgv's clean environment.
  const envWords = new Set<number>();
  argv.forEach((w, i) => {
    if (w !== "-i" || !/(^|\/)env$/.test(argv[i - 1] ?? "")) return;
    for (let j = i + 1; j < argv.length && ENV_WORD.test(argv[j]!); j++) envWords.add(j);
  });
  argv.forEach((w, i) => {
    for (const p of planted) {
      if (!w.includes(p.tag)) continue;
      if (scripts.includes(i)) out.push(`${p.field} inside the text of a sh -c script`);
      else if (w === p.value) {
        const positional = scripts.some((s) => i >= s + 2);
        if (p.value.startsWith("-") && !positional && !argv.slice(1, i).includes("--"))
          out.push(`${p.field} (${JSON.stringify(p.value)}) where an option may stand, with no -- before it`);
      } else if (envWords.has(i)) {
        if (w.slice(w.indexOf("=") + 1) !== p.value) out.push(`${p.field} not whole in ${JSON.stringify(w)}`);
      } else if (!inPathWord(w, p)) out.push(`${p.field} joined into the word ${JSON.stringify(w)}`);
    }
  });
  const stdin = opts.stdin === undefined ? "" : String(opts.stdin);
  for (const p of planted)
    if (stdin.includes(p.tag) && argv.some((w, i) => isShell(w) && argv[i + 1] !== "-c"))
      out.push(`${p.field} on the stdin of a shell that reads its script from there`);
  for (const [k, v] of Object.entries(opts.env ?? {}))
    for (const p of planted) {
      if (k.includes(p.tag)) out.push(`${p.field} in an environment variable's name`);
      if (v.includes(p.tag) && v !== p.value)
        out.push(`${p.field} not whole in env ${k}=${JSON.stringify(v)}`);
    }
  if (opts.cwd !== undefined)
    for (const p of planted)
      if (opts.cwd.includes(p.tag) && opts.cwd !== p.value && !inPathWord(opts.cwd, p))
        out.push(`${p.field} joined into the working directory`);
  return out;
}

/** An absolute path (never an option) whose every mark ends the value's last path component, whole. */
function inPathWord(word: string, p: Planted): boolean {
  if (!word.startsWith("/")) return false;
  const base = path.posix.basename(p.value);
  for (let i = word.indexOf(p.tag); i >= 0; i = word.indexOf(p.tag, i + 1)) {
    const upTo = word.slice(0, i + p.tag.length);
    if (!upTo.endsWith(base) || upTo.slice(0, -base.length).lastIndexOf("/") < 0) return false;
  }
  return true;
}

// What each free-form field allows (its schema), applied to a hostile string.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/g;
const codePoints = (s: string, n: number) => Array.from(s).slice(0, n).join("");
const asLine = (s: string, n: number) => codePoints(s.replace(CONTROL, ""), n);
/** A relative path inside the image folder: no control characters, no `..` segment, not absolute. */
const asPath = (s: string) => {
  const p = asLine(s, 30)
    .split(/([\\/])/)
    .map((seg) => (seg === ".." ? "_" : seg))
    .join("")
    .replace(/^\/+/, "");
  // stepContext puts files under hooks/ into the shared folder: keep these in the image folder.
  return p.startsWith("hooks/") ? `_${p}` : p;
};
const asPassword = (s: string) => codePoints(s.replace(/[\n:\0]/g, ""), 100);
const asRegex = (s: string) => asLine(s, 40).replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");

/** The fields that take hostile strings, and how to make one fit. */
const FREE_FIELDS: [string, (s: string) => string][] = [
  ["description", (s) => asLine(s, 50)],
  ["env.HOSTILE_A", (s) => s],
  ["env.HOSTILE_B", (s) => s],
  ["user.password", asPassword],
  ["root.password", asPassword],
  ["hooks.0.path", asPath],
  ["hooks.1.path", asPath],
  ["overlay", asPath],
  ["bootstrap.keyring", asPath],
  ["iso.menu_title", (s) => asLine(s, 25).replace(/["'$`\\]/g, "")],
  ["boot_test.success", asRegex],
  ["boot_test.commands.0", (s) => asLine(s, 200)],
];

/** image.yaml (as JSON, which is YAML) holding the planted values, and the files its paths name. */
function hostileConfig(raw: readonly string[]): {
  json: string;
  planted: Planted[];
  files: Record<string, string>;
} {
  const planted = FREE_FIELDS.map(([field, fit], i) => {
    const tag = `«${i}»`;
    return { field, value: fit(raw[i]!) + tag, tag };
  });
  const v = Object.fromEntries(planted.map((p) => [p.field, p.value]));
  const config = {
    description: v["description"],
    env: { HOSTILE_A: v["env.HOSTILE_A"], HOSTILE_B: v["env.HOSTILE_B"] },
    user: { password: v["user.password"], autologin: true },
    root: { locked: false, password: v["root.password"] },
    hooks: [{ path: v["hooks.0.path"] }, { path: v["hooks.1.path"], where: "builder" }],
    overlay: v["overlay"],
    bootstrap: { keyring: v["bootstrap.keyring"] },
    locale: "de_DE.UTF-8",
    timezone: "Europe/Berlin",
    iso: { menu_title: v["iso.menu_title"], serial_console: "ttyS0,115200n8" },
    boot_test: { success: v["boot_test.success"], commands: [v["boot_test.commands.0"]] },
  };
  const files = {
    [v["hooks.0.path"]!]: "#!/bin/sh\n",
    [v["hooks.1.path"]!]: "#!/bin/sh\n",
    [`${v["overlay"]}/etc/motd`]: "hello\n",
    [v["bootstrap.keyring"]!]: "not really a keyring\n",
  };
  return { json: JSON.stringify(config, null, 1), planted, files };
}

// Each step's tools, answering as on a bookworm builder (see the steps' own tests).
const chroot = (argv: readonly string[]) =>
  argv[0] === "unshare"
    ? argv.slice(argv.findIndex((w, i) => i > argv.indexOf("-i") && !ENV_WORD.test(w)))
    : undefined;
const chrootIs =
  (...cmd: string[]) =>
  (argv: readonly string[]) =>
    cmd.every((w, i) => chroot(argv)?.[i] === w);

const FAKES: [Step, () => FakeMachine][] = [
  [bootstrapStep, () => new FakeMachine().on(/^dpkg --print-architecture$/, { stdout: "amd64\n" })],
  [
    customizeStep,
    () =>
      new FakeMachine()
        .on(chrootIs("dpkg-query", "-L", "dpkg"), { stdout: "/sbin/start-stop-daemon\n" })
        .on(/^cat \/etc\/resolv\.conf$/, { stdout: "nameserver 10.0.2.3\n" })
        .on(chrootIs("readlink", "/etc/resolv.conf"), { exitCode: 1 })
        .on(chrootIs("getent", "passwd"), { exitCode: 2 })
        .on(chrootIs("cat", "--", "/usr/share/i18n/SUPPORTED"), { stdout: "de_DE.UTF-8 UTF-8\n" })
        .on(chrootIs("cat", "--", "/etc/locale.gen"), { stdout: "# de_DE.UTF-8 UTF-8\n" })
        .on(/^cat .*\.customize-resolv-link$/, { exitCode: 1 })
        .on((a) => chroot(a)?.[1] === "-W" && chroot(a)?.length === 3, {
          stdout: "installed\tlive-boot\t1:20230131\tall\ninstalled\tlinux-image-amd64\t6.1.123-1\tamd64\n",
        }),
  ],
  [
    bootStep,
    () =>
      new FakeMachine()
        .on("ls", { stdout: "initrd.img-6.1.0-50-amd64\nvmlinuz-6.1.0-50-amd64\n" })
        .on("stat", { stdout: "704512\n" })
        .on("grub-mkimage", { stdout: "grub-mkimage (GRUB) 2.06-13+deb12u2\n" }),
  ],
  [
    squashStep,
    () =>
      new FakeMachine()
        .on("du", { stdout: "104857600\t/work/img/rootfs\n" })
        .on("find", { stdout: "...." })
        .on("df", { stdout: "Avail\n75775242240\n" })
        .on("nproc", { stdout: "2\n" })
        .on((a) => a[0] === "mksquashfs" && a[1] === "-help", { stdout: "-exit-on-error\n" })
        .on("stat", { stdout: "20971520\n" })
        .on((a) => a[0] === "unsquashfs" && a[1] === "-s", {
          stdout:
            "Found a valid SQUASHFS 4:0 superblock on x.\nFilesystem size 20971000 bytes\n" +
            "Compression zstd\nBlock size 131072\nNumber of inodes 4\n",
        })
        .on((a) => a[0] === "unsquashfs" && a[1] === "-l", {
          stdout: "squashfs-root\nsquashfs-root/a\nsquashfs-root/b\nsquashfs-root/c\n",
        }),
  ],
  [
    isoStep,
    () =>
      new FakeMachine()
        .on("du", { stdout: "238000000\t/work/img/iso\n" })
        .on("df", { stdout: "Avail\n75775242240\n" })
        .on("stat", { stdout: "240707584\n" }),
  ],
];

/** Run every step on the hostile config; every call any of them made. */
async function runSteps(
  raw: readonly string[],
): Promise<{ calls: Call[]; planted: Planted[]; ctx: BuildContext }> {
  const { json, planted, files } = hostileConfig(raw);
  const { ctx } = stepContext({ files });
  ctx.image = { ...ctx.image, config: parseImageConfig(json, "image.yaml") };
  const calls: Call[] = [];
  for (const [step, fake] of FAKES) {
    const machine = fake();
    expect(step.verify(ctx.image), step.name).toEqual([]);
    await step.run({ ...ctx, machine });
    calls.push(...machine.calls);
  }
  return { calls, planted, ctx };
}

const everywhere = (calls: readonly Call[]) =>
  calls.flatMap((c) => [...c.argv, String(c.opts?.stdin ?? ""), ...Object.values(c.opts?.env ?? {})]);

describe("no config string reaches a shell unquoted", () => {
  it("for any hostile strings in every field that takes them, through bootstrap, customize, boot, squash and iso", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(hostileWord, { minLength: FREE_FIELDS.length, maxLength: FREE_FIELDS.length }),
        async (raw) => {
          const { calls, planted, ctx } = await runSteps(raw);
          // The config holds the very strings planted: the YAML round trip changed none.
          const c = ctx.image.config;
          expect([c.description, c.env.HOSTILE_A, c.hooks[1]!.path, c.iso.menu_title]).toEqual(
            ["description", "env.HOSTILE_A", "hooks.1.path", "iso.menu_title"].map(
              (f) => planted.find((p) => p.field === f)!.value,
            ),
          );
          expect(violations(calls, planted)).toEqual([]);
          // Every value went somewhere the check looked (config.json on stdin, at least).
          const seen = everywhere(calls);
          for (const p of planted)
            expect(
              seen.some((w) => w.includes(p.tag)),
              p.field,
            ).toBe(true);
        },
      ),
      { numRuns: 50 },
    );
  });

  it("passes them as whole NAME=VALUE words, path names, stdin and env, where the steps use them", async () => {
    const { calls, planted } = await runSteps(FREE_FIELDS.map(() => "-x $(id) `id` 'q' \"d\" *; \\ \n ✓"));
    const p = Object.fromEntries(planted.map((x) => [x.field, x.value]));
    const argv = calls.filter((c) => c.kind === "exec").flatMap((c) => c.argv);
    expect(argv).toContain(`HOSTILE_A=${p["env.HOSTILE_A"]}`);
    expect(argv).toContain(`VMLIVE_HOOK=${p["hooks.0.path"]}`);
    expect(
      argv.some(
        (w) => w.startsWith("/tmp/vmlive-hooks/01-") && w.endsWith(path.posix.basename(p["hooks.0.path"]!)),
      ),
    ).toBe(true);
    const builderHook = calls.find(
      (c) => c.kind === "exec" && c.argv[0]?.endsWith(path.posix.basename(p["hooks.1.path"]!)),
    );
    expect(builderHook?.opts?.env?.HOSTILE_B).toBe(p["env.HOSTILE_B"]);
    const stdins = calls.map((c) => String(c.opts?.stdin ?? ""));
    // Passwords reach chpasswd --encrypted on stdin as vmlive's SHA-512 crypt hash of them.
    for (const [user, pw] of [
      ["live", p["user.password"]!],
      ["root", p["root.password"]!],
    ] as const) {
      const line = stdins.find((s) => s.startsWith(`${user}:$6$`)) ?? "";
      const salt = line.split("$")[2] ?? "";
      expect(line).toBe(`${user}:${sha512Crypt(pw, salt)}\n`);
    }
    expect(stdins.some((s) => s.includes(`"${p["iso.menu_title"]}`))).toBe(true); // grub.cfg
  });
});

describe("the check itself", () => {
  const v = "-rf $(id)«0»";
  const planted = [{ field: "f", value: v, tag: "«0»" }];
  const exec = (argv: string[], opts: ExecOptions = {}): Call[] => [{ kind: "exec", argv, opts }];

  it.each([
    ["a value inside a script", exec(["sh", "-c", `echo ${v}`]), "inside the text of a sh -c script"],
    [
      "a value inside a nested script",
      exec(["unshare", "--", "sh", "-c", "x", "n", "bash", "-c", `rm ${v}`]),
      "script",
    ],
    ["a value joined into an option", exec(["apt-get", `--include=${v}`]), "joined into the word"],
    ["a value where an option may stand", exec(["rm", v]), "with no -- before it"],
    ["a value as an env word outside env -i", exec(["useradd", `X=${v}`]), "joined into the word"],
    ["a value cut short in an env word", exec(["/usr/bin/env", "-i", `X=${v}x`, "id"]), "not whole"],
    ["a value on a shell's stdin", exec(["sh", "-s"], { stdin: v }), "stdin of a shell"],
    ["a value changed in env", exec(["id"], { env: { X: `${v}!` } }), "not whole in env"],
    ["a value in the middle of a relative path", exec(["cp", `a/${v}/b`]), "joined into the word"],
  ])("finds %s", (_n, calls, message) => {
    expect(violations(calls, planted).join("\n")).toContain(message);
  });

  it.each([
    ["after --", exec(["rm", "-f", "--", v])],
    ["as a positional argument of sh -c", exec(["sh", "-c", 'cat > "$1"', "write", v], { stdin: v })],
    ["as a whole env word of env -i", exec(["/usr/bin/env", "-i", `X=${v}`, "id"])],
    ["as a path's last component", exec(["chmod", "0755", `/work/hooks/01-${v}`])],
    ["in the env option", exec(["hook"], { env: { X: v } })],
  ])("allows it %s", (_n, calls) => {
    expect(violations(calls, planted)).toEqual([]);
  });
});

/** Fields whose values reach argv words as they are, or joined into lists (--include=a,b). */
const NAMED_FIELDS: [string, (s: string) => string][] = [
  ["user.name", (s) => `user: {name: ${JSON.stringify(s)}}`],
  ["hostname", (s) => `hostname: ${JSON.stringify(s)}`],
  ["packages.0", (s) => `packages: [${JSON.stringify(s)}]`],
  ["bootstrap.packages.0", (s) => `bootstrap: {packages: [${JSON.stringify(s)}]}`],
  ["bootstrap.components.0", (s) => `bootstrap: {components: [${JSON.stringify(s)}]}`],
  ["iso.volume_id", (s) => `iso: {volume_id: ${JSON.stringify(s)}}`],
  ["iso.serial_console", (s) => `iso: {serial_console: ${JSON.stringify(s)}}`],
  ["locale", (s) => `locale: ${JSON.stringify(s)}`],
  ["timezone", (s) => `timezone: ${JSON.stringify(s)}`],
  ["kernel.flavour", (s) => `kernel: {flavour: ${JSON.stringify(s)}}`],
  ["mirror.build", (s) => `mirror: {build: ${JSON.stringify(s)}}`],
  ["mirror.image", (s) => `mirror: {image: ${JSON.stringify(s)}}`],
  ["mirror.security", (s) => `mirror: {security: ${JSON.stringify(s)}}`],
];

function problemPaths(yaml: string): string[] {
  try {
    parseImageConfig(`description: test\n${yaml}\n`, "image.yaml");
    return [];
  } catch (e) {
    if (e instanceof ConfigError) return e.problems.map((p) => p.path);
    throw e;
  }
}

describe("fields that reach argv words as they are", () => {
  it.each(NAMED_FIELDS)("%s refuses every string with a shell metacharacter", (field, yaml) => {
    fc.assert(
      fc.property(hostileString, (s) => {
        expect(SHELL_SPECIAL.test(s)).toBe(true);
        expect(problemPaths(yaml(s))).toContain(field);
      }),
      { numRuns: 100 },
    );
  });

  it.each(NAMED_FIELDS)("%s refuses every value that looks like an option", (field, yaml) => {
    fc.assert(
      fc.property(optionLike, (s) => {
        expect(problemPaths(yaml(s))).toContain(field);
      }),
      { numRuns: 50 },
    );
  });

  it("kernel.append refuses shell metacharacters (its words go into grub.cfg, not an argv)", () => {
    fc.assert(
      fc.property(hostileString, (s) => {
        expect(problemPaths(`kernel: {append: [${JSON.stringify(s)}]}`)).toContain("kernel.append.0");
      }),
      { numRuns: 200 },
    );
  });

  it("env names refuse them too", () => {
    fc.assert(
      fc.property(hostileWord, (s) => {
        expect(problemPaths(`env: {${JSON.stringify(s)}: x}`)).toContain(`env.${s}`);
      }),
      { numRuns: 200 },
    );
  });
});
