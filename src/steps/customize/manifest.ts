// The list of installed packages: into the build state and work.out/manifest.tsv.
import type { BuildContext, PackageEntry } from "../../pipeline/context.js";
import { inChroot, onMachine, writeOnMachine } from "./exec.js";

const FORMAT = "${db:Status-Status}\\t${Package}\\t${Version}\\t${Architecture}\\n";

/** dpkg-query's lines (status, name, version, arch) as the installed packages, sorted by name. */
export function parseManifest(text: string): PackageEntry[] {
  return text
    .split("\n")
    .map((l) => l.split("\t"))
    .filter((f) => f.length === 4 && f[0] === "installed")
    .map(([, name, version, arch]) => ({ name: name!, version: version!, arch: arch! }))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

export const manifestTsv = (pkgs: readonly PackageEntry[]) =>
  pkgs.map((p) => `${p.name}\t${p.version}\t${p.arch}\n`).join("");

export async function writeManifest(ctx: BuildContext): Promise<void> {
  const r = await inChroot(ctx, ["dpkg-query", "-W", `-f=${FORMAT}`], { quiet: true });
  const pkgs = parseManifest(r.stdout);
  ctx.state.manifest = pkgs;
  await onMachine(ctx, ["mkdir", "-p", ctx.work.out], { quiet: true });
  await writeOnMachine(ctx, `${ctx.work.out}/manifest.tsv`, manifestTsv(pkgs));
  ctx.log.say(`${pkgs.length} packages in the image; manifest in ${ctx.work.out}/manifest.tsv`);
}
