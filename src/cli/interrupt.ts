// Ctrl-C and SIGTERM: the first one aborts this signal, so running commands
// are killed and every cleanup (chroot mounts, the VM, temporary files) runs
// as the error unwinds; a second one ends vmlive at once.
import { InterruptedError } from "../errors.js";

const controller = new AbortController();

/** Aborted (with an InterruptedError) on the first SIGINT or SIGTERM. */
export const interrupted: AbortSignal = controller.signal;

/** Throw the InterruptedError if the user has interrupted. */
export function throwIfInterrupted(): void {
  if (interrupted.aborted) throw interrupted.reason as InterruptedError;
}

export function interrupt(signal: "SIGINT" | "SIGTERM"): boolean {
  if (controller.signal.aborted) return false;
  controller.abort(new InterruptedError(signal));
  return true;
}
