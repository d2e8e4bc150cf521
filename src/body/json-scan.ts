import { quoted } from '../errors.js';

/** Shape limits a body must keep before it is parsed; real requests stay far below each. */
export interface JsonShapeLimits {
  /**
   * Deepest nesting of arrays and objects. Past it, code that walks the value recursively (`JSON.stringify`
   * among them) would run out of stack, here or upstream.
   */
  readonly maxDepth: number;
  /** Items in any one array: far beyond a real one (an embedding input of token ids holds at most 8,192). */
  readonly maxArrayItems: number;
  /**
   * Array items and object members in the whole body, so that scanning, parsing and validating the largest
   * body allowed holds the event loop for well under 100 ms. A chat of thousands of messages with tools
   * and images holds a few tens of thousands.
   */
  readonly maxEntries: number;
}

export const JSON_SHAPE_LIMITS: JsonShapeLimits = { maxDepth: 128, maxArrayItems: 100_000, maxEntries: 200_000 };

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;

/**
 * Why the raw JSON `body` must be refused before it is parsed, or undefined. One linear pass over the bytes
 * that jumps over string contents with a native search (so a large base64 image costs next to nothing) and
 * refuses, as soon as it sees it:
 * - nesting deeper than `maxDepth`, arrays longer than `maxArrayItems`, more than `maxEntries` values in all,
 *   so a hostile body is refused before JSON.parse builds it;
 * - a key that appears twice in one object, compared ignoring case (see `foldCase`), at any depth. Parsers
 *   disagree on which of two equal keys wins (JSON.parse keeps the last, others the first, Go's decoder
 *   matches field names ignoring case), so the gateway could check one value while the upstream uses another.
 *
 * Written here rather than taken from a library: the JSON tokenisers on npm walk strings character by
 * character in JavaScript (slow on multi-megabyte images), build a syntax tree, and compare keys exactly.
 * Bodies that are not JSON at all are left for the parser to refuse.
 */
export function jsonShapeProblem(body: Buffer, limits: JsonShapeLimits = JSON_SHAPE_LIMITS): string | undefined {
  // Per depth: the bracket that opened it, its array items so far, its object's keys. Only one object is
  // open at a given depth at any time, so each depth's key list is reused rather than allocated. The two
  // tables of numbers are set when their depth is entered, so every call shares them (the scan never
  // yields); the keys are not, as they would keep the last body's strings alive.
  if (depthTables.opener.length <= limits.maxDepth) depthTables = newDepthTables(limits.maxDepth);
  const { opener, items } = depthTables;
  const keys: ObjectKeys[] = [];
  let depth = 0;
  let entries = 0;
  let expectKey = false;
  for (let i = 0; i < body.length; i++) {
    const c = body[i];
    if (c === QUOTE) {
      const close = closingQuote(body, i);
      if (close < 0) return undefined;
      if (expectKey) {
        const problem = (keys[depth] ??= new ObjectKeys()).add(body, i, close);
        if (problem !== undefined) return problem;
        expectKey = false;
      }
      i = close;
    } else if (c === OPEN_OBJECT || c === OPEN_ARRAY) {
      if (++depth > limits.maxDepth) return `The JSON body nests arrays and objects deeper than ${limits.maxDepth} levels.`;
      if (++entries > limits.maxEntries) return tooManyEntries(limits);
      opener[depth] = c;
      items[depth] = 1;
      if (c === OPEN_OBJECT) keys[depth]?.reset();
      expectKey = c === OPEN_OBJECT;
    } else if (c === CLOSE_OBJECT || c === CLOSE_ARRAY) {
      if (--depth < 0) return undefined;
      expectKey = false;
    } else if (c === COMMA) {
      if (++entries > limits.maxEntries) return tooManyEntries(limits);
      if (opener[depth] === OPEN_OBJECT) expectKey = true;
      else if (++items[depth]! > limits.maxArrayItems) return `The JSON body has an array of more than ${limits.maxArrayItems} items.`;
    }
  }
  return undefined;
}

/**
 * The per-depth tables of numbers of a scan, kept between calls: typed arrays of this size have buffers
 * outside the heap, which cost more to allocate and to collect than the scan of a small body itself.
 */
function newDepthTables(maxDepth: number): { opener: Uint8Array; items: Uint32Array } {
  return { opener: new Uint8Array(maxDepth + 1), items: new Uint32Array(maxDepth + 1) };
}
let depthTables = newDepthTables(JSON_SHAPE_LIMITS.maxDepth);

const tooManyEntries = (limits: JsonShapeLimits): string =>
  `The JSON body holds more than ${limits.maxEntries} array items and object members in all.`;

/** Objects up to this many keys are searched as a list: cheaper than a map for the small objects of real bodies. */
const LIST_KEYS = 8;

/** The keys of the object open at one depth: folded (for comparison) and as sent (for the message). */
class ObjectKeys {
  private readonly folded: string[] = [];
  private readonly sent: string[] = [];
  private count = 0;
  private index: Map<string, number> | undefined;

  reset(): void {
    this.count = 0;
    this.index = undefined;
  }

  /** Records the key whose quotes are at `open` and `close`; says why the body is refused when it is a repeat. */
  add(body: Buffer, open: number, close: number): string | undefined {
    let key: string | undefined;
    let folded: string;
    if (isPlainAscii(body, open + 1, close)) {
      // The common case, kept cheap: a plain ASCII key folds by upper case alone.
      key = body.toString('latin1', open + 1, close);
      folded = key.toUpperCase();
    } else {
      key = decodeKey(body, open, close);
      if (key === undefined) return undefined;
      folded = foldCase(key);
    }
    const earlier = this.find(folded);
    if (earlier >= 0) {
      const first = this.sent[earlier]!;
      const sameAs = first === key ? '' : ` ('${quoted(key)}' is the same key as '${quoted(first)}' when case is ignored)`;
      return `The JSON body has the key '${quoted(first)}' twice in one object${sameAs}; send each key once.`;
    }
    this.folded[this.count] = folded;
    this.sent[this.count] = key;
    this.index?.set(folded, this.count);
    this.count++;
    if (this.index === undefined && this.count > LIST_KEYS) {
      this.index = new Map();
      for (let i = 0; i < this.count; i++) this.index.set(this.folded[i]!, i);
    }
    return undefined;
  }

  private find(folded: string): number {
    if (this.index !== undefined) return this.index.get(folded) ?? -1;
    for (let i = 0; i < this.count; i++) if (this.folded[i] === folded) return i;
    return -1;
  }
}

/** True when the bytes from `start` to `end` are ASCII without a backslash: the key is its bytes as they are. */
function isPlainAscii(body: Buffer, start: number, end: number): boolean {
  for (let i = start; i < end; i++) {
    const c = body[i]!;
    if (c >= 0x80 || c === BACKSLASH) return false;
  }
  return true;
}

/** The key as JSON.parse reads it, escapes decoded (`"mod\u0065l"` is `model`); undefined when it is not valid JSON. */
function decodeKey(body: Buffer, open: number, close: number): string | undefined {
  const text = body.toString('utf8', open + 1, close);
  if (!text.includes('\\')) return text;
  try {
    return JSON.parse(`"${text}"`) as string;
  } catch {
    return undefined;
  }
}

/**
 * A key folded the way Go's encoding/json matches field names (upper case of the lower case, letter by
 * letter), so that every key Go would take for the same field folds alike. Among non-ASCII letters, the
 * ones that fold onto ASCII letters there are `ſ` (s), `ı` and `İ` (i) and the Kelvin sign (k); JavaScript's
 * case mapping folds all but `İ` the same way, which is mapped first.
 */
export function foldCase(key: string): string {
  return key.replaceAll('\u0130', 'I').toLowerCase().toUpperCase();
}

/** Index of the quote that closes the string opened at `open`, or -1. */
function closingQuote(body: Buffer, open: number): number {
  for (let at = body.indexOf(QUOTE, open + 1); at >= 0; at = body.indexOf(QUOTE, at + 1)) {
    let backslashes = 0;
    while (body[at - 1 - backslashes] === BACKSLASH) backslashes++;
    if (backslashes % 2 === 0) return at;
  }
  return -1;
}
