// collect: checksums made where the files are, then the ISO, SHA256SUMS and
// the package manifest copied to the host output folder and checked there.
import { stat } from "node:fs/promises";
import path from "node:path";
import { VerificationError } from "../errors.js";
import type { Artifact } from "../pipeline/context.js";
import type { Step } from "../pipeline/steps.js";
import { sha256File } from "../util/sha256.js";

export const collectStep: Step = {
  name: "collect",
  summary: "copy ISO, checksums, manifest and logs to the output folder",
  verify: () => [],
  async run(ctx) {
    const { machine, work, state, signal } = ctx;
    if (!state.iso) throw new VerificationError("there is no ISO to collect: the iso step has not run");
    const names = [path.posix.basename(state.iso.path), "manifest.tsv"];
    const sums = await machine.exec(["sha256sum", "--", ...names], { cwd: work.out, signal });
    await machine.exec(["sh", "-c", 'cat > "$1"', "write-sums", `${work.out}/SHA256SUMS`], {
      stdin: sums.stdout,
      signal,
    });
    const expected = new Map(
      sums.stdout
        .trim()
        .split("\n")
        .map((l) => {
          const [hash, name] = l.split(/\s+\*?/, 2);
          return [name!, hash!] as const;
        }),
    );

    const artifacts: Artifact[] = [];
    for (const name of [...names, "SHA256SUMS"]) {
      const local = path.join(ctx.outDir, name);
      ctx.log.say(`copying ${name} to ${ctx.outDir}`);
      const want = expected.get(name);
      await machine.download(`${work.out}/${name}`, local, { signal, sha256: want });
      const sha256 = await sha256File(local);
      if (want && want !== sha256)
        throw new VerificationError(
          `${name} arrived damaged: sha256 ${sha256} on the host, ${want} in the machine`,
        );
      artifacts.push({ name, bytes: (await stat(local)).size, sha256 });
    }
    state.artifacts = artifacts;
  },
};
