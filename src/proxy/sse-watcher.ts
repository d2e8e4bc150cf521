import type { Readable } from 'node:stream';
import { DeltaText } from './delta-text.js';
import { eventAround, lastEventEnd, LOOKBACK_BYTES, nextEventEnd } from './sse-events.js';
import { usageObjects, type StreamFormat } from './stream-formats.js';
import type { Usage } from './usage.js';

export interface StreamObserver {
  /** The first event that carries generated content (text, reasoning or a tool call). */
  onFirstToken(): void;
  onUsage(usage: Usage): void;
}

/**
 * The largest event held whole. Streamed images carry their usage in a final event of several MiB; an event
 * larger than this ends the stream with an error event, so a broken upstream cannot grow our memory.
 */
export const MAX_EVENT_BYTES = 16 * 1024 * 1024;
/** A tail this long is copied off the read it came in, rather than keeping the whole read alive. */
const COPY_TAIL_OVER = 64 * 1024;

/**
 * Watches an upstream SSE body go by, reading its usage and first-token time, and releases its bytes to
 * `emit` one whole event at a time. It has no stream machinery of its own: how the bytes reach the client
 * (written to its response directly, see sse-relay.ts, or pushed by a stream stage, see sse-tap.ts) is
 * the caller's.
 *
 * Written here rather than taken from an SSE parsing library (such as eventsource-parser) because those
 * take text, hand back event objects and lose the original bytes and where each event ended in them; the
 * bytes must reach the client exactly as the upstream sent them, one whole event at a time.
 *
 * Events are released only once complete (their closing blank line arrived), so a stream cut inside an
 * event never hands the client half of one: the partial bytes are dropped and an error event follows.
 * Only the current, incomplete event is kept between chunks, never the response. In strip mode (the
 * gateway added `stream_options.include_usage` itself) the usage-only chunk the client never asked for is
 * dropped.
 *
 * Chunks that arrive together (the upstream's HTTP chunks parsed from one read of its socket: a burst of
 * events) are handled together, once the read has been parsed, and leave as one chunk: a burst of twenty
 * events costs one search and one write to the client instead of twenty. Nothing waits for a later read.
 */
export class SseWatcher {
  /** The bytes of the current, incomplete event, from its start. */
  private carry: Buffer[] = [];
  private carryBytes = 0;
  private sawFirstToken = false;
  private sawFinish = false;
  private sawUsage = false;
  private sawDone = false;
  /** The last `sequence_number` seen, in streams whose events are numbered: the error event takes the next. */
  private sequence = -1;
  private hasFailed = false;
  /** Set once the client left: events are still read (for the usage), nothing is released. */
  private isDiscarding = false;
  /**
   * The text and tool-call deltas released to the client, kept until the usage arrives: what a client that
   * leaves before it is charged for. Only for streams whose format says where those deltas are.
   */
  readonly delivered: DeltaText | undefined;
  /** Chunks received in this turn and not handled yet; handled in a microtask, once the read is parsed. */
  private incoming: Buffer[] = [];
  private handling = false;
  /** Handles the chunks received so far at once (see {@link add}). */
  readonly flush = (): void => {
    this.handling = false;
    const incoming = this.incoming;
    if (incoming.length > 0) {
      this.incoming = [];
      if (!this.hasFailed) this.takeBytes(incoming.length === 1 ? incoming[0]! : Buffer.concat(incoming), false);
    }
    this.afterFlush?.();
  };

  constructor(
    /** What this endpoint's events look like: where its first token, its finish and its end are. */
    private readonly format: StreamFormat,
    private readonly stripUsageChunk: boolean,
    private readonly observer: StreamObserver,
    /** Applied to the bytes of complete events before they are released (keys masked). */
    private readonly release: (events: Buffer) => Buffer,
    /** Takes the released bytes: whole events, and the error event that ends a broken stream. */
    private readonly emit: (bytes: Buffer | string) => void,
    /** Called each time the chunks received so far were handled. */
    private readonly afterFlush?: () => void,
  ) {
    this.delivered = format.deltaText === undefined ? undefined : new DeltaText(format.deltaText);
  }

  /** True once the upstream sent the stream's last event (`data: [DONE]`, `response.completed`, ...). */
  get complete(): boolean {
    return this.sawDone;
  }

  /** True once a finish chunk went by: what is left is the usage chunk and `[DONE]`. */
  get finished(): boolean {
    return this.sawFinish;
  }

  /** True once the stream was ended with an error event. */
  get failed(): boolean {
    return this.hasFailed;
  }

  /** True once the client left (see {@link discard}). */
  get discarding(): boolean {
    return this.isDiscarding;
  }

  /** Takes a chunk of the upstream body: handled with the others of this turn, or at once when discarding. */
  add(chunk: Buffer): void {
    this.incoming.push(chunk);
    if (this.isDiscarding) this.flush();
    else if (!this.handling) {
      this.handling = true;
      queueMicrotask(this.flush);
    }
  }

  /** The upstream ended: what is carried is released, or dropped and an error event released instead. */
  end(): void {
    this.flush();
    if (this.hasFailed) return;
    // No byte will follow: a carriage return at the very end now surely ends its line.
    if (this.carryBytes > 0) this.takeBytes(undefined, true);
    // An upstream that ended without the blank line after its last event still ended the stream.
    if (this.carryBytes > 0 && !this.sawDone) this.takeLast();
    if (!this.sawDone) this.pushError('The upstream ended the stream before it was complete.', 'upstream_stream_incomplete');
  }

  /** Releases what arrived before the failure, then an OpenAI-style error event, so SDKs raise instead of waiting. */
  fail(message: string, code: string): void {
    this.flush();
    this.pushError(message, code);
  }

  /** The client left: from now on nothing is released, and chunks are handled as they come. */
  discard(): void {
    this.isDiscarding = true;
  }

  /**
   * Once the client has left after the finish chunk: reads the rest of `upstream` (discarding it) until the
   * usage or `[DONE]` went by, the upstream ended, or `limitMs` passed. Resolves then; the caller closes
   * the upstream. The caller has stopped feeding the watcher from `upstream` first.
   */
  readRest(upstream: Readable, limitMs: number): Promise<void> {
    this.discard();
    this.flush();
    if (this.sawUsage || this.sawDone || upstream.readableEnded || upstream.destroyed) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        upstream.off('data', onData).off('end', done).off('close', done).off('error', done);
        resolve();
      };
      const onData = (chunk: Buffer): void => {
        this.takeBytes(chunk, false);
        if (this.sawUsage || this.sawDone) done();
      };
      const timer = setTimeout(done, limitMs);
      upstream.on('data', onData).once('end', done).once('close', done).once('error', done);
      upstream.resume(); // an upstream that was waiting for the client was left paused
    });
  }

  /** Handles `data` (undefined: none, at the end) after the carried partial event; releases complete events. */
  private takeBytes(data: Buffer | undefined, final: boolean): void {
    let region: Buffer;
    if (this.carryBytes === 0) {
      if (data === undefined) return;
      region = data;
    } else {
      // Only the new bytes (and a few before them) can hold the blank line that closes the carried event.
      const tail = lastBytes(this.carry, Math.min(LOOKBACK_BYTES, this.carryBytes));
      const window = data === undefined ? tail : Buffer.concat([tail, data]);
      if (nextEventEnd(window, 0, final) < 0) {
        if (data !== undefined) this.carryOn(data);
        return;
      }
      region = Buffer.concat(data === undefined ? this.carry : [...this.carry, data]);
      this.carry = [];
      this.carryBytes = 0;
    }
    const end = lastEventEnd(region, final);
    if (end > 0) {
      const events = end === region.length ? region : region.subarray(0, end);
      const text = events.toString('latin1');
      const kept = this.inspect(events, text);
      if (!this.isDiscarding) {
        if (Array.isArray(kept)) for (const piece of kept) this.emit(this.release(piece));
        else {
          if (!this.sawUsage) this.delivered?.add(events, text);
          this.emit(this.release(kept));
        }
      }
    }
    if (end < region.length) {
      const rest = region.subarray(end);
      this.carryOn(end > COPY_TAIL_OVER ? Buffer.from(rest) : rest);
    }
  }

  /** At the end: a carried event that lacks only its blank line, when it is `data: [DONE]`, is released. */
  private takeLast(): void {
    const last = Buffer.concat(this.carry);
    const text = last.toString('latin1');
    if (!this.format.hasEnd(text) && !this.format.hasEnd(`${text}\n`)) return;
    this.carry = [];
    this.carryBytes = 0;
    this.sawDone = true;
    if (!this.isDiscarding) this.emit(this.release(last));
  }

  private carryOn(bytes: Buffer): void {
    this.carry.push(bytes);
    this.carryBytes += bytes.length;
    if (this.carryBytes > MAX_EVENT_BYTES) {
      this.pushError(`The upstream sent an event larger than ${MAX_EVENT_BYTES / 1024 / 1024} MiB.`, 'upstream_event_too_large');
    }
  }

  /** Drops the partial event, never released, and releases an error event in its place. */
  private pushError(message: string, code: string): void {
    this.hasFailed = true;
    this.carry = [];
    this.carryBytes = 0;
    if (this.isDiscarding) return;
    this.emit(this.format.errorEvent(message, code, this.sequence + 1));
  }

  /**
   * Reads what matters from complete events (`text` is their latin1 text); returns the bytes to forward:
   * `events` itself, or the pieces of it around the usage-only chunks removed (each whole events). The
   * pieces are released one by one rather than joined: joining copies the burst into a new buffer, which
   * costs more than a second write to the client.
   */
  private inspect(events: Buffer, text: string): Buffer | Buffer[] {
    const format = this.format;
    if (!this.sawFirstToken && format.hasFirstToken(text)) {
      this.sawFirstToken = true;
      this.observer.onFirstToken();
    }
    const ended = !this.sawDone && format.hasEnd(text);
    if (ended) this.sawDone = true;
    // Streams whose finish is their end (typed events) are searched once for both.
    if (!this.sawFinish && (format.hasFinish === format.hasEnd ? ended : format.hasFinish(text))) this.sawFinish = true;
    if (format.lastSequence !== undefined) this.sequence = format.lastSequence(text) ?? this.sequence;

    const kept: Buffer[] = [];
    let keptFrom = 0; // bytes before this are forwarded or dropped
    for (const { at, usage } of usageObjects(text)) {
      this.sawUsage = true;
      this.observer.onUsage(usage);
      if (!this.stripUsageChunk) continue;
      const [start, stop] = eventAround(events, text, at);
      if (start < keptFrom || !format.isUsageOnly(text.slice(start, stop))) continue;
      if (start > keptFrom) kept.push(events.subarray(keptFrom, start));
      keptFrom = stop;
    }
    if (keptFrom === 0) return events;
    if (keptFrom < events.length) kept.push(events.subarray(keptFrom));
    return kept;
  }
}

/** The last `n` bytes of a list of chunks. */
function lastBytes(chunks: readonly Buffer[], n: number): Buffer {
  const last = chunks[chunks.length - 1]!;
  if (last.length >= n) return last.subarray(last.length - n);
  return Buffer.concat(chunks).subarray(-n);
}
