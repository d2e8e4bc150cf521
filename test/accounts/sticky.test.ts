// Sticky conversations end to end: real sockets, the official openai client, a mock upstream with three
// accounts, real redis-server processes (standalone and a three-node Cluster) and real gateway processes.
import { performance } from 'node:perf_hooks';
import OpenAI from 'openai';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { GatewayConfigInput } from '../../src/config/schema.js';
import type { UpstreamPool } from '../../src/accounts/pool.js';
import type { StickyResult } from '../../src/accounts/sticky-selector.js';
import { rendezvous } from '../../src/accounts/sticky/rendezvous.js';
import { conversationKey } from '../../src/accounts/sticky/store.js';
import { CLIENT_KEY, startGateway, startGatewayProcess, testConfig, type GatewayProcess, type RunningGateway } from '../helpers/gateway.js';
import { startMockUpstream, type MockUpstream } from '../helpers/mock-upstream.js';
import { sendCommand, startRedis, startRedisCluster, type RedisServer } from '../helpers/redis.js';

const ACCOUNTS = [
  { name: 'acct-a', apiKey: 'sk-upstream-a-0123456789abcdef', weight: 2 },
  { name: 'acct-b', apiKey: 'sk-upstream-b-0123456789abcdef', weight: 1 },
  { name: 'acct-c', apiKey: 'sk-upstream-c-0123456789abcdef', weight: 1 },
];
const KEY_OF: Record<string, string> = Object.fromEntries(ACCOUNTS.map((a) => [a.name, a.apiKey]));
const BETA_KEY = 'gw-test-key-beta';
const COOLDOWN_MS = 300;
const OUTAGE = 'redis unavailable: routing without it until it is back';
/**
 * For the tests about pinning rather than about slow Redis: a busy test machine can stall a process for longer
 * than a short timeout, and a gateway that gives up on Redis routes by hash, which these tests would see as
 * a conversation that moved. The tests of a slow Redis keep the default.
 */
const PATIENT_MS = 1_000;
const RECOVERY = 'redis available again';

interface Outcome {
  conversation: string | undefined;
  account?: string;
  error?: unknown;
}

/** Resolves once every account of the gateway's pool is out of its cool-down again, as its metrics say. */
async function allAccountsAvailable(gateway: { url: string }): Promise<void> {
  const line = new RegExp(`^gateway_upstream_accounts_available\\{pool="mock"\\} ${ACCOUNTS.length}$`, 'm');
  await vi.waitFor(async () => expect(await (await fetch(`${gateway.url}/metrics`)).text()).toMatch(line), { timeout: 5_000, interval: 20 });
}

function gatewayConfig(mockUrl: string, extra: Partial<GatewayConfigInput> = {}): GatewayConfigInput {
  return testConfig(mockUrl, {
    clientKeys: [
      { name: 'team-alpha', key: CLIENT_KEY },
      { name: 'team-beta', key: BETA_KEY },
    ],
    upstreams: [{ name: 'mock', baseUrl: mockUrl, models: ['*'], accounts: ACCOUNTS }],
    health: { cooldownMs: COOLDOWN_MS },
    ...extra,
  });
}

const clients = new Map<string, OpenAI>();
function clientFor(baseURL: string, apiKey: string): OpenAI {
  const id = `${baseURL} ${apiKey}`;
  let client = clients.get(id);
  if (client === undefined) {
    client = new OpenAI({ apiKey, baseURL, maxRetries: 0 });
    clients.set(id, client);
  }
  return client;
}

/** One chat completion through a gateway; returns the account that served it (`x-gateway-account`). */
async function ask(gateway: { baseURL: string }, conversationId?: string, apiKey = CLIENT_KEY): Promise<string> {
  const { data, response } = await clientFor(gateway.baseURL, apiKey)
    .chat.completions.create(
      { model: 'gpt-4o', messages: [{ role: 'user', content: 'hello' }] },
      conversationId === undefined ? {} : { headers: { 'X-Conversation-Id': conversationId } },
    )
    .withResponse();
  expect(data.choices[0]?.message.content).toBe('Echo: hello');
  const account = response.headers.get('x-gateway-account');
  expect(account).toMatch(/^acct-[abc]$/);
  return account!;
}

/** The account whose key this upstream request carried. */
function accountOf(request: { headers: Record<string, unknown> }): string | undefined {
  return ACCOUNTS.find((a) => request.headers.authorization === `Bearer ${a.apiKey}`)?.name;
}

/** Makes the first upstream attempt of a conversation fail with a 500, so a failover moves it. */
function failFirstAttemptOf(mock: MockUpstream, conversationId: string): void {
  let pending = true;
  mock.fault = (req) => {
    if (!pending || req.headers['x-conversation-id'] !== conversationId) return undefined;
    pending = false;
    return { kind: 'status', status: 500 };
  };
}

const count = (lines: readonly { msg?: unknown }[], msg: string): number => lines.filter((l) => l.msg === msg).length;
const hits = (mock: MockUpstream): Record<string, number> =>
  Object.fromEntries(ACCOUNTS.map((a) => [a.name, mock.hitsByKey.get(a.apiKey) ?? 0]));

interface Backend {
  redis: GatewayConfigInput['redis'];
  stop(): Promise<void>;
}

const modes: { name: string; gateways: number; start(): Promise<Backend> }[] = [
  { name: 'the in-memory store (one gateway)', gateways: 1, start: async () => ({ redis: undefined, stop: async () => {} }) },
  {
    name: 'Redis (two gateways)',
    gateways: 2,
    start: async () => {
      const server = await startRedis();
      return { redis: { url: server.url, timeoutMs: PATIENT_MS }, stop: () => server.stop() };
    },
  },
  {
    name: 'a three-node Redis Cluster (two gateways)',
    gateways: 2,
    start: async () => {
      const cluster = await startRedisCluster(3);
      return { redis: { cluster: cluster.urls, timeoutMs: PATIENT_MS }, stop: () => cluster.stop() };
    },
  },
];

describe.each(modes)('sticky conversations on $name', ({ gateways: gatewayCount, start }) => {
  let mock: MockUpstream;
  let backend: Backend;
  let gateways: RunningGateway[];
  let results: StickyResult[][];
  const via = (i: number): RunningGateway => gateways[i % gateways.length]!;

  beforeAll(async () => {
    [mock, backend] = await Promise.all([startMockUpstream(), start()]);
    results = Array.from({ length: gatewayCount }, () => []);
    gateways = await Promise.all(
      results.map((sink) => startGateway(gatewayConfig(mock.url, { redis: backend.redis }), {}, { onStickyResult: (r) => sink.push(r) })),
    );
    await vi.waitFor(() => expect(gateways.every((g) => g.app.services.redis?.ready ?? true)).toBe(true), { timeout: 10_000, interval: 20 });
  });
  afterEach(() => {
    mock.fault = undefined;
    // A failed test must not leave an account resting for the tests after it.
    for (const g of gateways) for (const account of g.app.services.router.pools[0]!.accounts) account.coolingUntil = 0;
  });
  afterAll(async () => {
    await Promise.all(gateways.map((g) => g.close()));
    await Promise.all([mock.close(), backend.stop()]);
  });

  it('sends all 40 requests of a conversation to one account, alternating gateways', async () => {
    const seen = new Set<string>();
    for (let i = 0; i < 40; i++) seen.add(await ask(via(i), 'conv-forty'));
    expect(seen.size).toBe(1);
    // Other conversations are spread over the accounts, each on one.
    const byConversation = new Map<string, Set<string>>();
    for (let i = 0; i < 48; i++) {
      const id = `conv-spread-${i % 8}`;
      const set = byConversation.get(id) ?? new Set();
      set.add(await ask(via(i), id));
      byConversation.set(id, set);
    }
    for (const set of byConversation.values()) expect(set.size).toBe(1);
    expect(new Set([...byConversation.values()].map((s) => [...s][0])).size).toBeGreaterThan(1);
  });

  it('forwards X-Conversation-Id to the upstream unchanged', async () => {
    const id = 'Conv_42:Mixed-Case/{tag}=';
    const from = mock.requests.length;
    await ask(via(0), id);
    await ask(via(1), id);
    const forwarded = mock.requests.slice(from);
    expect(forwarded).toHaveLength(2);
    for (const request of forwarded) expect(request.headers['x-conversation-id']).toBe(id);
    await ask(via(0));
    expect(mock.requests.at(-1)!.headers['x-conversation-id']).toBeUndefined();
  });

  it('moves a conversation off a failing account with no error for the client, and keeps it there after the account recovers', async () => {
    const id = 'conv-failover';
    const before = await ask(via(0), id);
    mock.fault = (req) => (req.headers.authorization === `Bearer ${KEY_OF[before]}` ? { kind: 'status', status: 500 } : undefined);
    const after = await ask(via(0), id);
    expect(after).not.toBe(before);
    for (let i = 1; i < 6; i++) expect(await ask(via(i), id)).toBe(after);

    mock.fault = undefined;
    await allAccountsAvailable(via(0));
    for (let i = 0; i < 20; i++) expect(await ask(via(i), id)).toBe(after);
    // The old account is healthy again: un-pinned traffic reaches it, pinned traffic does not.
    const unpinned = await Promise.all(Array.from({ length: 8 }, (_, i) => ask(via(i))));
    expect(unpinned).toContain(before);
  });

  it('leaves a pinned account whose key is refused (401), logging it loudly', async () => {
    const id = 'conv-bad-key';
    const before = await ask(via(0), id);
    mock.fault = (req) => (accountOf(req) === before ? { kind: 'status', status: 401 } : undefined);
    const after = await ask(via(0), id);
    expect(after).not.toBe(before);
    mock.fault = undefined;
    for (let i = 0; i < 6; i++) expect(await ask(via(i), id)).toBe(after);
    const loud = via(0).logs.lines.filter((l) => l.level === 50 && l.account === before && l.reason === 'bad_key');
    expect(loud).toHaveLength(1);
    // Cooled down far longer than a 5xx: still resting once the short cool-down has passed.
    expect(via(0).app.services.router.poolFor('gpt-4o')!.account(before)!.isHealthy(Date.now() + COOLDOWN_MS + 100)).toBe(false);
  });

  it("keeps client A's pin invisible to client B sending the same conversation id", async () => {
    const pool: UpstreamPool = via(0).app.services.router.poolFor('gpt-4o')!;
    const choice = (client: string, id: string): string => rendezvous(pool, conversationKey('mock', client, id), Date.now())!.name;
    const id = Array.from({ length: 1_000 }, (_, i) => `conv-scoped-${i}`).find((c) => choice('team-alpha', c) !== choice('team-beta', c));
    if (id === undefined) throw new Error('every conversation id hashes alike for both clients: the client key is not part of the key');

    const before = results.map((r) => r.length);
    const alpha = new Set<string>();
    const beta = new Set<string>();
    // A pin is written once its request has been served, and nothing waits for that write: a request sent at
    // once to the other gateway may look before it lands (and pin anew, to the same account). Wait for it.
    const pinLanded = async (client: string): Promise<void> => {
      const redis = via(1).app.services.redis?.client;
      if (redis === undefined) return; // the in-memory store writes at once
      await vi.waitFor(async () => expect(await redis.get(`gw:pin:${conversationKey('mock', client, id)}`)).not.toBeNull(), { timeout: 5_000, interval: 10 });
    };
    alpha.add(await ask(via(0), id, CLIENT_KEY));
    await pinLanded('team-alpha');
    for (let i = 1; i < 6; i++) alpha.add(await ask(via(i), id, CLIENT_KEY));
    beta.add(await ask(via(0), id, BETA_KEY));
    await pinLanded('team-beta');
    for (let i = 1; i < 6; i++) beta.add(await ask(via(i), id, BETA_KEY));
    expect([...alpha]).toEqual([choice('team-alpha', id)]);
    expect([...beta]).toEqual([choice('team-beta', id)]);
    // Each client's first request made a new pin: B did not find A's.
    const outcomes = results.flatMap((r, g) => r.slice(before[g]));
    expect(outcomes.filter((r) => r === 'new')).toHaveLength(2);
    expect(outcomes.filter((r) => r === 'hit')).toHaveLength(10);
  });

  it('spreads 400 un-pinned requests over weights 2:1:1 within ±2%', async () => {
    const start = hits(mock);
    const served: Record<string, number> = { 'acct-a': 0, 'acct-b': 0, 'acct-c': 0 };
    for (let batch = 0; batch < 50; batch++) {
      const names = await Promise.all(Array.from({ length: 8 }, (_, i) => ask(via(batch * 8 + i))));
      for (const name of names) served[name]!++;
    }
    const end = hits(mock);
    for (const [name, share] of [['acct-a', 0.5], ['acct-b', 0.25], ['acct-c', 0.25]] as const) {
      expect(Math.abs(served[name]! / 400 - share)).toBeLessThanOrEqual(0.02);
      expect(end[name]! - start[name]!).toBe(served[name]); // what the upstream saw agrees with the header
    }
  });
});

describe('sticky conversations across two gateway processes sharing one Redis', () => {
  let mock: MockUpstream;
  let redis: RedisServer;
  let processes: GatewayProcess[];

  beforeAll(async () => {
    [mock, redis] = await Promise.all([startMockUpstream(), startRedis()]);
    const config = gatewayConfig(mock.url, { redis: { url: redis.url, timeoutMs: PATIENT_MS } });
    processes = await Promise.all([startGatewayProcess(config), startGatewayProcess(config)]);
    await Promise.all(processes.map((p) => p.waitForOutput(/"msg":"redis connected"/)));
  });
  afterAll(async () => {
    await Promise.all((processes ?? []).map((p) => p.stop()));
    await Promise.all([mock?.close(), redis?.stop()]);
  });

  it('keeps one conversation on one account over 40 requests alternating between the processes, even after a failover moved it', async () => {
    const plain = new Set<string>();
    for (let i = 0; i < 40; i++) plain.add(await ask(processes[i % 2]!, 'conv-shared'));
    expect(plain.size).toBe(1);

    // The first attempt fails on process 0, which moves the pin away from the hash choice. Process 1 never
    // saw that failure (and has every account healthy), so it can only follow through the shared pin.
    const id = 'conv-shared-moved';
    failFirstAttemptOf(mock, id);
    const moved = await ask(processes[0]!, id);
    const failed = accountOf(mock.requests.find((r) => r.headers['x-conversation-id'] === id)!);
    expect(moved).not.toBe(failed);
    mock.fault = undefined;
    await allAccountsAvailable(processes[0]!);
    const seen = new Set<string>();
    for (let i = 0; i < 40; i++) seen.add(await ask(processes[i % 2]!, id));
    expect([...seen]).toEqual([moved]);
    expect(await sendCommand(redis.port, `GET gw:pin:${conversationKey('mock', 'team-alpha', id)}`)).toBe(moved);
  });
});

describe('sticky conversations through Redis outages', () => {
  let mock: MockUpstream;
  beforeAll(async () => {
    mock = await startMockUpstream();
  });
  afterEach(() => {
    mock.fault = undefined;
  });
  afterAll(async () => {
    await mock.close();
  });

  async function twoGateways(redis: RedisServer, timeoutMs?: number): Promise<RunningGateway[]> {
    const config = gatewayConfig(mock.url, { redis: { url: redis.url, breakerMs: 300, ...(timeoutMs === undefined ? {} : { timeoutMs }) } });
    const gateways = await Promise.all([startGateway(config), startGateway(config)]);
    await vi.waitFor(() => expect(gateways.every((g) => g.app.services.redis!.ready)).toBe(true), { timeout: 10_000, interval: 20 });
    return gateways;
  }

  /** Requests on four parallel lanes, alternating gateways and conversations, until `done()`; each outcome is pushed to `outcomes` as it comes. */
  async function traffic(gateways: RunningGateway[], conversations: (string | undefined)[], done: () => boolean, outcomes: Outcome[] = []) {
    const lanes = 4;
    await Promise.all(
      Array.from({ length: lanes }, async (_, lane) => {
        for (let i = lane; !done(); i += lanes) {
          const conversation = conversations[i % conversations.length];
          try {
            outcomes.push({ conversation, account: await ask(gateways[i % gateways.length]!, conversation) });
          } catch (error) {
            outcomes.push({ conversation, error });
          }
        }
      }),
    );
    return outcomes;
  }

  it('costs no request when Redis is killed mid-run, logs the outage once, and shares pins again once Redis is back', async () => {
    const redis = await startRedis();
    // A killed Redis fails commands at once, whatever the timeout: see the paused test for slow ones.
    const gateways = await twoGateways(redis, PATIENT_MS);
    try {
      const kept = 'conv-outage-kept';
      const moved = 'conv-outage-moved';
      const keptAccount = await ask(gateways[0]!, kept);
      failFirstAttemptOf(mock, moved);
      const movedAccount = await ask(gateways[0]!, moved);
      mock.fault = undefined;
      expect(await ask(gateways[1]!, moved)).toBe(movedAccount); // both gateways have used the moved pin
      await allAccountsAvailable(gateways[0]!);

      const check = (outcomes: Outcome[]): void => {
        expect(outcomes.filter((o) => o.error !== undefined).map((o) => String(o.error))).toEqual([]);
        for (const o of outcomes) {
          if (o.conversation === kept) expect(o.account).toBe(keptAccount);
          if (o.conversation === moved) expect(o.account).toBe(movedAccount);
        }
      };

      // Kill Redis while requests flow, and let thirty more go through both gateways without it.
      let stop = false;
      const during: Outcome[] = [];
      const running = traffic(gateways, [kept, moved, undefined], () => stop, during);
      await vi.waitFor(() => expect(during.length).toBeGreaterThan(5), { timeout: 10_000, interval: 10 });
      await redis.kill();
      const atKill = during.length;
      await vi.waitFor(
        () => {
          expect(during.length - atKill).toBeGreaterThan(30);
          for (const g of gateways) expect(count(g.logs.lines, OUTAGE)).toBeGreaterThan(0);
        },
        { timeout: 20_000, interval: 10 },
      );
      stop = true;
      await running;
      check(during);
      for (const g of gateways) {
        expect(count(g.logs.lines, OUTAGE)).toBe(1);
        expect(count(g.logs.lines, RECOVERY)).toBe(0);
      }

      // Redis comes back empty (no persistence): the gateways reconnect by themselves and re-seed their pins.
      await redis.start();
      await vi.waitFor(() => expect(gateways.every((g) => g.app.services.redis!.ready)).toBe(true), { timeout: 10_000, interval: 20 });
      stop = false;
      const after: Outcome[] = [];
      const runningAfter = traffic(gateways, [kept, moved, undefined], () => stop, after);
      await vi.waitFor(() => expect(after.length).toBeGreaterThan(30), { timeout: 20_000, interval: 10 });
      stop = true;
      await runningAfter;
      check(after);
      for (const g of gateways) {
        expect(count(g.logs.lines, OUTAGE)).toBe(1);
        expect(count(g.logs.lines, RECOVERY)).toBe(1);
      }
      expect(await sendCommand(redis.port, `GET gw:pin:${conversationKey('mock', 'team-alpha', moved)}`)).toBe(movedAccount);

      // Pins are shared again: one moved on gateway 0 is followed by gateway 1.
      const fresh = 'conv-after-restart';
      failFirstAttemptOf(mock, fresh);
      const freshAccount = await ask(gateways[0]!, fresh);
      mock.fault = undefined;
      for (let i = 0; i < 6; i++) expect(await ask(gateways[1]!, fresh)).toBe(freshAccount);
    } finally {
      await Promise.all(gateways.map((g) => g.close()));
      await redis.stop();
    }
  });

  it('keeps serving while Redis is paused: no request waits on it longer than redis.timeoutMs', async () => {
    const redis = await startRedis();
    const timeoutMs = 150; // a few milliseconds, yet more than a busy test machine stalls for
    const gateways = await twoGateways(redis, timeoutMs);
    try {
      const id = 'conv-paused';
      const account = await ask(gateways[0]!, id);
      await sendCommand(redis.port, 'CLIENT PAUSE 3000 ALL');
      const latencies: number[] = [];
      for (let i = 0; i < 30; i++) {
        const started = performance.now();
        expect(await ask(gateways[i % 2]!, id)).toBe(account);
        latencies.push(performance.now() - started);
      }
      // Not one request waited for the paused Redis (3 s): at most the timeout, then the breaker answers at once.
      // (The bound is loose only for busy test machines.)
      expect(Math.max(...latencies)).toBeLessThan(timeoutMs + 1_000);
      for (const g of gateways) expect(count(g.logs.lines, OUTAGE)).toBe(1);
      // Once the pause is over, the breaker lets a request probe Redis, and Redis is used again.
      await vi.waitFor(
        async () => {
          for (const g of gateways) expect(await ask(g, id)).toBe(account);
          expect(gateways.map((g) => count(g.logs.lines, RECOVERY))).toEqual([1, 1]);
        },
        { timeout: 8_000, interval: 50 },
      );
      for (const g of gateways) expect(count(g.logs.lines, OUTAGE)).toBe(1);
    } finally {
      await Promise.all(gateways.map((g) => g.close()));
      await redis.stop();
    }
  });

  it('starts and serves while Redis is down, and pins through Redis once it is up', async () => {
    const redis = await startRedis();
    await redis.stop();
    const gateway = await startGateway(gatewayConfig(mock.url, { redis: { url: redis.url, timeoutMs: PATIENT_MS } }));
    try {
      const id = 'conv-cold-start';
      const first = await ask(gateway, id);
      for (let i = 0; i < 5; i++) expect(await ask(gateway, id)).toBe(first);
      await ask(gateway);
      await vi.waitFor(() => expect(count(gateway.logs.lines, OUTAGE)).toBe(1));

      await redis.start();
      await vi.waitFor(() => expect(gateway.app.services.redis!.ready).toBe(true), { timeout: 10_000, interval: 20 });
      expect(await ask(gateway, id)).toBe(first);
      expect(await sendCommand(redis.port, `GET gw:pin:${conversationKey('mock', 'team-alpha', id)}`)).toBe(first);
      expect(count(gateway.logs.lines, RECOVERY)).toBe(1);
    } finally {
      await gateway.close();
      await redis.stop();
    }
  });
});
