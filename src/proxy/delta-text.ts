const NONE = Buffer.alloc(0);

/**
 * Delta bytes kept at most; a longer answer is counted from its first part and scaled by its length. Small,
 * as every stream holds it while it runs: 50 streams held by slow clients hold 1.6 MiB of it.
 */
export const MAX_KEPT_BYTES = 32 * 1024;

/**
 * The generated text a stream delivered, kept for a hang-up estimate (see usage-estimate.ts): only the
 * string values the stream format points at (text and tool-call deltas), copied as their raw, still
 * JSON-escaped bytes into one growing buffer. Nothing is decoded until `text()` is asked for, which happens
 * only for a client that left before the usage arrived.
 */
export class DeltaText {
  private bytes: Buffer = NONE;
  private length = 0;
  /** Bytes of deltas past {@link MAX_KEPT_BYTES}: counted, not kept. */
  private dropped = 0;

  /** `pattern`: a global pattern that ends at the opening quote of each delta string (the stream format's). */
  constructor(private readonly pattern: RegExp) {}

  /** Takes the delta strings of complete events (`text`: their latin1 text, so offsets are byte offsets). */
  add(events: Buffer, text: string): void {
    const pattern = this.pattern;
    pattern.lastIndex = 0;
    // `test`, not `exec`: no match object per delta; the pattern ends at the string's opening quote.
    while (pattern.test(text)) {
      const start = pattern.lastIndex;
      const end = stringEnd(text, start);
      if (end < 0) return;
      pattern.lastIndex = end + 1;
      this.keep(events, start, end);
    }
  }

  /** The delivered text, decoded; and the share of it that was kept (1 unless it outgrew the cap). */
  text(): { text: string; keptShare: number } {
    const raw = this.bytes.toString('utf8', 0, this.length);
    const keptShare = this.length === 0 ? 1 : this.length / (this.length + this.dropped);
    try {
      // The pieces are whole JSON string bodies: joined, they are one.
      return { text: JSON.parse(`"${raw}"`) as string, keptShare };
    } catch {
      // An upstream that sent something other than JSON strings there: its bytes as they are.
      return { text: raw, keptShare };
    }
  }

  private keep(events: Buffer, start: number, end: number): void {
    const size = end - start;
    if (this.length + size > MAX_KEPT_BYTES) {
      this.dropped += size;
      return;
    }
    if (this.length + size > this.bytes.length) {
      // Not from Node's shared pool: a small slice kept for a stream's life would keep a whole 8 KiB slab.
      const grown = Buffer.allocUnsafeSlow(Math.min(MAX_KEPT_BYTES, Math.max(256, 2 * (this.length + size))));
      this.bytes.copy(grown, 0, 0, this.length);
      this.bytes = grown;
    }
    events.copy(this.bytes, this.length, start, end);
    this.length += size;
  }
}

/** Index of the `"` that closes the JSON string whose content starts at `from`, or -1. */
function stringEnd(text: string, from: number): number {
  for (let i = from; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x5c /* \ */) i++;
    else if (c === 0x22 /* " */) return i;
  }
  return -1;
}
