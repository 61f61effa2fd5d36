// Options that several commands share, declared once.
import type { Argv } from "yargs";

export interface SetArgs {
  set?: string[];
}

export function setOption<T>(y: Argv<T>) {
  return y.option("set", {
    type: "string",
    array: true,
    requiresArg: true,
    describe: "override a field of image.yaml before validation, e.g. --set user.name=alice (repeatable)",
  });
}
