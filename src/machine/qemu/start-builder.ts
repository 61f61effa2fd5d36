// From "I need a machine for bookworm" to a running builder VM: pick the
// definition, make or reuse its cached image, choose the accelerator, boot.
import { hostArch, definitionFor, type BuilderArch } from "./definition.js";
import { ensureBuilderImage } from "./builder-image.js";
import { chooseAccel, type AccelChoice } from "./accel.js";
import { QemuMachine } from "./qemu-machine.js";
import type { OutputSink } from "../machine.js";

export interface StartBuilderOptions {
  /** Image suite or builder release, e.g. "sid" (served by the trixie builder). */
  release: string;
  /** The builder's architecture; this host's by default (see builderArchFor). */
  arch?: BuilderArch;
  accel: AccelChoice;
  logDir: string;
  mirror?: string;
  /** false: make the builder image without the package cache (--no-cache). */
  cache?: boolean;
  keep?: boolean;
  workDisk?: string;
  say: (msg: string) => void;
  output?: OutputSink;
  /** Ctrl-C while the VM boots: stop it at once (the builder image being made is not interrupted). */
  signal?: AbortSignal;
}

export async function startBuilder(o: StartBuilderOptions): Promise<QemuMachine> {
  const def = definitionFor(o.release, o.arch ?? hostArch());
  const image = await ensureBuilderImage(def, {
    mirror: o.mirror,
    cache: o.cache,
    say: o.say,
    output: o.output,
  });
  const accel = await chooseAccel(o.accel, o.say, def.arch);
  return QemuMachine.start({
    def,
    image,
    accel,
    logDir: o.logDir,
    keep: o.keep,
    workDisk: o.workDisk,
    say: o.say,
    signal: o.signal,
  });
}
