import type { Readable, Writable } from 'node:stream';
import { SseWatcher, type StreamObserver } from './sse-watcher.js';
import type { StreamFormat } from './stream-formats.js';

/**
 * Relays an upstream SSE body to the client's response through an {@link SseWatcher}, from its construction
 * and without stream stages of its own: the upstream's chunks are taken from its 'data' events and the
 * released events written to the client. Two pipes and a stream stage's two stream states cost every
 * stream several µs; a stream to translate goes through the stage (sse-tap.ts) instead.
 *
 * Backpressure: the upstream is paused while the client's response refuses more writes, and resumed on
 * its 'drain'.
 */
export class SseRelay {
  /** What the stream showed so far: its finish, its end, the text it delivered. */
  readonly watcher: SseWatcher;
  /** Set once the client's response was ended, or the client left. */
  private ended = false;
  private readonly take = (chunk: Buffer): void => this.watcher.add(chunk);
  /** Set while the upstream is paused for the client's 'drain' (a burst may be written in pieces). */
  private waitingForDrain = false;
  private readonly resumeUpstream = (): void => {
    this.waitingForDrain = false;
    if (!this.watcher.discarding) this.upstream.resume();
  };

  constructor(
    private readonly upstream: Readable,
    private readonly client: Writable,
    format: StreamFormat,
    stripUsageChunk: boolean,
    observer: StreamObserver,
    release: (events: Buffer) => Buffer,
  ) {
    this.watcher = new SseWatcher(format, stripUsageChunk, observer, release, (bytes) => this.write(bytes));
    upstream.on('data', this.take);
    upstream.once('end', () => {
      if (this.ended) return;
      this.ended = true;
      this.watcher.end();
      this.endClient();
    });
    client.once('close', () => {
      // The client left: nothing more is written; reading on for the usage is readRest's.
      if (!this.watcher.discarding) upstream.off('data', this.take);
      this.ended = true;
    });
  }

  /** Ends the client's stream with an error event after what arrived before the failure. */
  fail(message: string, code: string): void {
    if (this.watcher.failed || this.ended) return;
    this.watcher.fail(message, code);
    this.ended = true;
    this.endClient();
  }

  /** Stops relaying and reads the rest of the upstream for the usage: see {@link SseWatcher.readRest}. */
  readRest(upstream: Readable, limitMs: number): Promise<void> {
    upstream.off('data', this.take);
    return this.watcher.readRest(upstream, limitMs);
  }

  private write(bytes: Buffer | string): void {
    const client = this.client;
    if (client.destroyed || client.writableEnded) return;
    if (!client.write(bytes) && !this.watcher.discarding && !this.waitingForDrain) {
      this.waitingForDrain = true;
      this.upstream.pause();
      client.once('drain', this.resumeUpstream);
    }
  }

  private endClient(): void {
    const client = this.client;
    if (!client.destroyed && !client.writableEnded) client.end();
  }
}
