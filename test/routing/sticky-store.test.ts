// One suite for every StickyStore: in memory, on a real Redis, and on a real three-node Redis Cluster.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryStickyStore } from '../../src/routing/sticky/memory-store.js';
import { RedisStickyStore } from '../../src/routing/sticky/redis-store.js';
import { conversationKey, MAX_PLAIN_ID_LENGTH, type StickyStore } from '../../src/routing/sticky/store.js';
import { connectRedis, redisBackends } from '../helpers/redis-connection.js';
import { startRedis } from '../helpers/redis.js';

const TTL = 60;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface StoreUnderTest {
  store: StickyStore;
  close(): Promise<void>;
}

const backends: [string, () => Promise<StoreUnderTest>][] = [
  ['memory', async () => ({ store: new MemoryStickyStore(1_000), close: async () => {} })],
  ...redisBackends.map(([name, open]): [string, () => Promise<StoreUnderTest>] => [
    name,
    async () => {
      const { redis, close } = await open();
      return { store: new RedisStickyStore(redis), close };
    },
  ]),
];

describe.each(backends)('%s sticky store', (_name, make) => {
  let subject: StoreUnderTest;
  let store: StickyStore;
  beforeAll(async () => {
    subject = await make();
    store = subject.store;
  });
  afterAll(async () => {
    await subject.close();
  });

  it('pins the first candidate and keeps it whatever later candidates say', async () => {
    const key = conversationKey('pool', 'team-a', 'keeps');
    expect(await store.pin(key, 'acct-1', TTL)).toBeNull();
    expect(await store.pin(key, 'acct-2', TTL)).toBe('acct-1');
    expect(await store.pin(key, 'acct-3', TTL)).toBe('acct-1');
  });

  it('expires a pin after its TTL unless a use refreshes it', async () => {
    const idle = conversationKey('pool', 'team-a', 'ttl-idle');
    const used = conversationKey('pool', 'team-a', 'ttl-used');
    expect(await store.pin(idle, 'acct-1', 1)).toBeNull();
    expect(await store.pin(used, 'acct-1', 1)).toBeNull();
    await sleep(600);
    expect(await store.pin(used, 'acct-2', 1)).toBe('acct-1'); // refreshed: lives another second from now
    await sleep(600);
    // 1.2 s after pinning: the idle pin is gone (its key is pinned afresh), the used one is still there.
    expect(await store.pin(idle, 'acct-2', 1)).toBeNull();
    expect(await store.pin(idle, 'acct-3', 1)).toBe('acct-2');
    expect(await store.pin(used, 'acct-3', 1)).toBe('acct-1');
  });

  it('repins a key, replacing its account', async () => {
    const key = conversationKey('pool', 'team-a', 'repin');
    await store.repin(key, 'acct-2', TTL); // repinning a key without a pin creates it
    expect(await store.pin(key, 'acct-1', TTL)).toBe('acct-2');
    await store.repin(key, 'acct-3', TTL);
    expect(await store.pin(key, 'acct-1', TTL)).toBe('acct-3');
  });

  it('keeps pins apart by client key and by pool for the same conversation id', async () => {
    const id = 'same-id';
    expect(await store.pin(conversationKey('pool', 'team-a', id), 'acct-1', TTL)).toBeNull();
    expect(await store.pin(conversationKey('pool', 'team-b', id), 'acct-2', TTL)).toBeNull();
    expect(await store.pin(conversationKey('other-pool', 'team-a', id), 'acct-3', TTL)).toBeNull();
    expect(await store.pin(conversationKey('pool', 'team-a', id), 'x', TTL)).toBe('acct-1');
    expect(await store.pin(conversationKey('pool', 'team-b', id), 'x', TTL)).toBe('acct-2');
    expect(await store.pin(conversationKey('other-pool', 'team-a', id), 'x', TTL)).toBe('acct-3');
  });

  it('stores any conversation id, braces and very long ones included', async () => {
    for (const id of ['{tag}', 'a}b{c', 'ünïcødé 会话', 'x'.repeat(10_000), `${'y'.repeat(MAX_PLAIN_ID_LENGTH)}z`]) {
      const key = conversationKey('pool', 'team-a', id);
      expect(key.length).toBeLessThan(MAX_PLAIN_ID_LENGTH + 64);
      expect(await store.pin(key, 'acct-1', TTL)).toBeNull();
      expect(await store.pin(key, 'acct-2', TTL)).toBe('acct-1');
    }
    // Ids that differ only past the hashing threshold stay apart.
    const a = conversationKey('pool', 'team-a', `${'q'.repeat(500)}a`);
    const b = conversationKey('pool', 'team-a', `${'q'.repeat(500)}b`);
    expect(a).not.toBe(b);
  });
});

describe('redis sticky store keys', () => {
  it('writes keys under the configured prefix, with the TTL it was given', async () => {
    const server = await startRedis();
    const { redis, close } = await connectRedis({ url: server.url, keyPrefix: 'team7:' }, () => server.stop());
    try {
      await new RedisStickyStore(redis).pin(conversationKey('pool', 'team-a', 'prefix'), 'acct-1', 100);
      const redisKey = 'team7:pin:pool:team-a:prefix';
      expect(await redis.run((c) => c.get(redisKey))).toBe('acct-1');
      const ttl = await redis.run((c) => c.ttl(redisKey));
      expect(ttl).toBeGreaterThan(95);
      expect(ttl).toBeLessThanOrEqual(100);
    } finally {
      await close();
    }
  });
});

describe('memory sticky store bounds', () => {
  it('keeps at most maxEntries pins, dropping the least recently used', async () => {
    const store = new MemoryStickyStore(3);
    for (const id of ['a', 'b', 'c']) await store.pin(id, `acct-${id}`, TTL);
    expect(await store.pin('a', 'x', TTL)).toBe('acct-a'); // a is now the most recently used
    await store.pin('d', 'acct-d', TTL); // evicts b, the least recently used
    expect(store.size).toBe(3);
    expect(await store.pin('a', 'x', TTL)).toBe('acct-a');
    expect(await store.pin('c', 'x', TTL)).toBe('acct-c');
    expect(await store.pin('d', 'x', TTL)).toBe('acct-d');
    expect(await store.pin('b', 'acct-b2', TTL)).toBeNull(); // b was gone
    expect(store.size).toBe(3);
  });

  it('sweeps expired pins as new ones arrive, without waiting for the bound', async () => {
    let now = 1_000_000;
    const store = new MemoryStickyStore(1_000, () => now);
    for (let i = 0; i < 10; i++) await store.pin(`old-${i}`, 'acct-1', 1);
    now += 2_000;
    for (let i = 0; i < 5; i++) await store.pin(`new-${i}`, 'acct-1', 1);
    expect(store.size).toBe(5);
  });
});
