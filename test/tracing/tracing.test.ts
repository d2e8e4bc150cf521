// Spans exported over OTLP/HTTP to an in-process receiver, from a listening gateway with a real Redis and the
// mock upstream, driven by the openai SDK: the span tree of a plain request, a stream and a failover.
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { GatewayConfigInput } from '../../src/config/schema.js';
import { CLIENT_KEY, startGateway, testConfig } from '../helpers/gateway.js';
import { startMockUpstream, type MockUpstream } from '../helpers/mock-upstream.js';
import { startOtlpReceiver, type AttributeValue, type OtlpReceiver, type ReceivedSpan } from '../helpers/otlp-receiver.js';
import { startRedis, type RedisServer } from '../helpers/redis.js';

const SERVER = 2;
const CLIENT = 3;
const ERROR = 2;
const GOOD_KEY = 'sk-upstream-good-0123456789abcdef';
const BAD_KEY = 'sk-upstream-bad-0123456789abcdef';
/** In every prompt; the mock echoes it back, so it is in every completion too. */
const PROMPT = 'tracing-prompt-marker-5d1e9c';
const COLLECTOR_TOKEN = 'collector-token-for-tests';

interface Traceparent {
  traceId: string;
  spanId: string;
}

function parseTraceparent(value: unknown): Traceparent {
  const match = /^00-([0-9a-f]{32})-([0-9a-f]{16})-0[01]$/.exec(String(value));
  if (match === null) throw new Error(`not a traceparent: ${String(value)}`);
  return { traceId: match[1]!, spanId: match[2]! };
}

function hex(bytes: number): string {
  return randomBytes(bytes).toString('hex');
}

describe('OpenTelemetry tracing', () => {
  let redis: RedisServer;
  let mock: MockUpstream;
  let receiver: OtlpReceiver;

  beforeAll(async () => {
    [redis, mock, receiver] = await Promise.all([startRedis(), startMockUpstream(), startOtlpReceiver()]);
    mock.fault = (req) => (req.headers.authorization === `Bearer ${BAD_KEY}` ? { kind: 'status', status: 500 } : undefined);
  });
  afterAll(async () => {
    await Promise.all([redis?.stop(), mock?.close(), receiver?.close()]);
  });

  /** One pool; `bad-first` puts an account that always answers 500 first, so the first request fails over. */
  function config(accounts: 'good' | 'bad-first'): GatewayConfigInput {
    const good = { name: 'acct-good', apiKey: GOOD_KEY };
    return testConfig(mock.url, {
      redis: { url: redis.url },
      // Limits make admission a Redis round trip in onRequest; the conversation id makes a pin in the handler.
      clientKeys: [{ name: 'team-alpha', key: CLIENT_KEY, limits: { requestsPerMinute: 1_000 } }],
      upstreams: [{ name: 'mock', baseUrl: mock.url, models: ['*'], accounts: accounts === 'good' ? [good] : [{ name: 'acct-bad', apiKey: BAD_KEY }, good] }],
      tracing: { otlpEndpoint: receiver.url, serviceName: 'gateway-under-test', headers: { 'x-collector-token': COLLECTOR_TOKEN } },
    });
  }

  /**
   * Runs `send` against a fresh gateway, then closes it: spans are exported in batches, and closing flushes
   * them, so every span of `send` has reached the receiver when this resolves.
   */
  async function traced<T>(accounts: 'good' | 'bad-first', send: (gateway: Awaited<ReturnType<typeof startGateway>>) => Promise<T>): Promise<T> {
    const gateway = await startGateway(config(accounts));
    await vi.waitFor(() => expect(gateway.app.services.redis!.ready).toBe(true), { timeout: 10_000, interval: 10 });
    try {
      return await send(gateway);
    } finally {
      await gateway.close();
    }
  }

  /** The upstream requests made since `from`, with the trace context each carried. */
  function upstreamTraceparents(from: number): (Traceparent & { authorization: string })[] {
    return mock.requests.slice(from).map((r) => ({ ...parseTraceparent(r.headers.traceparent), authorization: String(r.headers.authorization) }));
  }

  function tree(spans: ReceivedSpan[]): { server: ReceivedSpan; upstream: ReceivedSpan[]; redis: ReceivedSpan[] } {
    const servers = spans.filter((s) => s.kind === SERVER);
    expect(servers).toHaveLength(1);
    const server = servers[0]!;
    const children = spans.filter((s) => s !== server);
    // Every other span of the trace hangs directly off the request's server span.
    for (const child of children) expect({ name: child.name, parent: child.parentSpanId }).toEqual({ name: child.name, parent: server.spanId });
    return {
      server,
      upstream: children.filter((s) => s.name.startsWith('upstream ')),
      redis: children.filter((s) => s.name.startsWith('redis')),
    };
  }

  it('traces a plain request: a server span with its outcome, a Redis span per round trip, an upstream attempt span', async () => {
    const from = mock.requests.length;
    const completion = await traced('good', (gateway) =>
      gateway.client().chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: PROMPT }] }, { headers: { 'x-conversation-id': 'conv-traced-1' } }),
    );
    const [sent] = upstreamTraceparents(from);
    const { server, upstream, redis: redisSpans } = tree(receiver.trace(sent!.traceId));

    expect(server.parentSpanId).toBe('');
    expect(server.name).toBe('POST /v1/chat/completions');
    expect(server.attributes).toMatchObject({
      'http.request.method': 'POST',
      'http.route': '/v1/chat/completions',
      'http.response.status_code': 200,
      'gen_ai.request.model': 'gpt-4o-mini',
      'gateway.client_key.name': 'team-alpha',
      'gateway.account.name': 'acct-good',
      'gen_ai.usage.input_tokens': completion.usage!.prompt_tokens,
      'gen_ai.usage.output_tokens': completion.usage!.completion_tokens,
      'gateway.usage.total_tokens': completion.usage!.total_tokens,
    });
    expect(server.resource['service.name']).toBe('gateway-under-test');

    expect(upstream).toHaveLength(1);
    expect(upstream[0]!.kind).toBe(CLIENT);
    expect(upstream[0]!.attributes).toMatchObject({ 'http.response.status_code': 200, 'gateway.account.name': 'acct-good', 'gateway.attempt': 1, 'server.address': '127.0.0.1' });
    // The upstream continues the trace from the attempt's span.
    expect(sent!.spanId).toBe(upstream[0]!.spanId);

    const names = redisSpans.map((s) => s.name);
    expect(names).toContain('redis gatewayLimitAdmit');
    expect(names).toContain('redis gatewayStickyGet');
    for (const span of redisSpans) expect(span.attributes['db.system.name']).toBe('redis');
  });

  it('continues an incoming traceparent through a stream, and sends the same trace upstream', async () => {
    const traceId = hex(16);
    const callerSpanId = hex(8);
    const from = mock.requests.length;
    const usage = await traced('good', async (gateway) => {
      const stream = await gateway
        .client()
        .chat.completions.create(
          { model: 'gpt-4o-mini', messages: [{ role: 'user', content: PROMPT }], stream: true, stream_options: { include_usage: true } },
          { headers: { traceparent: `00-${traceId}-${callerSpanId}-01` } },
        );
      let last;
      for await (const chunk of stream) last = chunk.usage ?? last;
      return last;
    });
    const { server, upstream } = tree(receiver.trace(traceId));

    expect(server.parentSpanId).toBe(callerSpanId);
    expect(server.attributes).toMatchObject({ 'http.response.status_code': 200, 'gen_ai.usage.output_tokens': usage!.completion_tokens });
    expect(upstream).toHaveLength(1);
    const [sent] = upstreamTraceparents(from);
    expect(sent).toMatchObject({ traceId, spanId: upstream[0]!.spanId });
  });

  it('shows a failover as two upstream attempt spans under one server span', async () => {
    const from = mock.requests.length;
    await traced('bad-first', (gateway) => gateway.client().chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: PROMPT }] }));
    const sent = upstreamTraceparents(from);
    expect(sent.map((s) => s.authorization)).toEqual([`Bearer ${BAD_KEY}`, `Bearer ${GOOD_KEY}`]);
    expect(sent[1]!.traceId).toBe(sent[0]!.traceId);

    const { server, upstream } = tree(receiver.trace(sent[0]!.traceId));
    expect(server.attributes).toMatchObject({ 'http.response.status_code': 200, 'gateway.account.name': 'acct-good', 'gateway.upstream_errors': ['acct-bad:server_error'] });
    expect(upstream.map((s) => [s.attributes['gateway.attempt'], s.attributes['gateway.account.name'], s.attributes['http.response.status_code'], s.statusCode])).toEqual([
      [1, 'acct-bad', 500, ERROR],
      [2, 'acct-good', 200, 0],
    ]);
    // Each attempt carried its own span's traceparent.
    expect(sent.map((s) => s.spanId)).toEqual(upstream.map((s) => s.spanId));
  });

  it('keeps each request in its own trace when they share a pooled upstream connection', async () => {
    // The owner of a stored response is written to Redis when its id arrives in the streamed body: an event of
    // the upstream connection, which the first request opened and the second reuses. (The mock has no
    // Responses API, so a small upstream streams one here, its events a moment after its headers.)
    let stored = 0;
    const received: string[] = [];
    const upstream = createServer((req, res) => {
      received.push(String(req.headers.traceparent));
      req.resume().on('end', () => {
        res.writeHead(200, { 'content-type': 'text/event-stream' }).flushHeaders();
        setTimeout(() => {
          const response = { id: `resp_traced_${++stored}`, object: 'response', status: 'completed', model: 'gpt-4o-mini', output: [] };
          res.end(`event: response.completed\ndata: ${JSON.stringify({ type: 'response.completed', response })}\n\ndata: [DONE]\n\n`);
        }, 20);
      });
    });
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    const upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}/v1`;
    const gateway = await startGateway({ ...config('good'), upstreams: [{ name: 'streamer', baseUrl: upstreamUrl, models: ['*'], accounts: [{ name: 'acct-good', apiKey: GOOD_KEY }] }] });
    try {
      await vi.waitFor(() => expect(gateway.app.services.redis!.ready).toBe(true), { timeout: 10_000, interval: 10 });
      const client = gateway.client();
      for (let i = 0; i < 2; i++) {
        const stream = await client.responses.create({ model: 'gpt-4o-mini', input: PROMPT, stream: true });
        for await (const event of stream) expect(event.type).toBe('response.completed');
      }
    } finally {
      await gateway.close();
      upstream.close();
    }
    const traces = received.map((value) => parseTraceparent(value).traceId);
    expect(traces).toHaveLength(2);
    const ownerWrites = traces.map((traceId) => tree(receiver.trace(traceId)).redis.filter((s) => s.name === 'redis set').length);
    // Neither trace holds the other request's write. (Work done as a body arrives runs outside the request's
    // hook chains, so it is not traced at all; see docs/tracing.md.)
    expect(ownerWrites[0]).toBe(ownerWrites[1]);
    expect(ownerWrites[0]).toBeLessThanOrEqual(1);
  });

  it('logs once when the collector refuses the spans, without the export headers', async () => {
    receiver.status = 400;
    let logs: string[] = [];
    try {
      await traced('good', async (gateway) => {
        logs = gateway.logs.text;
        for (let i = 0; i < 2; i++) await gateway.client().chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: PROMPT }] });
      });
    } finally {
      receiver.status = 200;
    }
    const failures = logs.filter((line) => line.includes('trace export failed'));
    expect(failures).toHaveLength(1);
    expect(failures[0]).not.toContain(COLLECTOR_TOKEN);
  });

  it('exports with the configured headers, and never a key, a prompt or a completion', async () => {
    const from = receiver.exports.length;
    const texts: string[] = [];
    await traced('bad-first', async (gateway) => {
      const client = gateway.client();
      const plain = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: PROMPT }] });
      texts.push(plain.choices[0]!.message.content!);
      const stream = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: PROMPT }], stream: true });
      for await (const chunk of stream) texts.push(chunk.choices[0]?.delta.content ?? '');
      await expect(client.chat.completions.create({ model: 'no-such-model', messages: [{ role: 'user', content: PROMPT }] })).rejects.toThrow();
      await expect(gateway.client('gw-wrong-key').models.list()).rejects.toThrow();
    });
    const exports = receiver.exports.slice(from);
    expect(exports.length).toBeGreaterThan(0);
    const completionText = texts.join('');
    expect(completionText).toContain(PROMPT);

    for (const { headers, body } of exports) {
      expect(headers['x-collector-token']).toBe(COLLECTOR_TOKEN);
      for (const secret of [CLIENT_KEY, 'gw-wrong-key', GOOD_KEY, BAD_KEY, PROMPT, completionText]) expect(body).not.toContain(secret);
    }
    const values = (value: AttributeValue): string[] => (Array.isArray(value) ? value.flatMap(values) : [String(value)]);
    const attributeValues = receiver.spans.flatMap((s) => Object.values(s.attributes).flatMap(values));
    expect(attributeValues).toContain('team-alpha');
    for (const value of attributeValues) {
      for (const secret of [CLIENT_KEY, GOOD_KEY, BAD_KEY, PROMPT]) expect(value).not.toContain(secret);
    }
  });
});
