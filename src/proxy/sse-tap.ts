import { Duplex, type Readable } from 'node:stream';
import { SseWatcher, type StreamObserver } from './sse-watcher.js';
import type { StreamFormat } from './stream-formats.js';

/**
 * An {@link SseWatcher} as a stream stage: the upstream body is piped in, the released events are read out
 * (into a translation, src/translate/, or a test). A stream sent to its client as it came does without
 * this stage's two stream states: see sse-relay.ts.
 *
 * Backpressure: while the reader has not taken what was already pushed (more than the readable high-water
 * mark), a write is not acknowledged, so the pipe from the upstream pauses and so does its socket.
 */
export class SseTap extends Duplex {
  /** What the stream showed so far: its finish, its end, the text it delivered. */
  readonly watcher: SseWatcher;
  /** A write the reader's slowness holds back; acknowledged when the reader reads again. */
  private held: (() => void) | undefined;

  constructor(format: StreamFormat, stripUsageChunk: boolean, observer: StreamObserver, release: (events: Buffer) => Buffer = (events) => events) {
    super({ allowHalfOpen: true });
    this.watcher = new SseWatcher(
      format,
      stripUsageChunk,
      observer,
      release,
      (bytes) => this.push(bytes),
      // A write held back while the reader caught up is released here when there is room again. Waiting
      // for `_read` alone is not enough: a read that finds nothing to take waits for the next push, and
      // bytes that end no event push nothing, so tap and reader would wait on each other for ever.
      () => {
        if (this.held !== undefined && this.readableLength < this.readableHighWaterMark) this._read();
      },
    );
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.watcher.add(chunk);
    if (this.watcher.discarding || this.readableLength < this.readableHighWaterMark) callback();
    else this.held = callback;
  }

  override _read(): void {
    const held = this.held;
    this.held = undefined;
    held?.();
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.watcher.end();
    this.push(null);
    callback();
  }

  /** Ends the stream with an error event after what arrived before the failure. */
  fail(message: string, code: string): void {
    if (this.watcher.failed || this.writableEnded) return;
    this.watcher.fail(message, code);
    this.end();
  }

  /** Stops the pipe from `upstream` and reads the rest of it for the usage: see {@link SseWatcher.readRest}. */
  readRest(upstream: Readable, limitMs: number): Promise<void> {
    this.watcher.discard();
    // Writes held back by the stalled reader are handled now (synchronously, pushing nothing).
    this._read();
    upstream.unpipe(this);
    return this.watcher.readRest(upstream, limitMs);
  }
}
