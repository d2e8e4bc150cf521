// `sticky.pinReads`: whether a conversation request whose pin the gateway already holds waits for Redis before
// it is forwarded. Real redis-server (through a tap that records what the gateway writes to it), real gateways,
// the mock upstream and the official openai client.
import type OpenAI from 'openai';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { conversationKey } from '../../src/accounts/sticky/store.js';
import { parseConfig } from '../../src/config/load.js';
import type { GatewayConfigInput } from '../../src/config/schema.js';
import { startGateway, testConfig, type RunningGateway } from '../helpers/gateway.js';
import { startMockUpstream, type MockUpstream } from '../helpers/mock-upstream.js';
import { commandsIn } from '../helpers/redis-tap.js';
import { sendCommand, startRedis, type RedisServer } from '../helpers/redis.js';
import { startTappedGateway, type TappedGateway } from '../helpers/tapped-gateway.js';

type PinReads = NonNullable<NonNullable<GatewayConfigInput['sticky']>['pinReads']>;

const ACCOUNTS = [
  { name: 'acct-a', apiKey: 'sk-upstream-a-0123456789abcdef' },
  { name: 'acct-b', apiKey: 'sk-upstream-b-0123456789abcdef' },
  { name: 'acct-c', apiKey: 'sk-upstream-c-0123456789abcdef' },
];

function config(mockUrl: string, redisUrl: string, pinReads: PinReads | undefined): GatewayConfigInput {
  return testConfig(mockUrl, {
    upstreams: [{ name: 'mock', baseUrl: mockUrl, models: ['*'], accounts: ACCOUNTS }],
    redis: { url: redisUrl, timeoutMs: 1_000 },
    health: { cooldownMs: 60_000 },
    ...(pinReads === undefined ? {} : { sticky: { pinReads } }),
  });
}

/** One chat completion of the conversation; the account that served it. */
async function ask(client: OpenAI, conversationId: string): Promise<string> {
  const { response } = await client.chat.completions
    .create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hello' }] }, { headers: { 'X-Conversation-Id': conversationId } })
    .withResponse();
  return response.headers.get('x-gateway-account')!;
}

const commandsWritten = (writes: readonly string[]): number => writes.reduce((n, chunk) => n + commandsIn(chunk), 0);

/**
 * Sends two requests of a new conversation; the number of Redis commands the gateway had written when the
 * second reached the upstream, beyond those it had written before sending it.
 */
async function commandsBeforeSecondForward(running: TappedGateway, conversationId: string): Promise<number> {
  const client = running.gateway.client();
  const first = await ask(client, conversationId);
  // The first request's pin and its index entry are written after it was served.
  const pinKey = conversationKey('mock', 'team-alpha', conversationId);
  const indexWrite = (chunk: string): boolean => chunk.includes('pins:team-alpha') && chunk.includes(pinKey);
  await vi.waitFor(() => expect(running.tap.writes.some(indexWrite)).toBe(true), { timeout: 5_000, interval: 10 });

  const written = commandsWritten(running.tap.writes);
  let atForward: number | undefined;
  running.mock.fault = () => {
    atForward = commandsWritten(running.tap.writes);
    return undefined;
  };
  expect(await ask(client, conversationId)).toBe(first);
  running.mock.fault = undefined;
  // Read after it was served or before, the pin's lookup refreshes its TTL in Redis.
  await vi.waitFor(() => expect(commandsWritten(running.tap.writes)).toBeGreaterThan(written), { timeout: 5_000, interval: 10 });
  return atForward! - written;
}

describe.each([
  { pinReads: undefined, name: 'default (shared)', before: 1 },
  { pinReads: 'shared' as const, name: 'shared', before: 1 },
  { pinReads: 'local' as const, name: 'local', before: 0 },
])('pin reads $name', ({ pinReads, before }) => {
  let running: TappedGateway;
  beforeAll(async () => {
    running = await startTappedGateway((urls) => config(urls.mock, urls.redis, pinReads));
  });
  afterAll(() => running?.close());

  it(`sends ${before} Redis command(s) before forwarding a conversation's second request, and keeps it on its account`, async () => {
    expect(await commandsBeforeSecondForward(running, 'pinned')).toBe(before);
  });

  it('takes a reload to the other setting without a restart', async () => {
    const other = pinReads === 'local' ? 'shared' : 'local';
    running.gateway.app.services.reload(parseConfig(config(running.mock.url, running.tap.url, other)));
    expect(running.gateway.logs.lines.find((l) => l.msg === 'config reloaded, but these settings only change on a restart')).toBeUndefined();
    expect(await commandsBeforeSecondForward(running, `reloaded-${other}`)).toBe(other === 'local' ? 0 : 1);
  });
});

describe('pin reads local, with two gateways sharing one Redis', () => {
  let mock: MockUpstream;
  let redis: RedisServer;
  let gateways: RunningGateway[] = [];

  beforeAll(async () => {
    [mock, redis] = await Promise.all([startMockUpstream(), startRedis()]);
  });
  afterEach(async () => {
    mock.fault = undefined;
    await Promise.all(gateways.map((g) => g.close()));
    gateways = [];
  });
  afterAll(() => Promise.all([mock?.close(), redis?.stop()]));

  async function twoGateways(pinReads: PinReads): Promise<[RunningGateway, RunningGateway]> {
    gateways = await Promise.all([startGateway(config(mock.url, redis.url, pinReads)), startGateway(config(mock.url, redis.url, pinReads))]);
    await vi.waitFor(() => expect(gateways.every((g) => g.app.services.redis!.ready)).toBe(true), { timeout: 10_000, interval: 20 });
    return [gateways[0]!, gateways[1]!];
  }

  const redisPin = (id: string): Promise<string | null> => sendCommand(redis.port, `GET gw:pin:${conversationKey('mock', 'team-alpha', id)}`) as Promise<string | null>;

  /**
   * Pins conversation `id` through gateway A and serves it once on B; then A's request fails on the pinned
   * account and its failover moves the pin. Returns both accounts once Redis holds the new one.
   */
  async function movedOnA(a: RunningGateway, b: RunningGateway, id: string): Promise<{ pinned: string; moved: string }> {
    const pinned = await ask(a.client(), id);
    await vi.waitFor(async () => expect(await redisPin(id)).toBe(pinned), { timeout: 5_000, interval: 10 });
    expect(await ask(b.client(), id)).toBe(pinned);
    mock.fault = (req) => (req.headers.authorization === `Bearer ${ACCOUNTS.find((x) => x.name === pinned)!.apiKey}` ? { kind: 'status', status: 500 } : undefined);
    const moved = await ask(a.client(), id);
    mock.fault = undefined;
    expect(moved).not.toBe(pinned);
    await vi.waitFor(async () => expect(await redisPin(id)).toBe(moved), { timeout: 5_000, interval: 10 });
    return { pinned, moved };
  }

  it("follows a pin another gateway moved from the second of its requests after the move", async () => {
    const [a, b] = await twoGateways('local');
    const id = 'moved-by-a';
    const { pinned, moved } = await movedOnA(a, b, id);

    // B's next request still goes where its local copy says; its lookup after serving learns of the move.
    expect(await ask(b.client(), id)).toBe(pinned);
    const key = conversationKey('mock', 'team-alpha', id);
    await vi.waitFor(() => expect(b.app.services.selector.local?.getLocal(key, 3_600)).toBe(moved), { timeout: 5_000, interval: 10 });
    expect(await ask(b.client(), id)).toBe(moved);
    // Following a move writes nothing back: Redis keeps the account A moved it to.
    expect(await redisPin(id)).toBe(moved);
  });

  it('shared: the first request on the other gateway after a move goes to the new account', async () => {
    const [a, b] = await twoGateways('shared');
    const id = 'moved-shared';
    const { moved } = await movedOnA(a, b, id);
    expect(await ask(b.client(), id)).toBe(moved);
  });
});
