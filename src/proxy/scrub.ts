import { Transform, type TransformCallback } from 'node:stream';
import { decodedView, hasEscape, LONGEST_ESCAPE, type Span } from './decoded-view.js';
import { KeyFinder, mergeSpans } from './key-finder.js';
import { FRAGMENT } from './key-forms.js';

const MASK = '***';
const MASK_BYTE = 0x2a; // *
/** OpenAI-style keys, whole or partly masked by the upstream itself (`sk-proj-abc***wxyz`). */
const KEY_LIKE = /\bsk-[A-Za-z0-9_*.-]{6,}/g;

/**
 * Removes upstream secrets (keys, organizations, projects, header values) from what an upstream wrote,
 * before it reaches a client or a log: any run of them {@link KeyFinder} knows, as they are or escaped, on
 * every status, in bodies, streams and headers.
 */
export class SecretScrubber {
  private readonly finder: KeyFinder;
  /**
   * Bytes at the end of a streamed body held back, so a run split across two chunks is seen whole: the
   * longest run that may still become a match, each character escaped as long as an escape goes.
   */
  readonly overlapBytes: number;

  constructor(secrets: Iterable<string>) {
    this.finder = new KeyFinder(secrets);
    this.overlapBytes = this.finder.pendingChars * LONGEST_ESCAPE;
  }

  /**
   * An error body with its secrets masked. A JSON body has every string (and key) of it scrubbed decoded, so
   * no JSON escape can hide a secret, and is written again; anything else is scrubbed as text. Key-like
   * strings are masked too: an error body has no business quoting one.
   */
  scrub(text: string): string {
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      return this.scrubText(text);
    }
    return JSON.stringify(this.scrubValue(json));
  }

  /**
   * The bytes of a whole answer or of complete SSE events (a run cannot span two events), secrets masked in
   * place with as many `*` as they took, so lengths do not change. The same buffer when there is none.
   */
  maskComplete(bytes: Buffer): Buffer {
    if (this.finder.empty) return bytes;
    const spans = this.spansInBytes(bytes);
    return spans.length === 0 ? bytes : masked(bytes, spans);
  }

  /** A header value (latin1, as Node reads it) masked as {@link maskComplete} masks bytes; itself when clean. */
  maskText(text: string): string {
    // No match is shorter than a fragment (most header values are a few digits).
    if (this.finder.empty || text.length < FRAGMENT) return text;
    const spans = this.spansIn(text);
    let out = text;
    for (let i = spans.length - 1; i >= 0; i--) out = out.slice(0, spans[i]![0]) + '*'.repeat(spans[i]![1] - spans[i]![0]) + out.slice(spans[i]![1]);
    return out;
  }

  /** A stage for a body of any size: masks secrets as {@link maskComplete} does, holding back only a short tail. */
  stream(): Transform {
    return new ScrubStream(this);
  }

  /**
   * Spans of `text` (latin1) holding secrets: searched as it is and, when it holds escapes, decoded too (an
   * escape-like run of characters next to a key must not hide it). `open.at` is lowered to where a match
   * starts that reaches the end of `text` and may go on past it.
   */
  spansIn(text: string, open?: { at: number }): Span[] {
    const view = decodedView(text);
    const raw = this.finder.find(text, open === undefined ? undefined : (start) => (open.at = Math.min(open.at, start)));
    if (view.at === undefined) return raw;
    const decoded = this.finder.findDecoded(view, text, open === undefined ? undefined : (start) => (open.at = Math.min(open.at, start)));
    return mergeSpans([...raw, ...decoded]);
  }

  /**
   * {@link spansIn} for the latin1 text of `bytes`. Without an escape to decode, the bytes are searched as
   * they are and no string is made.
   */
  spansInBytes(bytes: Buffer, open?: { at: number }): Span[] {
    if (hasEscape(bytes)) return this.spansIn(bytes.toString('latin1'), open);
    return this.finder.findInBytes(bytes, open === undefined ? undefined : (start) => (open.at = Math.min(open.at, start)));
  }

  private scrubText(text: string): string {
    let out = text;
    if (!this.finder.empty) {
      const spans = this.spansIn(text);
      for (let i = spans.length - 1; i >= 0; i--) out = out.slice(0, spans[i]![0]) + MASK + out.slice(spans[i]![1]);
    }
    return out.replace(KEY_LIKE, `sk-${MASK}`);
  }

  private scrubValue(value: unknown): unknown {
    if (typeof value === 'string') return this.scrubText(value);
    if (Array.isArray(value)) return value.map((item) => this.scrubValue(item));
    if (value === null || typeof value !== 'object') return value;
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) out[this.scrubText(key)] = this.scrubValue(item);
    return out;
  }
}

/**
 * Masks secrets in a body that goes by in chunks, with the result {@link SecretScrubber.maskComplete} gives
 * for the whole. The last `overlapBytes` of what arrived are held back, unmasked, and searched again with the
 * next chunk, as is a match that reaches the end of what arrived (more of it may follow). A match cut by
 * the release point has its held part masked when it goes, whatever the next search finds of it.
 */
class ScrubStream extends Transform {
  private held: Buffer | undefined;
  /** Bytes at the start of `held` that belong to a match already found. */
  private heldMasked = 0;

  constructor(private readonly scrubber: SecretScrubber) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    const data = this.held === undefined ? chunk : Buffer.concat([this.held, chunk]);
    const open = { at: data.length };
    const spans = this.spansOf(data, open);
    const release = Math.min(open.at, Math.max(0, data.length - this.scrubber.overlapBytes));
    let heldMasked = 0;
    // A match found is a match in the whole body too: what of it is held stays masked, whatever comes next.
    for (const [start, end] of spans) if (start <= release && end > release) heldMasked = end - release;
    this.held = release < data.length ? Buffer.from(data.subarray(release)) : undefined;
    this.heldMasked = heldMasked;
    if (release === 0) return callback();
    const out = data.subarray(0, release);
    callback(null, spans.length === 0 || spans[0]![0] >= release ? out : masked(out, spans));
  }

  override _flush(callback: TransformCallback): void {
    const held = this.held;
    if (held === undefined) return callback();
    const spans = this.spansOf(held);
    this.held = undefined;
    this.heldMasked = 0;
    callback(null, spans.length === 0 ? held : masked(held, spans));
  }

  private spansOf(data: Buffer, open?: { at: number }): Span[] {
    const spans = this.scrubber.spansInBytes(data, open);
    return this.heldMasked === 0 ? spans : mergeSpans([[0, this.heldMasked], ...spans]);
  }
}

/** A copy of `bytes` with each span (clipped to them) overwritten by `*`. */
function masked(bytes: Buffer, spans: readonly Span[]): Buffer {
  const out = Buffer.from(bytes);
  for (const [start, end] of spans) if (start < out.length) out.fill(MASK_BYTE, start, Math.min(end, out.length));
  return out;
}
