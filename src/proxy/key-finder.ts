// Finds runs of secrets in text: any RUN or more consecutive characters of a secret in one of its forms (see
// key-forms.ts), and fragments of FRAGMENT or more that begin or end it.
//
// Built once per config. The search is cheap when nothing is there: every 4-character gram of every form is
// indexed, and a run of 7 or more characters always covers one of the text's 4-character blocks at offsets
// that are multiples of 4; so one table lookup per 4 characters of text tells whether a form may be
// nearby, and only then are characters compared, from the block outwards as far as they agree.
import { escapeTail, originalSpan, type Span, type View } from './decoded-view.js';
import { formsOf, type KeyForm } from './key-forms.js';

const GRAM = 4;
/** Folds the case of a gram's ASCII letters (and of a few punctuation marks with them): the index is caseless. */
const FOLD = 0x20202020;
/** The multiplier of the grams' hash (Fibonacci hashing: the top bits of the product are kept). */
const HASH = 0x9e3779b1;

/** A form as indexed, with where the last search extended a match of it (see {@link KeyFinder.extend}). */
interface Indexed extends KeyForm {
  search: number;
  /** Text position minus form position of the run last extended, and where that run ended. */
  diagonal: number;
  until: number;
}

interface Entry {
  form: Indexed;
  offset: number;
  /** The form's gram at `offset`, unfolded (a caseless form is lower-case already). */
  gram: number;
}

/** Int32Array reads bytes in the platform's order; the index is built for little-endian reads. */
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
const EMPTY_BLOCKS = new Int32Array(0);
let searches = 0;

/** A decoded view searched, with the text it was decoded from. */
interface Decoded {
  view: View;
  original: string;
}

/** One search: the text, as its length and characters, and what it found so far. */
interface Search {
  length: number;
  codeAt: (i: number) => number;
  spans: Span[];
  open: ((start: number) => void) | undefined;
  /** Tells this search's extensions from earlier ones' (see {@link Indexed.search}). */
  id: number;
  decoded: Decoded | undefined;
}

export class KeyFinder {
  private readonly grams = new Map<number, Entry[]>();
  /**
   * A bit set at the hash of every gram in `grams`, sized to stay mostly clear however many secrets there
   * are; bits, not bytes, so that it stays in the CPU's cache (a few secrets take 8 KiB).
   */
  private readonly seen: Uint8Array;
  private readonly shift: number;
  /** The longest run of a form's characters that may still become a match when more text follows it. */
  readonly pendingChars: number;

  constructor(secrets: Iterable<string>) {
    const forms = new Map<string, Indexed>();
    for (const secret of secrets) {
      for (const form of formsOf(secret)) forms.set(`${form.caseless ? 'i' : 'e'}${form.text}`, { ...form, search: 0, diagonal: 0, until: 0 });
    }
    let grams = 0;
    let pending = 0;
    for (const form of forms.values()) {
      grams += form.text.length - GRAM + 1;
      pending = Math.max(pending, form.run);
    }
    const bits = Math.min(25, Math.max(16, Math.ceil(Math.log2(grams * 64))));
    this.seen = new Uint8Array(1 << (bits - 3));
    this.shift = 32 - bits;
    this.pendingChars = pending;
    for (const form of forms.values()) {
      for (let offset = 0; offset + GRAM <= form.text.length; offset++) {
        const exact = gramAt(form.text, offset);
        const gram = exact | FOLD;
        const hash = Math.imul(gram, HASH) >>> this.shift;
        this.seen[hash >>> 3]! |= 1 << (hash & 7);
        let list = this.grams.get(gram);
        if (list === undefined) this.grams.set(gram, (list = []));
        list.push({ form, offset, gram: exact });
      }
    }
  }

  get empty(): boolean {
    return this.grams.size === 0;
  }

  /**
   * Spans of `text` holding a run of a secret, in order, overlapping ones merged. `open` is told where a
   * match starts that reaches the end of the text and may go on past it (more of it may follow).
   */
  find(text: string, open?: (start: number) => void): Span[] {
    return this.search(text, undefined, open);
  }

  /**
   * {@link find} for a view decoded from `original`, answering in `original`'s offsets. A run may begin
   * inside the escape before the view's match (`%2` then `9xW%252F…` decodes `%29`): the escape's last
   * characters are compared too, and a search starts after each escape, so a run whose decoded part is
   * shorter than a block is still found.
   */
  findDecoded(view: View, original: string, open?: (start: number) => void): Span[] {
    return this.search(view.text, { view, original }, open);
  }

  private search(text: string, decoded: Decoded | undefined, open: ((start: number) => void) | undefined): Span[] {
    let at: Search | undefined;
    for (let q = 0; q + GRAM <= text.length; q += GRAM) at = this.probeText(text, q, at, decoded, open);
    if (decoded !== undefined) {
      for (const q of decoded.view.after) if (q % GRAM !== 0 && q + GRAM <= text.length) at = this.probeText(text, q, at, decoded, open);
    }
    return at === undefined ? [] : mergeSpans(at.spans);
  }

  /** Probes `text`'s gram at `q`; the search is made at the first gram the bit set lets through (most texts have none). */
  private probeText(text: string, q: number, at: Search | undefined, decoded: Decoded | undefined, open: ((start: number) => void) | undefined): Search | undefined {
    const block = gramAt(text, q);
    if (!this.mayHold(block)) return at;
    const search = at ?? { length: text.length, codeAt: (i: number) => text.charCodeAt(i), spans: [], open, id: ++searches, decoded };
    this.probe(search, q, block);
    return search;
  }

  /**
   * What {@link find} answers for the latin1 text of `bytes`, read from the bytes themselves: the blocks are
   * read four bytes at a time through an aligned Int32Array view (any match still covers one of them), and
   * no string is made.
   */
  findInBytes(bytes: Buffer, open?: (start: number) => void): Span[] {
    if (!LITTLE_ENDIAN) return this.find(bytes.toString('latin1'), open);
    const first = -bytes.byteOffset & (GRAM - 1);
    const blocks = bytes.length > first ? new Int32Array(bytes.buffer, bytes.byteOffset + first, (bytes.length - first) >>> 2) : EMPTY_BLOCKS;
    const { seen, shift } = this;
    const count = blocks.length;
    let at: Search | undefined;
    let b = 0;
    // Four blocks a turn, their bits tested at once: almost every text passes them all, and this loop is
    // most of the cost of masking an answer. A turn that finds a bit set goes back over its blocks singly.
    for (; b + 3 < count; b += 4) {
      const h0 = Math.imul(blocks[b]! | FOLD, HASH) >>> shift;
      const h1 = Math.imul(blocks[b + 1]! | FOLD, HASH) >>> shift;
      const h2 = Math.imul(blocks[b + 2]! | FOLD, HASH) >>> shift;
      const h3 = Math.imul(blocks[b + 3]! | FOLD, HASH) >>> shift;
      if ((((seen[h0 >>> 3]! >>> (h0 & 7)) | (seen[h1 >>> 3]! >>> (h1 & 7)) | (seen[h2 >>> 3]! >>> (h2 & 7)) | (seen[h3 >>> 3]! >>> (h3 & 7))) & 1) === 0) continue;
      for (let i = b; i < b + 4; i++) if (this.mayHold(blocks[i]!)) this.probe((at ??= bytesSearch(bytes, open)), first + i * GRAM, blocks[i]!);
    }
    for (; b < count; b++) if (this.mayHold(blocks[b]!)) this.probe((at ??= bytesSearch(bytes, open)), first + b * GRAM, blocks[b]!);
    return at === undefined ? [] : mergeSpans(at.spans);
  }

  /** False when no form holds `block` (the bit set is clear at its hash); true when one may. */
  private mayHold(block: number): boolean {
    const hash = Math.imul(block | FOLD, HASH) >>> this.shift;
    return (this.seen[hash >>> 3]! & (1 << (hash & 7))) !== 0;
  }

  /** Extends the forms that hold `block`, the text's gram at `q`. */
  private probe(at: Search, q: number, block: number): void {
    const entries = this.grams.get(block | FOLD);
    if (entries !== undefined) this.extend(entries, q, block, at);
  }

  /**
   * Extends each form whose gram `block` (at `q`) is, as far as text and form agree both ways, and adds the
   * run to `spans` when it is long enough. A run is the same from every block it covers: a block inside the
   * run last extended for its form, on the same diagonal, is skipped.
   */
  private extend(entries: readonly Entry[], q: number, block: number, at: Search): void {
    const { length, codeAt, decoded } = at;
    const lower = lowerCaseGram(block);
    for (const { form, offset, gram } of entries) {
      // Most entries are told apart by the gram alone (another case, another alphabet, a hash collision).
      if ((form.caseless ? lower : block) !== gram) continue;
      const diagonal = q - offset;
      if (form.search === at.id && form.diagonal === diagonal && q < form.until) continue;
      const { text, caseless } = form;
      let end = q;
      let j = offset;
      while (end < length && j < text.length && same(codeAt(end), text.charCodeAt(j), caseless)) {
        end++;
        j++;
      }
      if (end - q < GRAM) continue; // a character past latin1 whose low byte is the gram's
      let start = q;
      let i = offset;
      while (start > 0 && i > 0 && same(codeAt(start - 1), text.charCodeAt(i - 1), caseless)) {
        start--;
        i--;
      }
      const tail = decoded === undefined || i === 0 ? '' : escapeTail(decoded.view, decoded.original, start);
      let lead = 0;
      while (lead < tail.length && lead < i && same(tail.charCodeAt(tail.length - 1 - lead), text.charCodeAt(i - 1 - lead), caseless)) lead++;
      form.search = at.id;
      form.diagonal = diagonal;
      form.until = end;
      const run = end - start + lead;
      if (run >= form.run || (run >= form.fragment && (i === lead || j === text.length))) {
        const span: Span = decoded === undefined ? [start, end] : originalSpan(decoded.view, [start, end], lead);
        at.spans.push(span);
        if (end === length && j < text.length) at.open?.(span[0]);
      }
    }
  }
}

/** A search of the latin1 text of `bytes`, read from the bytes themselves. */
function bytesSearch(bytes: Buffer, open: ((start: number) => void) | undefined): Search {
  return { length: bytes.length, codeAt: (i) => bytes[i]!, spans: [], open, id: ++searches, decoded: undefined };
}

/** A gram with its ASCII capitals made small, byte by byte. */
function lowerCaseGram(gram: number): number {
  let lower = gram;
  for (let shift = 0; shift < 32; shift += 8) {
    const code = (gram >>> shift) & 0xff;
    if (code >= 0x41 && code <= 0x5a) lower |= 0x20 << shift;
  }
  return lower;
}

function same(code: number, formCode: number, caseless: boolean): boolean {
  return (caseless && code >= 0x41 && code <= 0x5a ? code | 0x20 : code) === formCode;
}

/**
 * Four characters as one integer: the value a little-endian Int32Array reads from their latin1 bytes, so
 * both searches share one index. Characters past latin1 keep their low byte; collisions are checked later.
 */
function gramAt(text: string, at: number): number {
  return (text.charCodeAt(at) & 0xff) | ((text.charCodeAt(at + 1) & 0xff) << 8) | ((text.charCodeAt(at + 2) & 0xff) << 16) | (text.charCodeAt(at + 3) << 24);
}

/** Spans sorted, overlapping ones merged (in place: the spans are the caller's to give up). */
export function mergeSpans(spans: Span[]): Span[] {
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
