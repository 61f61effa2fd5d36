// Planning the persistence partition and the commands that make it. The GPT
// numbers are those of a real live-minimal ISO made with xorriso
// -partition_offset 16 (245518336 bytes): sfdisk --json printed the table
// below, and `vmlive usb ... --persistence 256M` made a 515899392-byte image
// with partition 4 at sector 481280.
import { describe, expect, it } from "vitest";
import { UsageError } from "../../../src/errors.js";
import {
  MiB,
  parseSfdiskJson,
  planLayout,
  sfdiskAppend,
  type Layout,
  type PartitionTable,
} from "../../../src/usb/layout.js";
import {
  blkidArgv,
  debugfsCatArgv,
  mke2fsArgv,
  parseBlkidExport,
  PERSISTENCE_CONF,
} from "../../../src/usb/persistence-fs.js";
import { tableProblems } from "../../../src/usb/verify.js";

const ISO_BYTES = 245518336;

const SFDISK_GPT = `{
   "partitiontable": {
      "label": "gpt",
      "id": "36323032-3231-4130-B030-303731373138",
      "device": "live.iso",
      "unit": "sectors",
      "firstlba": 64,
      "lastlba": 479464,
      "table-length": "248",
      "sectorsize": 512,
      "partitions": [
         {"node": "live.iso1", "start": 64, "size": 474704, "type": "EBD0A0A2-B9E5-4433-87C0-68B6B72699C7",
          "uuid": "36323032-3231-4130-B031-303731373138", "name": "ISO9660", "attrs": "RequiredPartition GUID:60"},
         {"node": "live.iso2", "start": 474768, "size": 4096, "type": "C12A7328-F81F-11D2-BA4B-00A0C93EC93B",
          "uuid": "36323032-3231-4130-B032-303731373138", "name": "Appended2"},
         {"node": "live.iso3", "start": 478864, "size": 600, "type": "EBD0A0A2-B9E5-4433-87C0-68B6B72699C7",
          "uuid": "36323032-3231-4130-B033-303731373138", "name": "Gap1", "attrs": "RequiredPartition GUID:60"}
      ]
   }
}`;

// A BIOS-only ISO: GRUB's MBR boot code and no partitions at all.
const SFDISK_MBR_EMPTY = `{
   "partitiontable": {"label": "dos", "id": "0x00000000", "device": "bios.iso", "unit": "sectors",
      "grain": "512", "sectorsize": 512}
}`;

const gpt = parseSfdiskJson(SFDISK_GPT);
const dos = parseSfdiskJson(SFDISK_MBR_EMPTY);

function usageError(f: () => unknown): UsageError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(UsageError);
    return e as UsageError;
  }
  throw new Error("expected a UsageError");
}

describe("parseSfdiskJson", () => {
  it("reads the label and the partitions with their names", () => {
    expect(gpt.label).toBe("gpt");
    expect(gpt.partitions.map((p) => [p.start, p.size, p.name])).toEqual([
      [64, 474704, "ISO9660"],
      [474768, 4096, "Appended2"],
      [478864, 600, "Gap1"],
    ]);
    expect(dos).toEqual({ label: "dos", partitions: [] });
  });

  it("refuses output without a gpt or dos table", () => {
    expect(() => parseSfdiskJson('{"partitiontable": {"label": "sun"}}')).toThrow(/no gpt or dos/);
  });
});

describe("planLayout: a file that vmlive sizes", () => {
  it("puts the partition on the first MiB boundary after the ISO, with a MiB for the backup GPT", () => {
    const l = planLayout({
      isoBytes: ISO_BYTES,
      table: gpt,
      persistenceBytes: 256 * MiB,
      target: "stick.img",
    });
    // 479528 sectors of ISO, rounded up to 2048-sector (1 MiB) steps.
    expect(l).toEqual({ targetBytes: 515899392, start: 481280, size: 524288, number: 4, label: "gpt" });
    expect(l.targetBytes % MiB).toBe(0);
  });

  it("takes 1 GiB when no size is given, and rounds a size up to whole MiB", () => {
    expect(planLayout({ isoBytes: ISO_BYTES, table: gpt, target: "s.img" }).size).toBe(2 * 1024 * 1024);
    expect(
      planLayout({ isoBytes: ISO_BYTES, table: gpt, persistenceBytes: 100 * MiB + 1, target: "s.img" }).size,
    ).toBe(101 * 2048);
  });

  it("needs no room after the partition for an MBR", () => {
    const l = planLayout({ isoBytes: 3379200, table: dos, persistenceBytes: 32 * MiB, target: "bios.img" });
    expect(l).toEqual({ targetBytes: 36 * MiB, start: 8192, size: 65536, number: 1, label: "dos" });
  });
});

describe("planLayout: a disk of a given size", () => {
  const stick = 15376318464; // 30031872 sectors

  it("takes the rest of the disk, ending on a MiB boundary before the backup GPT", () => {
    const l = planLayout({ isoBytes: ISO_BYTES, table: gpt, targetBytes: stick, target: "/dev/sdb" });
    const end = Math.floor((30031872 - 33) / 2048) * 2048;
    expect(l).toEqual({ targetBytes: stick, start: 481280, size: end - 481280, number: 4, label: "gpt" });
    expect(end * 512 + 33 * 512).toBeLessThanOrEqual(stick);
  });

  it("an MBR disk may use its very last MiB", () => {
    const l = planLayout({ isoBytes: 3379200, table: dos, targetBytes: 64 * MiB, target: "/dev/sdb" });
    expect(l.start + l.size).toBe(64 * 2048);
  });

  it("a given --persistence that fits is used as it is", () => {
    const l = planLayout({
      isoBytes: ISO_BYTES,
      table: gpt,
      targetBytes: stick,
      persistenceBytes: 4 * 1024 * MiB,
      target: "/dev/sdb",
    });
    expect(l.size).toBe(4 * 1024 * 2048);
  });

  it("a disk too small for the ISO and the persistence fails with the numbers", () => {
    const e = usageError(() =>
      planLayout({
        isoBytes: ISO_BYTES,
        table: gpt,
        targetBytes: 512 * MiB,
        persistenceBytes: 512 * MiB,
        target: "/dev/sdb",
      }),
    );
    expect(e.message).toBe(
      "/dev/sdb is too small: it holds 512.0 MiB (536870912 bytes), the ISO and the persistence partition need " +
        "747.0 MiB (783303168 bytes) (the ISO's 234.1 MiB up to the next MiB, 235.0 MiB, then 512.0 MiB of " +
        "persistence and the backup GPT)",
    );
    expect(e.hint).toMatch(/smaller --persistence/);
  });

  it("a disk that leaves less than 16 MiB after the ISO is refused", () => {
    const e = usageError(() =>
      planLayout({ isoBytes: ISO_BYTES, table: gpt, targetBytes: 245 * MiB, target: "/dev/sdb" }),
    );
    expect(e.message).toMatch(/leaves only 9.0 MiB .* after the ISO .* at least 16.0 MiB/);
  });

  it("a --persistence below 16 MiB is refused as such", () => {
    const e = usageError(() =>
      planLayout({ isoBytes: ISO_BYTES, table: gpt, persistenceBytes: 1024, target: "s.img" }),
    );
    expect(e.message).toBe(
      "a persistence partition of 1.0 MiB (1048576 bytes) is too small: it needs at least 16.0 MiB",
    );
    expect(e.hint).toBe("give --persistence 16M or more");
  });

  it("a disk smaller than the ISO is refused, not planned with a negative size", () => {
    const e = usageError(() =>
      planLayout({ isoBytes: ISO_BYTES, table: gpt, targetBytes: 100 * MiB, target: "/dev/sdb" }),
    );
    expect(e.message).toMatch(/leaves only 0 bytes/);
  });

  it("an MBR cannot hold a partition ending beyond 2 TiB", () => {
    const e = usageError(() =>
      planLayout({ isoBytes: 3379200, table: dos, targetBytes: 3 * 2 ** 40, target: "/dev/sdc" }),
    );
    expect(e.message).toMatch(/beyond 2 TiB/);
  });
});

describe("planLayout: ISOs it cannot extend", () => {
  it("a partition reaching past the ISO's end", () => {
    const table: PartitionTable = {
      label: "gpt",
      partitions: [{ node: "x1", start: 64, size: 600000, type: "EBD0A0A2-B9E5-4433-87C0-68B6B72699C7" }],
    };
    expect(usageError(() => planLayout({ isoBytes: ISO_BYTES, table, target: "s.img" })).message).toMatch(
      /ends at sector 600064, beyond the ISO's own 479528 sectors/,
    );
  });

  it("an MBR with all four entries used", () => {
    const p = (i: number) => ({ node: `x${i}`, start: 64 + i * 100, size: 100, type: "83" });
    const table: PartitionTable = { label: "dos", partitions: [0, 1, 2, 3].map(p) };
    expect(usageError(() => planLayout({ isoBytes: ISO_BYTES, table, target: "s.img" })).message).toMatch(
      /no free entry/,
    );
  });
});

describe("the commands", () => {
  const l: Layout = { targetBytes: 515899392, start: 481280, size: 524288, number: 4, label: "gpt" };

  it("sfdisk appends a Linux partition named persistence, wiping nothing of the ISO", () => {
    expect(sfdiskAppend("/dev/sdb", l)).toEqual({
      argv: [
        "sfdisk",
        "--append",
        "--wipe",
        "never",
        "--wipe-partitions",
        "always",
        "--no-reread",
        "--no-tell-kernel",
        "--",
        "/dev/sdb",
      ],
      script: "start=481280, size=524288, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, name=persistence\n",
    });
    expect(sfdiskAppend("b.img", { ...l, label: "dos" }).script).toBe("start=481280, size=524288, type=83\n");
  });

  it("mke2fs makes the labelled ext4 at the partition's byte offset, with no discard", () => {
    expect(
      mke2fsArgv({
        target: "stick.img.partial",
        offset: 481280 * 512,
        bytes: 524288 * 512,
        contents: "/tmp/c",
      }),
    ).toEqual([
      "mke2fs",
      "-q",
      "-F",
      "-t",
      "ext4",
      "-L",
      "persistence",
      "-d",
      "/tmp/c",
      "-E",
      "offset=246415360,nodiscard,root_owner=0:0",
      "--",
      "stick.img.partial",
      "262144k",
    ]);
  });

  it("blkid and debugfs read the filesystem at that offset", () => {
    expect(blkidArgv("/dev/sdb", 246415360)).toEqual([
      "blkid",
      "-p",
      "-O",
      "246415360",
      "-o",
      "export",
      "--",
      "/dev/sdb",
    ]);
    expect(debugfsCatArgv("/tmp/l/disk", 246415360, "/persistence.conf")).toEqual([
      "debugfs",
      "-R",
      "cat /persistence.conf",
      "/tmp/l/disk?offset=246415360",
    ]);
    expect(parseBlkidExport("LABEL=persistence\nUUID=1-2\nTYPE=ext4\nUSAGE=filesystem\n")).toMatchObject({
      LABEL: "persistence",
      TYPE: "ext4",
    });
  });

  it("persistence.conf keeps every change to the root filesystem", () => {
    expect(PERSISTENCE_CONF).toBe("/ union\n");
  });
});

describe("tableProblems: the finished table against the ISO's and the plan", () => {
  const l: Layout = { targetBytes: 515899392, start: 481280, size: 524288, number: 4, label: "gpt" };
  const added = {
    node: "s4",
    start: 481280,
    size: 524288,
    type: "0FC63DAF-8483-4772-8E79-3D69D8477DE4",
    name: "persistence",
  };

  it("nothing when the ISO's partitions are as they were and the new one is where planned", () => {
    expect(tableProblems(gpt, { label: "gpt", partitions: [...gpt.partitions, added] }, l)).toEqual([]);
  });

  it("names a moved ESP, a missing or misnamed persistence partition and extra ones", () => {
    const moved = gpt.partitions.map((p, i) => (i === 1 ? { ...p, start: p.start + 1 } : p));
    expect(tableProblems(gpt, { label: "gpt", partitions: [...moved, added] }, l)).toEqual([
      "partition 2 is 474769+4096 C12A7328-F81F-11D2-BA4B-00A0C93EC93B, expected 474768+4096 C12A7328-F81F-11D2-BA4B-00A0C93EC93B",
    ]);
    expect(tableProblems(gpt, gpt, l)).toEqual([
      "partition 4 is missing, expected 481280+524288 0FC63DAF-8483-4772-8E79-3D69D8477DE4",
    ]);
    expect(
      tableProblems(gpt, { label: "gpt", partitions: [...gpt.partitions, { ...added, name: "" }, added] }, l),
    ).toEqual(["1 unexpected partitions", 'partition 4 is named "", not persistence']);
  });
});
