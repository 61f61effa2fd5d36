// Choosing the accelerator: KVM only when it really works, else TCG with the
// reason said out loud (a silent 20x slowdown is the worst kind).
import { UsageError } from "../../errors.js";
import { probeKvm } from "../../host/kvm.js";
import type { Accel } from "./args.js";
import { hostArch, type BuilderArch } from "./definition.js";

export const ACCEL_CHOICES = ["auto", "kvm", "tcg"] as const;
export type AccelChoice = (typeof ACCEL_CHOICES)[number];

/** The accelerator for a builder of architecture `guest` (this host's unless said). */
export async function chooseAccel(
  choice: AccelChoice,
  say: (m: string) => void,
  guest: BuilderArch = hostArch(),
): Promise<Accel> {
  if (choice === "tcg") return "tcg";
  if (guest !== hostArch()) {
    // KVM runs guests of the host's own architecture only: no probe can change that.
    const why = `an ${guest} builder on an ${hostArch()} host runs under full-system emulation (TCG), which KVM cannot accelerate`;
    if (choice === "kvm")
      throw new UsageError(
        `--accel kvm asked for, but ${why}`,
        "use --accel auto or --accel tcg, or a builder of this host's architecture (builder.arch: host)",
      );
    say(`${why}; expect it about 20x slower than the host`);
    return "tcg";
  }
  const kvm = await probeKvm({ bootTest: true });
  if (kvm.usable) return "kvm";
  if (choice === "kvm")
    throw new UsageError(`--accel kvm asked for, but ${kvm.reason}`, "use --accel auto or --accel tcg");
  say(kvm.reason);
  return "tcg";
}
