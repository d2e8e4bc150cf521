// Without `tracing.otlpEndpoint` nothing of tracing exists: no tracer provider, span processor or exporter is
// built, no hook registered, no Redis wrapper set, no trace on a request, no traceparent sent upstream; the SDK
// and its exporter are not even loaded.
import type { FastifyRequest } from 'fastify';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { buildApp } from '../../src/app.js';
import { parseConfig } from '../../src/config/load.js';
import type { GatewayConfigInput } from '../../src/config/schema.js';
import { restartOnlyChanges } from '../../src/reload.js';
import { CLIENT_KEY, testConfig } from '../helpers/gateway.js';
import { startMockUpstream, type MockUpstream } from '../helpers/mock-upstream.js';
import { startOtlpReceiver, type OtlpReceiver } from '../helpers/otlp-receiver.js';
import { startRedis, type RedisServer } from '../helpers/redis.js';

const built = vi.hoisted(() => ({ loaded: 0, providers: 0, processors: 0, exporters: 0 }));

vi.mock('@opentelemetry/sdk-trace-base', async (importOriginal) => {
  const real = await importOriginal<typeof import('@opentelemetry/sdk-trace-base')>();
  class BasicTracerProvider extends real.BasicTracerProvider {
    constructor(...args: ConstructorParameters<typeof real.BasicTracerProvider>) {
      super(...args);
      built.providers += 1;
    }
  }
  class BatchSpanProcessor extends real.BatchSpanProcessor {
    constructor(...args: ConstructorParameters<typeof real.BatchSpanProcessor>) {
      super(...args);
      built.processors += 1;
    }
  }
  return { ...real, BasicTracerProvider, BatchSpanProcessor };
});

vi.mock('@opentelemetry/exporter-trace-otlp-http', async (importOriginal) => {
  // Runs when the module is first imported.
  built.loaded += 1;
  const real = await importOriginal<typeof import('@opentelemetry/exporter-trace-otlp-http')>();
  class OTLPTraceExporter extends real.OTLPTraceExporter {
    constructor(...args: ConstructorParameters<typeof real.OTLPTraceExporter>) {
      super(...args);
      built.exporters += 1;
    }
  }
  return { ...real, OTLPTraceExporter };
});

describe('tracing off', () => {
  let redis: RedisServer;
  let mock: MockUpstream;
  let receiver: OtlpReceiver;

  beforeAll(async () => {
    [redis, mock, receiver] = await Promise.all([startRedis(), startMockUpstream(), startOtlpReceiver()]);
  });
  afterAll(async () => {
    await Promise.all([redis?.stop(), mock?.close(), receiver?.close()]);
  });

  /** Serves one chat request through a gateway built from `config`; reports what tracing left on the way. */
  async function serveOne(config: GatewayConfigInput): Promise<{ hasPlugin: boolean; redisWrapped: boolean; requestTraced: boolean; traceparent: unknown }> {
    const app = await buildApp(parseConfig(config, {}), { logStream: { write: () => undefined } });
    let seen: FastifyRequest | undefined;
    app.addHook('onResponse', (request, _reply, done) => {
      if (request.url === '/v1/chat/completions') seen = request;
      done();
    });
    const from = mock.requests.length;
    try {
      await vi.waitFor(() => expect(app.services.redis!.ready).toBe(true), { timeout: 10_000, interval: 10 });
      const response = await app.inject({
        method: 'POST',
        url: '/v1/chat/completions',
        headers: { authorization: `Bearer ${CLIENT_KEY}`, 'content-type': 'application/json', 'x-conversation-id': 'conv-untraced' },
        payload: { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hello' }] },
      });
      expect(response.statusCode).toBe(200);
      return {
        hasPlugin: app.hasPlugin('ai-gateway-tracing'),
        redisWrapped: app.services.redis!.traceCommand !== undefined,
        requestTraced: seen?.gateway.trace !== undefined,
        traceparent: mock.requests[from]?.headers.traceparent,
      };
    } finally {
      await app.close();
    }
  }

  it('loads no SDK, builds no provider, processor or exporter, registers no hook and wraps nothing', async () => {
    const untraced = await serveOne(testConfig(mock.url, { redis: { url: redis.url } }));
    expect(untraced).toEqual({ hasPlugin: false, redisWrapped: false, requestTraced: false, traceparent: undefined });
    expect(built).toEqual({ loaded: 0, providers: 0, processors: 0, exporters: 0 });
    // An empty endpoint (an unset variable in the config file) is tracing off too.
    await serveOne(testConfig(mock.url, { redis: { url: redis.url }, tracing: { otlpEndpoint: '' } }));
    expect(built).toEqual({ loaded: 0, providers: 0, processors: 0, exporters: 0 });

    // The same check sees tracing when it is on.
    const traced = await serveOne(testConfig(mock.url, { redis: { url: redis.url }, tracing: { otlpEndpoint: receiver.url } }));
    expect(traced).toMatchObject({ hasPlugin: true, redisWrapped: true, requestTraced: true, traceparent: expect.stringMatching(/^00-/) });
    expect(built).toEqual({ loaded: 1, providers: 1, processors: 1, exporters: 1 });
  });

  it('validates the tracing settings and defaults the service name', () => {
    const base = testConfig('http://127.0.0.1:1');
    expect(parseConfig(base, {}).tracing).toEqual({ serviceName: 'ai-gateway' });
    expect(parseConfig({ ...base, tracing: { otlpEndpoint: 'http://collector:4318/v1/traces' } }, {}).tracing).toEqual({
      otlpEndpoint: 'http://collector:4318/v1/traces',
      serviceName: 'ai-gateway',
    });
    expect(() => parseConfig({ ...base, tracing: { otlpEndpoint: 'collector:4318' } }, {})).toThrow(/tracing\.otlpEndpoint/);
    expect(() => parseConfig({ ...base, tracing: { otlpEndpoint: 'http://c/v1/traces', sampler: 'all' } as never }, {})).toThrow(/tracing/);
  });

  it('applies a change of the tracing settings only on a restart', () => {
    const before = parseConfig(testConfig('http://127.0.0.1:1'), {});
    const after = parseConfig({ ...testConfig('http://127.0.0.1:1'), tracing: { otlpEndpoint: 'http://collector:4318/v1/traces' } }, {});
    expect(restartOnlyChanges(before, after)).toEqual(['tracing']);
  });
});
