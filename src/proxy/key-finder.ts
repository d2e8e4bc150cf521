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

/** Int32Array reads bytes in the platform's order; the index is built for little-endian reads. */
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
const EMPTY_BLOCKS = new Int32Array(0);

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
      if (candidates !== undefined) this.extend(candidates, q, text.length, (i) => text.charCodeAt(i), spans, open);
    }
    return merge(spans);
  }

  /**
   * What {@link find} answers for the latin1 text of `bytes`, read from the bytes themselves: the blocks are
   * read four bytes at a time through an aligned Int32Array view (any anchor still covers one of them), and
   * no string is made.
   */
  findInBytes(bytes: Buffer, open?: (start: number) => void): Span[] {
    if (!LITTLE_ENDIAN) return this.find(bytes.toString('latin1'), open);
    const spans: Span[] = [];
    const seen = this.seen;
    const first = -bytes.byteOffset & (GRAM - 1);
    const blocks = bytes.length > first ? new Int32Array(bytes.buffer, bytes.byteOffset + first, (bytes.length - first) >>> 2) : EMPTY_BLOCKS;
    for (let b = 0; b < blocks.length; b++) {
      const gram = blocks[b]!;
      if (seen[gramHash(gram)] === 0) continue;
      const candidates = this.grams.get(gram);
      if (candidates !== undefined) this.extend(candidates, first + b * GRAM, bytes.length, (i) => bytes[i]!, spans, open);
    }
    return merge(spans);
  }

  /** Adds to `spans` each candidate anchor found around the block at `q`, extended as far as its form goes. */
  private extend(
    candidates: readonly { anchor: Anchor; offset: number }[],
    q: number,
    length: number,
    codeAt: (i: number) => number,
    spans: Span[],
    open: ((start: number) => void) | undefined,
  ): void {
    for (const { anchor, offset } of candidates) {
      const p = q - offset;
      if (p < 0 || p + ANCHOR > length || !sameAt(anchor.text, p, codeAt)) continue;
      const { form } = anchor;
      if (anchor.head) {
        let end = p + ANCHOR;
        while (end < length && end - p < form.length && codeAt(end) === form.charCodeAt(end - p)) end++;
        if (end === length && end - p < form.length) open?.(p);
        spans.push([p, end]);
      } else {
        const end = p + ANCHOR;
        let start = p;
        while (start > 0 && end - start < form.length && codeAt(start - 1) === form.charCodeAt(form.length - (end - start) - 1)) start--;
        spans.push([start, end]);
      }
    }
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

const BACKSLASH_U = Buffer.from('\\u');
const BACKSLASH_SLASH = Buffer.from('\\/');
const PERCENT = 0x25;

/** True when the latin1 text of `bytes` holds an escape that {@link decodedView} decodes (what ESCAPED tests). */
export function hasEscape(bytes: Buffer): boolean {
  if (bytes.includes(BACKSLASH_U) || bytes.includes(BACKSLASH_SLASH)) return true;
  for (let at = bytes.indexOf(PERCENT); at >= 0; at = bytes.indexOf(PERCENT, at + 1)) {
    if (isHexDigit(bytes[at + 1]) && isHexDigit(bytes[at + 2])) return true;
  }
  return false;
}

function isHexDigit(byte: number | undefined): boolean {
  return byte !== undefined && ((byte >= 0x30 && byte <= 0x39) || ((byte | 0x20) >= 0x61 && (byte | 0x20) <= 0x66));
}

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

/**
 * Four characters as one integer: the value a little-endian Int32Array reads from their latin1 bytes, so
 * both searches share one index. Characters past latin1 keep their low byte; collisions are checked later.
 */
function gramAt(text: string, at: number): number {
  return (text.charCodeAt(at) & 0xff) | ((text.charCodeAt(at + 1) & 0xff) << 8) | ((text.charCodeAt(at + 2) & 0xff) << 16) | (text.charCodeAt(at + 3) << 24);
}

/** True when `text` is at `p` of what `codeAt` reads. */
function sameAt(text: string, p: number, codeAt: (i: number) => number): boolean {
  for (let i = 0; i < text.length; i++) if (codeAt(p + i) !== text.charCodeAt(i)) return false;
  return true;
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
