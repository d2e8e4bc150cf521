// The direct relay of a stream: the upstream paused while the client's response refuses writes, and resumed
// on its 'drain', also when a burst leaves in pieces (the usage-only chunk cut out of it).
import { once } from 'node:events';
import { PassThrough, Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { SseRelay } from '../../src/proxy/sse-relay.js';
import { CHAT_STREAM } from '../../src/proxy/stream-formats.js';

const chunk = (choices: string, usage = 'null'): string => `data: {"id":"c1","object":"chat.completion.chunk","choices":${choices},"usage":${usage}}\n\n`;
const EVENTS = [
  chunk('[{"index":0,"delta":{"content":"Hi"},"finish_reason":null}]'),
  chunk('[{"index":0,"delta":{},"finish_reason":"stop"}]'),
  chunk('[]', '{"prompt_tokens":3,"completion_tokens":1,"total_tokens":4}'),
  'data: [DONE]\n\n',
];

/** A client that takes no write until `release` is called: every write is refused until then. */
function stalledClient(): { client: Writable; received: Buffer[]; release: () => void } {
  const received: Buffer[] = [];
  const held: (() => void)[] = [];
  let released = false;
  const client = new Writable({
    highWaterMark: 1,
    write(bytes: Buffer, _encoding, callback) {
      received.push(bytes);
      if (released) callback();
      else held.push(callback);
    },
  });
  return {
    client,
    received,
    release: () => {
      released = true;
      for (const callback of held.splice(0)) callback();
    },
  };
}

describe('SseRelay', () => {
  it('pauses the upstream once for a burst whose pieces the client refuses, and resumes it on the drain', async () => {
    const upstream = new PassThrough();
    const { client, received, release } = stalledClient();
    const usages: number[] = [];
    new SseRelay(upstream, client, CHAT_STREAM, true, { onFirstToken: () => undefined, onUsage: (usage) => usages.push(usage.total) }, (events) => events);
    upstream.write(Buffer.from(EVENTS.join('')));
    await once(upstream, 'pause');

    // Two pieces were written (the events before the usage-only chunk, then `[DONE]`), both refused.
    expect(client.writableLength).toBe(Buffer.byteLength(EVENTS[0]! + EVENTS[1]! + EVENTS[3]!));
    expect(client.listenerCount('drain')).toBe(1);
    expect(upstream.isPaused()).toBe(true);

    release();
    await once(upstream, 'resume');
    expect(Buffer.concat(received).toString()).toBe(EVENTS[0]! + EVENTS[1]! + EVENTS[3]!);
    expect(usages).toEqual([4]);
  });
});
