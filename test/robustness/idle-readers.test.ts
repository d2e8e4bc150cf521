// A client that reads nothing while its upstream keeps producing (a large event, or a piece of a JSON answer
// of unannounced length, every 100 ms, for ever, whatever the gateway takes). The kernel buffers between
// gateway and client accept bytes for the client until they are full (about 4 MiB on Linux loopback); from
// then on its connection accepts nothing, and after `timeouts.streamIdleMs` of that the gateway closes it
// and aborts the upstream request, however busy the upstream is. The pieces are large so that the buffers
// fill within a few seconds.
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLIENT_KEY, startGateway, testConfig, type RunningGateway } from '../helpers/gateway.js';
import { contentChunk, DONE_EVENT, startScriptedUpstream, type ScriptedUpstream } from '../helpers/scripted-upstream.js';

const STREAM_IDLE_MS = 1_500;
const EVERY_MS = 100;
const EVENT = contentChunk('z'.repeat(256 * 1024));
/** A piece of a JSON answer (of unannounced length) that never ends. */
const PIECE = 'z'.repeat(256 * 1024);

describe('a client that reads nothing while its upstream keeps producing', () => {
  let upstream: ScriptedUpstream;
  let gateway: RunningGateway;
  /** Per request (by its user message): resolves once the upstream's response closed, with whether it was cut short. */
  const upstreamClosed = new Map<string, Promise<boolean>>();

  beforeAll(async () => {
    upstream = await startScriptedUpstream((body, res) => {
      const content = (body.messages as { content: string }[])[0]!.content;
      const streamed = body.stream === true;
      res.writeHead(200, { 'content-type': streamed ? 'text/event-stream' : 'application/json' });
      // Written whatever the socket says: this upstream slows down for nobody and never ends.
      if (!streamed) res.write('{"id":"chatcmpl-endless","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"');
      const producing = setInterval(() => res.write(streamed ? EVENT : PIECE), EVERY_MS);
      upstreamClosed.set(
        content,
        new Promise((resolve) =>
          res.once('close', () => {
            clearInterval(producing);
            resolve(!res.writableFinished);
          }),
        ),
      );
    });
    gateway = await startGateway(testConfig(upstream.url, { timeouts: { streamIdleMs: STREAM_IDLE_MS } }));
  });
  afterAll(async () => {
    await gateway?.close();
    await upstream?.close();
  });

  /** Sends a chat (streamed or not) on a raw connection that then reads nothing. */
  async function stalledRequest(content: string, stream: boolean): Promise<Socket> {
    const text = JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content }], stream });
    const socket = connect(Number(new URL(gateway.url).port), '127.0.0.1');
    socket.on('error', () => undefined);
    await once(socket, 'connect');
    socket.pause();
    socket.write(
      `POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${CLIENT_KEY}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(text)}\r\n\r\n${text}`,
    );
    return socket;
  }

  for (const stream of [true, false]) {
    const kind = stream ? 'stream' : 'JSON answer';
    it(`closes its connection once it accepts nothing of a ${kind} for timeouts.streamIdleMs, aborts the upstream request and logs 499`, async () => {
      const content = `never read ${kind}`;
      const logged = (): Record<string, unknown>[] => gateway.logs.lines.filter((l) => l.msg === 'POST /v1/chat/completions');
      const before = logged().length;
      const started = performance.now();
      const socket = await stalledRequest(content, stream);
      await expect.poll(() => upstreamClosed.has(content), { timeout: 5_000 }).toBe(true);
      // The abort, seen at the upstream: its response closed before it ended.
      expect(await upstreamClosed.get(content)!).toBe(true);
      expect(performance.now() - started).toBeGreaterThanOrEqual(STREAM_IDLE_MS);
      await expect.poll(() => logged().length, { timeout: 5_000 }).toBe(before + 1);
      expect(logged().at(-1)).toMatchObject({ status: 499 });
      // Reading again, the client gets what the kernel held for it, then the end of its connection: a stream
      // cut short, never one that ended.
      const received: Buffer[] = [];
      socket.on('data', (chunk: Buffer) => received.push(chunk));
      const closed = once(socket, 'close');
      socket.resume();
      await closed;
      const text = Buffer.concat(received).toString('latin1');
      expect(text.startsWith('HTTP/1.1 200')).toBe(true);
      expect(text.length).toBeGreaterThan(PIECE.length);
      if (stream) expect(text).not.toContain(DONE_EVENT);
      else expect(text).not.toMatch(/\r\n0\r\n\r\n$/); // no last chunk: the answer was cut short
    }, 60_000);
  }
});
