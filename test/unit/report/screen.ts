// A terminal screen for tests of the live display: it applies what the
// display writes (text, \n, \r, and the ANSI sequences it may use) to a grid
// of lines, records every escape sequence, and rejects any it does not know,
// so a test sees what a person would see at the end, not the bytes.
export class Screen {
  readonly lines: string[] = [""];
  readonly escapes: string[] = [];
  row = 0;
  col = 0;
  cursorVisible = true;
  /** How many times the display wrote. */
  writes = 0;

  constructor(
    readonly columns = 80,
    readonly rows = 24,
  ) {}

  write(text: string): void {
    this.writes++;
    let i = 0;
    while (i < text.length) {
      const ch = text[i]!;
      if (ch === "\x1b") {
        // eslint-disable-next-line no-control-regex -- escape sequences are what it reads
        const m = /^\x1b\[(\??)(\d*)([A-Za-z])/.exec(text.slice(i));
        if (!m) throw new Error(`unknown escape at ${JSON.stringify(text.slice(i, i + 8))}`);
        this.escapes.push(m[0]);
        this.escape(m[1]!, m[2] === "" ? undefined : Number(m[2]), m[3]!);
        i += m[0].length;
        continue;
      }
      if (ch === "\n") {
        this.row++;
        this.col = 0;
        while (this.lines.length <= this.row) this.lines.push("");
      } else if (ch === "\r") this.col = 0;
      else {
        if (ch.charCodeAt(0) < 0x20) throw new Error(`control character ${ch.charCodeAt(0)} written`);
        const line = this.lines[this.row]!.padEnd(this.col);
        this.lines[this.row] = line.slice(0, this.col) + ch + line.slice(this.col + 1);
        this.col++;
      }
      i++;
    }
  }

  private escape(priv: string, n: number | undefined, cmd: string): void {
    if (priv === "?" && n === 25 && (cmd === "l" || cmd === "h")) {
      this.cursorVisible = cmd === "h";
      return;
    }
    if (priv) throw new Error(`unknown private escape ?${n}${cmd}`);
    if (cmd === "A") {
      const by = n ?? 1;
      if (by > this.row) throw new Error(`cursor moved ${by} up from row ${this.row}`);
      this.row -= by;
    } else if (cmd === "J" && (n ?? 0) === 0) {
      this.lines[this.row] = this.lines[this.row]!.slice(0, this.col);
      this.lines.splice(this.row + 1);
    } else throw new Error(`unknown escape ${n ?? ""}${cmd}`);
  }

  /** The screen's text, trailing empty lines dropped. */
  text(): string {
    return this.lines.join("\n").replace(/\n+$/, "");
  }
}
