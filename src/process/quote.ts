// The one place where an argv becomes a shell string. SSH only carries a
// command line, so every remote command passes through shellJoin().

const SAFE = /^[A-Za-z0-9_@%+=:,./-]+$/;

/** Quote one word for a POSIX shell so that it reaches the program unchanged. */
export function shellQuote(word: string): string {
  if (word.includes("\0")) throw new Error("a command argument cannot contain a NUL byte");
  if (word !== "" && SAFE.test(word)) return word;
  return `'${word.replaceAll("'", `'\\''`)}'`;
}

/** Join an argv into one shell command line, each word quoted. */
export function shellJoin(argv: readonly string[]): string {
  if (argv.length === 0) throw new Error("empty command");
  return argv.map(shellQuote).join(" ");
}
