// bootstrap: the base root filesystem, made by debootstrap (default) or
// mmdebstrap from the build mirror into work.rootfs. Signatures are always
// checked: against bootstrap.keyring when the image has one, else Debian's
// archive keyring, which every builder has.
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { stepProxy, viaCache } from "../cache/build-use.js";
import { proxyEnv } from "../cache/through-proxy.js";
import type { ImageConfig } from "../config/load.js";
import { CommandError, VerificationError } from "../errors.js";
import { binfmtHandlerFor, BINFMT_DIR, parseBinfmtHandler, qemuUserEnv } from "../host/binfmt.js";
import { findInImage } from "../images/files.js";
import type { OutputSink } from "../machine/machine.js";
import type { BuildContext } from "../pipeline/context.js";
import { emptyRootfs } from "../pipeline/snapshots.js";
import type { Step } from "../pipeline/steps.js";
import { verifyKeyring } from "./inputs.js";

export const DEBIAN_KEYRING = "/usr/share/keyrings/debian-archive-keyring.gpg";
/**
 * mmdebstrap's hook that merges /usr the way debootstrap does, when the suite has
 * usr-is-merged (bookworm on); without it, minbase pulls in usrmerge and with it perl.
 * The "maybe-" variant does nothing on suites without usr-is-merged (bullseye).
 */
export const MMDEBSTRAP_MERGED_USR_HOOK = "/usr/share/mmdebstrap/hooks/maybe-merged-usr";

const MINUTE = 60_000;

/** The bootstrap tool's argv. `keyring` is the keyring's path on the machine. */
export function bootstrapArgv(c: ImageConfig, rootfs: string, keyring: string): string[] {
  const b = c.bootstrap;
  const comps = b.components.join(",");
  if (b.tool === "mmdebstrap")
    return [
      "mmdebstrap",
      "--mode=root",
      `--variant=${b.variant}`,
      `--architectures=${c.arch}`,
      `--components=${comps}`,
      ...(b.packages.length ? [`--include=${b.packages.join(",")}`] : []),
      `--keyring=${keyring}`,
      `--hook-dir=${MMDEBSTRAP_MERGED_USR_HOOK}`,
      c.suite,
      rootfs,
      // --keyring alone still trusts the machine's /etc/apt/trusted.gpg.d: signed-by makes apt
      // accept this keyring's keys only, as debootstrap does with its --keyring.
      `deb [signed-by=${keyring}] ${c.mirror.build} ${c.suite} ${b.components.join(" ")}`,
    ];
  return [
    "debootstrap",
    // debootstrap's "standard" is what it does without --variant.
    ...(b.variant === "standard" ? [] : [`--variant=${b.variant}`]),
    `--arch=${c.arch}`,
    `--components=${comps}`,
    ...(b.packages.length ? [`--include=${b.packages.join(",")}`] : []),
    `--keyring=${keyring}`,
    c.suite,
    rootfs,
    c.mirror.build,
  ];
}

const DEBIAN_TO_NODE_ARCH: Record<string, string> = {
  amd64: "x64",
  i386: "ia32",
  arm64: "arm64",
  armhf: "arm",
};

/** A foreign architecture needs a qemu-user binfmt handler with the F flag in the machine. */
export async function checkForeignArch(ctx: BuildContext): Promise<void> {
  const { arch } = ctx.image.config;
  const exec = (argv: string[]) =>
    ctx.machine.exec(argv, { check: false, signal: ctx.signal, timeoutMs: 5 * MINUTE });
  const native = (await exec(["dpkg", "--print-architecture"])).stdout.trim();
  const handler = binfmtHandlerFor(arch, DEBIAN_TO_NODE_ARCH[native] ?? native);
  if (handler === undefined) return;
  const file = `${BINFMT_DIR}/${handler}`;
  const read = async () => {
    const r = await exec(["cat", file]);
    return r.exitCode === 0 ? parseBinfmtHandler(r.stdout) : undefined;
  };
  let h = await read();
  if (!(h?.enabled && h.fixBinary) && (await runsNatively(ctx, arch))) {
    ctx.log.say(`this ${native} ${ctx.machine.site} runs ${arch} programs itself: no qemu-user needed`);
    return;
  }
  if (!(h?.enabled && h.fixBinary) && ctx.machine.site === "vm") {
    // The builder VM is vmlive's own: binfmt_misc is not mounted at its boot (that costs every
    // build), so it is set up here, when an image needs it. The host is the user's: only told.
    ctx.log.say(`registering ${handler} in binfmt_misc for ${arch}`);
    await exec([
      "sh",
      "-c",
      'mountpoint -q "$1" || mount -t binfmt_misc binfmt_misc "$1"; update-binfmts --enable "$2"',
      "binfmt",
      BINFMT_DIR,
      handler,
    ]);
    h = await read();
  }
  if (h?.enabled && h.fixBinary) return trialRun(ctx, native, handler);
  const why = !h
    ? `${file} does not exist`
    : !h.enabled
      ? `${file} is disabled`
      : `${file} has flags "${h.flags}" without F, so it fails inside a chroot`;
  const fix =
    ctx.machine.site === "host"
      ? `sudo apt-get install qemu-user-static binfmt-support && ` +
        `sudo mount -t binfmt_misc binfmt_misc ${BINFMT_DIR}; sudo update-binfmts --enable ${handler}`
      : `the builder VM needs qemu-user-static and binfmt-support (list them in its vm/*.yaml, then ` +
        `\`vmlive vm build --rebuild\`), and ${BINFMT_DIR} mounted with \`update-binfmts --enable ${handler}\``;
  throw new VerificationError(
    `${arch} image on a ${native || "non-" + arch} ${ctx.machine.site}: qemu-user emulation is not ready (${why})`,
    fix,
  );
}

/**
 * Some CPUs run a second architecture's code themselves: an arm64 one with
 * 32-bit support runs armhf programs (qemu's `max` CPU in the arm64 builder
 * does, and Debian registers no qemu-arm handler there). arch-test -n keeps
 * qemu-user out of the trial, so only the CPU itself can pass it.
 */
async function runsNatively(ctx: BuildContext, arch: string): Promise<boolean> {
  const r = await ctx.machine.exec(["arch-test", "-n", arch], {
    check: false,
    signal: ctx.signal,
    timeoutMs: 5 * MINUTE,
  });
  return r.exitCode === 0;
}

/**
 * A registered handler is not yet a working one (a wrong interpreter path, a
 * qemu that cannot run this CPU's code): arch-test runs a tiny program of the
 * architecture. mmdebstrap needs arch-test for foreign architectures anyway.
 */
async function trialRun(ctx: BuildContext, native: string, handler: string): Promise<void> {
  const { arch } = ctx.image.config;
  const r = await ctx.machine.exec(["arch-test", arch], {
    check: false,
    signal: ctx.signal,
    timeoutMs: 5 * MINUTE,
  });
  if (r.exitCode === 0) return;
  const where = `${arch} image on a ${native} ${ctx.machine.site}`;
  if (r.exitCode === 127)
    throw new VerificationError(
      `${where}: arch-test is missing, so vmlive cannot try an ${arch} program first (mmdebstrap needs it too)`,
      ctx.machine.site === "host"
        ? "sudo apt-get install arch-test (./setup installs it)"
        : "list arch-test in the builder's vm/*.yaml, then `vmlive vm build --rebuild`",
    );
  throw new VerificationError(
    `${where}: a trial ${arch} program does not run although ${BINFMT_DIR}/${handler} is enabled: ` +
      (r.stdout.trim() || r.stderr.trim() || `arch-test exit code ${r.exitCode}`),
    `check the handler's interpreter (cat ${BINFMT_DIR}/${handler}) and reinstall qemu-user-static`,
  );
}

/** Lines of debootstrap/mmdebstrap/apt output that say what could not be fetched or verified. */
const TELLING =
  /(Couldn't download|Failed getting release|Failed to fetch|Unable to locate package|does not have a Release file|NO_PUBKEY|unknown key|Invalid Release signature|not signed|no installation candidate|Couldn't find these debs|Release file .* is not valid|Temporary failure resolving|Could not connect|Connection failed|404\s+Not Found)/i;

/** An output sink that passes everything on and keeps the lines that explain a failure. */
export function failureScanner(out: OutputSink): {
  sink: OutputSink;
  found(): string[];
  errors(): string[];
  /** apt's "Ign:N" and "Err:N" lines, for aptTries(). */
  aptStatus(): string[];
} {
  const telling: string[] = [];
  const errors: string[] = [];
  const status: string[] = [];
  const keep = (list: string[], t: string) => {
    if (!list.includes(t) && list.length < 50) list.push(t);
  };
  return {
    sink: {
      line(stream, text) {
        out.line(stream, text);
        const t = text.trim();
        if (/^(Ign|Err):[0-9]+ /.test(t) && status.length < 1000) status.push(t);
        if (TELLING.test(t)) keep(telling, t);
        else if (/^E: /.test(t)) keep(errors, t);
      },
    },
    found: () => telling,
    errors: () => errors,
    aptStatus: () => status,
  };
}

/** Upload the image's keyring next to the other inputs; Debian's otherwise. Returns its path on the machine. */
export async function keyringOnMachine(ctx: BuildContext): Promise<string> {
  const rel = ctx.image.config.bootstrap.keyring;
  if (rel === null) return DEBIAN_KEYRING;
  const found = findInImage(ctx.image, rel, "file");
  if (!found.ok) throw new VerificationError(`bootstrap.keyring: ${found.message}`);
  const dest = `${ctx.work.input}/keyring${path.extname(rel) === ".asc" ? ".asc" : ".gpg"}`;
  await ctx.machine.upload(found.path, dest, { signal: ctx.signal });
  return dest;
}

/**
 * How often debootstrap runs when it cannot reach the mirror, and the waits in
 * between. debootstrap retries package downloads itself, but fetches the Release
 * file once (wget gives up at once on a refused connection), and that is where a
 * dead or mistyped mirror fails: in a fraction of a second, so a few seconds of
 * retries cost little. mmdebstrap needs none: apt retries each file itself
 * (Acquire::Retries, 3 by default since apt 2.3, waiting 1, 2, 4 s), and its
 * output says how often.
 */
export const DEBOOTSTRAP_MIRROR_WAITS_MS = [1_000, 2_000];

/** Lines that say the mirror (or the proxy in front of it) did not answer at all. */
const UNREACHABLE =
  /(Failed getting release file|Could not connect|Connection failed|Connection refused|Connection timed out|No route to host|Temporary failure resolving|Could not resolve)/i;

/**
 * How often apt tried the file its "Err:N URL" line names: apt prints "Ign:N"
 * for each try that it retries and "Err:N" for the last, with the same N.
 */
export function aptTries(lines: readonly string[]): number | undefined {
  const id = lines.map((l) => /^Err:(\d+) /.exec(l.trim())?.[1]).find(Boolean);
  if (id === undefined) return undefined;
  return lines.filter((l) => new RegExp(`^(Ign|Err):${id} `).test(l.trim())).length;
}

async function run(ctx: BuildContext): Promise<void> {
  const c = ctx.image.config;
  const b = c.bootstrap;
  const opts = { signal: ctx.signal, output: ctx.log.output, timeoutMs: 10 * MINUTE };
  await checkForeignArch(ctx);
  await ctx.machine.exec(["mkdir", "-p", ctx.work.root, ctx.work.input], opts);
  const keyring = await keyringOnMachine(ctx);
  const argv = bootstrapArgv(c, ctx.work.rootfs, keyring);
  ctx.log.say(
    `${b.tool} ${b.variant} ${c.suite} ${c.arch} from ${c.mirror.build}${viaCache(ctx, c.mirror.build)}`,
  );
  const waits = b.tool === "debootstrap" ? DEBOOTSTRAP_MIRROR_WAITS_MS : [];
  for (let attempt = 1; ; attempt++) {
    await emptyRootfs({ machine: ctx.machine, work: ctx.work, signal: ctx.signal, say: ctx.log.say });
    const scan = failureScanner(ctx.log.output);
    try {
      await ctx.machine.exec(argv, {
        signal: ctx.signal,
        output: scan.sink,
        env: {
          ...qemuUserEnv(c.arch),
          SOURCE_DATE_EPOCH: String(ctx.sourceDateEpoch),
          // Both tools fetch through the package cache's proxy when it serves the mirror.
          ...proxyEnv(stepProxy(ctx, c.mirror.build)),
        },
        // Hours under TCG for a large variant; the watchdog catches a hung download much sooner.
        timeoutMs: 4 * 60 * MINUTE,
        idleTimeoutMs: 15 * MINUTE,
      });
      return;
    } catch (e) {
      if (!(e instanceof CommandError) || ctx.signal.aborted || e.detail.cause) throw e;
      const unreachable = scan.found().some((l) => UNREACHABLE.test(l));
      const wait = waits[attempt - 1];
      if (unreachable && wait !== undefined) {
        ctx.log.say(`${c.mirror.build} did not answer (try ${attempt}); trying again in ${wait / 1000} s`);
        await sleep(wait, undefined, { signal: ctx.signal });
        continue;
      }
      const tries = b.tool === "debootstrap" ? attempt : aptTries(scan.aptStatus());
      throw await explain(ctx, e, scan.found(), scan.errors(), unreachable ? tries : undefined);
    }
  }
}

/**
 * Turn the tool's failure into a message that names the package or URL that
 * failed; when the mirror did not answer, also how often it was tried.
 */
async function explain(
  ctx: BuildContext,
  e: CommandError,
  telling: string[],
  errors: string[],
  unreachableTries?: number,
): Promise<Error> {
  const c = ctx.image.config;
  let lines = telling.length ? telling : errors;
  if (!lines.length && c.bootstrap.tool === "debootstrap") {
    // debootstrap keeps the details of a failed chroot step in its own log.
    const log = `${ctx.work.rootfs}/debootstrap/debootstrap.log`;
    const r = await ctx.machine.exec(["tail", "-n", "15", log], { check: false, signal: ctx.signal });
    if (r.exitCode === 0 && r.stdout.trim())
      lines = [`last lines of ${log}:`, ...r.stdout.trimEnd().split("\n")];
  }
  if (!lines.length) lines = (e.detail.tail ?? "").split("\n").filter(Boolean).slice(-10);
  const proxy = stepProxy(ctx, c.mirror.build);
  const cache = viaCache(ctx, c.mirror.build) ? " (or build with --no-cache to fetch from it directly)" : "";
  const quoted = lines
    .slice(0, 12)
    .map((l) => `  ${l}`)
    .join("\n");
  if (unreachableTries !== undefined) {
    // Through the cache, apt and wget name the mirror's URLs but talk to the proxy: both are named.
    const via = proxy === undefined ? "" : ` through the package cache at ${proxy}`;
    return new VerificationError(
      `${c.bootstrap.tool} of ${c.suite} ${c.arch} could not reach the mirror ${c.mirror.build}${via} ` +
        `(tried ${unreachableTries} ${unreachableTries === 1 ? "time" : "times"}, exit code ${e.detail.exitCode ?? "?"}):\n${quoted}`,
      `check the mirror URL (mirror.build: ${c.mirror.build}), the network and any proxy (http_proxy)${cache}; full log: ${ctx.log.file}`,
    );
  }
  if (lines.some((l) => UNVERIFIED.test(l))) return unverified(ctx, quoted);
  const what = `${c.bootstrap.tool} of ${c.suite} ${c.arch} from ${c.mirror.build} failed (exit code ${e.detail.exitCode ?? "?"})`;
  return new VerificationError(
    `${what}:\n${quoted}`,
    `check that ${c.mirror.build} serves ${c.suite} for ${c.arch} with components ${c.bootstrap.components.join(", ")}` +
      `${c.bootstrap.packages.length ? ` and the packages ${c.bootstrap.packages.join(", ")}` : ""}${cache}; full log: ${ctx.log.file}`,
  );
}

/** Lines of debootstrap (gpgv) and apt that say the Release file's signature did not verify. */
const UNVERIFIED =
  /(NO_PUBKEY|unknown key|Invalid Release signature|is not signed|signatures couldn't be verified|signatures were invalid|EXPKEYSIG|BADSIG)/i;

/**
 * The mirror's Release file is not signed by a key in the keyring: say which
 * keyring, and how to give it the right key. Checks are never turned off.
 */
function unverified(ctx: BuildContext, quoted: string): VerificationError {
  const c = ctx.image.config;
  const rel = c.bootstrap.keyring;
  const keyring =
    rel === null
      ? `Debian's archive keyring ${DEBIAN_KEYRING} (bootstrap.keyring is not set)`
      : `bootstrap.keyring: ${rel} (in ${ctx.image.displayFile})`;
  const fix =
    rel === null
      ? `a mirror that is not Debian's needs its signing key as bootstrap.keyring; for Debian's own, update the debian-archive-keyring package on the build machine`
      : `put the key that signs ${c.mirror.build} into ${rel} (gpg --export KEY-ID > ${rel}), or, for a Debian mirror, remove bootstrap.keyring to use ${DEBIAN_KEYRING}`;
  return new VerificationError(
    `${c.bootstrap.tool} of ${c.suite} ${c.arch} from ${c.mirror.build}: the signature of its Release file ` +
      `does not verify with ${keyring}:\n${quoted}`,
    `${fix}. vmlive has no option to turn signature checks off; full log: ${ctx.log.file}`,
  );
}

export const bootstrapStep: Step = {
  name: "bootstrap",
  summary: "debootstrap or mmdebstrap the base root filesystem from the build mirror",
  verify: verifyKeyring,
  run,
};
