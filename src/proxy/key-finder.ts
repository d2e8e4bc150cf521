// Finds provider keys in text in the forms an upstream may quote them: as they are, base64-encoded (at any
// alignment, so also after `Bearer ` inside an encoded header), and, through a decoded view of the text,
// JSON-escaped (`\u0073k-...`, `\/`) or URL-encoded; whole or as a prefix or suffix fragment of at least
// ANCHOR characters.
//
// Built once per config. The search is cheap when nothing is there: every form is found from its first or
// last ANCHOR characters (its anchors), and an anchor occurrence always covers one of the 4-character
// blocks at offsets that are multiples of 4; so one Set lookup per 4 characters of text tells whether any
// key form may start nearby, and only then are strings compared.

/** The shortest fragment of a key that is masked. */
export const ANCHOR = 8;
const GRAM = 4;

interface Anchor {
  form: string;
  /** The form's first or last ANCHOR characters. */
  text: string;
  /** True for the form's first ANCHOR characters, false for its last. */
  head: boolean;
}

/** `[start, end)` in the searched text. */
export type Span = [number, number];

/** The text to search and, when it was decoded, the offset in the original text of each of its characters. */
export interface View {
  text: string;
  /** `at[i]`: where view character i starts in the original; `at[text.length]` is the original's length. */
  at: Int32Array | undefined;
}

const ESCAPED = /\\[u/]|%[0-9A-Fa-f]{2}/;
const JSON_ESCAPES: Record<string, string> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };

export class KeyFinder {
  private readonly grams = new Map<number, { anchor: Anchor; offset: number }[]>();
  /** 1 at the hash of every gram in `grams`. */
  private readonly seen = new Uint8Array(1 << 16);
  /** The longest form, in characters: a match is never longer. */
  readonly longest: number;

  constructor(secrets: Iterable<string>) {
    const forms = new Set<string>();
    for (const secret of secrets) for (const form of formsOf(secret)) if (form.length >= ANCHOR) forms.add(form);
    let longest = 0;
    for (const form of forms) {
      longest = Math.max(longest, form.length);
      this.index({ form, text: form.slice(0, ANCHOR), head: true });
      this.index({ form, text: form.slice(-ANCHOR), head: false });
    }
    this.longest = longest;
  }

  get empty(): boolean {
    return this.grams.size === 0;
  }

  /**
   * Spans of `view.text` holding a key form or a fragment of one, in order, overlapping ones merged.
   * `open` is told of a match that may go on past the end of the text (more of it may follow).
   */
  find(text: string, open?: (start: number) => void): Span[] {
    const spans: Span[] = [];
    const seen = this.seen;
    for (let q = 0; q + GRAM <= text.length; q += GRAM) {
      const gram = gramAt(text, q);
      if (seen[gramHash(gram)] === 0) continue;
      const candidates = this.grams.get(gram);
      if (candidates === undefined) continue;
      for (const { anchor, offset } of candidates) {
        const p = q - offset;
        if (p < 0 || !text.startsWith(anchor.text, p)) continue;
        const { form } = anchor;
        if (anchor.head) {
          let end = p + ANCHOR;
          while (end < text.length && end - p < form.length && text.charCodeAt(end) === form.charCodeAt(end - p)) end++;
          if (end === text.length && end - p < form.length) open?.(p);
          spans.push([p, end]);
        } else {
          const end = p + ANCHOR;
          let start = p;
          while (start > 0 && end - start < form.length && text.charCodeAt(start - 1) === form.charCodeAt(form.length - (end - start) - 1)) start--;
          spans.push([start, end]);
        }
      }
    }
    return merge(spans);
  }

  private index(anchor: Anchor): void {
    for (let offset = 0; offset + GRAM <= ANCHOR; offset++) {
      const gram = gramAt(anchor.text, offset);
      this.seen[gramHash(gram)] = 1;
      let list = this.grams.get(gram);
      if (list === undefined) this.grams.set(gram, (list = []));
      list.push({ anchor, offset });
    }
  }
}

/** Every escape that is decoded, once one of ESCAPED is seen: JSON's (`\u0073`, `\/`, `\n`, ...) and URL's (`%2F`). */
const ESCAPE = /\\(?:u[0-9A-Fa-f]{4}|["\\/bfnrt])|%[0-9A-Fa-f]{2}/g;

/**
 * The text with JSON escapes and URL percent-escapes decoded, or itself when it has none worth decoding. The
 * text between escapes is copied by slices and its offsets filled in bulk: a long answer with a few escaped
 * characters costs about as much as one without.
 */
export function decodedView(text: string): View {
  if (!ESCAPED.test(text)) return { text, at: undefined };
  const at = new Int32Array(text.length + 1);
  const parts: string[] = [];
  let length = 0;
  let from = 0;
  const copy = (to: number): void => {
    if (to <= from) return;
    parts.push(text.slice(from, to));
    for (let i = from; i < to; i++) at[length++] = i;
  };
  ESCAPE.lastIndex = 0;
  for (let match = ESCAPE.exec(text); match !== null; match = ESCAPE.exec(text)) {
    copy(match.index);
    const escape = match[0];
    parts.push(
      escape.charCodeAt(0) === 0x25 /* % */ || escape.charCodeAt(1) === 0x75 /* u */
        ? String.fromCharCode(parseInt(escape.slice(escape.charCodeAt(0) === 0x25 ? 1 : 2), 16))
        : JSON_ESCAPES[escape[1]!]!,
    );
    at[length++] = match.index;
    from = match.index + escape.length;
  }
  copy(text.length);
  at[length] = text.length;
  return { text: parts.join(''), at: at.subarray(0, length + 1) };
}

/** A span of a view as a span of the text it was decoded from. */
export function originalSpan(view: View, [start, end]: Span): Span {
  return view.at === undefined ? [start, end] : [view.at[start]!, view.at[end]!];
}

/** The key itself, and its base64 text (both alphabets) wherever in an encoded text it begins. */
function formsOf(secret: string): string[] {
  const forms = [secret];
  const bytes = Buffer.from(secret, 'utf8');
  for (let shift = 0; shift < 3; shift++) {
    const encoded = Buffer.concat([Buffer.alloc(shift), bytes]).toString('base64');
    // Characters that depend on the bytes before or after the key are dropped: the rest is the same
    // in any text that holds the key at this alignment.
    const first = Math.ceil((shift * 4) / 3);
    const last = Math.floor(((shift + bytes.length) * 4) / 3);
    const stable = encoded.slice(first, last);
    forms.push(stable, stable.replaceAll('+', '-').replaceAll('/', '_'));
  }
  return forms;
}

/** Four characters as one small integer (31 bits, so V8 keeps it unboxed); collisions are checked later. */
function gramAt(text: string, at: number): number {
  return (text.charCodeAt(at) & 0xff) | ((text.charCodeAt(at + 1) & 0xff) << 8) | ((text.charCodeAt(at + 2) & 0xff) << 16) | ((text.charCodeAt(at + 3) & 0x7f) << 24);
}

/** A 16-bit hash of a gram, for the bitmap that turns most text away before the map is asked. */
function gramHash(gram: number): number {
  return Math.imul(gram, 0x9e3779b1) >>> 16;
}

function merge(spans: Span[]): Span[] {
  if (spans.length < 2) return spans;
  spans.sort((a, b) => a[0] - b[0]);
  const merged: Span[] = [spans[0]!];
  for (const span of spans.slice(1)) {
    const last = merged[merged.length - 1]!;
    if (span[0] <= last[1]) last[1] = Math.max(last[1], span[1]);
    else merged.push(span);
  }
  return merged;
}
