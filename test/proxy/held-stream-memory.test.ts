// What an open stream keeps: once the upstream has answered, the request's body (raw bytes and parsed JSON)
// is dropped, so a stream held open for minutes does not hold its body; the stream itself is unaffected.
// (Only the prompt's text strings stay, for the estimate of a client that leaves: see prompt-text.ts.)
import type { FastifyRequest } from 'fastify';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { parseConfig } from '../../src/config/load.js';
import { CLIENT_KEY, captureLogs, testConfig } from '../helpers/gateway.js';
import { startMockUpstream, type MockUpstream } from '../helpers/mock-upstream.js';

describe('a held stream', () => {
  let mock: MockUpstream;
  let app: Awaited<ReturnType<typeof buildApp>>;
  let client: OpenAI;
  const seen: FastifyRequest[] = [];
  const bodyWhenHandled: boolean[] = [];

  beforeAll(async () => {
    // The first chunk at once, the next ones a long while later: the stream stays open while it is looked at.
    mock = await startMockUpstream({ streamChunks: 4, chunkDelayMs: 60_000 });
    app = await buildApp(parseConfig(testConfig(mock.url), {}), { logStream: captureLogs() });
    app.addHook('onRequest', (request, _reply, done) => {
      seen.push(request);
      done();
    });
    app.addHook('preHandler', (request, _reply, done) => {
      bodyWhenHandled.push(request.rawBody !== undefined && request.body !== undefined);
      done();
    });
    await app.listen({ host: '127.0.0.1', port: 0 });
    const address = app.server.address();
    if (address === null || typeof address === 'string') throw new Error('gateway has no TCP address');
    client = new OpenAI({ apiKey: CLIENT_KEY, baseURL: `http://127.0.0.1:${address.port}/v1`, maxRetries: 0 });
  });
  afterAll(async () => {
    await app?.close();
    await mock?.close();
  });

  it('no longer holds the request body once the upstream answered', async () => {
    const prompt = 'x'.repeat(10_000);
    const stream = await client.chat.completions.create({ model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: prompt }] });
    const chunks = stream[Symbol.asyncIterator]();
    const first = await chunks.next();
    expect(first.done).toBe(false);

    expect(bodyWhenHandled).toEqual([true]);
    expect(seen).toHaveLength(1);
    const request = seen[0]!;
    expect(request.rawBody).toBeUndefined();
    expect(request.body).toBeUndefined();
    // The upstream did get the prompt.
    expect(mock.requests.at(-1)!.body).toMatchObject({ messages: [{ role: 'user', content: prompt }] });
    stream.controller.abort();
  });
});
