// Clients that stop reading for good: once a client has taken nothing of its answer for
// `timeouts.streamIdleMs` (as long as an upstream may stay silent), the gateway closes its connection and
// aborts the upstream request, as for a client that left. A client that reads slowly, or an upstream
// that pauses between events, restarts that clock and is never cut.
import { once } from 'node:events';
import { Agent, request, type IncomingMessage } from 'node:http';
import { connect, type Socket } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLIENT_KEY, startGateway, testConfig, type RunningGateway } from '../helpers/gateway.js';
import { contentChunk, DONE_EVENT, finishChunk, startScriptedUpstream, writeRespectingBackpressure, type ScriptedUpstream } from '../helpers/scripted-upstream.js';

const STREAM_IDLE_MS = 1_000;
/** Far more than the sockets between client, gateway and upstream can hold. */
const BIG_BYTES = 32 * 1024 * 1024;

function sseOf(bytes: number): Buffer {
  const event = contentChunk('x'.repeat(900));
  return Buffer.from(event.repeat(Math.ceil(bytes / event.length)) + finishChunk() + DONE_EVENT);
}

const userContent = (body: Record<string, unknown>): string => (body.messages as { content: string }[])[0]!.content;

function jsonOf(bytes: number): Buffer {
  const content = 'y'.repeat(bytes);
  return Buffer.from(JSON.stringify({ id: 'chatcmpl-big', object: 'chat.completion', model: 'gpt-4o', choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }] }));
}

describe('a client that takes nothing of its answer', () => {
  const bigStream = sseOf(BIG_BYTES);
  const bigAnswer = jsonOf(BIG_BYTES);
  const smallStream = sseOf(512 * 1024);
  /** Per request (by its user message): whether the upstream's response was closed before it was complete. */
  const abortedUpstream = new Map<string, Promise<boolean>>();
  /** The user messages of the requests whose upstream response has closed, complete or not. */
  const closedUpstream = new Set<string>();
  let upstream: ScriptedUpstream;
  let gateway: RunningGateway;
  const agent = new Agent({ keepAlive: false });

  beforeAll(async () => {
    upstream = await startScriptedUpstream(async (body, res) => {
      const content = userContent(body);
      abortedUpstream.set(
        content,
        new Promise((resolve) =>
          res.once('close', () => {
            closedUpstream.add(content);
            resolve(!res.writableFinished);
          }),
        ),
      );
      if (content === 'slow body') {
        // A short answer of announced length whose body comes in pieces, each within streamIdleMs.
        const answer = jsonOf(1000);
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': answer.length });
        for (let i = 0; i < 4; i++) {
          res.write(answer.subarray((i * answer.length) / 4, ((i + 1) * answer.length) / 4));
          await delay(STREAM_IDLE_MS * 0.7);
        }
        res.end();
        return;
      }
      const streamed = body.stream === true;
      res.writeHead(200, { 'content-type': streamed ? 'text/event-stream' : 'application/json' });
      if (content === 'pauses') {
        // Silent for most of streamIdleMs, four times over: longer in all than streamIdleMs.
        for (let i = 0; i < 4; i++) {
          res.write(contentChunk(`part ${i} `));
          await delay(STREAM_IDLE_MS * 0.7);
        }
        res.end(finishChunk() + DONE_EVENT);
        return;
      }
      await writeRespectingBackpressure(res, content === 'small' ? smallStream : streamed ? bigStream : bigAnswer);
    });
    gateway = await startGateway(testConfig(upstream.url, { timeouts: { streamIdleMs: STREAM_IDLE_MS } }));
  });
  afterAll(async () => {
    agent.destroy();
    await gateway?.close();
    await upstream?.close();
  });

  function post(content: string, stream: boolean): Promise<IncomingMessage> {
    return new Promise((resolve, reject) => {
      const req = request(`${gateway.url}/v1/chat/completions`, {
        method: 'POST',
        agent,
        headers: { authorization: `Bearer ${CLIENT_KEY}`, 'content-type': 'application/json' },
      });
      req.on('response', resolve).on('error', reject);
      req.end(JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content }], stream }));
    });
  }

  /**
   * Reads nothing until the upstream request was closed; resolves with how long that took from the answer's
   * head and whether the upstream was cut short. (The client itself cannot tell before it reads again: the
   * end of the connection waits in line behind the bytes it has not taken.)
   */
  async function stallUntilUpstreamCloses(response: IncomingMessage, content: string): Promise<{ elapsed: number; aborted: boolean }> {
    const started = performance.now();
    response.pause().on('error', () => undefined); // the cut, seen once it reads again

    const aborted = await abortedUpstream.get(content)!;
    return { elapsed: performance.now() - started, aborted };
  }

  const logLine = (): Record<string, unknown>[] => gateway.logs.lines.filter((l) => l.msg === 'POST /v1/chat/completions');

  for (const stream of [true, false]) {
    const kind = stream ? 'stream' : 'JSON answer';
    it(`closes its connection once it has taken nothing of a ${kind} for timeouts.streamIdleMs, and aborts the upstream request`, async () => {
      const content = `stalled ${kind}`;
      const logged = logLine().length;
      const response = await post(content, stream);
      expect(response.statusCode).toBe(200);
      const { elapsed, aborted } = await stallUntilUpstreamCloses(response, content);
      expect(aborted).toBe(true);
      expect(elapsed).toBeGreaterThanOrEqual(STREAM_IDLE_MS * 0.9);
      await expect.poll(() => logLine().length).toBe(logged + 1);
      expect(logLine().at(-1)).toMatchObject({ status: 499 });
      // Reading again, the client gets what was already on its way, then the connection's end: an
      // answer cut short, never a complete one.
      response.resume();
      if (!response.closed) await new Promise((resolve) => response.once('close', resolve));
      expect(response.complete).toBe(false);
    });
  }

  /** The user messages of the requests of the connection `name` that reached the upstream. */
  const reachedBy = (name: string): string[] => upstream.requests.map(userContent).filter((content) => content.startsWith(`${name} `));

  /**
   * `count` chat requests in one write, on a connection that reads nothing; resolves once the upstream has
   * two of them (its own: a request of an earlier test may still be on its way there).
   */
  async function pipelined(name: string, stream: boolean, count = 5): Promise<{ socket: Socket; logged: number }> {
    const logged = logLine().length;
    const requests = Array.from({ length: count }, (_, i) => {
      const text = JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: `${name} ${i}` }], stream });
      return `POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${CLIENT_KEY}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(text)}\r\n\r\n${text}`;
    });
    const socket = connect(Number(new URL(gateway.url).port), '127.0.0.1');
    socket.on('error', () => undefined);
    await once(socket, 'connect');
    socket.pause();
    socket.write(requests.join(''));
    await expect.poll(() => reachedBy(name).length, { timeout: 5_000 }).toBeGreaterThan(1);
    return { socket, logged };
  }

  /** Every upstream request of the connection `name` closed, and logged: none left running for a connection gone. */
  async function noneLeftOpen(name: string, logged: number): Promise<void> {
    await expect.poll(() => reachedBy(name).filter((content) => !closedUpstream.has(content)), { timeout: 10_000 }).toEqual([]);
    // Requests whose client had gone before they were forwarded are logged too, without reaching the upstream.
    await expect.poll(() => logLine().length - logged, { timeout: 10_000 }).toBeGreaterThanOrEqual(reachedBy(name).length);
  }

  it('aborts and logs every request of a connection that pipelined them and hung up, queued answers included', async () => {
    const warnings: string[] = [];
    const onWarning = (warning: Error): void => void warnings.push(warning.name);
    process.on('warning', onWarning);
    try {
      // More than an EventEmitter's default of ten listeners, should each queued answer add one to the connection.
      const { socket, logged } = await pipelined('hung up', true, 20);
      await expect.poll(() => reachedBy('hung up').length, { timeout: 5_000 }).toBeGreaterThan(10);
      socket.destroy();
      // All twenty were read (one small write), so each ends, logged, whether it reached the upstream or not.
      await expect.poll(() => logLine().length - logged, { timeout: 10_000 }).toBe(20);
      await noneLeftOpen('hung up', logged);
      expect(logLine().slice(logged).map((l) => l.status)).toEqual(logLine().slice(logged).map(() => 499));
      expect(warnings).not.toContain('MaxListenersExceededWarning');
    } finally {
      process.off('warning', onWarning);
    }
  });

  it('closes a connection that pipelines requests and reads none of the answers, leaving none of them open', async () => {
    const { socket, logged } = await pipelined('pipelined', false);
    // The gateway ends every request it started for this connection, and logs each one.
    await noneLeftOpen('pipelined', logged);
    expect(logLine().slice(logged).map((l) => l.status)).toContain(499);
    // Reading again, the client finds its connection closed.
    const closed = new Promise((resolve) => socket.once('close', resolve));
    socket.resume();
    await closed;
  }, 30_000);

  it('does not cut a client that reads slowly, taking a little every while', async () => {
    const response = await post('small', true);
    const received: Buffer[] = [];
    response.on('data', (chunk: Buffer) => {
      received.push(chunk);
      response.pause();
    });
    const ended = once(response, 'end');
    const reading = setInterval(() => response.resume(), STREAM_IDLE_MS / 4);
    try {
      await ended;
    } finally {
      clearInterval(reading);
    }
    expect(Buffer.concat(received).equals(smallStream)).toBe(true);
    expect(await abortedUpstream.get('small')).toBe(false);
  }, 60_000);

  it('does not cut a client whose upstream sends a short answer slowly, the gateway holding it until complete', async () => {
    const response = await post('slow body', false);
    const received: Buffer[] = [];
    response.on('data', (chunk: Buffer) => received.push(chunk));
    await once(response, 'end');
    expect(Buffer.concat(received).equals(jsonOf(1000))).toBe(true);
    expect(await abortedUpstream.get('slow body')).toBe(false);
  });

  it('does not cut a client whose upstream pauses between events for less than streamIdleMs each time', async () => {
    const response = await post('pauses', true);
    const received: Buffer[] = [];
    response.on('data', (chunk: Buffer) => received.push(chunk));
    await once(response, 'end');
    const text = Buffer.concat(received).toString();
    expect(text).toContain('part 3 ');
    expect(text.endsWith(DONE_EVENT)).toBe(true);
    expect(await abortedUpstream.get('pauses')).toBe(false);
  });
});
