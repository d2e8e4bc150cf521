// A conversation request of a limited key: its pin lookup and its admission go to Redis when the request
// arrives, before its body does. A real gateway, a real Redis, the mock upstream, raw HTTP for the held body.
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { GatewayConfigInput } from '../../src/config/schema.js';
import { CLIENT_KEY, testConfig, type RunningGateway } from '../helpers/gateway.js';
import { useGatewayWithRedis } from '../helpers/gateway-with-redis.js';
import { startTappedGateway, type TappedGateway } from '../helpers/tapped-gateway.js';

const TTL_SECONDS = 3_600;
/** The OpenAI pool every test routes chat to: two accounts on the mock. */
const openAiPool = (url: string): NonNullable<GatewayConfigInput['upstreams']>[number] => ({
  name: 'mock',
  baseUrl: url,
  models: ['*'],
  accounts: [
    { name: 'acct-a', apiKey: 'sk-upstream-a-0123456789abcdef' },
    { name: 'acct-b', apiKey: 'sk-upstream-b-0123456789abcdef' },
  ],
});
const BODY = JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hello' }], max_tokens: 16 });

describe('pin lookup and admission before the body', () => {
  const running = useGatewayWithRedis((urls) =>
    testConfig(urls.mock, {
      clientKeys: [{ name: 'team-alpha', key: CLIENT_KEY, limits: { requestsPerMinute: 1_000, tokensPerMinute: 1_000_000 } }],
      upstreams: [openAiPool(urls.mock)],
      redis: { url: urls.redis, timeoutMs: 1_000 },
      sticky: { ttlSeconds: TTL_SECONDS },
    }),
  );

  const run = <T>(fn: (c: NonNullable<RunningGateway['app']['services']['redis']>['client']) => Promise<T>): Promise<T> =>
    running.gateway.app.services.redis!.run((c) => fn(c));

  /** Sends the headers of a chat request now; the returned function sends its body and resolves with the answer. */
  function headersFirst(conversationId: string): () => Promise<{ status: number; body: string }> {
    const req = http.request(`${running.gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${CLIENT_KEY}`,
        'content-type': 'application/json',
        'content-length': String(Buffer.byteLength(BODY)),
        'x-conversation-id': conversationId,
      },
    });
    const answer = new Promise<{ status: number; body: string }>((resolve, reject) => {
      req.once('response', (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.once('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.once('error', reject);
    });
    req.flushHeaders();
    return () => {
      req.end(BODY);
      return answer;
    };
  }

  it('refreshes the pin and counts the request while the body has not been sent, then routes to the pin', async () => {
    const first = await headersFirst('held-body')();
    expect(first.status).toBe(200);
    const [pinKey] = await run((c) => c.keys('gw:pin:*'));
    expect(pinKey).toBeDefined();
    const pinned = await run((c) => c.get(pinKey!));
    const [limitKey] = await run((c) => c.keys('gw:limit:*'));
    const requestsBefore = Number(await run((c) => c.hget(limitKey!, 'r')));
    await run((c) => c.expire(pinKey!, 5));

    const sendBody = headersFirst('held-body');
    // Both reach Redis with the headers alone: the pin's TTL is refreshed and the request is counted.
    await vi.waitFor(async () => expect(await run((c) => c.ttl(pinKey!))).toBeGreaterThan(5), { timeout: 5_000, interval: 10 });
    expect(Number(await run((c) => c.hget(limitKey!, 'r')))).toBe(requestsBefore + 1);

    const second = await sendBody();
    expect(second.status).toBe(200);
    expect(running.mock.requests.at(-1)?.headers.authorization).toBe(`Bearer ${pinned === 'acct-a' ? 'sk-upstream-a-0123456789abcdef' : 'sk-upstream-b-0123456789abcdef'}`);
  });
});

describe('pin lookup and admission in one write', () => {
  let tapped: TappedGateway;

  beforeAll(async () => {
    tapped = await startTappedGateway((urls) =>
      testConfig(urls.mock, {
        clientKeys: [{ name: 'team-alpha', key: CLIENT_KEY, limits: { requestsPerMinute: 1_000, tokensPerMinute: 1_000_000 } }],
        redis: { url: urls.redis, timeoutMs: 1_000 },
      }),
    );
  });
  afterAll(() => tapped?.close());

  const chat = (): Promise<Response> =>
    fetch(`${tapped.gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${CLIENT_KEY}`, 'content-type': 'application/json', 'x-conversation-id': 'one-write' },
      body: BODY,
    });

  it('sends a conversation request’s pin lookup in the same write as its admission', async () => {
    expect((await chat()).status).toBe(200); // pins the conversation, loads the scripts
    expect((await chat()).status).toBe(200);
    const before = tapped.tap.writes.length;
    expect((await chat()).status).toBe(200);
    // The admission's script call: the key, the clock offset, three limits and one reservation.
    const admission = tapped.tap.writes.slice(before).filter((chunk) => chunk.includes('gw:limit:{team-alpha}') && /\*9\r\n\$7\r\nevalsha/i.test(chunk));
    expect(admission).toHaveLength(1);
    // Its write carries the pin lookup too, so the request waits for one round trip, not two after each other.
    expect(admission[0]).toMatch(/\*5\r\n\$7\r\nevalsha\r\n\$40\r\n[0-9a-f]{40}\r\n\$1\r\n1\r\n\$\d+\r\ngw:pin:mock:team-alpha:/i);
  });
});

describe('pin lookup before the body with an anthropic pool beside the OpenAI one', () => {
  const BUDGETED_KEY = 'gw-key-prefetch-budgeted';
  let tapped: TappedGateway;

  beforeAll(async () => {
    tapped = await startTappedGateway((urls) =>
      testConfig(urls.mock, {
        clientKeys: [
          { name: 'team-alpha', key: CLIENT_KEY, limits: { requestsPerMinute: 1_000, tokensPerMinute: 1_000_000 } },
          { name: 'budgeted', key: BUDGETED_KEY, limits: { requestsPerMinute: 1_000, tokensPerMinute: 1_000_000, usdPerDay: 100 } },
        ],
        upstreams: [
          { name: 'anthropic', api: 'anthropic', baseUrl: urls.mock, models: ['claude-sonnet-4-5'], accounts: [{ name: 'claude-a', apiKey: 'sk-ant-upstream-a-0123456789' }] },
          openAiPool(urls.mock),
        ],
        redis: { url: urls.redis, timeoutMs: 5_000 },
      }),
    );
  });
  afterAll(() => tapped?.close());

  const chat = (key: string, conversationId: string): Promise<Response> =>
    fetch(`${tapped.gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', 'x-conversation-id': conversationId },
      body: BODY,
    });
  /** The pin lookup's script call in the chat completions' pool (not the Messages one). */
  const pinLookupOf = (owner: string): RegExp => new RegExp(`\\*5\\r\\n\\$7\\r\\nevalsha\\r\\n\\$40\\r\\n[0-9a-f]{40}\\r\\n\\$1\\r\\n1\\r\\n\\$\\d+\\r\\ngw:pin:mock:${owner}:`, 'i');
  const admissionOf = (owner: string): RegExp => new RegExp(`\\*9\\r\\n\\$7\\r\\nevalsha\\r\\n\\$40\\r\\n[0-9a-f]{40}\\r\\n\\$1\\r\\n1\\r\\n\\$\\d+\\r\\ngw:limit:\\{${owner}\\}`, 'i');

  it('sends a chat request’s pin lookup in the same write as its admission', async () => {
    expect((await chat(CLIENT_KEY, 'two-pools')).status).toBe(200); // pins the conversation, loads the scripts
    const before = tapped.tap.writes.length;
    expect((await chat(CLIENT_KEY, 'two-pools')).status).toBe(200);
    const admission = tapped.tap.writes.slice(before).filter((chunk) => admissionOf('team-alpha').test(chunk));
    expect(admission).toHaveLength(1);
    expect(admission[0]).toMatch(pinLookupOf('team-alpha'));
  });

  it('has the pin lookup of a budgeted key on its way while its admission is: both before any reply', async () => {
    expect((await chat(BUDGETED_KEY, 'two-pools-budget')).status).toBe(200);
    const before = tapped.tap.writes.length;
    const sent = (): string => tapped.tap.writes.slice(before).join('');
    tapped.tap.hold();
    const answer = chat(BUDGETED_KEY, 'two-pools-budget');
    try {
      // Redis has answered nothing yet, and both the lookup and the admission have reached it.
      await vi.waitFor(() => {
        expect(sent()).toMatch(pinLookupOf('budgeted'));
        expect(sent()).toMatch(admissionOf('budgeted'));
      }, { timeout: 5_000, interval: 10 });
    } finally {
      tapped.tap.release();
    }
    expect((await answer).status).toBe(200);
  });
});
