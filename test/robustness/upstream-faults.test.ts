import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import OpenAI from 'openai';
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { createMockUpstream } from '../../src/mock/upstream.js';
import { CLIENT_KEY, startGateway, testConfig, useGatewayWithMock, type RunningGateway } from '../helpers/gateway.js';
import { expectEnvelope } from '../helpers/raw-http.js';
import { getFreePort } from '../helpers/redis.js';

/**
 * Each way an upstream can misbehave, with the official SDK as the client: it gets a clean error (or a
 * stream that ends with an error event it raises) within the configured timeouts, and the gateway serves
 * the next request as if nothing happened.
 */

const TIMEOUTS = { upstreamMs: 1_000, streamIdleMs: 500 };
/** Slack on top of a configured timeout for a loaded 2-core machine. */
const SLACK_MS = 2_000;
const messages = [{ role: 'user' as const, content: 'one two three four five' }];
const REPLY = 'Echo: one two three four five';

type ApiError = InstanceType<typeof OpenAI.APIError>;

async function expectServes(gateway: RunningGateway): Promise<void> {
  const completion = await gateway.client().chat.completions.create({ model: 'gpt-4o', messages });
  expect(completion.choices[0]!.message.content).toBe(REPLY);
  const stream = await gateway.client().chat.completions.create({ model: 'gpt-4o', messages, stream: true });
  let text = '';
  for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
  expect(text).toBe(REPLY);
}

/** Reads a stream to its end; resolves with what arrived and the error it ended with, if any. */
async function drain(stream: AsyncIterable<OpenAI.Chat.Completions.ChatCompletionChunk>): Promise<{ text: string; error: unknown }> {
  let text = '';
  try {
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
  } catch (error) {
    return { text, error };
  }
  return { text, error: undefined };
}

describe('upstream faults', () => {
  const running = useGatewayWithMock((url) => testConfig(url, { timeouts: TIMEOUTS }));
  const cleanups: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    running.mock.fault = undefined;
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    // Whatever the upstream did, the gateway itself never failed: no 500 internal_error, ever.
    expect(running.gateway.logs.lines.splice(0).filter((line) => line.status === 500 || line.level === 60)).toEqual([]);
  });
  const client = () => running.gateway.client(CLIENT_KEY, { timeout: 15_000 });

  it('connection refused: 502 upstream_unreachable for plain and streamed requests, then serves once the upstream is back', async () => {
    const port = await getFreePort();
    const gateway = await startGateway(testConfig(`http://127.0.0.1:${port}/v1`, { timeouts: TIMEOUTS, health: { cooldownMs: 60_000 } }));
    cleanups.push(() => gateway.close());
    for (const stream of [false, true]) {
      const started = Date.now();
      const error = (await gateway.client().chat.completions.create({ model: 'gpt-4o', messages, stream }).catch((e: unknown) => e)) as ApiError;
      expect(error).toBeInstanceOf(OpenAI.InternalServerError);
      expect([error.status, error.type, error.code]).toEqual([502, 'server_error', 'upstream_unreachable']);
      expect(Date.now() - started).toBeLessThan(SLACK_MS);
    }
    // The only account is cooling down, yet it is still tried rather than leaving the model unserved.
    const mock = await createMockUpstream({ host: '127.0.0.1', port });
    cleanups.push(() => mock.close());
    await expectServes(gateway);
  });

  it('reset in the middle of a plain response: the SDK raises; the next request is served', async () => {
    running.mock.fault = (req) => ((req.body as { stream?: boolean }).stream === true ? undefined : { kind: 'reset-mid-body' });
    const error = await client().chat.completions.create({ model: 'gpt-4o', messages }).catch((e: unknown) => e);
    // The key scrubber holds back the last bytes of what arrived (a key may go on in the next chunk), which
    // for this short body is all of its first half: no byte went out, so the failure is answered in the
    // envelope. Past that, the connection is cut before its Content-Length is met.
    expect(error).toBeInstanceOf(OpenAI.InternalServerError);
    expect([(error as ApiError).status, (error as ApiError).code]).toEqual([502, 'upstream_response_failed']);
    running.mock.fault = undefined;
    await expectServes(running.gateway);
  });

  it('reset of a plain response before its first body byte: 502 upstream_response_failed in the envelope', async () => {
    const upstream = createServer((req, res) => {
      req.resume();
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '100' });
      res.flushHeaders();
      setTimeout(() => res.socket?.destroy(), 50);
    });
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise((resolve) => upstream.close(resolve)));
    const gateway = await startGateway(testConfig(`http://127.0.0.1:${(upstream.address() as AddressInfo).port}/v1`, { timeouts: TIMEOUTS }));
    cleanups.push(() => gateway.close());
    const error = (await gateway.client().chat.completions.create({ model: 'gpt-4o', messages }).catch((e: unknown) => e)) as ApiError;
    expect(error).toBeInstanceOf(OpenAI.InternalServerError);
    expect([error.status, error.type, error.code]).toEqual([502, 'server_error', 'upstream_response_failed']);
    expect((await fetch(`${gateway.url}/healthz`)).status).toBe(200);
  });

  it('reset in the middle of a stream: the stream ends with an SSE error event the SDK raises as APIError', async () => {
    running.mock.fault = () => ({ kind: 'reset-mid-body' });
    const stream = await client().chat.completions.create({ model: 'gpt-4o', messages, stream: true });
    const { text, error } = await drain(stream);
    expect(text.length).toBeGreaterThan(0); // the stream had begun
    expect(error).toBeInstanceOf(OpenAI.APIError);
    expect((error as ApiError).code).toBe('upstream_stream_failed');
    running.mock.fault = undefined;
    await expectServes(running.gateway);
  });

  it('stall after the headers of a plain response: 504 upstream_timeout once timeouts.streamIdleMs has passed', async () => {
    running.mock.fault = () => ({ kind: 'stall-after-headers' });
    const started = Date.now();
    const error = (await client().chat.completions.create({ model: 'gpt-4o', messages }).catch((e: unknown) => e)) as ApiError;
    const elapsed = Date.now() - started;
    expect(error).toBeInstanceOf(OpenAI.APIError);
    expect([error.status, error.type, error.code]).toEqual([504, 'timeout_error', 'upstream_timeout']);
    expect(elapsed).toBeGreaterThanOrEqual(TIMEOUTS.streamIdleMs - 50);
    expect(elapsed).toBeLessThan(TIMEOUTS.streamIdleMs + SLACK_MS);
    running.mock.fault = undefined;
    await expectServes(running.gateway);
  });

  it('stall after the headers of a stream: an SSE error event the SDK raises once timeouts.streamIdleMs has passed', async () => {
    running.mock.fault = () => ({ kind: 'stall-after-headers' });
    const started = Date.now();
    const { error } = await drain(await client().chat.completions.create({ model: 'gpt-4o', messages, stream: true }));
    expect(error).toBeInstanceOf(OpenAI.APIError);
    expect((error as ApiError).code).toBe('upstream_stream_idle');
    expect(Date.now() - started).toBeLessThan(TIMEOUTS.streamIdleMs + SLACK_MS);
    running.mock.fault = undefined;
    await expectServes(running.gateway);
  });

  it('invalid JSON in a 200: relayed byte for byte (the gateway does not parse what it relays), so the SDK raises a parse error', async () => {
    running.mock.fault = () => ({ kind: 'invalid-json' });
    const raw = await request(`${running.gateway.baseURL}/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${CLIENT_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-4o', messages }),
    });
    expect(raw.statusCode).toBe(200);
    expect(await raw.body.text()).toBe('{"id":"chatcmpl-mock","object":"chat.completion","choices":[{');
    const error = await client().chat.completions.create({ model: 'gpt-4o', messages }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SyntaxError);
    running.mock.fault = undefined;
    await expectServes(running.gateway);
  });

  it("an HTML error page from the only account: its status with OpenAI's envelope in place of the page (code upstream_error)", async () => {
    running.mock.fault = () => ({ kind: 'html', status: 502 });
    for (const stream of [false, true]) {
      const error = (await client().chat.completions.create({ model: 'gpt-4o', messages, stream }).catch((e: unknown) => e)) as ApiError;
      expect(error).toBeInstanceOf(OpenAI.InternalServerError);
      expect([error.status, error.type, error.code]).toEqual([502, 'server_error', 'upstream_error']);
      expect(error.message).not.toContain('<html>');
    }
    const raw = await request(`${running.gateway.baseURL}/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${CLIENT_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-4o', messages }),
    });
    expect(raw.statusCode).toBe(502);
    expect(raw.headers['content-type']).toMatch(/^application\/json/);
    expectEnvelope(await raw.body.text());
    running.mock.fault = undefined;
    await expectServes(running.gateway);
  });

  it('an HTML error page on a client error (400 from a proxy) is enveloped too, as invalid_request_error', async () => {
    running.mock.fault = () => ({ kind: 'html', status: 400 });
    const error = (await client().chat.completions.create({ model: 'gpt-4o', messages }).catch((e: unknown) => e)) as ApiError;
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    expect([error.type, error.code]).toEqual(['invalid_request_error', 'upstream_error']);
  });

  it('an HTML error page from one account: retried on another account, the client sees only the answer', async () => {
    running.mock.fault = (req) => (req.headers.authorization === 'Bearer sk-behind-broken-proxy' ? { kind: 'html', status: 502 } : undefined);
    const gateway = await startGateway(
      testConfig(running.mock.url, {
        timeouts: TIMEOUTS,
        upstreams: [
          {
            name: 'mock',
            baseUrl: running.mock.url,
            accounts: [
              { name: 'broken', apiKey: 'sk-behind-broken-proxy', weight: 100 },
              { name: 'healthy', apiKey: 'sk-healthy-account' },
            ],
          },
        ],
      }),
    );
    cleanups.push(() => gateway.close());
    const before = running.mock.requests.length;
    const { data, response } = await gateway.client().chat.completions.create({ model: 'gpt-4o', messages, stream: false }).withResponse();
    expect(data.choices[0]!.message.content).toBe(REPLY);
    expect(response.headers.get('x-gateway-account')).toBe('healthy');
    expect(running.mock.requests.slice(before).map((r) => r.headers.authorization)).toEqual(['Bearer sk-behind-broken-proxy', 'Bearer sk-healthy-account']);
  });

  it('a 200 stream cut before [DONE]: ends with an SSE error event the SDK raises as APIError', async () => {
    running.mock.fault = () => ({ kind: 'cut-stream' });
    const started = Date.now();
    const { text, error } = await drain(await client().chat.completions.create({ model: 'gpt-4o', messages, stream: true }));
    expect(text.length).toBeGreaterThan(0);
    expect(REPLY.startsWith(text)).toBe(true);
    expect(error).toBeInstanceOf(OpenAI.APIError);
    expect((error as ApiError).code).toBe('upstream_stream_incomplete');
    expect(Date.now() - started).toBeLessThan(SLACK_MS);
    running.mock.fault = undefined;
    await expectServes(running.gateway);
  });

  it('the error event of a failed stream is in OpenAI envelope, and is the last thing sent', async () => {
    running.mock.fault = () => ({ kind: 'cut-stream' });
    const raw = await request(`${running.gateway.baseURL}/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${CLIENT_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-4o', messages, stream: true }),
    });
    const text = await raw.body.text();
    const events = text.split('\n\n').filter((e) => e !== '');
    const last = events.at(-1)!;
    expect(last.startsWith('event: error\ndata: ')).toBe(true);
    expectEnvelope(last.slice('event: error\ndata: '.length));
    expect(text).not.toContain('[DONE]');
  });

  it('streams are neither compressed nor held back, even for a client that accepts gzip', async () => {
    let release!: () => void;
    running.mock.fault = () => ({ kind: 'hold-last-chunk', release: new Promise<void>((resolve) => (release = resolve)) });
    const raw = await request(`${running.gateway.baseURL}/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${CLIENT_KEY}`, 'content-type': 'application/json', 'accept-encoding': 'gzip, deflate, br' },
      body: JSON.stringify({ model: 'gpt-4o', messages, stream: true }),
    });
    expect(raw.headers['content-encoding']).toBeUndefined();
    expect(raw.headers['cache-control']).toBe('no-cache, no-transform');
    expect(raw.headers['x-accel-buffering']).toBe('no');
    // Content arrives while the upstream still holds its last chunk: nothing in between waits for more.
    let received = '';
    const iterator = raw.body[Symbol.asyncIterator]();
    const readUntilContent = async (): Promise<void> => {
      while (!received.includes('"content":"Echo')) {
        const step = await iterator.next();
        if (step.done === true) return;
        received += String(step.value);
      }
    };
    await Promise.race([readUntilContent(), new Promise((resolve) => setTimeout(resolve, 5_000))]);
    expect(received).toContain('"content":"Echo');
    expect(received).not.toContain('[DONE]');
    release();
    for (let step = await iterator.next(); step.done !== true; step = await iterator.next()) received += String(step.value);
    expect(received.endsWith('data: [DONE]\n\n')).toBe(true);
  });
});
