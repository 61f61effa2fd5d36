import type { CommandModule } from "yargs";
import { parseSize } from "../../config/schema/common.js";
import { UsageError } from "../../errors.js";
import { humanBytes } from "../../steps/boot/machine-files.js";
import { partitionBytes } from "../../usb/layout.js";
import { writeStick } from "../../usb/write-stick.js";
import { interrupted } from "../interrupt.js";
import type { Io } from "../io.js";

interface Args {
  iso: string;
  target: string;
  persistence?: string;
  size?: string;
  yes: boolean;
  force: boolean;
}

function sizeArg(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = parseSize(value);
  if (n === undefined || n === 0)
    throw new UsageError(`--${flag} ${value}: not a size`, `write bytes or a size such as 512M, 4G, 1.5GiB`);
  return n;
}

export function usbCommand(io: Io): CommandModule<object, Args> {
  return {
    command: "usb <iso> <target>",
    describe: "Write a live ISO to a USB stick or disk image file, with a persistence partition",
    builder: (y) =>
      y
        .positional("iso", { type: "string", demandOption: true, describe: "the hybrid ISO vmlive built" })
        .positional("target", {
          type: "string",
          demandOption: true,
          describe: "a whole disk (/dev/sdb) or an image file to create or overwrite",
        })
        .option("persistence", {
          type: "string",
          requiresArg: true,
          describe: "size of the persistence partition (default: the rest of the disk; 1G for a new file)",
        })
        .option("size", {
          type: "string",
          requiresArg: true,
          describe: "size of an image file (default: the ISO, then the persistence partition)",
        })
        .option("yes", { type: "boolean", default: false, describe: "really overwrite the disk shown" })
        .option("force", {
          type: "boolean",
          default: false,
          describe: "allow a disk that is not removable (an internal disk)",
        })
        .example(
          "$0 usb out/live-minimal-*/live-minimal-bookworm-amd64.iso /dev/sdb",
          "show what /dev/sdb holds",
        )
        .example("$0 usb live.iso /dev/sdb --yes", "write it, the rest of the stick for persistence")
        .example(
          "$0 usb live.iso stick.img --persistence 256M",
          "a disk image to boot in qemu or write later",
        )
        .example("$0 usb live.iso stick.img --size 8G", "an image the size of an 8 GB stick")
        .epilogue(
          "The ISO is written, read back and compared; then a partition labelled `persistence` is added\n" +
            "after it with an ext4 filesystem holding persistence.conf (`/ union`): boot the menu's\n" +
            "persistence entry and changes survive reboots. The ISO still boots on BIOS and UEFI.\n" +
            "A device must be a whole disk that nothing has mounted and not the running system's;\n" +
            "vmlive shows what is on it and writes only with --yes. An internal (not removable) disk\n" +
            "also needs --force. An image file is written as FILE.partial and renamed when complete.\n" +
            "Exit codes: 0 written and verified, 1 writing or verification failed, 2 usage or refused target.",
        ) as never,
    handler: async (a) => {
      const persistenceBytes = sizeArg("persistence", a.persistence);
      const sizeBytes = sizeArg("size", a.size);
      const say = (l: string) => io.err(`vmlive: ${l}`);
      const r = await writeStick({
        iso: a.iso,
        target: a.target,
        persistenceBytes,
        sizeBytes,
        yes: a.yes,
        force: a.force,
        say,
        signal: interrupted,
      });
      const l = r.layout;
      io.out(
        `${r.target}: ${humanBytes(l.targetBytes)}, the ISO (sha256 ${r.isoSha256}) and partition ${l.number} ` +
          `labelled persistence (${humanBytes(partitionBytes(l))} from sector ${l.start}), verified`,
      );
    },
  };
}
