// One suite for every StickyStore: in memory, on a real Redis, and on a real three-node Redis Cluster.
import calculateSlot from 'cluster-key-slot';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryStickyStore } from '../../src/accounts/sticky/memory-store.js';
import { RedisStickyStore } from '../../src/accounts/sticky/redis-store.js';
import { conversationKey, type StickyStore } from '../../src/accounts/sticky/store.js';
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
      return { store: new RedisStickyStore(redis, 1_000), close };
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

  it('finds no pin until one is set, and keeps the one set', async () => {
    const key = conversationKey('pool', 'team-a', 'keeps');
    expect(await store.get(key, TTL)).toBeNull();
    expect(await store.get(key, TTL)).toBeNull(); // looking does not pin
    await store.set(key, 'acct-1', TTL, 'team-a');
    expect(await store.get(key, TTL)).toBe('acct-1');
    expect(await store.get(key, TTL)).toBe('acct-1');
  });

  it('expires a pin after its TTL unless a use refreshes it', async () => {
    const idle = conversationKey('pool', 'team-a', 'ttl-idle');
    const used = conversationKey('pool', 'team-a', 'ttl-used');
    await store.set(idle, 'acct-1', 1, 'team-a');
    await store.set(used, 'acct-1', 1, 'team-a');
    await sleep(600);
    expect(await store.get(used, 1)).toBe('acct-1'); // refreshed: lives another second from now
    await sleep(600);
    // 1.2 s after pinning: the idle pin is gone, the used one is still there.
    expect(await store.get(idle, 1)).toBeNull();
    expect(await store.get(used, 1)).toBe('acct-1');
  });

  it('replaces a pin', async () => {
    const key = conversationKey('pool', 'team-a', 'repin');
    await store.set(key, 'acct-2', TTL, 'team-a');
    expect(await store.get(key, TTL)).toBe('acct-2');
    await store.set(key, 'acct-3', TTL, 'team-a');
    expect(await store.get(key, TTL)).toBe('acct-3');
  });

  it('keeps pins apart by client key and by pool for the same conversation id', async () => {
    const id = 'same-id';
    await store.set(conversationKey('pool', 'team-a', id), 'acct-1', TTL, 'team-a');
    await store.set(conversationKey('pool', 'team-b', id), 'acct-2', TTL, 'team-b');
    await store.set(conversationKey('other-pool', 'team-a', id), 'acct-3', TTL, 'team-a');
    expect(await store.get(conversationKey('pool', 'team-a', id), TTL)).toBe('acct-1');
    expect(await store.get(conversationKey('pool', 'team-b', id), TTL)).toBe('acct-2');
    expect(await store.get(conversationKey('other-pool', 'team-a', id), TTL)).toBe('acct-3');
  });

  it('stores any conversation id, braces and very long ones included', async () => {
    for (const id of ['{tag}', 'a}b{c', 'ünïcødé 会话', 'x'.repeat(10_000), `${'y'.repeat(500)}z`]) {
      const key = conversationKey('pool', 'team-a', id);
      await store.set(key, 'acct-1', TTL, 'team-a');
      expect(await store.get(key, TTL)).toBe('acct-1');
    }
    // Ids that differ only at their end stay apart.
    const a = conversationKey('pool', 'team-a', `${'q'.repeat(500)}a`);
    const b = conversationKey('pool', 'team-a', `${'q'.repeat(500)}b`);
    expect(a).not.toBe(b);
  });
});

describe('conversation keys', () => {
  it('hold a hash of the id, never the id: braces in ids do not choose a Redis Cluster slot', () => {
    const ids = Array.from({ length: 64 }, (_, i) => `{team-b}:${i}`);
    const keys = ids.map((id) => `gw:pin:${conversationKey('pool', 'team-a', id)}`);
    for (const [i, key] of keys.entries()) {
      expect(key).not.toContain(ids[i]);
      expect(key).not.toMatch(/[{}]/);
      expect(key.length).toBeLessThan(80);
    }
    // With the id as it came, every key would hash by its "{team-b}" tag to one slot: that of team-b's limits.
    const tagged = calculateSlot('gw:limit:{team-b}');
    expect(ids.every((id) => calculateSlot(`gw:pin:pool:team-a:${id}`) === tagged)).toBe(true);
    const slots = new Set(keys.map((key) => calculateSlot(key)));
    expect(slots.size).toBeGreaterThan(50);
    expect(slots.has(tagged)).toBe(false);
  });
});

describe('redis sticky store keys', () => {
  it('writes keys under the configured prefix, with the TTL it was given, and never the raw id', async () => {
    const server = await startRedis();
    const { redis, close } = await connectRedis({ url: server.url, keyPrefix: 'team7:' }, () => server.stop());
    try {
      const id = '{slot-of-my-choice}conversation';
      await new RedisStickyStore(redis, 100).set(conversationKey('pool', 'team-a', id), 'acct-1', 100, 'team-a');
      const redisKey = `team7:pin:${conversationKey('pool', 'team-a', id)}`;
      expect(await redis.run((c) => c.get(redisKey))).toBe('acct-1');
      const ttl = await redis.run((c) => c.ttl(redisKey));
      expect(ttl).toBeGreaterThan(95);
      expect(ttl).toBeLessThanOrEqual(100);
      const keys = await redis.run((c) => c.keys('*'));
      expect(keys.sort()).toEqual([redisKey, 'team7:pins:team-a'].sort());
      for (const key of keys) expect(key).not.toContain('slot-of-my-choice');
    } finally {
      await close();
    }
  });

  it('holds at most maxPinsPerKey pins per client key, dropping the least recently used', async () => {
    const server = await startRedis();
    const { redis, close } = await connectRedis({ url: server.url }, () => server.stop());
    try {
      const store = new RedisStickyStore(redis, 3);
      const key = (id: string): string => conversationKey('pool', 'team-a', id);
      for (const id of ['a', 'b', 'c']) {
        await store.set(key(id), `acct-${id}`, TTL, 'team-a');
        await sleep(5); // the index orders by Redis's clock, in milliseconds
      }
      expect(await store.get(key('a'), TTL)).toBe('acct-a');
      await store.touch(key('a'), TTL, 'team-a'); // a is now the most recently used
      await sleep(5);
      await store.set(key('d'), 'acct-d', TTL, 'team-a'); // drops b, the least recently used
      await store.set(conversationKey('pool', 'team-b', 'other'), 'acct-x', TTL, 'team-b'); // another key's own budget
      expect(await store.get(key('b'), TTL)).toBeNull();
      for (const id of ['a', 'c', 'd']) expect(await store.get(key(id), TTL)).toBe(`acct-${id}`);
      expect(await store.get(conversationKey('pool', 'team-b', 'other'), TTL)).toBe('acct-x');
      expect(await redis.run((c) => c.zcard('gw:pins:team-a'))).toBe(3);
      for (let i = 0; i < 20; i++) await store.set(key(`more-${i}`), 'acct-1', TTL, 'team-a');
      expect(await redis.run((c) => c.keys('gw:pin:pool:team-a:*'))).toHaveLength(3);
    } finally {
      await close();
    }
  });
});

describe('memory sticky store bounds', () => {
  it('keeps at most maxEntries pins, dropping the least recently used', async () => {
    const store = new MemoryStickyStore(3);
    for (const id of ['a', 'b', 'c']) await store.set(id, `acct-${id}`, TTL);
    expect(await store.get('a', TTL)).toBe('acct-a'); // a is now the most recently used
    await store.set('d', 'acct-d', TTL); // evicts b, the least recently used
    expect(store.size).toBe(3);
    expect(await store.get('a', TTL)).toBe('acct-a');
    expect(await store.get('c', TTL)).toBe('acct-c');
    expect(await store.get('d', TTL)).toBe('acct-d');
    expect(await store.get('b', TTL)).toBeNull(); // b was gone
    expect(store.size).toBe(3);
  });

  it('sweeps expired pins as new ones arrive, without waiting for the bound', async () => {
    let now = 1_000_000;
    const store = new MemoryStickyStore(1_000, () => now);
    for (let i = 0; i < 10; i++) await store.set(`old-${i}`, 'acct-1', 1);
    now += 2_000;
    for (let i = 0; i < 5; i++) await store.set(`new-${i}`, 'acct-1', 1);
    expect(store.size).toBe(5);
  });
});
