// The check step's one trip to the machine: a fixed shell script that looks at
// the root filesystem from outside it and prints what it finds, one
// tab-separated record a line, for leftovers.ts to judge. The script's text
// never changes; the rootfs, the build mirror, the marker paths and the paths
// that must not exist all travel as positional arguments.
//
// It runs on the machine rather than in the chroot: one process tree, no qemu-user
// emulation for foreign images, and it can compare the image's resolv.conf with
// the machine's and see customize's markers in the work area. So that nothing
// is read from the machine through an absolute symlink in the image, files are
// only read when they are regular files and not symlinks.

/**
 * $1 rootfs, $2 build mirror ("" when the image's sources may name it), then
 * the marker paths on the machine up to "--", then in-image path patterns
 * (globs, e.g. /etc/ssh/ssh_host_*) that must match nothing.
 *
 * Records: `marker PATH`, `present INDEX PATH` (INDEX into the patterns),
 * `half-written PATH`, `diversion FILE LINE` (the diversions file, line by
 * line), `stub PATH`, `machine-id PATH`, `source FILE N:LINE`,
 * `apt-proxy FILE N:LINE`, `env-proxy FILE N:LINE`, `resolv PATH`,
 * `root /etc/shadow C` (C: the first character of root's password field, or
 * no-file / no-entry; never the hash itself), `no-rootfs PATH`, and `end` last.
 */
export const CHECK_SCRIPT = [
  "set -u",
  'r="$1"; mirror="$2"; shift 2',
  'say() { printf \'%s\\t%s\\t%s\\n\' "$1" "${2-}" "${3-}"; }',
  'reg() { [ -f "$1" ] && [ ! -L "$1" ]; }',
  'there() { [ -e "$1" ] || [ -L "$1" ]; }',
  'tag() { while IFS= read -r l; do say "$1" "$2" "$l"; done; }',
  'if [ ! -d "$r/etc" ]; then say no-rootfs "$r"; exit 0; fi',
  'while [ "$#" -gt 0 ] && [ "$1" != -- ]; do there "$1" && say marker "$1"; shift; done',
  '[ "$#" -gt 0 ] && shift',
  // The patterns are vmlive's own constants: unquoted so that their globs expand, below the quoted root.
  "i=0",
  'for p in "$@"; do',
  '  for f in "$r"$p; do there "$f" && say present "$i" "${f#"$r"}"; done',
  "  i=$((i + 1))",
  "done",
  `find "$r" -xdev -name '*.vmlive-new' | while IFS= read -r f; do say half-written "\${f#"$r"}"; done`,
  "d=/var/lib/dpkg/diversions",
  'reg "$r$d" && tag diversion "$d" < "$r$d"',
  // With merged /usr, /sbin is a symlink to usr/sbin: the program is looked at once, in /usr/sbin.
  "for p in /sbin/start-stop-daemon /usr/sbin/start-stop-daemon; do",
  '  [ -L "$r${p%/*}" ] && continue',
  `  reg "$r$p" && [ "$(head -c 2 "$r$p")" = '#!' ] && say stub "$p"`,
  "done",
  // "uninitialized" is systemd's own first-boot state, not an id.
  "for p in /etc/machine-id /var/lib/dbus/machine-id; do",
  '  reg "$r$p" && [ -s "$r$p" ] && [ "$(cat "$r$p")" != uninitialized ] && say machine-id "$p"',
  "done",
  'if [ -n "$mirror" ]; then',
  '  for f in "$r/etc/apt/sources.list" "$r"/etc/apt/sources.list.d/*.list "$r"/etc/apt/sources.list.d/*.sources; do',
  '    reg "$f" && grep -n -F -e "$mirror" -- "$f" | tag source "${f#"$r"}"',
  "  done",
  "fi",
  'for f in "$r/etc/apt/apt.conf" "$r"/etc/apt/apt.conf.d/*; do',
  '  reg "$f" && grep -n -i -e proxy -- "$f" | tag apt-proxy "${f#"$r"}"',
  "done",
  'for f in "$r/etc/environment" "$r"/etc/profile.d/*; do',
  `  reg "$f" && grep -n -i -E -e '(http|https|ftp|all|no)_proxy' -- "$f" | tag env-proxy "\${f#"$r"}"`,
  "done",
  'f="$r/etc/resolv.conf"',
  'reg "$f" && [ -s "$f" ] && cmp -s -- "$f" /etc/resolv.conf && say resolv /etc/resolv.conf',
  'f="$r/etc/shadow"',
  'if ! reg "$f"; then say root /etc/shadow no-file',
  `elif grep -q '^root:' "$f"; then say root /etc/shadow "$(grep -m 1 '^root:' "$f" | cut -d: -f2 | cut -c 1)"`,
  "else say root /etc/shadow no-entry; fi",
  "say end",
].join("\n");

export interface CheckArgs {
  rootfs: string;
  /** mirror.build when the image's apt sources must not name it; undefined when they may. */
  buildMirror: string | undefined;
  /** Paths on the machine, outside the image, that must not exist. */
  markers: readonly string[];
  /** Paths in the image (globs allowed) that must match nothing. */
  absent: readonly string[];
}

/** The argv that runs the check on the machine. */
export function checkArgv(a: CheckArgs): string[] {
  return [
    "sh",
    "-c",
    CHECK_SCRIPT,
    "vmlive-check",
    a.rootfs,
    a.buildMirror ?? "",
    ...a.markers,
    "--",
    ...a.absent,
  ];
}
