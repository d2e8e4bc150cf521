import { Transform, type TransformCallback } from 'node:stream';
import { decodedView, hasEscape, KeyFinder, originalSpan, type Span } from './key-finder.js';

const MASK = '***';
const MASK_BYTE = 0x2a; // *
/** OpenAI-style keys, whole or partly masked by the upstream itself (`sk-proj-abc***wxyz`). */
const KEY_LIKE = /\bsk-[A-Za-z0-9_*.-]{6,}/g;
/** A JSON-escaped character takes up to six bytes (`\u0073`); a URL-encoded one three. */
const ENCODED_CHAR_BYTES = 6;

/**
 * Removes upstream API keys from what an upstream wrote, before it reaches a client or a log: in any of
 * the forms {@link KeyFinder} knows, on every status.
 */
export class SecretScrubber {
  private readonly finder: KeyFinder;
  /** Bytes of a streamed body held back, so a key split across two chunks is seen whole. */
  readonly overlapBytes: number;

  constructor(secrets: Iterable<string>) {
    this.finder = new KeyFinder(secrets);
    this.overlapBytes = this.finder.longest * ENCODED_CHAR_BYTES;
  }

  /**
   * An error body with its keys masked. A JSON body has every string (and key) of it scrubbed decoded, so
   * no JSON escape can hide a key, and is written again; anything else is scrubbed as text. Key-like
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
   * The bytes of a whole answer or of complete SSE events (a key cannot span two events), keys masked in
   * place with as many `*` as they took, so lengths do not change. The same buffer when there is none.
   */
  maskComplete(bytes: Buffer): Buffer {
    if (this.finder.empty) return bytes;
    const spans = this.spansInBytes(bytes);
    return spans.length === 0 ? bytes : masked(bytes, spans);
  }

  /** A stage for a body of any size: masks keys as {@link maskComplete} does, holding back only a short tail. */
  stream(): Transform {
    return new ScrubStream(this);
  }

  /**
   * Spans of `text` (latin1) holding keys. `open.at` is lowered to where a match starts that reaches the
   * end of `text` and may go on past it.
   */
  spansIn(text: string, open?: { at: number }): Span[] {
    const view = decodedView(text);
    const spans = this.finder.find(view.text, open === undefined ? undefined : (start) => (open.at = Math.min(open.at, originalSpan(view, [start, start])[0])));
    return view.at === undefined ? spans : spans.map((span) => originalSpan(view, span));
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
 * Masks keys in a body that goes by in chunks. The last `overlapBytes` of what arrived are held back
 * (and searched again with the next chunk), as is a match that reaches the end of what arrived: the
 * rest of a key may follow.
 */
class ScrubStream extends Transform {
  private held: Buffer | undefined;

  constructor(private readonly scrubber: SecretScrubber) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    const data = this.held === undefined ? chunk : Buffer.concat([this.held, chunk]);
    const open = { at: data.length };
    const spans = this.scrubber.spansInBytes(data, open);
    // A match that may go on is left for the next chunk, which searches it again whole.
    const settled = spans.filter(([start]) => start < open.at);
    const out = settled.length === 0 ? data : masked(data, settled);
    const release = Math.min(open.at, Math.max(0, data.length - this.scrubber.overlapBytes));
    this.held = release < out.length ? Buffer.from(out.subarray(release)) : undefined;
    callback(null, release > 0 ? out.subarray(0, release) : undefined);
  }

  override _flush(callback: TransformCallback): void {
    const held = this.held;
    this.held = undefined;
    callback(null, held === undefined ? undefined : this.scrubber.maskComplete(held));
  }
}

/** A copy of `bytes` with each span overwritten by `*`. */
function masked(bytes: Buffer, spans: readonly Span[]): Buffer {
  const out = Buffer.from(bytes);
  for (const [start, end] of spans) out.fill(MASK_BYTE, start, end);
  return out;
}
