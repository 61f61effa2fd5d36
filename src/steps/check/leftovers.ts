// What counts as a build leftover in the finished root filesystem, and how
// the check script's records (see script.ts) become leftovers with a problem
// and a fix each. Pure functions: everything here is tested without a machine.
import { VerificationError } from "../../errors.js";
import type { Leftover } from "../../pipeline/context.js";
import { BUILD_KEYRING_BASE } from "../customize/apt.js";
import { APT_BUILD_CONF, DPKG_BUILD_CONF, POLICY_RC_D } from "../customize/prepare.js";

const BUG = "it is a vmlive bug, please report it with logs/build.log";
/** The usual fix: whoever made it removes it, and if that was nobody, vmlive has a bug. */
const HOOK_OR_BUG =
  "remove it at the end of the hook (or from the overlay) that makes it; if none of the image's hooks " +
  `or files does, customize's finish missed it: ${BUG}`;
const RERUN =
  "customize did not finish in this work area: run it again (--steps customize,check,...) or rebuild with --clean";

/** A path (or glob) in the image that must not exist after customize. */
export interface AbsentRule {
  pattern: string;
  problem: string;
  fix: string;
}

export const CHECKS = {
  policyRcD: "policy-rc.d",
  ssd: "start-stop-daemon diversion and stub",
  buildConf: "build apt and dpkg config",
  keyring: "build keyring",
  machineId: "machine id",
  sshKeys: "SSH host keys",
  mirror: "build mirror in apt sources",
  proxy: "proxy settings",
  temp: "vmlive's temporary files and markers",
  resolv: "resolv.conf",
  root: "root password",
} as const;

export const ABSENT: readonly AbsentRule[] = [
  {
    pattern: POLICY_RC_D,
    problem: "the build's policy-rc.d: invoke-rc.d would start no daemon in the live system",
    fix: HOOK_OR_BUG,
  },
  {
    pattern: APT_BUILD_CONF,
    problem: "the build's apt settings (dpkg --force-confold, quiet output) would stay in force",
    fix: HOOK_OR_BUG,
  },
  {
    pattern: DPKG_BUILD_CONF,
    problem:
      "the build's dpkg setting force-unsafe-io: dpkg in the live system would not sync what it writes",
    fix: HOOK_OR_BUG,
  },
  ...[".gpg", ".asc"].map((ext) => ({
    pattern: `${BUILD_KEYRING_BASE}${ext}`,
    problem: "the build mirror's keyring (bootstrap.keyring), which none of the image's sources is signed by",
    fix: HOOK_OR_BUG,
  })),
  {
    pattern: "/etc/ssh/ssh_host_*",
    problem: "an SSH host key made while building: every copy of the image would have the same one",
    fix:
      "remove them at the end of the hook that makes them (rm -f /etc/ssh/ssh_host_*): the image's " +
      `vmlive-ssh-keygen.service makes new ones at first boot; if no hook does, ${BUG}`,
  },
  {
    // CHROOT_HOOK_DIR (/tmp/vmlive-hooks) and the overlay's tarball.
    pattern: "/tmp/vmlive-*",
    problem: "vmlive's temporary file from the build",
    fix: RERUN,
  },
];

export interface Expectations {
  /** mirror.build when the image's sources must not name it; undefined when it is one of their own. */
  buildMirror: string | undefined;
  /** root.locked is false, so root may have a password. */
  rootMayLogIn: boolean;
}

/** What the check looked at, for report.json. */
export function checkedList(e: Expectations): string[] {
  return Object.values(CHECKS).filter((c) => c !== CHECKS.mirror || e.buildMirror !== undefined);
}

/** user:password@ in a URL is not repeated in a message or report. */
export function redact(text: string): string {
  return text.replace(/(\/\/)[^/@\s"']+@/g, "$1***@");
}

/** The archive URIs a sources line names: `deb [opts] URI ...` or deb822's `URIs: a b`. */
export function sourceUris(line: string): string[] {
  const t = line.trim();
  if (t.startsWith("#")) return [];
  const deb822 = /^URIs:\s*(.*)$/i.exec(t);
  if (deb822) return (deb822[1] ?? "").split(/\s+/).filter(Boolean);
  const one = /^deb(?:-src)?\s+(?:\[[^\]]*\]\s+)?(\S+)/.exec(t);
  return one?.[1] ? [one[1]] : [];
}

const noSlash = (u: string) => u.replace(/\/+$/, "");

/**
 * The proxy an apt config line sets, or undefined when it sets none: a comment,
 * a line without a quoted value after "proxy", or DIRECT / false / "" (no proxy).
 */
export function aptProxyValue(line: string): string | undefined {
  const t = line.trim();
  if (t.startsWith("//") || t.startsWith("#")) return undefined;
  const v = /proxy[^"]*"([^"]*)"/i.exec(t)?.[1]?.trim();
  return v === undefined || v === "" || /^(direct|false)$/i.test(v) ? undefined : v;
}

/** `http_proxy=VALUE` (optionally exported, quoted) on an environment or profile line, when VALUE is not empty. */
export function envProxy(line: string): { name: string; value: string } | undefined {
  const t = line.trim();
  if (t.startsWith("#")) return undefined;
  const m = /^(?:export\s+)?((?:http|https|ftp|all|no)_proxy)\s*=\s*(.*)$/i.exec(t);
  if (!m?.[1]) return undefined;
  const value = (m[2] ?? "").trim().replace(/^(["'])(.*)\1;?$/, "$2");
  return value ? { name: m[1], value } : undefined;
}

/** "12:text" (grep -n) into its line number and text. */
function numbered(rest: string): { n: string; text: string } {
  const i = rest.indexOf(":");
  return i < 0 ? { n: "?", text: rest } : { n: rest.slice(0, i), text: rest.slice(i + 1) };
}

type Add = (path: string, problem: string, fix: string) => void;

/** The script's output as leftovers, every one found, in the order found. */
export function parseFindings(
  output: string,
  e: Expectations,
  markers: { unfinished: string; resolvLink: string },
): Leftover[] {
  const out: Leftover[] = [];
  const add: Add = (path, problem, fix) => out.push({ path, problem, fix });
  const diversions: string[] = [];
  let ended = false;
  for (const line of output.split("\n")) {
    if (line === "") continue;
    const [kind = "", a = "", ...more] = line.split("\t");
    const b = more.join("\t");
    // The diversions file comes line by line: judged as a whole once it has been read.
    if (kind !== "diversion") addDiversions(diversions.splice(0), add);
    switch (kind) {
      case "end":
        ended = true;
        break;
      case "no-rootfs":
        throw new VerificationError(
          `there is no root filesystem at ${a} to check`,
          "run bootstrap and customize first, e.g. --steps bootstrap,customize,check",
        );
      case "marker":
        add(
          a,
          a === markers.resolvLink
            ? "customize's note of the image's own resolv.conf symlink is still there: finish did not put it back"
            : "customize's marker: it started and its finish did not complete, so the image may still hold the build's setup",
          RERUN,
        );
        break;
      case "present": {
        const rule = ABSENT[Number(a)];
        if (rule) add(b, rule.problem, rule.fix);
        break;
      }
      case "half-written":
        add(
          a,
          "a file vmlive was writing when it was interrupted",
          `rebuild with --clean; if it comes back, ${BUG}`,
        );
        break;
      case "diversion":
        diversions.push(b);
        break;
      case "stub":
        add(
          a,
          "start-stop-daemon is a shell script, the build's stub, not dpkg's program: init scripts would start no daemon",
          "put dpkg's program back at the end of the hook that stubs it (remove the stub, then dpkg-divert " +
            `--rename --remove the path); if no hook does, ${BUG}`,
        );
        break;
      case "machine-id":
        if (a === "/etc/machine-id")
          add(
            a,
            "holds a machine id: every copy of the image would boot with the same one (journal, DHCP, D-Bus)",
            "empty it (truncate -s 0 /etc/machine-id) at the end of the hook that fills it, rather than " +
              "delete it: from an empty file systemd makes a new id at every boot and bind-mounts it over " +
              `the file, which works on a read-only root too (machine-id(5)); if no hook fills it, ${BUG}`,
          );
        else
          add(
            a,
            "holds a machine id, and systemd takes it when /etc/machine-id is empty: every copy of the image would share it",
            "remove it, or make it a symlink to /etc/machine-id, at the end of the hook that makes it; " +
              `if none does, ${BUG}`,
          );
        break;
      case "source": {
        const { n, text } = numbered(b);
        const build = e.buildMirror;
        if (build !== undefined && sourceUris(text).some((u) => noSlash(u) === noSlash(build)))
          add(
            `${a}:${n}`,
            `names the build mirror ${build} (mirror.build), which the image's sources do not use: ${redact(text.trim())}`,
            "take it out at the end of the hook that adds it; for an image that uses this mirror, set " +
              "mirror.image to it",
          );
        break;
      }
      case "apt-proxy": {
        const { n, text } = numbered(b);
        if (aptProxyValue(text) !== undefined)
          add(
            `${a}:${n}`,
            `an apt proxy (${redact(text.trim())}): apt in the live system would go through it`,
            "remove it in the hook or overlay file that writes it; to build through a proxy or an apt " +
              "cache, point mirror.build at it (e.g. http://10.0.2.2:3142/debian for apt-cacher-ng) instead",
          );
        break;
      }
      case "env-proxy": {
        const { n, text } = numbered(b);
        const p = envProxy(text);
        if (p)
          add(
            `${a}:${n}`,
            `${p.name}=${redact(p.value)}: programs in the live system would use the build's proxy settings`,
            "remove it in the hook or overlay file that writes it; hooks that need a proxy can set it " +
              "in their own environment (env: in image.yaml)",
          );
        break;
      }
      case "resolv":
        add(
          a,
          "the build machine's copy (the same as its /etc/resolv.conf): the live system would ask the build network's name servers",
          "customize's finish empties it or puts back the image's symlink; a hook that copies a resolv.conf " +
            `in must not leave it (or must write the image's own); otherwise ${BUG}`,
        );
        break;
      case "root":
        rootFinding(b, e.rootMayLogIn, add);
        break;
      default:
        throw new Error(`the leftover check printed a line it never prints: ${JSON.stringify(redact(line))}`);
    }
  }
  if (!ended)
    throw new Error(
      `the leftover check stopped before its end; its last lines:\n${redact(output.trim().split("\n").slice(-5).join("\n"))}`,
    );
  return out;
}

/** A diversion of start-stop-daemon, which the build makes, is a leftover. */
function addDiversions(lines: readonly string[], add: Add) {
  for (const d of divertedSsd(lines))
    add(
      d.from,
      `still diverted to ${d.to} (${d.pkg === ":" ? "a local diversion, as the build makes" : `by package ${d.pkg}`}; dpkg-divert --list)`,
      `undo it at the end of the hook that makes it (dpkg-divert --rename --remove ${d.from}); if none does, ${BUG}`,
    );
}

/** dpkg's diversions file is three lines per diversion: the file, where it went, the package (":" when local). */
export function divertedSsd(lines: readonly string[]): { from: string; to: string; pkg: string }[] {
  const out: { from: string; to: string; pkg: string }[] = [];
  for (let i = 0; i + 2 < lines.length; i += 3) {
    const [from, to, pkg] = [lines[i]!, lines[i + 1]!, lines[i + 2]!];
    if (/\/start-stop-daemon$/.test(from)) out.push({ from, to, pkg });
  }
  return out;
}

const LOCK_ROOT =
  "lock it with usermod --lock root at the end of the hook that sets it, or give root a password in " +
  "image.yaml (root.locked: false with root.password or root.password_hash)";

function rootFinding(c: string, mayLogIn: boolean, add: Add) {
  if (c === "no-file" || c === "no-entry") {
    add(
      "/etc/shadow",
      c === "no-file"
        ? "is missing: nothing says whether root is locked"
        : "has no entry for root: nothing says whether root is locked",
      "a hook removed it; root's entry in /etc/shadow must stay (usermod --lock root makes a locked one)",
    );
    return;
  }
  if (c === "")
    add(
      "/etc/shadow",
      "root's password is empty: anyone can log in as root without one",
      mayLogIn
        ? "a hook cleared it (passwd -d root): take that out, so root keeps the password image.yaml gives it"
        : LOCK_ROOT,
    );
  else if (!mayLogIn && c !== "!" && c !== "*")
    add(
      "/etc/shadow",
      "root has a password, but image.yaml sets none (root.locked: true, the default): root must be locked",
      LOCK_ROOT,
    );
}

/** The message listing every leftover, each with its fix. */
export function leftoversMessage(rootfs: string, found: readonly Leftover[]): string {
  const n = found.length;
  return [
    `the image in ${rootfs} still holds ${n} build leftover${n === 1 ? "" : "s"}:`,
    ...found.flatMap((l) => [`  ${l.path}: ${l.problem}`, `    fix: ${l.fix}`]),
  ].join("\n");
}
