import { Transform, type TransformCallback } from 'node:stream';
import { normaliseUsage, type Usage } from './usage.js';

export interface StreamObserver {
  /** The first event that carries generated content (text, reasoning or a tool call). */
  onFirstToken(): void;
  onUsage(usage: Usage): void;
}

const LF = 0x0a;
const CR = 0x0d;
const LF_LF = Buffer.from('\n\n');
const CHOICES_KEY = Buffer.from('"choices"');
/**
 * What is looked for in complete events, on their latin1 text (one character per byte, so string offsets
 * are byte offsets): V8 searches a string in one call where a Buffer needs a native call per occurrence, and
 * with `include_usage` on, every event of a stream has a `"usage"` key. A literal `"usage"` can only be a
 * key, as quotes inside JSON strings are escaped.
 */
const USAGE_OBJECT = /"usage"[ \t\r\n]*:[ \t\r\n]*\{/g;
/** Content, reasoning or a tool call with something in it (the role-only first event has `"content":""`). */
const FIRST_TOKEN = /"(?:content|reasoning_content)"[ \t]*:[ \t]*"[^"]|"tool_calls"[ \t]*:[ \t]*\[[ \t]*[^\] \t]/;
const DONE = 'data: [DONE]';
/** An event longer than this is passed on without being inspected, so a broken upstream cannot grow our memory. */
const MAX_EVENT_BYTES = 1024 * 1024;

/**
 * Relays an upstream SSE body to the client while reading the usage and first-token time from it.
 *
 * Written here rather than taken from an SSE parsing library because those turn bytes into event objects
 * and lose the original bytes, which must reach the client exactly as the upstream sent them. Events are
 * found incrementally: only the current, incomplete event is kept between chunks (at most 1 MiB), never
 * the response.
 *
 * In pass-through mode every chunk is pushed on the moment it arrives; events are only inspected. In
 * strip mode (the gateway added `stream_options.include_usage` itself) the usage-only chunk the client
 * never asked for is dropped. An event's bytes are pushed as soon as the event is known not to be that
 * chunk: once its `"choices":[` is followed by an element (for OpenAI-style chunks, within the first
 * hundred or so bytes), or at its closing blank line. Only the head of an event, up to that point, waits.
 *
 * Chunks that arrive together (the upstream's HTTP chunks parsed from one read of its socket: a burst of
 * events) are handled together, once the read has been parsed, and leave as one chunk: a burst of twenty
 * events costs one search and one write to the client instead of twenty. Nothing waits for a later read.
 */
export class SseTap extends Transform {
  /** The bytes of the current, incomplete event, from its start. */
  private carry: Buffer | undefined;
  /** Strip mode: how many bytes at the start of `carry` were already pushed. */
  private released = 0;
  private sawFirstToken = false;
  private sawDone = false;
  private failed = false;
  /** Chunks received in this turn and not handled yet; handled in a microtask, once the read is parsed. */
  private incoming: Buffer[] = [];
  private handling = false;
  private readonly handleIncoming = (): void => {
    this.handling = false;
    const incoming = this.incoming;
    if (incoming.length === 0) return;
    this.incoming = [];
    if (this.destroyed) return;
    const data = incoming.length === 1 ? incoming[0]! : Buffer.concat(incoming);
    if (!this.stripUsageChunk) this.push(data);
    this.scan(this.carry === undefined ? data : Buffer.concat([this.carry, data]), false);
  };

  /** The final event of an API whose streams end without `data: [DONE]`, by its `type`. */
  private readonly endEvent: RegExp | undefined;

  constructor(
    private readonly stripUsageChunk: boolean,
    private readonly observer: StreamObserver,
    endEvents: readonly string[] = [],
  ) {
    super();
    this.endEvent = endEvents.length === 0 ? undefined : endEventPattern(endEvents);
  }

  /** True once the upstream sent its `data: [DONE]` line, or its API's final event. */
  get complete(): boolean {
    return this.sawDone;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.incoming.push(chunk);
    if (!this.handling) {
      this.handling = true;
      queueMicrotask(this.handleIncoming);
    }
    callback();
  }

  override _flush(callback: TransformCallback): void {
    this.handleIncoming();
    // No byte will follow: a carriage return at the very end now surely ends its line.
    if (this.carry !== undefined) this.scan(this.carry, true);
    if (this.sawDone || this.failed) this.releaseCarry();
    else this.pushError('The upstream ended the stream before it was complete.', 'upstream_stream_incomplete');
    callback();
  }

  /** Ends the client's stream with an OpenAI-style error event, so SDKs raise instead of waiting. */
  fail(message: string, code: string): void {
    if (this.failed || this.writableEnded) return;
    this.handleIncoming(); // what arrived before the failure goes first
    this.pushError(message, code);
    this.end();
  }

  /** Handles the complete events at the start of `data` and keeps the rest as the current event. */
  private scan(data: Buffer, final: boolean): void {
    const text = data.toString('latin1');
    const end = lastEventEndOf(data, text, final);
    if (end > 0) {
      const whole = end === data.length;
      const events = whole ? data : data.subarray(0, end);
      this.carry = whole ? undefined : data.subarray(end);
      const kept = this.inspect(events, whole ? text : text.slice(0, end));
      if (this.stripUsageChunk && kept.length > 0) this.push(kept);
      this.released = 0;
    } else {
      this.carry = data;
    }
    const carry = this.carry;
    if (carry === undefined) return;
    if (this.stripUsageChunk && this.released < carry.length && (this.released > 0 || hasChoices(carry))) {
      this.push(this.released === 0 ? carry : carry.subarray(this.released));
      this.released = carry.length;
    }
    if (carry.length > MAX_EVENT_BYTES) this.releaseCarry();
  }

  private pushError(message: string, code: string): void {
    this.failed = true;
    // A partial event the client already holds is closed first, so the error event stands on its own.
    if (this.carry !== undefined && (!this.stripUsageChunk || this.released > 0)) this.push(LF_LF);
    this.carry = undefined;
    this.released = 0;
    const error = { error: { message, type: 'server_error', param: null, code } };
    this.push(`event: error\ndata: ${JSON.stringify(error)}\n\n`);
  }

  private releaseCarry(): void {
    const carry = this.carry;
    if (carry === undefined) return;
    if (this.stripUsageChunk && this.released < carry.length) this.push(carry.subarray(this.released));
    this.carry = undefined;
    this.released = 0;
  }

  /**
   * Reads what matters from complete events (`text` is their latin1 text); returns the bytes to forward in
   * strip mode (less the `released` head of the first event, which the client already has).
   */
  private inspect(events: Buffer, text: string): Buffer {
    if (!this.sawFirstToken && FIRST_TOKEN.test(text)) {
      this.sawFirstToken = true;
      this.observer.onFirstToken();
    }
    if (!this.sawDone && (hasDoneLine(text) || this.endEvent?.test(text) === true)) this.sawDone = true;
    // Streams with usage turned on carry `"usage":null` in every chunk: only a usage object is worth parsing,
    // and most chunks have none.
    USAGE_OBJECT.lastIndex = 0;
    let match = USAGE_OBJECT.exec(text);
    if (match === null) return this.released === 0 ? events : events.subarray(this.released);

    const kept: Buffer[] = [];
    let keptFrom = this.released; // bytes before this are already forwarded or dropped
    while (match !== null) {
      const [start, stop] = eventAround(events, text, match.index);
      // An event whose head was released was known not to be the usage-only chunk: it is kept.
      const head = start === 0 ? this.released : 0;
      if (this.readUsage(events.subarray(start, stop)) && head === 0) {
        if (start > keptFrom) kept.push(events.subarray(keptFrom, start));
        keptFrom = stop;
      }
      USAGE_OBJECT.lastIndex = stop;
      match = USAGE_OBJECT.exec(text);
    }
    if (keptFrom < events.length) kept.push(keptFrom === 0 ? events : events.subarray(keptFrom));
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
  const text = event.toString('utf8');
  // The usual shape, one `data: ` line ended by a blank line, needs no splitting.
  if (text.startsWith('data: ') && text.indexOf('\n') === text.length - 2 && text.endsWith('\n\n') && !text.includes('\r')) {
    return text.slice(6, -2);
  }
  const lines = text.split(/\r\n|\r|\n/);
  let data = '';
  let first = true;
  for (const line of lines) {
    if (!line.startsWith('data:')) continue;
    data += (first ? '' : '\n') + (line.charCodeAt(5) === 0x20 ? line.slice(6) : line.slice(5));
    first = false;
  }
  return data;
}

/**
 * Index just past the blank line that ends the event starting at `from`, or -1 when it has not arrived.
 * SSE lines end in `\n`, `\r\n` or `\r`, even mixed in one stream. A `\r` as the last byte may be the
 * first half of a `\r\n`, so it only ends a line when `final` says no byte follows.
 */
export function nextEventEnd(buf: Buffer, from: number, final = false): number {
  if (!buf.includes(CR, from)) {
    // The common case, `\n` endings only, found natively.
    const at = buf.indexOf(LF_LF, from);
    return at < 0 ? -1 : at + 2;
  }
  let lineStart = from;
  let lf = -2; // position of the next \n at or after i, -1 when there is none, -2 before the first search
  let cr = -2;
  for (let i = from; ; ) {
    if (lf !== -1 && lf < i) lf = buf.indexOf(LF, i);
    if (cr !== -1 && cr < i) cr = buf.indexOf(CR, i);
    const at = lf < 0 ? cr : cr < 0 ? lf : Math.min(lf, cr);
    if (at < 0) return -1;
    let next = at + 1;
    if (at === cr) {
      if (next === buf.length && !final) return -1;
      if (buf[next] === LF) next++;
    }
    if (at === lineStart && at > from) return next;
    lineStart = next;
    i = next;
  }
}

/** `[start, end)` of the complete event in `events` that holds the byte at `at`. */
function eventAround(events: Buffer, text: string, at: number): [number, number] {
  if (!text.includes('\r')) {
    const before = text.lastIndexOf('\n\n', at);
    const after = text.indexOf('\n\n', at);
    return [before < 0 ? 0 : before + 2, after < 0 ? events.length : after + 2];
  }
  let start = 0;
  for (let end = nextEventEnd(events, 0, true); end > 0; end = nextEventEnd(events, end, true)) {
    if (end > at) return [start, end];
    start = end;
  }
  return [start, events.length];
}

/** {@link lastEventEnd}, with the latin1 text of `buf` at hand for the common case of `\n` line endings. */
function lastEventEndOf(buf: Buffer, text: string, final: boolean): number {
  if (text.includes('\r')) return lastEventEnd(buf, final);
  const at = text.lastIndexOf('\n\n');
  return at < 0 ? 0 : at + 2;
}

/** Index just past the last complete event, 0 when there is none. */
export function lastEventEnd(buf: Buffer, final = false): number {
  if (!buf.includes(CR)) {
    const at = buf.lastIndexOf(LF_LF);
    return at < 0 ? 0 : at + 2;
  }
  let end = 0;
  for (let next = nextEventEnd(buf, 0, final); next > 0; next = nextEventEnd(buf, next, final)) end = next;
  return end;
}

/** `"type":"<one of types>"`: a literal quote can only be JSON syntax, as quotes inside strings are escaped. */
function endEventPattern(types: readonly string[]): RegExp {
  const names = types.map((type) => type.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|');
  return new RegExp(`"type"[ \\t]*:[ \\t]*"(?:${names})"`);
}

/** A `data: [DONE]` line: at the start of a line, as inside a JSON string a line break would be escaped. */
function hasDoneLine(text: string): boolean {
  for (let at = text.indexOf(DONE); at >= 0; at = text.indexOf(DONE, at + DONE.length)) {
    const before = at === 0 ? '\n' : text[at - 1];
    if (before === '\n' || before === '\r') return true;
  }
  return false;
}

/**
 * True when the (partial) event has a `"choices"` array with an element: it is not the usage-only chunk,
 * whose choices are empty. A literal `"choices"` can only be a key, as quotes inside JSON strings are escaped.
 */
function hasChoices(event: Buffer): boolean {
  const at = event.indexOf(CHOICES_KEY);
  if (at < 0) return false;
  let i = skipSpace(event, at + CHOICES_KEY.length);
  if (event[i] !== 0x3a /* : */) return false;
  i = skipSpace(event, i + 1);
  if (event[i] !== 0x5b /* [ */) return false;
  const next = event[skipSpace(event, i + 1)];
  return next !== undefined && next !== 0x5d /* ] */;
}

function skipSpace(buf: Buffer, i: number): number {
  while (i < buf.length) {
    const c = buf[i];
    if (c !== 0x20 && c !== 0x09 && c !== LF && c !== CR) break;
    i++;
  }
  return i;
}
