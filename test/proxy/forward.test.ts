import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import OpenAI from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import { CLIENT_KEY, startGateway, testConfig, type RunningGateway } from '../helpers/gateway.js';
import { startMockUpstream, type MockUpstream } from '../helpers/mock-upstream.js';

const message = [{ role: 'user' as const, content: 'hello there' }];

/** A bare upstream whose handler the test writes, for faults the mock does not script. */
async function rawUpstream(handler: (req: IncomingMessage, res: import('node:http').ServerResponse) => void): Promise<{ url: string; server: Server }> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`, server };
}

describe('forwarding', () => {
  const cleanups: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });
  async function gatewayFor(url: string, overrides = {}): Promise<RunningGateway> {
    const gateway = await startGateway(testConfig(url, overrides));
    cleanups.push(() => gateway.close());
    return gateway;
  }
  async function mockUpstream(): Promise<MockUpstream> {
    const mock = await startMockUpstream();
    cleanups.push(() => mock.close());
    return mock;
  }

  it('gives 504 when the upstream sends no headers within timeouts.upstreamMs', async () => {
    const mock = await mockUpstream();
    mock.fault = () => ({ kind: 'delay-headers', ms: 2_000 });
    const gateway = await gatewayFor(mock.url, { timeouts: { upstreamMs: 200 } });
    const started = Date.now();
    const error = await gateway.client().chat.completions.create({ model: 'gpt-4o', messages: message }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.APIError);
    expect((error as InstanceType<typeof OpenAI.APIError>).status).toBe(504);
    expect(Date.now() - started).toBeLessThan(1_500);
    expect(mock.requests).toHaveLength(1); // a timeout is not retried
  });

  it('gives 502 when the upstream cannot be reached', async () => {
    const { server, url } = await rawUpstream(() => undefined);
    await new Promise((resolve) => server.close(resolve));
    const gateway = await gatewayFor(url);
    const error = (await gateway.client().chat.completions.create({ model: 'gpt-4o', messages: message }).catch((e: unknown) => e)) as InstanceType<typeof OpenAI.APIError>;
    expect(error.status).toBe(502);
    expect(error.type).toBe('server_error');
  });

  it('ends a stream that goes silent for timeouts.streamIdleMs, with an error event the SDK raises', async () => {
    const mock = await mockUpstream();
    mock.fault = () => ({ kind: 'stall-after-headers' });
    const gateway = await gatewayFor(mock.url, { timeouts: { streamIdleMs: 300 } });
    const stream = await gateway.client().chat.completions.create({ model: 'gpt-4o', messages: message, stream: true });
    const started = Date.now();
    const consume = async (): Promise<void> => {
      for await (const _chunk of stream);
    };
    await expect(consume()).rejects.toThrow(/silent/);
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it('aborts the upstream request when the client disconnects', async () => {
    let upstreamClosed!: () => void;
    const closed = new Promise<void>((resolve) => (upstreamClosed = resolve));
    let received!: () => void;
    const arrived = new Promise<void>((resolve) => (received = resolve));
    const { url, server } = await rawUpstream((req) => {
      received();
      req.socket.once('close', upstreamClosed);
    });
    cleanups.push(() => new Promise((resolve) => server.close(resolve)));
    const gateway = await gatewayFor(url);
    const controller = new AbortController();
    const pending = fetch(`${gateway.baseURL}/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${CLIENT_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-4o', messages: message, stream: true }),
      signal: controller.signal,
    }).catch(() => undefined);
    await arrived;
    const abortedAt = Date.now();
    controller.abort();
    await closed;
    expect(Date.now() - abortedAt).toBeLessThan(1_000);
    await pending;
  });

  it('retries another account when one answers 500, without the client seeing it', async () => {
    const mock = await mockUpstream();
    mock.fault = (req) => (req.headers.authorization === 'Bearer sk-bad-account' ? { kind: 'status', status: 500 } : undefined);
    const gateway = await gatewayFor(mock.url, {
      upstreams: [
        {
          name: 'mock',
          baseUrl: mock.url,
          accounts: [
            { name: 'broken', apiKey: 'sk-bad-account', weight: 100 },
            { name: 'healthy', apiKey: 'sk-good-account' },
          ],
        },
      ],
    });
    const { data, response } = await gateway.client().chat.completions.create({ model: 'gpt-4o', messages: message }).withResponse();
    expect(data.choices[0]!.message.content).toBe('Echo: hello there');
    expect(response.headers.get('x-gateway-account')).toBe('healthy');
  });

  it('gives the last upstream error when every account fails, keys masked', async () => {
    const mock = await mockUpstream();
    mock.fault = (req) => ({ kind: 'status', status: 503, body: { error: { message: `overloaded (${req.headers.authorization})`, type: 'server_error', param: null, code: null } } });
    const gateway = await gatewayFor(mock.url);
    const error = (await gateway.client().chat.completions.create({ model: 'gpt-4o', messages: message }).catch((e: unknown) => e)) as InstanceType<typeof OpenAI.APIError>;
    expect(error.status).toBe(503);
    expect(error.message).toContain('overloaded');
    expect(error.message).not.toContain('sk-upstream-secret');
  });
});
