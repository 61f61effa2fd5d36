// Turning zod's issues into messages a person can act on: the field's path,
// what is wrong, what is allowed, and for typos the key that was meant.
import type { z } from "zod";

export interface PathProblem {
  path: (string | number)[];
  message: string;
}

export function fromZodIssues(
  issues: readonly z.core.$ZodIssue[],
  raw: unknown,
  knownKeys: (path: PropertyKey[]) => string[],
): PathProblem[] {
  const out: PathProblem[] = [];
  for (const issue of issues) {
    const path = issue.path.map((p) => (typeof p === "symbol" ? String(p) : p));
    if (issue.code === "unrecognized_keys") {
      const known = knownKeys(issue.path);
      for (const key of issue.keys) {
        const guess = closest(key, known);
        out.push({
          path: [...path, key],
          message:
            // YAML 1.1 merge keys are not part of YAML 1.2: the parser keeps `<<` as a plain key.
            key === "<<"
              ? "merge keys (<<: *anchor) are not supported: write the keys out"
              : `unknown key` +
                (guess
                  ? ` (did you mean "${guess}"?)`
                  : known.length
                    ? ` (known keys: ${known.join(", ")})`
                    : ""),
        });
      }
    } else if (issue.code === "invalid_type") {
      const got = valueAt(raw, path);
      out.push({
        path,
        message:
          got === undefined
            ? `is required (${issue.expected})`
            : `must be ${article(issue.expected)}, not ${describeValue(got)}`,
      });
    } else if (issue.code === "invalid_key") {
      // A bad key of a record (env): zod nests the key schema's own messages.
      out.push({
        path,
        message: `not a valid key: ${issue.issues.map((i) => i.message).join("; ") || issue.message}`,
      });
    } else if (issue.code === "invalid_union") {
      const got = valueAt(raw, path);
      out.push({
        path,
        message:
          typeof got === "number" && !Number.isFinite(got)
            ? `must be a finite number, not ${describeValue(got)}`
            : issue.message.startsWith("Invalid input")
              ? "has the wrong type or form"
              : issue.message,
      });
    } else if (issue.code === "invalid_value" && "values" in issue) {
      out.push({
        path,
        message: issue.message.startsWith("Invalid")
          ? `use one of ${issue.values.join(", ")}`
          : issue.message,
      });
    } else {
      out.push({ path, message: issue.message });
    }
  }
  return out;
}

function valueAt(raw: unknown, path: readonly (string | number)[]): unknown {
  let v = raw;
  for (const seg of path)
    v = typeof v === "object" && v !== null ? (v as Record<string, unknown>)[seg] : undefined;
  return v;
}

/** zod's type names in the words of YAML. */
const YAML_TYPES: Record<string, string> = {
  object: "mapping",
  array: "list",
  record: "mapping",
  int: "integer",
};

function article(zodType: string): string {
  const t = YAML_TYPES[zodType] ?? zodType;
  return /^[aeiou]/.test(t) ? `an ${t}` : `a ${t}`;
}

function describeValue(v: unknown): string {
  if (v === null) return "null";
  if (v instanceof Uint8Array) return "binary data (!!binary)";
  // YAML's .nan and .inf are numbers to JavaScript, but no field can use them.
  if (typeof v === "number" && Number.isNaN(v)) return ".nan (not a number)";
  if (typeof v === "number" && !Number.isFinite(v)) return `${v < 0 ? "-" : ""}.inf (infinity)`;
  if (Array.isArray(v)) return "a list";
  if (typeof v === "object") return "a mapping";
  if (typeof v === "string") return `the string "${v.length > 40 ? v.slice(0, 40) + "..." : v}"`;
  return `${typeof v} ${String(v)}`;
}

/** The known key nearest to a typo, if it is near enough to be the one meant. */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    const d = editDistance(word.toLowerCase(), c.toLowerCase());
    if (d < bestD) [best, bestD] = [c, d];
  }
  const allowed = word.length <= 3 ? 1 : word.length <= 6 ? 2 : 3;
  return best !== undefined && bestD <= allowed ? best : undefined;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++)
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length]!;
}
