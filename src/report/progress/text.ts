// Turning what programs print into text that is safe to show on one line of
// a terminal that vmlive is drawing on: no escape sequences of their own, no
// carriage returns, no tabs, no line longer than the screen.

// CSI and OSC sequences, then any other control character but the tab.
// eslint-disable-next-line no-control-regex
const ESCAPES = /\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(\x07|\x1b\\)?|\x1b[@-_]?/g;
// eslint-disable-next-line no-control-regex
const CONTROLS = /[\x00-\x08\x0a-\x1f\x7f]/g;

/** One printable line: what a terminal would finally show of a progress bar's \r-separated updates. */
export function printable(text: string): string {
  const last = text.split("\r").findLast((s) => s.length > 0) ?? "";
  return last.replace(ESCAPES, "").replace(/\t/g, "  ").replace(CONTROLS, "");
}

/** At most `width` characters (code points), the cut marked with an ellipsis. */
export function cut(text: string, width: number): string {
  const chars = [...text];
  if (chars.length <= width) return text;
  return width <= 0 ? "" : chars.slice(0, width - 1).join("") + "…";
}

/** How many columns `text` takes (vmlive draws only characters one column wide). */
export function columns(text: string): number {
  return [...text].length;
}
