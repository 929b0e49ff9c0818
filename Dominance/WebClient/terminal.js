// Game text with ANSI escape codes, turned into runs of text with a style each.
// SGR (ESC [ ... m) is rendered: bold, dim, italic, underline, strike-through, reverse video; the 16 colours, the 256
// xterm colours and 24-bit colour, as foreground and background (30-37, 90-97, 38;5;n, 38;2;r;g;b and their 40-49 and
// 100-107 counterparts, 39 and 49 to reset). Any other escape sequence and control character is dropped.

/** The CSS colour of xterm colour n (0-255): the 16 base colours follow the page's palette (--ansi-0 to --ansi-15). */
export function xtermColour(n) {
  if (n < 16) { return `var(--ansi-${n})`; }
  if (n < 232) {
    const level = (v) => (v === 0 ? 0 : 55 + v * 40);
    const i = n - 16;
    return `rgb(${level(Math.floor(i / 36))}, ${level(Math.floor(i / 6) % 6)}, ${level(i % 6)})`;
  }
  const grey = 8 + (n - 232) * 10;
  return `rgb(${grey}, ${grey}, ${grey})`;
}

function plain() {
  return { bold: false, dim: false, italic: false, underline: false, strike: false, reverse: false, fg: null, bg: null };
}

// A control sequence (CSI), an operating system command (OSC, ended by BEL or ST), or another two-character escape.
const ESCAPE = /\x1b(?:\[([0-9;:?<=>]*)[ -/]*([@-~])|\][^\x07\x1b]*(?:\x07|\x1b\\)|[@-_])/g;
// An escape sequence cut off at the end of a message: kept until the rest arrives (up to a limit: past it, it is text).
const UNFINISHED = /\x1b(?:\[[0-9;:?<=>]*[ -/]*|\][^\x07\x1b]*)?$/;
// eslint-disable-next-line no-control-regex
const CONTROLS = /[\x00-\x08\x0b-\x1f\x7f]/g;

/** Reads a stream of game text and yields styled runs; style carries over from one message to the next. */
export class AnsiParser {
  constructor() {
    this.style = plain();
    this.pending = "";
  }

  /** Returns the runs in text: [{ text, style }], where style is a snapshot (never changed afterwards). */
  feed(text) {
    let input = this.pending + text.replace(/\r/g, "");
    this.pending = "";
    const cut = UNFINISHED.exec(input);
    if (cut && cut[0].length <= 256) {
      this.pending = cut[0];
      input = input.slice(0, cut.index);
    }

    const runs = [];
    let at = 0;
    const emit = (end) => {
      const chunk = input.slice(at, end).replace(CONTROLS, "");
      if (chunk.length > 0) { runs.push({ text: chunk, style: { ...this.style } }); }
    };
    ESCAPE.lastIndex = 0;
    for (let match; (match = ESCAPE.exec(input)) !== null;) {
      emit(match.index);
      at = ESCAPE.lastIndex;
      if (match[2] === "m" && !/[?<=>]/.test(match[1])) { this.apply(match[1]); }
    }
    emit(input.length);
    return runs;
  }

  apply(parameters) {
    const codes = parameters === "" ? [0] : parameters.split(/[;:]/).map((p) => (p === "" ? 0 : Number(p)));
    const s = this.style;
    for (let i = 0; i < codes.length; i++) {
      const code = codes[i];
      if (code === 0) { Object.assign(s, plain()); }
      else if (code === 1) { s.bold = true; }
      else if (code === 2) { s.dim = true; }
      else if (code === 3) { s.italic = true; }
      else if (code === 4 || code === 21) { s.underline = true; }
      else if (code === 7) { s.reverse = true; }
      else if (code === 9) { s.strike = true; }
      else if (code === 22) { s.bold = false; s.dim = false; }
      else if (code === 23) { s.italic = false; }
      else if (code === 24) { s.underline = false; }
      else if (code === 27) { s.reverse = false; }
      else if (code === 29) { s.strike = false; }
      else if (code >= 30 && code <= 37) { s.fg = xtermColour(code - 30); }
      else if (code >= 90 && code <= 97) { s.fg = xtermColour(code - 90 + 8); }
      else if (code >= 40 && code <= 47) { s.bg = xtermColour(code - 40); }
      else if (code >= 100 && code <= 107) { s.bg = xtermColour(code - 100 + 8); }
      else if (code === 39) { s.fg = null; }
      else if (code === 49) { s.bg = null; }
      else if (code === 38 || code === 48) {
        let colour = null;
        if (codes[i + 1] === 5 && i + 2 < codes.length) {
          colour = xtermColour(Math.min(255, Math.max(0, codes[i + 2])));
          i += 2;
        } else if (codes[i + 1] === 2 && i + 4 < codes.length) {
          const [r, g, b] = codes.slice(i + 2, i + 5).map((v) => Math.min(255, Math.max(0, v)));
          colour = `rgb(${r}, ${g}, ${b})`;
          i += 4;
        } else {
          break; // malformed: the rest of the parameters cannot be read reliably
        }
        if (code === 38) { s.fg = colour; } else { s.bg = colour; }
      }
    }
  }
}

/** Puts a run's style on an element: classes for the attributes, inline colours (reverse video swaps them). */
export function applyStyle(element, style) {
  if (style.bold) { element.classList.add("b"); }
  if (style.dim) { element.classList.add("dim"); }
  if (style.italic) { element.classList.add("i"); }
  if (style.underline) { element.classList.add("u"); }
  if (style.strike) { element.classList.add("s"); }
  let fg = style.fg;
  let bg = style.bg;
  if (style.reverse) {
    element.classList.add("rev");
    [fg, bg] = [bg ?? "var(--bg)", fg ?? "var(--text)"];
  }
  if (fg) { element.style.color = fg; }
  if (bg) { element.style.backgroundColor = bg; }
}
