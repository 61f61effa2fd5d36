// Debian version ordering (Debian Policy 5.6.12, dpkg's verrevcmp), so a diff
// can tell an upgrade from a downgrade without starting dpkg once per package:
// a point release changes hundreds of packages, and this runs anywhere.

interface Version {
  epoch: number;
  upstream: string;
  revision: string;
}

/** [epoch:]upstream[-revision]: the epoch before the first colon, the revision after the last hyphen. */
export function parseVersion(v: string): Version {
  const s = v.trim();
  const colon = s.indexOf(":");
  const epochText = colon >= 0 ? s.slice(0, colon) : "0";
  if (!/^[0-9]+$/.test(epochText)) throw new Error(`not a Debian version: ${JSON.stringify(v)} (bad epoch)`);
  const rest = colon >= 0 ? s.slice(colon + 1) : s;
  const hyphen = rest.lastIndexOf("-");
  return {
    epoch: Number(epochText),
    upstream: hyphen >= 0 ? rest.slice(0, hyphen) : rest,
    revision: hyphen >= 0 ? rest.slice(hyphen + 1) : "",
  };
}

const isDigit = (c: string | undefined) => c !== undefined && c >= "0" && c <= "9";
const isLetter = (c: string) => (c >= "a" && c <= "z") || (c >= "A" && c <= "Z");

/** Sort weight of one character of a non-digit part: ~ before the end, the end before letters, letters before the rest. */
function order(c: string | undefined): number {
  if (c === undefined || isDigit(c)) return 0;
  if (isLetter(c)) return c.charCodeAt(0);
  if (c === "~") return -1;
  return c.charCodeAt(0) + 256;
}

/** dpkg's verrevcmp: alternating non-digit parts (by `order`) and digit parts (by value). */
function compareFragment(a: string, b: string): number {
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    while ((i < a.length && !isDigit(a[i])) || (j < b.length && !isDigit(b[j]))) {
      const d = order(a[i]) - order(b[j]);
      if (d) return d;
      i++;
      j++;
    }
    while (a[i] === "0") i++;
    while (b[j] === "0") j++;
    let firstDiff = 0;
    while (isDigit(a[i]) && isDigit(b[j])) {
      if (!firstDiff) firstDiff = a.charCodeAt(i) - b.charCodeAt(j);
      i++;
      j++;
    }
    if (isDigit(a[i])) return 1;
    if (isDigit(b[j])) return -1;
    if (firstDiff) return firstDiff;
  }
  return 0;
}

/** Negative when a sorts before b, 0 when dpkg calls them equal (1.0 and 1.0-0), positive after. */
export function compareVersions(a: string, b: string): number {
  const x = parseVersion(a);
  const y = parseVersion(b);
  if (x.epoch !== y.epoch) return x.epoch - y.epoch;
  return compareFragment(x.upstream, y.upstream) || compareFragment(x.revision, y.revision);
}
