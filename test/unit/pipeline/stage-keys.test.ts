import { chmodSync, writeFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import type { LoadedImage } from "../../../src/config/load.js";
import {
  changedInputs,
  mirrorReleaseDate,
  PREVIOUS_STAGE,
  STAGES,
  wantedKeys,
  type KeySources,
  type StageName,
} from "../../../src/pipeline/stage-keys.js";
import { stepContext } from "../../support/step-context.js";

const BASE = `suite: bookworm
arch: amd64
bootstrap:
  variant: minbase
  keyring: keys/archive.gpg
packages: [less, nano]
overlay: overlay
hooks:
  - show-env.sh
  - path: builder.sh
    where: builder
env:
  GREETING: hello
user:
  name: live
  password: live
hostname: box
iso:
  menu_title: vmlive test
`;

const FILES: Record<string, string> = {
  "keys/archive.gpg": "KEYRING",
  "overlay/etc/motd": "hello\n",
  "overlay/usr/local/bin/tool": "#!/bin/sh\n",
  "hooks/show-env.sh": "#!/bin/sh\necho env\n",
  "builder.sh": "#!/bin/sh\necho builder\n",
};

const SOURCES: KeySources = {
  releaseDate: "Sat, 11 Jul 2026 10:16:37 UTC",
  tools: { "grub-common": "2.06-13" },
};

function image(
  yaml = BASE,
  files: Record<string, string> = FILES,
  edit?: (dir: string) => void,
): LoadedImage {
  const { ctx, imageDir } = stepContext({ yaml, files });
  edit?.(imageDir);
  return ctx.image;
}

/** The first stage whose key differs between two key sets (each later one must differ too). */
/** Whether `stage` is `from` or its key is made after `from`'s, through PREVIOUS_STAGE. */
function madeAfter(stage: StageName, from: StageName): boolean {
  for (let s: StageName | undefined = stage; s; s = PREVIOUS_STAGE[s]) if (s === from) return true;
  return false;
}

function firstChanged(a: LoadedImage, b: LoadedImage, sa = SOURCES, sb = SOURCES): StageName | "none" {
  const ka = wantedKeys(a, sa);
  const kb = wantedKeys(b, sb);
  const i = STAGES.findIndex((s) => ka[s]?.key !== kb[s]?.key);
  if (i < 0) return "none";
  // Every stage made after the first changed one changes too; the others (squash beside boot) do not.
  for (const s of STAGES)
    if (madeAfter(s, STAGES[i]!)) expect(ka[s]?.key, s).not.toBe(kb[s]?.key);
    else expect(ka[s]?.key, s).toBe(kb[s]?.key);
  return STAGES[i]!;
}

describe("stage keys", () => {
  it("are the same for the same image folder read twice", () => {
    expect(firstChanged(image(), image())).toBe("none");
    expect(wantedKeys(image(), SOURCES).bootstrap?.key).toMatch(/^[0-9a-f]{64}$/);
  });

  const cases: [string, string, Record<string, string>, StageName | "none"][] = [
    ["suite", BASE.replace("suite: bookworm", "suite: trixie"), FILES, "bootstrap"],
    ["bootstrap.variant", BASE.replace("variant: minbase", "variant: buildd"), FILES, "bootstrap"],
    ["mirror.build", `${BASE}mirror:\n  build: http://mirror.example/debian\n`, FILES, "bootstrap"],
    ["the keyring's content", BASE, { ...FILES, "keys/archive.gpg": "OTHER" }, "bootstrap"],
    ["packages", BASE.replace("[less, nano]", "[less, nano, vim]"), FILES, "packages"],
    [
      "user.sudo (sudo is installed for it)",
      BASE.replace("password: live", "password: live\n  sudo: false"),
      FILES,
      "packages",
    ],
    ["locale (locales is installed for it)", `${BASE}locale: de_DE.UTF-8\n`, FILES, "packages"],
    ["kernel.flavour", `${BASE}kernel:\n  flavour: rt-amd64\n`, FILES, "packages"],
    [
      "a chroot hook's content",
      BASE,
      { ...FILES, "hooks/show-env.sh": "#!/bin/sh\necho changed\n" },
      "hooks",
    ],
    ["a builder hook's content", BASE, { ...FILES, "builder.sh": "#!/bin/sh\necho other\n" }, "hooks"],
    [
      "the hooks' order",
      BASE.replace(
        "  - show-env.sh\n  - path: builder.sh\n    where: builder\n",
        "  - path: builder.sh\n    where: builder\n  - show-env.sh\n",
      ),
      FILES,
      "hooks",
    ],
    ["an overlay file", BASE, { ...FILES, "overlay/etc/motd": "bye\n" }, "hooks"],
    ["a new overlay file", BASE, { ...FILES, "overlay/etc/issue": "x\n" }, "hooks"],
    ["env", BASE.replace("GREETING: hello", "GREETING: hi"), FILES, "hooks"],
    ["user.name", BASE.replace("name: live", "name: demo"), FILES, "hooks"],
    ["user.password", BASE.replace("password: live", "password: other"), FILES, "hooks"],
    ["hostname", BASE.replace("hostname: box", "hostname: other"), FILES, "hooks"],
    ["timezone (tzdata is installed for it)", `${BASE}timezone: Europe/Berlin\n`, FILES, "packages"],
    [
      "mirror.image (the image's apt sources)",
      `${BASE}mirror:\n  image: http://mirror.example/debian\n`,
      FILES,
      "hooks",
    ],
    ["root.locked", `${BASE}root:\n  locked: false\n  password: x\n`, FILES, "hooks"],
    ["iso.menu_title", BASE.replace("menu_title: vmlive test", "menu_title: other"), FILES, "boot"],
    ["iso.timeout", BASE.replace("iso:\n", "iso:\n  timeout: 9\n"), FILES, "boot"],
    ["kernel.append", `${BASE}kernel:\n  append: [quiet]\n`, FILES, "boot"],
    ["squashfs.compression", `${BASE}squashfs:\n  compression: xz\n`, FILES, "squash"],
    ["squashfs.level", `${BASE}squashfs:\n  level: 19\n`, FILES, "squash"],
    ["boot_test (not in the ISO)", `${BASE}boot_test:\n  timeout: 99\n`, FILES, "none"],
  ];
  it.each(cases)(
    "%s changes the key from the right stage on, and none before it",
    (_what, yaml, files, stage) => {
      expect(firstChanged(image(), image(yaml, files))).toBe(stage);
    },
  );

  it("an overlay file's mode changes the hooks key", () => {
    const b = image(BASE, FILES, (dir) => chmodSync(path.join(dir, "overlay/etc/motd"), 0o600));
    expect(firstChanged(image(), b)).toBe("hooks");
  });

  it("the mirror's Release date, vmlive's pinned epoch change everything; GRUB's version only boot, squashfs-tools' only squash", () => {
    const img = image();
    expect(
      firstChanged(img, img, SOURCES, { ...SOURCES, releaseDate: "Sun, 12 Jul 2026 10:00:00 UTC" }),
    ).toBe("bootstrap");
    expect(firstChanged(img, img, SOURCES, { ...SOURCES, pinnedEpoch: "1700000000" })).toBe("bootstrap");
    expect(firstChanged(img, img, SOURCES, { ...SOURCES, tools: { "grub-common": "2.12-1" } })).toBe("boot");
    expect(
      firstChanged(img, img, SOURCES, {
        ...SOURCES,
        tools: { ...SOURCES.tools, "squashfs-tools": "1:4.6.1-1" },
      }),
    ).toBe("squash");
  });

  it("without the mirror's Release date there is no bootstrap key, and so no later one", () => {
    expect(wantedKeys(image(), { releaseDate: undefined })).toEqual({});
  });

  it("names the inputs that changed", () => {
    const a = wantedKeys(image(), SOURCES);
    const b = wantedKeys(image(BASE, { ...FILES, "hooks/show-env.sh": "#!/bin/sh\n" }), SOURCES);
    expect(changedInputs(a.hooks, b.hooks)).toEqual(["hook 1 show-env.sh"]);
    expect(changedInputs(a.packages, b.packages)).toEqual([]);
    const c = wantedKeys(image(BASE.replace("menu_title: vmlive test", "menu_title: x")), SOURCES);
    expect(changedInputs(a.boot, c.boot)).toEqual(["iso.menu_title"]);
    expect(changedInputs(a.hooks, c.hooks)).toEqual([]);
  });

  it("a hook that changes on disk after a first read changes the key", () => {
    const { ctx, imageDir } = stepContext({ yaml: BASE, files: FILES });
    const before = wantedKeys(ctx.image, SOURCES);
    writeFileSync(path.join(imageDir, "builder.sh"), "#!/bin/sh\necho edited\n");
    const after = wantedKeys(ctx.image, SOURCES);
    expect(changedInputs(before.hooks, after.hooks)).toEqual(["hook 2 builder.sh"]);
  });
});

describe("mirrorReleaseDate", () => {
  const answer = (status: number, body: string) =>
    (async () => new Response(body, { status })) as unknown as typeof fetch;

  it("reads the Date: line of dists/SUITE/InRelease", async () => {
    let asked = "";
    const f = (async (url: string) => {
      asked = url;
      return new Response(
        "-----BEGIN PGP SIGNED MESSAGE-----\nOrigin: Debian\nDate: Sat, 11 Jul 2026 10:16:37 UTC\n",
      );
    }) as unknown as typeof fetch;
    expect(await mirrorReleaseDate("http://deb.debian.org/debian/", "bookworm", { fetch: f })).toEqual({
      date: "Sat, 11 Jul 2026 10:16:37 UTC",
    });
    expect(asked).toBe("http://deb.debian.org/debian/dists/bookworm/InRelease");
  });

  it("says what went wrong: an HTTP error, no Date: line, no answer in time", async () => {
    expect(await mirrorReleaseDate("http://m/debian", "sid", { fetch: answer(404, "") })).toEqual({
      problem: "http://m/debian/dists/sid/InRelease answered 404",
    });
    expect(await mirrorReleaseDate("http://m/debian", "sid", { fetch: answer(200, "Origin: x\n") })).toEqual({
      problem: "http://m/debian/dists/sid/InRelease has no Date: line",
    });
    const hangs = ((_u: string, init: RequestInit) =>
      new Promise((_r, reject) =>
        init.signal!.addEventListener("abort", () => reject(init.signal!.reason)),
      )) as unknown as typeof fetch;
    const r = await mirrorReleaseDate("http://m/debian", "sid", { fetch: hangs, timeoutMs: 50 });
    expect(r).toEqual({ problem: "http://m/debian/dists/sid/InRelease: no answer within 0.05 s" });
  });
});
