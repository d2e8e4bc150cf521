import { createServer, request as httpRequest, type ClientRequest } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { CLIENT_KEY, startGateway, testConfig, type RunningGateway } from '../helpers/gateway.js';
import { startMockProcess, type MockProcess } from '../helpers/mock-process.js';
import { startMockUpstream } from '../helpers/mock-upstream.js';
import { expectEnvelope, parseRawResponse, rawExchange } from '../helpers/raw-http.js';
import { startRedis } from '../helpers/redis.js';
import { startRedisTap } from '../helpers/redis-tap.js';

const STREAM_BODY = JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'tell me a long story' }], stream: true });

/** Opens a streamed chat on its own connection; resolves with the request once the first bytes of the answer arrived. */
function openStream(gatewayUrl: string): Promise<ClientRequest> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${gatewayUrl}/v1/chat/completions`, {
      method: 'POST',
      agent: false,
      headers: { authorization: `Bearer ${CLIENT_KEY}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(STREAM_BODY) },
    });
    req.on('error', () => undefined); // destroyed on purpose
    req.on('response', (res) => {
      if (res.statusCode !== 200) reject(new Error(`status ${res.statusCode}`));
      res.on('error', () => undefined);
      res.once('data', () => resolve(req));
    });
    req.end(STREAM_BODY);
  });
}

/** Counts of the process's active resources by type (TCPSocketWrap, Timeout, ...). */
function activeResources(): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const type of process.getActiveResourcesInfo()) counts[type] = (counts[type] ?? 0) + 1;
  return counts;
}

async function waitFor(condition: () => boolean | Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await condition()) return true;
    await sleep(50);
  }
  return condition();
}

describe('client faults', () => {
  const cleanups: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  it('a client that aborts mid-stream makes the gateway abort its upstream request within a second', async () => {
    // An upstream that streams until its request socket closes, and notes when that happens.
    let upstreamClosed!: (at: number) => void;
    const closedAt = new Promise<number>((resolve) => (upstreamClosed = resolve));
    const upstream = createServer((req, res) => {
      req.resume();
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      const timer = setInterval(() => res.write('data: {"choices":[{"index":0,"delta":{"content":"x"}}]}\n\n'), 50);
      req.socket.once('close', () => {
        clearInterval(timer);
        upstreamClosed(Date.now());
      });
    });
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise((resolve) => upstream.close(resolve)));
    const gateway = await startGateway(testConfig(`http://127.0.0.1:${(upstream.address() as AddressInfo).port}/v1`));
    cleanups.push(() => gateway.close());

    const req = await openStream(gateway.url);
    await sleep(300); // well into the stream
    const abortedAt = Date.now();
    req.destroy();
    const closed = await Promise.race([closedAt, sleep(5_000).then(() => Number.POSITIVE_INFINITY)]);
    expect(closed - abortedAt).toBeLessThan(1_000);
  });

  it('a client that leaves while its request waits on Redis is logged as 499, and nothing goes upstream', async () => {
    let upstreamRequests = 0;
    const upstream = createServer((req, res) => {
      upstreamRequests++;
      req.resume();
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise((resolve) => upstream.close(resolve)));
    const redis = await startRedis();
    cleanups.push(() => redis.stop());
    const tap = await startRedisTap(redis.port);
    cleanups.push(() => tap.close());
    const gateway = await startGateway({
      ...testConfig(`http://127.0.0.1:${(upstream.address() as AddressInfo).port}/v1`),
      redis: { url: tap.url, timeoutMs: 5_000 },
    });
    cleanups.push(() => gateway.close());
    await waitFor(() => gateway.app.services.redis!.ready, 5_000);

    // Redis's answer to the conversation's pin lookup is held back while the client gives up.
    tap.hold();
    const writesBefore = tap.writes.length;
    const ask = (conversation: string): ClientRequest =>
      httpRequest(`${gateway.url}/v1/chat/completions`, {
        method: 'POST',
        agent: false,
        headers: { authorization: `Bearer ${CLIENT_KEY}`, 'content-type': 'application/json', 'x-conversation-id': conversation },
      });
    const body = JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] });
    const req = ask('left-early');
    req.on('error', () => undefined);
    req.end(body);
    expect(await waitFor(() => tap.writes.length > writesBefore, 5_000), 'the pin lookup reached Redis').toBe(true);
    req.destroy();
    expect(await waitFor(() => gateway.logs.lines.some((l) => l.status === 499), 5_000)).toBe(true);

    // Once Redis answers, a later request is served: its lookup's answer comes after the one of the request
    // that left, on the same connection, so had that one gone on it would have been sent upstream first.
    tap.release();
    const marker = await new Promise<number>((resolve, reject) => {
      const next = ask('after-it');
      next.on('error', reject);
      next.on('response', (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      next.end(body);
    });
    expect(marker).toBe(200);
    expect(upstreamRequests).toBe(1);
  });

  describe('after 500 streams aborted mid-way', () => {
    let mock: MockProcess;
    let gateway: RunningGateway;
    afterEach(async () => {
      await gateway?.close();
      await mock?.stop();
    });

    it('no sockets, timers or listeners are left behind', async () => {
      // Streams of 400 chunks 25 ms apart (10 s): any upstream request the gateway fails to abort keeps
      // its socket open well past the checks below. The upstream runs in its own process, so every
      // socket counted here is the gateway's (or this test's client's).
      mock = await startMockProcess(['--port', '0', '--stream-chunks', '400', '--chunk-delay-ms', '25']);
      gateway = await startGateway(testConfig(mock.url, { logLevel: 'warn' }));
      const server = gateway.app.server;
      // Warm up: one plain request leaves one idle keep-alive socket to the upstream, as in steady state.
      expect((await gateway.client().chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] })).choices).toHaveLength(1);
      await sleep(200);
      const connections = (): Promise<number> => new Promise((resolve, reject) => server.getConnections((err, n) => (err ? reject(err) : resolve(n))));
      const connectionsBefore = await connections();
      const resourcesBefore = activeResources();
      const listenersBefore = {
        process: process.eventNames().map((name) => `${String(name)}:${process.listenerCount(name)}`),
        server: server.eventNames().map((name) => `${String(name)}:${server.listenerCount(name)}`),
      };

      for (let batch = 0; batch < 10; batch++) {
        const requests = await Promise.all(Array.from({ length: 50 }, () => openStream(gateway.url)));
        for (const req of requests) req.destroy();
      }

      expect(await waitFor(async () => (await connections()) <= connectionsBefore, 5_000), 'client connections still open on the gateway').toBe(true);
      const settled = await waitFor(() => (activeResources().TCPSocketWrap ?? 0) <= (resourcesBefore.TCPSocketWrap ?? 0), 3_000);
      const resourcesAfter = activeResources();
      console.log(`active resources before 500 aborted streams: ${JSON.stringify(resourcesBefore)}; after: ${JSON.stringify(resourcesAfter)}`);
      expect(settled, `sockets left: before ${JSON.stringify(resourcesBefore)}, after ${JSON.stringify(resourcesAfter)}`).toBe(true);
      expect(resourcesAfter.Timeout ?? 0).toBeLessThanOrEqual((resourcesBefore.Timeout ?? 0) + 1);
      expect(Object.values(resourcesAfter).reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(Object.values(resourcesBefore).reduce((a, b) => a + b, 0) + 1);
      expect({
        process: process.eventNames().map((name) => `${String(name)}:${process.listenerCount(name)}`),
        server: server.eventNames().map((name) => `${String(name)}:${server.listenerCount(name)}`),
      }).toEqual(listenersBefore);
      // And the gateway still serves.
      const completion = await gateway.client().chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'one two' }] });
      expect(completion.choices[0]!.message.content).toBe('Echo: one two');
    }, 120_000);
  });

  describe('timeouts.clientBodyMs', () => {
    const CLIENT_BODY_MS = 500;

    it('answers 408 in the envelope to a client that sends its body too slowly, and sends nothing upstream', async () => {
      const mock = await startMockUpstream();
      cleanups.push(() => mock.close());
      const gateway = await startGateway(testConfig(mock.url, { timeouts: { clientBodyMs: CLIENT_BODY_MS } }));
      cleanups.push(() => gateway.close());
      const body = STREAM_BODY;
      const started = Date.now();
      // Headers at once, then one byte of the body every 100 ms: the whole would take many seconds.
      const socket = connect(Number(new URL(gateway.url).port), '127.0.0.1');
      socket.on('error', () => undefined);
      const chunks: Buffer[] = [];
      socket.on('data', (chunk: Buffer) => chunks.push(chunk));
      socket.write(
        `POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${CLIENT_KEY}\r\n` +
          `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n`,
      );
      let sent = 0;
      const trickle = setInterval(() => {
        if (!socket.destroyed && sent < body.length) socket.write(body[sent++]!);
      }, 100);
      const giveUp = setTimeout(() => socket.destroy(), CLIENT_BODY_MS + 5_000);
      const exchange = new Promise<string>((resolve) =>
        socket.on('close', () => {
          clearInterval(trickle);
          clearTimeout(giveUp);
          resolve(Buffer.concat(chunks).toString('utf8'));
        }),
      );
      const { status, body: answer } = parseRawResponse(await exchange);
      const elapsed = Date.now() - started;
      expect(status).toBe(408);
      expect(expectEnvelope(answer).error.code).toBe('request_timeout');
      expect(elapsed).toBeGreaterThanOrEqual(CLIENT_BODY_MS - 50);
      expect(elapsed).toBeLessThan(CLIENT_BODY_MS + 3_000);
      expect(mock.requests).toHaveLength(0);
      // And the gateway serves the next client.
      const completion = await gateway.client().chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] });
      expect(completion.choices[0]!.message.content).toBe('Echo: hi');
    });

    it('answers 408 to a client that never finishes its headers', async () => {
      const mock = await startMockUpstream();
      cleanups.push(() => mock.close());
      const gateway = await startGateway(testConfig(mock.url, { timeouts: { clientBodyMs: CLIENT_BODY_MS } }));
      cleanups.push(() => gateway.close());
      const raw = await rawExchange(Number(new URL(gateway.url).port), `POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n`, 10_000);
      expect(parseRawResponse(raw).status).toBe(408);
    });

    it('does not cut a streamed response that lasts longer than clientBodyMs', async () => {
      // Chunks 600 ms apart: each silence is longer than clientBodyMs, the whole several times longer.
      const mock = await startMockUpstream({ streamChunks: 3, chunkDelayMs: 600 });
      cleanups.push(() => mock.close());
      const gateway = await startGateway(testConfig(mock.url, { timeouts: { clientBodyMs: CLIENT_BODY_MS } }));
      cleanups.push(() => gateway.close());
      const started = Date.now();
      const stream = await gateway.client().chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'one two three four' }], stream: true });
      let text = '';
      let chunks = 0;
      for await (const chunk of stream) {
        text += chunk.choices[0]?.delta.content ?? '';
        chunks++;
      }
      expect(Date.now() - started).toBeGreaterThan(4 * CLIENT_BODY_MS);
      expect(text).toBe('Echo: one two three four');
      expect(chunks).toBe(5); // role, 3 pieces, finish
    });
  });
});
