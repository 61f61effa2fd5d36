// `--set key.path=value`: change any field of image.yaml before validation,
// like draklive2's --define. The value is read as YAML, so numbers, booleans,
// null and flow lists ([a, b]) keep their types.
import { parse as parseYaml } from "yaml";
import type { ConfigProblem } from "../errors.js";

export interface Override {
  path: (string | number)[];
  value: unknown;
  text: string;
}

export function parseOverride(text: string): Override | ConfigProblem {
  const eq = text.indexOf("=");
  const key = eq < 0 ? "" : text.slice(0, eq);
  if (eq < 0 || !/^[A-Za-z_][A-Za-z0-9_]*(\.([A-Za-z0-9_]+))*$/.test(key))
    return {
      file: "--set",
      path: "",
      message: `"${text}" is not KEY.PATH=VALUE (for example --set user.name=alice or --set iso.bootloaders=[uefi])`,
    };
  let value: unknown;
  try {
    value = parseYaml(text.slice(eq + 1));
  } catch (e) {
    // First line only, like load.ts: the rest is a code frame that would break the one-line format.
    const first = (e as Error).message.split("\n")[0]!.replace(/ at line \d+, column \d+:?$/, "");
    return { file: "--set", path: key, message: `value is not valid YAML: ${first}` };
  }
  const path = key.split(".").map((s) => (/^[0-9]+$/.test(s) ? Number(s) : s));
  return { path, value: value ?? null, text };
}

/** Apply overrides to the raw parsed YAML (a plain object), creating sections as needed. */
export function applyOverrides(raw: Record<string, unknown>, overrides: readonly Override[]): void {
  for (const o of overrides) {
    let node: Record<string | number, unknown> = raw;
    o.path.forEach((seg, i) => {
      if (i === o.path.length - 1) {
        node[seg] = o.value;
        return;
      }
      const next = node[seg];
      if (typeof next !== "object" || next === null) node[seg] = typeof o.path[i + 1] === "number" ? [] : {};
      node = node[seg] as Record<string | number, unknown>;
    });
  }
}
