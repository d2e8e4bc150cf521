import { Transform, type TransformCallback } from 'node:stream';
import { normaliseUsage, type Usage } from './usage.js';

export interface StreamObserver {
  /** The first event that carries generated content (text, reasoning or a tool call). */
  onFirstToken(): void;
  onUsage(usage: Usage): void;
}

const LF_LF = Buffer.from('\n\n');
const CRLF_CRLF = Buffer.from('\r\n\r\n');
const CR_CR = Buffer.from('\r\r');
const CR = 0x0d;
const USAGE_KEY = Buffer.from('"usage"');
const DONE = Buffer.from('data: [DONE]');
const TOKEN_MARKERS = [Buffer.from('"content":"'), Buffer.from('"reasoning_content":"'), Buffer.from('"tool_calls":[')];
/** An event longer than this is passed on without being inspected, so a broken upstream cannot grow our memory. */
const MAX_EVENT_BYTES = 1024 * 1024;

/**
 * Relays an upstream SSE body to the client while reading the usage and first-token time from it.
 *
 * Written here rather than taken from an SSE parsing library because those turn bytes into event objects
 * and lose the original bytes, which must reach the client exactly as the upstream sent them.
 *
 * In pass-through mode every chunk is pushed on the moment it arrives; events are only inspected. In
 * strip mode (the gateway added `stream_options.include_usage` itself) each complete event is pushed as
 * soon as its closing blank line arrives and the usage-only chunk the client never asked for is dropped:
 * a partial event, which no client could act on yet, waits for its end.
 */
export class SseTap extends Transform {
  private carry: Buffer | undefined;
  private sawFirstToken = false;
  private sawDone = false;
  private failed = false;

  constructor(
    private readonly stripUsageChunk: boolean,
    private readonly observer: StreamObserver,
  ) {
    super();
  }

  /** True once the upstream sent its `data: [DONE]` line. */
  get complete(): boolean {
    return this.sawDone;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    if (!this.stripUsageChunk) this.push(chunk);
    const data = this.carry === undefined ? chunk : Buffer.concat([this.carry, chunk]);
    const end = lastEventEnd(data);
    if (end === 0) {
      this.carry = data;
      if (data.length > MAX_EVENT_BYTES) this.releaseCarry();
      callback();
      return;
    }
    const events = end === data.length ? data : data.subarray(0, end);
    this.carry = end === data.length ? undefined : data.subarray(end);
    const kept = this.inspect(events);
    if (this.stripUsageChunk && kept.length > 0) this.push(kept);
    callback();
  }

  override _flush(callback: TransformCallback): void {
    if (this.sawDone || this.failed) this.releaseCarry();
    else this.pushError('The upstream ended the stream before it was complete.', 'upstream_stream_incomplete');
    callback();
  }

  /** Ends the client's stream with an OpenAI-style error event, so SDKs raise instead of waiting. */
  fail(message: string, code: string): void {
    if (this.failed || this.writableEnded) return;
    this.pushError(message, code);
    this.end();
  }

  private pushError(message: string, code: string): void {
    this.failed = true;
    // A partial event the client already holds is closed first, so the error event stands on its own.
    if (!this.stripUsageChunk && this.carry !== undefined) this.push(LF_LF);
    this.carry = undefined;
    const error = { error: { message, type: 'server_error', param: null, code } };
    this.push(`event: error\ndata: ${JSON.stringify(error)}\n\n`);
  }

  private releaseCarry(): void {
    if (this.carry === undefined) return;
    if (this.stripUsageChunk) this.push(this.carry);
    this.carry = undefined;
  }

  /** Reads what matters from complete events; returns the bytes to forward in strip mode. */
  private inspect(events: Buffer): Buffer {
    if (!this.sawFirstToken && TOKEN_MARKERS.some((marker) => hasNonEmptyValue(events, marker))) {
      this.sawFirstToken = true;
      this.observer.onFirstToken();
    }
    if (!this.sawDone && events.includes(DONE)) this.sawDone = true;
    if (!events.includes(USAGE_KEY)) return events;

    const kept: Buffer[] = [];
    let start = 0;
    while (start < events.length) {
      const end = nextEventEnd(events, start);
      const stop = end < 0 ? events.length : end;
      const event = events.subarray(start, stop);
      if (!(event.includes(USAGE_KEY) && this.readUsage(event))) kept.push(event);
      start = stop;
    }
    return kept.length === 1 ? kept[0]! : Buffer.concat(kept);
  }

  /** Reports the usage an event carries; true when the event is the usage-only chunk to drop. */
  private readUsage(event: Buffer): boolean {
    let json: { usage?: unknown; choices?: unknown };
    try {
      json = JSON.parse(eventData(event)) as typeof json;
    } catch {
      return false;
    }
    if (json === null || typeof json !== 'object' || json.usage === null || json.usage === undefined) return false;
    const usage = normaliseUsage(json.usage);
    if (usage !== undefined) this.observer.onUsage(usage);
    return this.stripUsageChunk && Array.isArray(json.choices) && json.choices.length === 0;
  }
}

/** The concatenated `data:` lines of one event. */
function eventData(event: Buffer): string {
  const lines = event.toString('utf8').split(/\r\n|\r|\n/);
  let data = '';
  let first = true;
  for (const line of lines) {
    if (!line.startsWith('data:')) continue;
    data += (first ? '' : '\n') + (line.charCodeAt(5) === 0x20 ? line.slice(6) : line.slice(5));
    first = false;
  }
  return data;
}

/** Index just past the first blank line at or after `from` (any of SSE's line endings), or -1. */
export function nextEventEnd(buf: Buffer, from: number): number {
  let best = buf.indexOf(LF_LF, from);
  let end = best < 0 ? -1 : best + 2;
  if (buf.includes(CR, from)) {
    for (const separator of [CRLF_CRLF, CR_CR]) {
      const at = buf.indexOf(separator, from);
      if (at >= 0 && (best < 0 || at < best)) {
        best = at;
        end = at + separator.length;
      }
    }
  }
  return end;
}

/** Index just past the last complete event, 0 when there is none. */
export function lastEventEnd(buf: Buffer): number {
  let end = 0;
  for (let next = nextEventEnd(buf, 0); next > 0; next = nextEventEnd(buf, next)) end = next;
  return end;
}

function hasNonEmptyValue(buf: Buffer, marker: Buffer): boolean {
  for (let at = buf.indexOf(marker); at >= 0; at = buf.indexOf(marker, at + marker.length)) {
    const next = buf[at + marker.length];
    if (next !== undefined && next !== 0x22 && next !== 0x5d /* ] */) return true;
  }
  return false;
}
