// Choosing the accelerator: KVM only when it really works, else TCG with the
// reason said out loud (a silent 20x slowdown is the worst kind).
import { UsageError } from "../../errors.js";
import { probeKvm } from "../../host/kvm.js";
import type { Accel } from "./args.js";

export const ACCEL_CHOICES = ["auto", "kvm", "tcg"] as const;
export type AccelChoice = (typeof ACCEL_CHOICES)[number];

export async function chooseAccel(choice: AccelChoice, say: (m: string) => void): Promise<Accel> {
  if (choice === "tcg") return "tcg";
  const kvm = await probeKvm({ bootTest: true });
  if (kvm.usable) return "kvm";
  if (choice === "kvm")
    throw new UsageError(`--accel kvm asked for, but ${kvm.reason}`, "use --accel auto or --accel tcg");
  say(kvm.reason);
  return "tcg";
}
