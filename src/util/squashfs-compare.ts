// The first difference between two squashfs images, as a person would want it
// named: the first path (in the images' own order) whose type, mode, owner,
// size, link target, mtime, content or xattrs differ. The listings
// (`unsquashfs -lln`) give order, mode, owner, size and link target without
// root; both images are unpacked for what the listing does not show exactly
// (mtime to the second, content, xattrs).
import { lstat, mkdir, rm } from "node:fs/promises";
import path from "node:path";
import { run } from "../process/run.js";
import { firstDifferentByte } from "./first-difference.js";

/** One entry of `unsquashfs -lln`. */
export interface ListedEntry {
  /** Path inside the image: "/" for its root, "/etc/passwd" ... */
  path: string;
  /** "-rw-r--r--", "drwxr-xr-x", "lrwxrwxrwx" ... */
  mode: string;
  /** "0/0": numeric uid/gid. */
  owner: string;
  /** Bytes, or "major,minor" for a device. */
  size: string;
  /** Minutes only ("2025-12-01 00:00"): the listing's resolution. */
  time: string;
  /** A symlink's target. */
  target?: string;
}

const ROOT = "squashfs-root";
const ENTRY = /^([-dlcbps][-rwxsStT]{9})\s+(\S+)\s+(\d+|\d+,\s*\d+)\s+(\d{4}-\d\d-\d\d \d\d:\d\d) (.*)$/;

/** Read `unsquashfs -lln -UTC` output. A line that is no entry continues the previous name (a newline in a file name). */
export function parseListing(text: string): ListedEntry[] {
  const entries: ListedEntry[] = [];
  const lines = text.split("\n");
  if (lines.at(-1) === "") lines.pop();
  for (const line of lines) {
    const m = ENTRY.exec(line);
    if (!m || !(m[5] === ROOT || m[5]!.startsWith(`${ROOT}/`))) {
      const last = entries.at(-1);
      if (last) last.path += `\n${line}`;
      continue;
    }
    const [, mode, owner, size, time, rest] = m as unknown as string[];
    let name = rest!;
    let target: string | undefined;
    if (mode!.startsWith("l")) {
      const arrow = name.indexOf(" -> ");
      if (arrow >= 0) [name, target] = [name.slice(0, arrow), name.slice(arrow + 4)];
    }
    entries.push({
      path: name === ROOT ? "/" : name.slice(ROOT.length),
      mode: mode!,
      owner: owner!,
      size: size!.replace(/\s+/g, ""),
      time: time!,
      ...(target !== undefined ? { target } : {}),
    });
  }
  return entries;
}

/** What differs in one entry: "mode -rw-r--r-- vs -rwxr-xr-x", "content (first difference at byte 12)" ... */
export interface EntryDifference {
  path: string;
  /** Each aspect that differs, first word its name: content, mode, owner, size, mtime, xattrs, target, missing. */
  differences: string[];
}

/** How the two entries of the same path differ, by their listing lines alone. */
export function listedDifferences(a: ListedEntry, b: ListedEntry): string[] {
  const d: string[] = [];
  if (a.mode !== b.mode) d.push(`mode ${a.mode} vs ${b.mode}`);
  if (a.owner !== b.owner) d.push(`owner ${a.owner} vs ${b.owner}`);
  if (a.size !== b.size) d.push(`size ${a.size} vs ${b.size}`);
  if (a.target !== b.target) d.push(`target ${a.target ?? "-"} vs ${b.target ?? "-"}`);
  if (a.time !== b.time) d.push(`mtime ${a.time} vs ${b.time} (UTC)`);
  return d;
}

/**
 * The paths of both listings in the images' order (squashfs sorts each
 * folder's names bytewise), each with its entry in a and in b.
 */
export function mergeListings(
  a: readonly ListedEntry[],
  b: readonly ListedEntry[],
): { path: string; a?: ListedEntry; b?: ListedEntry }[] {
  const byB = new Map(b.map((e) => [e.path, e]));
  const inA = new Set(a.map((e) => e.path));
  const out: { path: string; a?: ListedEntry; b?: ListedEntry }[] = [];
  let j = 0;
  for (const ea of a) {
    // Entries only b has, up to the next one both have, come in b's order before it.
    if (byB.has(ea.path)) {
      while (j < b.length && b[j]!.path !== ea.path) {
        if (!inA.has(b[j]!.path)) out.push({ path: b[j]!.path, b: b[j] });
        j++;
      }
      j++;
    }
    out.push({ path: ea.path, a: ea, b: byB.get(ea.path) });
  }
  for (; j < b.length; j++) if (!inA.has(b[j]!.path)) out.push({ path: b[j]!.path, b: b[j] });
  return out;
}

/** `getfattr -h -d -m - -e hex -R` output: path -> "name=value" lines. */
export function parseGetfattr(text: string, root: string): Map<string, string> {
  const out = new Map<string, string>();
  let file: string | undefined;
  const attrs: string[] = [];
  const flush = () => {
    if (file !== undefined && attrs.length) out.set(file, attrs.sort().join("\n"));
    attrs.length = 0;
  };
  for (const line of text.split("\n")) {
    const m = /^# file: (.*)$/.exec(line);
    if (m) {
      flush();
      const abs = path.resolve(root, unescapeGetfattr(m[1]!));
      const rel = path.relative(root, abs);
      file = rel === "" ? "/" : `/${rel}`;
    } else if (line.includes("=")) attrs.push(line);
  }
  flush();
  return out;
}

/** getfattr writes bytes outside printable ASCII as \ooo octal. */
function unescapeGetfattr(s: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < s.length; i++) {
    const oct = /^\\([0-7]{3})/.exec(s.slice(i));
    if (oct) {
      bytes.push(parseInt(oct[1]!, 8));
      i += 3;
    } else bytes.push(...Buffer.from(s[i]!));
  }
  return Buffer.from(bytes).toString();
}

export interface SquashfsComparison {
  /** The first entry that differs, in the images' order. */
  first?: EntryDifference;
  /** How many entries differ in all. */
  differing: number;
  /** When every entry is the same: the first line of `unsquashfs -s` that differs (how the image was made). */
  superblock?: string;
  /** Said when xattrs could not be compared (no getfattr). */
  note?: string;
}

export interface CompareOptions {
  /** A folder for the unpacked trees (made, and removed afterwards). */
  scratch: string;
  signal?: AbortSignal;
}

/** Compare two squashfs images entry by entry. They are known to differ as files. */
export async function compareSquashfs(a: string, b: string, o: CompareOptions): Promise<SquashfsComparison> {
  const run_ = (argv: string[], check = true) => run(argv, { signal: o.signal, check });
  const listing = async (img: string) =>
    parseListing((await run_(["unsquashfs", "-lln", "-UTC", img])).stdout);
  const [la, lb] = [await listing(a), await listing(b)];
  const dirA = path.join(o.scratch, "a");
  const dirB = path.join(o.scratch, "b");
  await rm(o.scratch, { recursive: true, force: true });
  await mkdir(o.scratch, { recursive: true });
  try {
    for (const [img, dir] of [
      [a, dirA],
      [b, dirB],
    ] as const) {
      // Exit code 2 is "non-fatal errors" (device nodes or xattrs without root): what it could unpack is compared.
      const r = await run_(["unsquashfs", "-no-progress", "-d", dir, img], false);
      if (r.exitCode !== 0 && r.exitCode !== 2)
        throw new Error(
          `unsquashfs -d ${dir} ${img}: exit code ${r.exitCode}: ${r.stderr.trim().slice(-300)}`,
        );
    }
    const getfattr = await run_(["getfattr", "--version"], false).catch(() => undefined);
    const xattrs =
      getfattr?.exitCode === 0
        ? await Promise.all(
            [dirA, dirB].map(async (dir) =>
              parseGetfattr(
                (await run_(["getfattr", "-h", "-d", "-m", "-", "-e", "hex", "-R", dir], false)).stdout,
                dir,
              ),
            ),
          )
        : undefined;

    let first: EntryDifference | undefined;
    let differing = 0;
    for (const m of mergeListings(la, lb)) {
      const d = await entryDifferences(m, dirA, dirB, xattrs);
      if (!d.length) continue;
      differing++;
      first ??= { path: m.path, differences: d };
    }
    const note = xattrs
      ? undefined
      : "xattrs were not compared: getfattr (Debian package attr) is not installed";
    if (first) return { first, differing, note };
    const superblock = async (img: string) => (await run_(["unsquashfs", "-s", img])).stdout;
    return { differing, superblock: firstDifferentLine(await superblock(a), await superblock(b)), note };
  } finally {
    await rm(o.scratch, { recursive: true, force: true });
  }
}

async function entryDifferences(
  m: { path: string; a?: ListedEntry; b?: ListedEntry },
  dirA: string,
  dirB: string,
  xattrs: Map<string, string>[] | undefined,
): Promise<string[]> {
  if (!m.a) return ["missing in the first build"];
  if (!m.b) return ["missing in the second build"];
  const d = listedDifferences(m.a, m.b);
  const fa = path.join(dirA, m.path);
  const fb = path.join(dirB, m.path);
  const [sa, sb] = await Promise.all([lstat(fa).catch(() => undefined), lstat(fb).catch(() => undefined)]);
  if (sa && sb) {
    const ta = Math.floor(sa.mtimeMs / 1000);
    const tb = Math.floor(sb.mtimeMs / 1000);
    // The listing shows minutes: seconds are told here, unless the listing already told a different minute.
    if (ta !== tb && m.a.time === m.b.time) d.push(`mtime ${iso(ta)} vs ${iso(tb)}`);
    if (sa.isFile() && sb.isFile() && sa.size === sb.size) {
      const at = await firstDifferentByte(fa, fb);
      if (at !== undefined) d.unshift(`content (first difference at byte ${at})`);
    } else if (sa.isFile() && sb.isFile()) d.unshift("content");
  }
  if (xattrs) {
    const [xa, xb] = [xattrs[0]!.get(m.path), xattrs[1]!.get(m.path)];
    if (xa !== xb)
      d.push(`xattrs ${xa?.replace(/\n/g, ", ") ?? "none"} vs ${xb?.replace(/\n/g, ", ") ?? "none"}`);
  }
  return d;
}

function iso(seconds: number): string {
  return new Date(seconds * 1000).toISOString().replace(".000Z", "Z");
}

/** "line a" vs "line b" for the first line that differs, or undefined. */
export function firstDifferentLine(a: string, b: string): string | undefined {
  const la = a.split("\n");
  const lb = b.split("\n");
  for (let i = 0; i < Math.max(la.length, lb.length); i++)
    if (la[i] !== lb[i]) return `${JSON.stringify(la[i] ?? "")} vs ${JSON.stringify(lb[i] ?? "")}`;
  return undefined;
}
