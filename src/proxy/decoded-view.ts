// A text with the escapes an upstream may quote a key through decoded: JSON's (`\u0073`, `\/`), URL's once or
// twice (`%73`, `%2573`) and HTML's numeric character references (`&#115;`, `&#x73;`), each mapped back to
// where it stood in the original, so what is found in the view is masked in the original.
//
// Escapes are decoded from the left, so one that text before a quoted run leaves open takes the run's first
// characters: `%2` then `9xW%252F…` reads `%29` and leaves `xW/…`. The view keeps where each escape ends, and
// what follows its `%`, `\` or `&` may be searched as the run's first characters (see {@link escapeTail}).

/** `[start, end)` in the searched text. */
export type Span = [number, number];

/** The text to search and, when it was decoded, the offset in the original text of each of its characters. */
export interface View {
  text: string;
  /** `at[i]`: where view character i starts in the original; `at[text.length]` is the original's length. */
  at: Int32Array | undefined;
  /** View positions just after each decoded escape, in order (none when the text was not decoded). */
  after: readonly number[];
}

/** The longest escape decoded, in bytes: `&#x` and eight digits and `;`. A stream holds back this much per character. */
export const LONGEST_ESCAPE = 12;

const ESCAPED = /\\[u/]|%[0-9A-Fa-f]{2}|&#[0-9xX]/;
/** Every escape that is decoded, once one of ESCAPED is seen. `%25` first: a double-encoded character is one. */
const ESCAPE = /\\(?:u[0-9A-Fa-f]{4}|["\\/bfnrt])|%25[0-9A-Fa-f]{2}|%[0-9A-Fa-f]{2}|&#(?:[xX]([0-9A-Fa-f]{1,8})|([0-9]{1,8}));/g;
const JSON_ESCAPES: Record<string, string> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };

const BACKSLASH_U = Buffer.from('\\u');
const BACKSLASH_SLASH = Buffer.from('\\/');
const PERCENT = 0x25;
const AMPERSAND_HASH = Buffer.from('&#');

/** True when the latin1 text of `bytes` holds an escape that {@link decodedView} decodes (what ESCAPED tests). */
export function hasEscape(bytes: Buffer): boolean {
  if (bytes.includes(BACKSLASH_U) || bytes.includes(BACKSLASH_SLASH)) return true;
  for (let at = bytes.indexOf(PERCENT); at >= 0; at = bytes.indexOf(PERCENT, at + 1)) {
    if (isHexDigit(bytes[at + 1]) && isHexDigit(bytes[at + 2])) return true;
  }
  for (let at = bytes.indexOf(AMPERSAND_HASH); at >= 0; at = bytes.indexOf(AMPERSAND_HASH, at + 2)) {
    const next = bytes[at + 2];
    if (next !== undefined && ((next >= 0x30 && next <= 0x39) || (next | 0x20) === 0x78)) return true;
  }
  return false;
}

function isHexDigit(byte: number | undefined): boolean {
  return byte !== undefined && ((byte >= 0x30 && byte <= 0x39) || ((byte | 0x20) >= 0x61 && (byte | 0x20) <= 0x66));
}

/**
 * The text with its escapes decoded, or itself when it has none. The text between escapes is copied by
 * slices and its offsets filled in bulk: a long answer with a few escaped characters costs about as much as
 * one without.
 */
export function decodedView(text: string): View {
  if (!ESCAPED.test(text)) return { text, at: undefined, after: [] };
  const at = new Int32Array(text.length + 1);
  const parts: string[] = [];
  const after: number[] = [];
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
    parts.push(decoded(match));
    at[length++] = match.index;
    after.push(length);
    from = match.index + match[0].length;
  }
  copy(text.length);
  at[length] = text.length;
  return { text: parts.join(''), at: at.subarray(0, length + 1), after };
}

/** The one character an escape stands for (a code point past the BMP, never a key's, as U+FFFD). */
function decoded(match: RegExpExecArray): string {
  const escape = match[0];
  const first = escape.charCodeAt(0);
  let code: number;
  if (first === 0x25 /* % */) code = parseInt(escape.slice(escape.length - 2), 16);
  else if (first === 0x26 /* & */) code = match[1] === undefined ? Number(match[2]) : parseInt(match[1], 16);
  else if (escape.charCodeAt(1) === 0x75 /* u */) code = parseInt(escape.slice(2), 16);
  else return JSON_ESCAPES[escape[1]!]!;
  return String.fromCharCode(code > 0xffff ? 0xfffd : code);
}

/**
 * What the escape just before view position `position` holds past its `%`, `\` or `&` (`29` of `%29`): the
 * characters a run that starts inside it may begin with. Empty when that view character was not escaped.
 */
export function escapeTail(view: View, original: string, position: number): string {
  const { at } = view;
  if (at === undefined || position === 0) return '';
  const from = at[position - 1]! + 1;
  const to = at[position]!;
  return to > from ? original.slice(from, to) : '';
}

/** A span of a view as a span of the text it was decoded from, with `lead` characters of an escape before it. */
export function originalSpan(view: View, [start, end]: Span, lead = 0): Span {
  return view.at === undefined ? [start, end] : [view.at[start]! - lead, view.at[end]!];
}
