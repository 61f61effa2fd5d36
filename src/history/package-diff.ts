// Which packages two builds' manifests differ in. A package is its name: when
// each build has it once it is the same package even if its architecture
// changed (a library moving to Architecture: all); only names installed for
// several architectures (multiarch) are matched architecture by architecture.
import { byNameArch, type PackageRow } from "./build-folder.js";
import { compareVersions } from "./debian-version.js";

export interface PackageChange {
  name: string;
  /** The architecture in the newer build. */
  arch: string;
  from: string;
  to: string;
}

export interface PackageDiff {
  added: PackageRow[];
  removed: PackageRow[];
  upgraded: PackageChange[];
  downgraded: PackageChange[];
}

export function diffPackages(from: readonly PackageRow[], to: readonly PackageRow[]): PackageDiff {
  const d: PackageDiff = { added: [], removed: [], upgraded: [], downgraded: [] };
  const a = byName(from);
  const b = byName(to);
  const compare = (x: PackageRow, y: PackageRow) => {
    const c = compareVersions(x.version, y.version);
    if (c !== 0)
      (c < 0 ? d.upgraded : d.downgraded).push({
        name: y.name,
        arch: y.arch,
        from: x.version,
        to: y.version,
      });
  };
  for (const name of new Set([...a.keys(), ...b.keys()])) {
    const xs = a.get(name) ?? [];
    const ys = b.get(name) ?? [];
    if (xs.length === 1 && ys.length === 1) {
      compare(xs[0]!, ys[0]!);
      continue;
    }
    for (const x of xs) {
      const y = ys.find((p) => p.arch === x.arch);
      if (y) compare(x, y);
      else d.removed.push(x);
    }
    for (const y of ys) if (!xs.some((p) => p.arch === y.arch)) d.added.push(y);
  }
  for (const list of Object.values(d)) (list as PackageRow[]).sort(byNameArch);
  return d;
}

function byName(rows: readonly PackageRow[]): Map<string, PackageRow[]> {
  const m = new Map<string, PackageRow[]>();
  for (const r of rows) m.set(r.name, [...(m.get(r.name) ?? []), r]);
  return m;
}
