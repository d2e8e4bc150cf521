// The SSE tap: on its own (events split anywhere across chunks, line endings, strip and pass-through
// modes), then through a gateway, comparing the client's raw bytes with the upstream's.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setTimeout as delay } from 'node:timers/promises';
import fc from 'fast-check';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lastEventEnd, nextEventEnd } from '../../src/proxy/sse-events.js';
import { SseTap } from '../../src/proxy/sse-tap.js';
import { MAX_EVENT_BYTES } from '../../src/proxy/sse-watcher.js';
import { CHAT_STREAM } from '../../src/proxy/stream-formats.js';
import type { Usage } from '../../src/proxy/usage.js';
import { CLIENT_KEY, startGateway, testConfig, type RunningGateway } from '../helpers/gateway.js';
import { startMockUpstream, type MockUpstream } from '../helpers/mock-upstream.js';

const HEAD = 'data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1700000000,"model":"gpt-4o","system_fingerprint":null,"choices":';
const USAGE_JSON =
  '{"prompt_tokens":12,"completion_tokens":4,"total_tokens":16,"prompt_tokens_details":{"cached_tokens":8},"completion_tokens_details":{"reasoning_tokens":0}}';
const USAGE: Usage = { prompt: 12, completion: 4, cached: 8, reasoning: 0, total: 16 };

/** A stream as an upstream sends it with include_usage on: `"usage":null` on every chunk, then the usage-only chunk. */
function streamEvents(eol = '\n'): { events: string[]; usageIndex: number } {
  const chunk = (choices: string): string => `${HEAD}${choices},"usage":null}${eol}${eol}`;
  const events = [
    chunk('[{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}]'),
    chunk('[{"index":0,"delta":{"content":"Echo: "},"logprobs":null,"finish_reason":null}]'),
    chunk('[{"index":0,"delta":{"content":"Hello there"},"logprobs":null,"finish_reason":null}]'),
    chunk('[{"index":0,"delta":{"content":" world"},"logprobs":null,"finish_reason":null}]'),
    chunk('[{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}]'),
    `${HEAD}[],"usage":${USAGE_JSON}}${eol}${eol}`,
    `data: [DONE]${eol}${eol}`,
  ];
  return { events, usageIndex: 5 };
}

interface TapRun {
  /** Every chunk the tap pushed, in order. */
  pushed: Buffer[];
  output: Buffer;
  usages: Usage[];
  firstTokens: number;
  /** Bytes pushed so far, after each input chunk was written. */
  pushedAfter: number[];
}

async function runTap(strip: boolean, chunks: Buffer[]): Promise<TapRun> {
  const usages: Usage[] = [];
  let firstTokens = 0;
  const tap = new SseTap(CHAT_STREAM, strip, { onFirstToken: () => firstTokens++, onUsage: (u) => usages.push(u) });
  const pushed: Buffer[] = [];
  const push = tap.push.bind(tap);
  tap.push = (chunk: unknown, encoding?: BufferEncoding): boolean => {
    if (chunk !== null) pushed.push(Buffer.from(chunk as Buffer | string));
    return push(chunk, encoding);
  };
  const ended = new Promise<void>((resolve, reject) => {
    tap.on('end', resolve).on('error', reject);
  });
  tap.resume();
  const pushedAfter: number[] = [];
  for (const chunk of chunks) {
    await new Promise<void>((resolve, reject) => tap.write(chunk, (err) => (err ? reject(err) : resolve())));
    pushedAfter.push(pushed.reduce((n, b) => n + b.length, 0));
  }
  tap.end();
  await ended;
  return { pushed, output: Buffer.concat(pushed), usages, firstTokens, pushedAfter };
}

/** Cuts `data` at the given offsets (sorted, duplicates and out-of-range ones ignored). */
function cut(data: Buffer, offsets: number[]): Buffer[] {
  const points = [...new Set(offsets.filter((o) => o > 0 && o < data.length))].sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let start = 0;
  for (const p of points) {
    chunks.push(data.subarray(start, p));
    start = p;
  }
  chunks.push(data.subarray(start));
  return chunks;
}

const bytesOf = (events: string[]): Buffer => Buffer.from(events.join(''));

const withoutUsage = (events: string[], usageIndex: number): Buffer => bytesOf(events.filter((_, i) => i !== usageIndex));

/** Offsets just past each event of the stream. */
const eventEnds = (events: string[]): number[] => events.map((_, i) => Buffer.byteLength(events.slice(0, i + 1).join('')));
/** How many bytes the tap may have released once `n` bytes arrived: up to the end of the last complete event. */
const completeUpTo = (ends: number[], n: number): number => Math.max(0, ...ends.filter((e) => e <= n));

describe('SseTap in pass-through mode (the client asked for usage)', () => {
  for (const eol of ['\n', '\r\n']) {
    const label = eol === '\n' ? 'LF' : 'CRLF';
    const { events } = streamEvents(eol);
    const input = bytesOf(events);
    const ends = eventEnds(events);

    it(`releases each event unchanged the moment its blank line arrives, split at every byte offset (${label})`, async () => {
      for (let at = 1; at < input.length; at++) {
        const run = await runTap(false, cut(input, [at]));
        expect(run.output.equals(input)).toBe(true);
        expect(run.pushedAfter).toEqual([completeUpTo(ends, at), input.length]);
        expect(run.usages).toEqual([USAGE]);
        expect(run.firstTokens).toBe(1);
      }
    });

    it(`is byte-identical when every byte is its own chunk, releasing whole events only (${label})`, async () => {
      const chunks = cut(input, [...input.keys()]);
      const run = await runTap(false, chunks);
      expect(run.output.equals(input)).toBe(true);
      expect(run.pushed.map(String)).toEqual(events);
      expect(run.usages).toEqual([USAGE]);
    });
  }

  it('is byte-identical and reports the usage for any way of splitting the stream', async () => {
    const { events } = streamEvents();
    const input = bytesOf(events);
    const ends = eventEnds(events);
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: 1, max: input.length - 1 }), { maxLength: 12 }), async (offsets) => {
        const chunks = cut(input, offsets);
        const run = await runTap(false, chunks);
        expect(run.output.equals(input)).toBe(true);
        let arrived = 0;
        chunks.forEach((chunk, i) => {
          arrived += chunk.length;
          expect(run.pushedAfter[i]).toBe(completeUpTo(ends, arrived));
        });
        expect(run.usages).toEqual([USAGE]);
      }),
      { numRuns: 200 },
    );
  });
});

describe('SseTap in strip mode (the gateway added include_usage)', () => {
  for (const eol of ['\n', '\r\n']) {
    const label = eol === '\n' ? 'LF' : 'CRLF';
    const { events, usageIndex } = streamEvents(eol);
    const input = bytesOf(events);
    const expected = withoutUsage(events, usageIndex);

    it(`removes only the usage-only chunk, split at every byte offset (${label})`, async () => {
      for (let at = 1; at < input.length; at++) {
        const run = await runTap(true, cut(input, [at]));
        expect(run.output.toString()).toBe(expected.toString());
        expect(run.usages).toEqual([USAGE]);
        expect(run.firstTokens).toBe(1);
      }
    });

    it(`removes only the usage-only chunk when every byte is its own chunk (${label})`, async () => {
      const run = await runTap(true, cut(input, [...input.keys()]));
      expect(run.output.equals(expected)).toBe(true);
      expect(run.usages).toEqual([USAGE]);
    });
  }

  it('removes only the usage-only chunk for any way of splitting the stream', async () => {
    const { events, usageIndex } = streamEvents();
    const input = bytesOf(events);
    const expected = withoutUsage(events, usageIndex);
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: 1, max: input.length - 1 }), { maxLength: 12 }), async (offsets) => {
        const run = await runTap(true, cut(input, offsets));
        expect(run.output.equals(expected)).toBe(true);
        expect(run.usages).toEqual([USAGE]);
      }),
      { numRuns: 200 },
    );
  });

  it('pushes whole events arriving in one chunk at once', async () => {
    const { events, usageIndex } = streamEvents();
    const chunks = events.map((e) => Buffer.from(e));
    const run = await runTap(true, chunks);
    expect(run.pushed.map(String)).toEqual(events.filter((_, i) => i !== usageIndex));
  });

  it('releases a content event once it is complete, not its head alone', async () => {
    const event = streamEvents().events[1]!;
    const split = event.indexOf('"delta"');
    const run = await runTap(true, [Buffer.from(event.slice(0, split)), Buffer.from(`${event.slice(split)}data: [DONE]\n\n`)]);
    expect(run.pushedAfter).toEqual([0, event.length + 14]);
    expect(run.output.toString()).toBe(`${event}data: [DONE]\n\n`);
  });

  it('holds the head of the usage-only chunk until it can tell, then drops all of it', async () => {
    const { events, usageIndex } = streamEvents();
    const usageEvent = events[usageIndex]!;
    const split = usageEvent.indexOf('"usage"');
    const before = bytesOf(events.slice(0, usageIndex)).length;
    const chunks = [bytesOf(events.slice(0, usageIndex)), Buffer.from(usageEvent.slice(0, split)), bytesOf([usageEvent.slice(split), ...events.slice(usageIndex + 1)])];
    const run = await runTap(true, chunks);
    expect(run.pushedAfter[1]).toBe(before);
    expect(run.output.equals(withoutUsage(events, usageIndex))).toBe(true);
  });

  it('keeps a chunk that carries usage next to real choices, and reports its usage', async () => {
    const events = [
      `${HEAD}[{"index":0,"delta":{"content":"Hi"},"logprobs":null,"finish_reason":"stop"}],"usage":${USAGE_JSON}}\n\n`,
      'data: [DONE]\n\n',
    ];
    const run = await runTap(true, [bytesOf(events)]);
    expect(run.output.equals(bytesOf(events))).toBe(true);
    expect(run.usages).toEqual([USAGE]);
  });

  it('leaves a stream without a usage chunk unchanged (an upstream that ignores include_usage)', async () => {
    const { events, usageIndex } = streamEvents();
    const input = withoutUsage(events, usageIndex);
    const run = await runTap(true, cut(input, [7, 300, 301, 640]));
    expect(run.output.equals(input)).toBe(true);
    expect(run.usages).toEqual([]);
  });

  it('reads usage written with spaces, as JSON encoders other than JSON.stringify write it', async () => {
    const spaced = (choices: string, usage: string): string => `data: {"id": "c1", "choices": ${choices}, "usage": ${usage}}\n\n`;
    const events = [
      spaced('[{"index": 0, "delta": {"content": "Hi"}}]', 'null'),
      spaced('[]', USAGE_JSON.replaceAll(':', ': ').replaceAll(',', ', ')),
      'data: [DONE]\n\n',
    ];
    const run = await runTap(true, [bytesOf(events)]);
    expect(run.output.equals(bytesOf([events[0]!, events[2]!]))).toBe(true);
    expect(run.usages).toEqual([USAGE]);
    expect(run.firstTokens).toBe(1);
  });

  it('does not parse chunks whose usage is null', async () => {
    const { events } = streamEvents();
    const parse = JSON.parse;
    let parsed = 0;
    JSON.parse = ((text: string, reviver?: (key: string, value: unknown) => unknown) => {
      parsed++;
      return parse(text, reviver) as unknown;
    }) as typeof JSON.parse;
    try {
      await runTap(true, [bytesOf(events)]);
    } finally {
      JSON.parse = parse;
    }
    expect(parsed).toBe(1);
  });
});

describe('SseTap with chunks that arrive together', () => {
  /** Writes every chunk in one synchronous go, as a parser does with the HTTP chunks of one socket read. */
  async function burst(strip: boolean, chunks: Buffer[]): Promise<Buffer[]> {
    const tap = new SseTap(CHAT_STREAM, strip, { onFirstToken: () => undefined, onUsage: () => undefined });
    const pushed: Buffer[] = [];
    tap.on('data', (chunk: Buffer) => pushed.push(chunk));
    const ended = new Promise((resolve) => tap.on('end', resolve));
    for (const chunk of chunks) tap.write(chunk);
    await new Promise((resolve) => setImmediate(resolve));
    const beforeEnd = pushed.length;
    tap.end();
    await ended;
    expect(pushed.length).toBe(beforeEnd);
    return pushed;
  }

  it('forwards a burst of events as one chunk, before the stream ends', async () => {
    const { events } = streamEvents();
    expect(await burst(false, events.map((e) => Buffer.from(e)))).toEqual([bytesOf(events)]);
  });

  it('forwards a burst without its usage-only chunk as two chunks, the events before it and those after it', async () => {
    const { events, usageIndex } = streamEvents();
    const pushed = await burst(true, events.map((e) => Buffer.from(e)));
    expect(pushed.map((chunk) => chunk.toString())).toEqual([events.slice(0, usageIndex).join(''), events.slice(usageIndex + 1).join('')]);
  });
});

describe('SseTap and the text it delivered (for the estimate of a client that leaves)', () => {
  /** The events of the stream up to its finish chunk, without the usage: what an estimate would count. */
  const { events } = streamEvents();
  const content = events.slice(0, 4);

  it('keeps the text of the content deltas it released, whatever the pieces, and no more', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: 1, max: 600 }), { maxLength: 8 }), async (offsets) => {
        const tap = new SseTap(CHAT_STREAM, false, { onFirstToken: () => {}, onUsage: () => {} });
        tap.resume();
        for (const chunk of cut(bytesOf(content), offsets)) await new Promise<void>((resolve) => tap.write(chunk, () => resolve()));
        await delay(0);
        expect(tap.watcher.delivered!.text().text).toBe('Echo: Hello there world');
        tap.destroy();
      }),
      { numRuns: 40 },
    );
  });

  it('does not count what it reads on, discarding, once its client has left', async () => {
    const tap = new SseTap(CHAT_STREAM, false, { onFirstToken: () => {}, onUsage: () => {} });
    tap.resume();
    await new Promise<void>((resolve) => tap.write(bytesOf(content.slice(0, 3)), () => resolve()));
    await delay(0);
    // The rest, without the usage, read after the client left.
    await tap.readRest(Readable.from([Buffer.from(content[3]! + events[4]! + events[6]!)]), 1_000);
    expect(tap.watcher.delivered!.text().text).toBe('Echo: Hello there');
    tap.destroy();
  });
});

describe('SseTap stream ends', () => {
  it('drops a partial event when the upstream stops before [DONE], and adds an error event instead', async () => {
    const { events } = streamEvents();
    const partial = events[2]!.slice(0, 40);
    for (const strip of [false, true]) {
      const run = await runTap(strip, [bytesOf(events.slice(0, 2)), Buffer.from(partial)]);
      const text = run.output.toString();
      const [before, error] = text.split(/(?=event: error\n)/);
      expect(before).toBe(events.slice(0, 2).join(''));
      expect(error).toMatch(/^event: error\ndata: \{"error":\{"message":"The upstream ended the stream before it was complete\."/);
      expect(JSON.parse(error!.slice('event: error\ndata: '.length))).toMatchObject({ error: { type: 'server_error', code: 'upstream_stream_incomplete' } });
      expect(text.endsWith('\n\n')).toBe(true);
    }
  });

  it('drops a partial event when the stream fails, and adds the error event', async () => {
    const { events } = streamEvents();
    const tap = new SseTap(CHAT_STREAM, false, { onFirstToken: () => undefined, onUsage: () => undefined });
    const pushed: Buffer[] = [];
    tap.on('data', (chunk: Buffer) => pushed.push(chunk));
    const ended = new Promise((resolve) => tap.on('end', resolve));
    const partial = events[1]!.slice(0, events[1]!.indexOf('Echo') + 4);
    tap.write(Buffer.from(events[0]! + partial));
    await new Promise((resolve) => setImmediate(resolve));
    tap.fail('The upstream stream failed.', 'upstream_stream_failed');
    await ended;
    const text = Buffer.concat(pushed).toString();
    expect(text.startsWith(`${events[0]!}event: error\ndata: {`)).toBe(true);
    expect(text).not.toContain('Echo');
  });

  it('is not fooled by "data: [DONE]" inside generated text', async () => {
    const event = `${HEAD}[{"index":0,"delta":{"content":"data: [DONE]"},"logprobs":null,"finish_reason":null}]}\n\n`;
    const run = await runTap(false, [Buffer.from(event)]);
    expect(run.output.toString()).toContain('upstream_stream_incomplete');
  });

  it('handles streams with carriage returns only, ending right after the last \\r', async () => {
    const { events, usageIndex } = streamEvents('\r');
    const run = await runTap(true, [bytesOf(events)]);
    expect(run.output.equals(withoutUsage(events, usageIndex))).toBe(true);
    expect(run.usages).toEqual([USAGE]);
    expect(run.output.toString()).not.toContain('event: error');
  });
});

describe('SseTap and the SSE specification', () => {
  const { events, usageIndex } = streamEvents();

  it('takes data:[DONE] without a space as the end of the stream', async () => {
    for (const strip of [false, true]) {
      const input = [...events.slice(0, -1), 'data:[DONE]\n\n'];
      const run = await runTap(strip, [bytesOf(input)]);
      expect(run.output.toString()).not.toContain('event: error');
      expect(run.output.toString().endsWith('data:[DONE]\n\n')).toBe(true);
      expect(run.usages).toEqual([USAGE]);
    }
  });

  it('passes comment lines on and still finds the usage of an event that starts with one', async () => {
    const input = [
      ': keep-alive\n\n',
      ...events.slice(0, usageIndex),
      `: usage follows\n${events[usageIndex]!}`,
      ': keep-alive\n\n',
      ...events.slice(usageIndex + 1),
    ];
    const asked = await runTap(false, cut(bytesOf(input), [5, 13, 400]));
    expect(asked.output.equals(bytesOf(input))).toBe(true);
    expect(asked.usages).toEqual([USAGE]);
    expect(asked.output.toString()).not.toContain('event: error');

    const stripped = await runTap(true, [bytesOf(input)]);
    expect(stripped.output.toString()).toBe(input.filter((_, i) => i !== usageIndex + 1).join(''));
    expect(stripped.usages).toEqual([USAGE]);
  });

  it('reads the usage of a multi-line data field, split anywhere JSON allows white space', async () => {
    const multiLine = `data: {"id":"chatcmpl-1","choices":\ndata: [],"usage":\ndata:{"prompt_tokens":12,\ndata: "completion_tokens":4,"total_tokens":16,"prompt_tokens_details":{"cached_tokens":8}}}\n\n`;
    const input = [...events.slice(0, usageIndex), multiLine, ...events.slice(usageIndex + 1)];
    const asked = await runTap(false, [bytesOf(input)]);
    expect(asked.output.equals(bytesOf(input))).toBe(true);
    expect(asked.usages).toEqual([USAGE]);
    const stripped = await runTap(true, cut(bytesOf(input), [700, 760]));
    expect(stripped.output.toString()).toBe(withoutUsage(input, usageIndex).toString());
    expect(stripped.usages).toEqual([USAGE]);
  });

  it('sees a multi-line first token and finish chunk', async () => {
    let firstTokens = 0;
    const counting = new SseTap(CHAT_STREAM, false, { onFirstToken: () => firstTokens++, onUsage: () => undefined });
    counting.resume();
    counting.write(Buffer.from('data: {"choices":[{"index":0,"delta":{"content":\ndata: "Hi"},"finish_reason":\ndata: "stop"}]}\n\n'));
    await new Promise((resolve) => setImmediate(resolve));
    expect(firstTokens).toBe(1);
    expect(counting.watcher.finished).toBe(true);
  });
});

describe('SseTap with large events', () => {
  const { events, usageIndex } = streamEvents();
  /** A streamed image's final event: several MiB of base64, then its usage. */
  const imageEvent = (bytes: number): string =>
    `event: image_generation.completed\ndata: {"type":"image_generation.completed","b64_json":"${'A'.repeat(bytes)}","usage":{"input_tokens":50,"output_tokens":1056,"total_tokens":1106,"input_tokens_details":{"cached_tokens":0}}}\n\n`;

  it('reads the usage of a 5 MiB event arriving in 64 KiB pieces, and relays it whole', async () => {
    const input = Buffer.from(imageEvent(5 * 1024 * 1024) + 'data: [DONE]\n\n');
    const pieces = cut(input, Array.from({ length: Math.ceil(input.length / 65_536) }, (_, i) => i * 65_536));
    const run = await runTap(false, pieces);
    expect(run.output.equals(input)).toBe(true);
    expect(run.usages).toEqual([{ prompt: 50, completion: 1056, cached: 0, reasoning: 0, total: 1106 }]);
    // Nothing of the event went out before it was complete.
    expect(run.pushedAfter.slice(0, -1).every((n) => n === 0)).toBe(true);
  });

  it('ends the stream with an error event when one event outgrows the limit, without holding more', async () => {
    const head = bytesOf(events.slice(0, usageIndex - 1));
    const piece = Buffer.alloc(1024 * 1024, 0x41);
    const tap = new SseTap(CHAT_STREAM, false, { onFirstToken: () => undefined, onUsage: () => undefined });
    const pushed: Buffer[] = [];
    tap.on('data', (chunk: Buffer) => pushed.push(chunk));
    tap.write(Buffer.concat([head, Buffer.from('data: {"b64_json":"')]));
    for (let i = 0; i <= MAX_EVENT_BYTES / piece.length; i++) tap.write(piece);
    tap.end();
    await new Promise((resolve) => tap.on('end', resolve));
    const text = Buffer.concat(pushed).toString();
    expect(text.startsWith(head.toString())).toBe(true);
    expect(text.slice(head.length)).toMatch(/^event: error\ndata: \{"error":\{[^\n]*"code":"upstream_event_too_large"/);
  });
});

describe('SseTap and a client slower than its upstream', () => {
  const event = (i: number): string => `data: {"choices":[{"index":0,"delta":{"content":"${'x'.repeat(900)}${i}"},"finish_reason":null}]}\n\n`;
  const stream = Buffer.from(Array.from({ length: 300 }, (_, i) => event(i)).join('') + 'data: [DONE]\n\n');
  const afterTurns = (turns: number, then: () => void): void => {
    if (turns === 0) then();
    else setImmediate(() => afterTurns(turns - 1, then));
  };
  const newTap = (): SseTap => new SseTap(CHAT_STREAM, false, { onFirstToken: () => undefined, onUsage: () => undefined });

  it('goes on when the writes released by a read end no event (no read follows to release the next one)', async () => {
    const tap = newTap();
    const head = stream.subarray(0, 200 * 1024);
    const cut = head.length - 400; // inside an event
    // The client reads nothing yet: the first write is taken, the second held, the rest queued behind it.
    tap.write(head.subarray(0, cut));
    await delay(0);
    expect(tap.readableLength).toBeGreaterThanOrEqual(tap.readableHighWaterMark);
    tap.write(head.subarray(cut, cut + 100));
    tap.write(head.subarray(cut + 100, cut + 200));
    tap.write(Buffer.concat([head.subarray(cut + 200), stream.subarray(head.length)]));
    tap.end();
    // The client reads: its read releases the held write, and the next one is held in the same read.
    const chunks: Buffer[] = [];
    for await (const chunk of tap) chunks.push(chunk as Buffer);
    expect(Buffer.concat(chunks).equals(stream)).toBe(true);
  });

  it('delivers every byte, in order, whatever the pieces and however long the client waits between its reads', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: 1, max: 80_000 }), { minLength: 1, maxLength: 60 }), fc.array(fc.nat({ max: 8 }), { minLength: 1, maxLength: 32 }), async (sizes, waits) => {
        const pieces: Buffer[] = [];
        for (let at = 0, i = 0; at < stream.length; at += sizes[i % sizes.length]!, i++) pieces.push(stream.subarray(at, at + sizes[i % sizes.length]!));
        let next = 0;
        const source = new Readable({
          read() {
            const piece = pieces[next++];
            setImmediate(() => this.push(piece ?? null));
          },
        });
        let writes = 0;
        const received: Buffer[] = [];
        const client = new Writable({
          highWaterMark: 16 * 1024,
          write(chunk: Buffer, _encoding, callback) {
            received.push(chunk);
            // The upstream goes on sending while the client waits this many turns of the event loop.
            afterTurns(waits[writes++ % waits.length]!, callback);
          },
        });
        await pipeline(source, newTap(), client);
        expect(Buffer.concat(received).equals(stream)).toBe(true);
      }),
      { numRuns: 40 },
    );
  });
});

describe('event boundaries', () => {
  it('finds the blank line whatever the line endings, mixed ones included', () => {
    expect(nextEventEnd(Buffer.from('data: a\n\ndata: b\n\n'), 0)).toBe(9);
    expect(nextEventEnd(Buffer.from('data: a\r\n\r\ndata: b'), 0)).toBe(11);
    expect(nextEventEnd(Buffer.from('data: a\r\rdata: b'), 0)).toBe(9);
    expect(nextEventEnd(Buffer.from('data: a\n\r\ndata: b'), 0)).toBe(10);
    expect(nextEventEnd(Buffer.from('data: a\r\n\ndata: b'), 0)).toBe(10);
    expect(nextEventEnd(Buffer.from('data: a\r\ndata: b\r\n'), 0)).toBe(-1);
  });

  it('waits for the byte after a final \\r, unless the stream has ended', () => {
    expect(nextEventEnd(Buffer.from('data: a\r\n\r'), 0)).toBe(-1);
    expect(nextEventEnd(Buffer.from('data: a\r\r'), 0)).toBe(-1);
    expect(nextEventEnd(Buffer.from('data: a\r\r'), 0, true)).toBe(9);
  });

  it('finds the end of the last complete event', () => {
    expect(lastEventEnd(Buffer.from('data: a\n\ndata: b\n\ndata: c'))).toBe(18);
    expect(lastEventEnd(Buffer.from('data: a\r\n\r\ndata: b\r\n\r\ndata'))).toBe(22);
    expect(lastEventEnd(Buffer.from('data: a'))).toBe(0);
  });
});

const UPSTREAM_KEY = 'sk-upstream-secret-a-0123456789';

async function rawPost(url: string, apiKey: string, body: string): Promise<Buffer> {
  const res = await request(url, {
    method: 'POST',
    headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
    body,
  });
  expect(res.statusCode).toBe(200);
  expect(String(res.headers['content-type'])).toMatch(/^text\/event-stream/);
  return Buffer.from(await res.body.arrayBuffer());
}

/** The mock numbers its replies and stamps the current second: the only bytes that differ between two calls. */
const normalise = (text: string): string => text.replace(/"id":"chatcmpl-mock-\d+"/g, '"id":"chatcmpl-mock-N"').replace(/"created":\d+/g, '"created":0');

const isUsageOnly = (event: string): boolean => /"choices":\[\],"usage":\{/.test(event);

describe('client streams through the gateway', () => {
  let mock: MockUpstream;
  let gateway: RunningGateway;

  beforeAll(async () => {
    mock = await startMockUpstream({ apiKeys: [UPSTREAM_KEY], streamChunks: 4 });
    gateway = await startGateway(testConfig(mock.url));
  });
  afterAll(async () => {
    await gateway.close();
    await mock.close();
  });

  const messages = [
    { role: 'system', content: 'You are terse.' },
    { role: 'user', content: 'Tell me something about streams' },
  ];

  it('is byte-identical to the upstream stream when the client asked for usage', async () => {
    const body = JSON.stringify({ model: 'gpt-4o', messages, stream: true, stream_options: { include_usage: true } });
    const viaGateway = (await rawPost(`${gateway.baseURL}/chat/completions`, CLIENT_KEY, body)).toString();
    const forwarded = mock.requests.at(-1)!;
    expect(forwarded.rawBody).toBe(body);
    const direct = (await rawPost(`${mock.url}/chat/completions`, UPSTREAM_KEY, forwarded.rawBody)).toString();

    expect(normalise(viaGateway)).toBe(normalise(direct));
    expect(viaGateway.split('\n\n').filter(isUsageOnly)).toHaveLength(1);
  });

  it('lacks exactly the usage chunk the gateway added when the client did not ask for usage', async () => {
    const body = JSON.stringify({ model: 'gpt-4o', messages, stream: true });
    const viaGateway = (await rawPost(`${gateway.baseURL}/chat/completions`, CLIENT_KEY, body)).toString();
    const forwarded = mock.requests.at(-1)!;
    expect(forwarded.body).toMatchObject({ stream: true, stream_options: { include_usage: true } });
    const direct = (await rawPost(`${mock.url}/chat/completions`, UPSTREAM_KEY, forwarded.rawBody)).toString();

    const events = direct.split(/(?<=\n\n)/);
    expect(events.filter(isUsageOnly)).toHaveLength(1);
    expect(normalise(viaGateway)).toBe(normalise(events.filter((e) => !isUsageOnly(e)).join('')));
    // The `"usage":null` the upstream then puts on every chunk stays: SDKs ignore it.
    expect(viaGateway).toContain('"usage":null');
    expect(viaGateway.endsWith('data: [DONE]\n\n')).toBe(true);
  });
});

describe('an upstream that splits events across network writes', () => {
  const { events, usageIndex } = streamEvents('\r\n');
  const input = bytesOf(events);
  let server: Server;
  let gateway: RunningGateway;

  beforeAll(async () => {
    // Writes the stream in pieces cut mid-line, mid-CRLF and mid-JSON, with pauses so they travel apart.
    server = createServer((req, res) => {
      req.resume();
      req.on('end', async () => {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        for (const piece of cut(input, [3, 150, 151, 400, 401, 402, 700, input.length - 20, input.length - 2])) {
          res.write(piece);
          await delay(5);
        }
        res.end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    gateway = await startGateway(testConfig(`http://127.0.0.1:${port}/v1`));
  });
  afterAll(async () => {
    await gateway.close();
    await new Promise((resolve) => server.close(resolve));
  });

  it('is relayed byte for byte when the client asked for usage, and without the usage chunk otherwise', async () => {
    const asked = await rawPost(
      `${gateway.baseURL}/chat/completions`,
      CLIENT_KEY,
      JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }], stream: true, stream_options: { include_usage: true } }),
    );
    expect(asked.equals(input)).toBe(true);

    const quiet = await rawPost(
      `${gateway.baseURL}/chat/completions`,
      CLIENT_KEY,
      JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }], stream: true }),
    );
    expect(quiet.toString()).toBe(withoutUsage(events, usageIndex).toString());

    const lines = gateway.logs.lines.filter((l) => l.msg === 'POST /v1/chat/completions');
    expect(lines.map((l) => l.tokens)).toEqual([USAGE, USAGE]);
  });
});
