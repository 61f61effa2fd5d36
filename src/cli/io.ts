// Where a command writes. Tests hand in their own to capture output.
export interface Io {
  out(text: string): void;
  err(text: string): void;
}

export const processIo: Io = {
  out: (t) => void process.stdout.write(t.endsWith("\n") ? t : t + "\n"),
  err: (t) => void process.stderr.write(t.endsWith("\n") ? t : t + "\n"),
};
