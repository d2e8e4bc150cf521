// X-Gateway-Request-Id on every response, the errors the gateway makes itself included.
import OpenAI from 'openai';
import { request } from 'undici';
import { describe, expect, it } from 'vitest';
import { CLIENT_KEY, testConfig, useGatewayWithMock } from '../helpers/gateway.js';

const message = [{ role: 'user' as const, content: 'hello there' }];
const LIMITED_KEY = 'gw-test-key-limited';

describe('X-Gateway-Request-Id', () => {
  const running = useGatewayWithMock((url) =>
    testConfig(url, {
      clientKeys: [
        { name: 'team-alpha', key: CLIENT_KEY, models: ['gpt-4o', 'gpt-4o-mini'] },
        { name: 'team-limited', key: LIMITED_KEY, limits: { requestsPerMinute: 1 } },
      ],
      upstreams: [
        { name: 'mock', baseUrl: url, models: ['gpt-4o', 'gpt-4o-mini', 'gpt-image-2'], accounts: [{ name: 'acct-a', apiKey: 'sk-upstream-secret-a-0123456789' }] },
        // Nothing listens on port 1: the gateway answers 502 itself.
        { name: 'down', baseUrl: 'http://127.0.0.1:1/v1', models: ['Doubao-1.5-pro-32k'], accounts: [{ name: 'acct-down', apiKey: 'sk-upstream-secret-down-0123' }] },
      ],
    }),
  );

  /** Makes a request that fails and returns the SDK's error, sent with `x-request-id: <id>`. */
  async function failing(id: string, call: (client: OpenAI) => Promise<unknown>, apiKey = CLIENT_KEY): Promise<InstanceType<typeof OpenAI.APIError>> {
    const client = running.gateway.client(apiKey, { defaultHeaders: { 'x-request-id': id } });
    const error = await call(client).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.APIError);
    return error as InstanceType<typeof OpenAI.APIError>;
  }

  it('is on the errors the gateway makes itself: 401, 403, 404, 400, 429 and 502', async () => {
    const cases: [string, number, (client: OpenAI) => Promise<unknown>, string?][] = [
      ['id-401', 401, (c) => c.chat.completions.create({ model: 'gpt-4o', messages: message }), 'wrong-key'],
      ['id-403', 403, (c) => c.chat.completions.create({ model: 'Doubao-1.5-pro-32k', messages: message })],
      ['id-404', 404, (c) => c.chat.completions.create({ model: 'no-such-model', messages: message })],
      ['id-400', 400, (c) => c.chat.completions.create({ model: 'gpt-4o', messages: 'not an array' as never })],
      ['id-502', 502, (c) => c.chat.completions.create({ model: 'Doubao-1.5-pro-32k', messages: message }), LIMITED_KEY],
      ['id-429', 429, (c) => c.chat.completions.create({ model: 'gpt-4o', messages: message }), LIMITED_KEY],
    ];
    for (const [id, status, call, key] of cases) {
      const error = await failing(id, call, key);
      expect(error.status, id).toBe(status);
      expect(error.headers?.get('x-gateway-request-id'), id).toBe(id);
      expect(running.gateway.logs.lines.find((l) => l.requestId === id), id).toMatchObject({ status });
    }
  });

  it('is on an unknown URL, /healthz and /metrics', async () => {
    for (const [path, status] of [['/v1/nothing', 404], ['/healthz', 200], ['/metrics', 200]] as const) {
      const res = await request(`${running.gateway.url}${path}`, { headers: { 'x-request-id': `id${path.replaceAll('/', '-')}` } });
      await res.body.text();
      expect(res.statusCode, path).toBe(status);
      expect(res.headers['x-gateway-request-id'], path).toBe(`id${path.replaceAll('/', '-')}`);
    }
  });

  it('differs between requests that send none', async () => {
    const ids = new Set<string | null>();
    for (let i = 0; i < 3; i++) {
      const { response } = await running.gateway.client().models.list().withResponse();
      ids.add(response.headers.get('x-gateway-request-id'));
    }
    expect(ids.size).toBe(3);
    expect(ids.has(null)).toBe(false);
  });
});
