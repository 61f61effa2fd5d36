// Checks of the finished target: the ISO's partitions and boot setup as they
// were, the persistence partition where it was planned, and on it an ext4
// filesystem labelled `persistence` with the right persistence.conf.
import { mkdtemp, rm, symlink } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { VerificationError } from "../errors.js";
import { run } from "../process/run.js";
import type { IsoFacts } from "./inspect.js";
import { readBootSetup } from "./inspect.js";
import {
  LINUX_GPT_TYPE,
  LINUX_MBR_TYPE,
  partitionOffset,
  PERSISTENCE_LABEL,
  type Layout,
  type Partition,
  type PartitionTable,
} from "./layout.js";
import { blkidArgv, debugfsCatArgv, parseBlkidExport, PERSISTENCE_CONF } from "./persistence-fs.js";

const where = (p: Pick<Partition, "start" | "size" | "type">) =>
  `${p.start}+${p.size} ${p.type.toUpperCase()}`;

/** What is wrong with the target's table compared with the ISO's and the plan; empty when nothing. */
export function tableProblems(iso: PartitionTable, got: PartitionTable, l: Layout): string[] {
  const problems: string[] = [];
  if (got.label !== iso.label) problems.push(`the table is ${got.label}, the ISO's was ${iso.label}`);
  const type = l.label === "gpt" ? LINUX_GPT_TYPE : LINUX_MBR_TYPE;
  const want = [...iso.partitions, { start: l.start, size: l.size, type }].map(where);
  const have = got.partitions.map(where);
  for (const [i, w] of want.entries())
    if (have[i] !== w) problems.push(`partition ${i + 1} is ${have[i] ?? "missing"}, expected ${w}`);
  if (have.length > want.length) problems.push(`${have.length - want.length} unexpected partitions`);
  const added = got.partitions[l.number - 1];
  if (got.label === "gpt" && added && added.name !== PERSISTENCE_LABEL)
    problems.push(`partition ${l.number} is named ${JSON.stringify(added.name)}, not ${PERSISTENCE_LABEL}`);
  return problems;
}

/** Throws a VerificationError listing everything that is not as it should be. */
export async function verifyTarget(
  target: string,
  iso: IsoFacts,
  l: Layout,
  signal?: AbortSignal,
): Promise<void> {
  const problems: string[] = [];
  const setup = await readBootSetup(target, signal);
  if (!setup) problems.push("sfdisk finds no partition table");
  else {
    problems.push(...tableProblems(iso.table, setup.table, l));
    const [a, b] = [iso.elTorito, setup.elTorito];
    if (a.platforms.join(",") !== b.platforms.join(","))
      problems.push(
        `El Torito boot entries are ${b.platforms.join(", ") || "none"}, the ISO's were ${a.platforms.join(", ")}`,
      );
    if (a.systemArea !== b.systemArea)
      problems.push(`the system area is "${b.systemArea}", the ISO's was "${a.systemArea}"`);
  }
  const verify = await run(["sfdisk", "--verify", "--", target], { check: false, signal });
  if (verify.exitCode !== 0) problems.push(`sfdisk --verify: ${(verify.stderr || verify.stdout).trim()}`);
  const offset = partitionOffset(l);
  const fs = parseBlkidExport((await run(blkidArgv(target, offset), { check: false, signal })).stdout);
  if (fs.TYPE !== "ext4" || fs.LABEL !== PERSISTENCE_LABEL)
    problems.push(
      `the persistence partition holds ${fs.TYPE ?? "no filesystem"} labelled ${JSON.stringify(fs.LABEL ?? "")}, not ext4 labelled ${PERSISTENCE_LABEL}`,
    );
  else {
    const conf = await readPersistenceConf(target, offset, signal);
    if (conf !== PERSISTENCE_CONF)
      problems.push(
        `persistence.conf holds ${JSON.stringify(conf)}, not ${JSON.stringify(PERSISTENCE_CONF)}`,
      );
  }
  if (problems.length)
    throw new VerificationError(
      `${target} did not come out right:\n  ${problems.join("\n  ")}`,
      "this is a bug in vmlive or a failing disk; please report it with this text",
    );
}

/**
 * persistence.conf as debugfs reads it from the filesystem at `offset`.
 * debugfs takes the offset as `DISK?offset=N`, so it is given a link with a
 * plain name: the target's own name may hold a `?`.
 */
export async function readPersistenceConf(
  target: string,
  offset: number,
  signal?: AbortSignal,
): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "vmlive-debugfs-"));
  try {
    const link = path.join(dir, "disk");
    await symlink(path.resolve(target), link);
    return (await run(debugfsCatArgv(link, offset, "/persistence.conf"), { signal })).stdout;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
