// StickySelector decisions, with in-memory stores and a store that always fails.
import { describe, expect, it } from 'vitest';
import type { ClientKey } from '../../src/auth/client-keys.js';
import type { Account, UpstreamPool } from '../../src/accounts/pool.js';
import type { Selection } from '../../src/accounts/selector.js';
import { StickySelector, type StickyResult } from '../../src/accounts/sticky-selector.js';
import { MemoryStickyStore } from '../../src/accounts/sticky/memory-store.js';
import { rendezvous } from '../../src/accounts/sticky/rendezvous.js';
import { conversationKey, type StickyStore } from '../../src/accounts/sticky/store.js';
import { poolWithWeights } from '../helpers/pools.js';

const TTL = 3600;
/** The selector's clock: cool-downs end when a test moves it, never by sleeping. */
let clock = Date.UTC(2026, 10, 22, 10, 30, 0);
const now = (): number => clock;

function client(name: string): ClientKey {
  return { name, allowedModels: undefined, config: { name } };
}

const alpha = client('team-alpha');
const beta = client('team-beta');

const failingStore: StickyStore = {
  get: () => Promise.reject(new Error('Redis is unavailable')),
  set: () => Promise.reject(new Error('Redis is unavailable')),
  touch: () => Promise.reject(new Error('Redis is unavailable')),
  close: async () => {},
};

/** Selects, and reports the account as having served (as the forwarder does once an upstream answered). */
async function serve(selector: StickySelector, pool: UpstreamPool, who: ClientKey, id: string | undefined): Promise<Account> {
  const selection = await selector.select(pool, who, id);
  selection.onServed?.(selection.account);
  await settle();
  return selection.account;
}

function setup(store: StickyStore = new MemoryStickyStore(100), local?: MemoryStickyStore) {
  const results: StickyResult[] = [];
  const selector = new StickySelector({ store, local, ttlSeconds: TTL, onResult: (r) => results.push(r), now });
  return { selector, results };
}

/** Lets fire-and-forget repins land. */
const settle = (): Promise<void> => new Promise((r) => setImmediate(r));

async function select(selector: StickySelector, pool: UpstreamPool, who: ClientKey, id: string | undefined): Promise<Selection> {
  return selector.select(pool, who, id);
}

function hashChoice(pool: UpstreamPool, who: ClientKey, id: string): Account {
  return rendezvous(pool, conversationKey(pool.name, who.name, id), clock)!;
}

/** A conversation id whose hash choice differs between two clients, so the tests can tell pins apart. */
function idWhereClientsDiffer(pool: UpstreamPool): string {
  for (let i = 0; i < 1_000; i++) {
    const id = `conv-${i}`;
    if (hashChoice(pool, alpha, id) !== hashChoice(pool, beta, id)) return id;
  }
  throw new Error('every conversation id hashes alike for both clients: the client key is not part of the key');
}

describe('StickySelector', () => {
  it('balances requests without a conversation id by weight, and reports nothing for them', async () => {
    const pool = poolWithWeights();
    const { selector, results } = setup();
    const names: string[] = [];
    for (let i = 0; i < 8; i++) names.push((await select(selector, pool, alpha, undefined)).account.name);
    expect(names).toEqual(['a', 'b', 'c', 'a', 'a', 'b', 'c', 'a']);
    expect(results).toEqual([]);
  });

  it('pins a new conversation to its hash choice and keeps it there', async () => {
    const pool = poolWithWeights();
    const { selector, results } = setup();
    const first = await serve(selector, pool, alpha, 'conv-1');
    expect(first).toBe(hashChoice(pool, alpha, 'conv-1'));
    for (let i = 0; i < 5; i++) expect(await serve(selector, pool, alpha, 'conv-1')).toBe(first);
    expect(results).toEqual(['new', 'hit', 'hit', 'hit', 'hit', 'hit']);
  });

  it('writes no pin until an account has served the request', async () => {
    const store = new MemoryStickyStore(100);
    const pool = poolWithWeights();
    const { selector, results } = setup(store);
    for (let i = 0; i < 3; i++) await select(selector, pool, alpha, 'conv-unserved'); // every attempt failed upstream
    await settle();
    expect(store.size).toBe(0);
    expect(results).toEqual(['new', 'new', 'new']);
    const served = await serve(selector, pool, alpha, 'conv-unserved');
    expect(await store.get(conversationKey('mock', alpha.name, 'conv-unserved'), TTL)).toBe(served.name);
  });

  it('re-pins a conversation whose account cools down, and keeps it on the new account after recovery', async () => {
    const pool = poolWithWeights();
    const { selector, results } = setup();
    const old = await serve(selector, pool, alpha, 'conv-cool');
    old.coolingUntil = clock + 60_000;
    const moved = await serve(selector, pool, alpha, 'conv-cool');
    expect(moved).not.toBe(old);
    expect(moved.isHealthy(clock)).toBe(true);
    old.coolingUntil = 0;
    expect(await serve(selector, pool, alpha, 'conv-cool')).toBe(moved);
    expect(results).toEqual(['new', 'repinned', 'hit']);
  });

  it('routes by its own clock: an account cooling down until a moment serves again once the clock passes it', async () => {
    const pool = poolWithWeights();
    const { selector } = setup();
    const first = await serve(selector, pool, alpha, 'conv-clock');
    first.coolingUntil = clock + 10_000;
    expect(await serve(selector, pool, alpha, 'conv-clock')).not.toBe(first);
    clock += 10_001;
    const later = Array.from({ length: 200 }, (_, i) => `conv-clock-${i}`).find((id) => hashChoice(pool, alpha, id) === first);
    expect(later).toBeDefined();
    expect(await serve(selector, pool, alpha, later)).toBe(first);
  });

  it('re-pins a conversation whose account left the config', async () => {
    const store = new MemoryStickyStore(100);
    const { selector, results } = setup(store);
    const key = conversationKey('mock', alpha.name, 'conv-gone');
    await store.set(key, 'removed-account', TTL);
    const pool = poolWithWeights();
    const chosen = await serve(selector, pool, alpha, 'conv-gone');
    expect(chosen).toBe(hashChoice(pool, alpha, 'conv-gone'));
    expect(await store.get(key, TTL)).toBe(chosen.name);
    expect(results).toEqual(['repinned']);
  });

  it('follows a failover: the account that served becomes the pin', async () => {
    const pool = poolWithWeights();
    const { selector, results } = setup();
    const first = await select(selector, pool, alpha, 'conv-failover');
    const other = pool.accounts.find((a) => a !== first.account)!;
    first.onServed!(other);
    await settle();
    expect((await select(selector, pool, alpha, 'conv-failover')).account).toBe(other);
    expect(results).toEqual(['new', 'hit']);
  });

  it('keeps one client key from seeing another one\'s pin for the same conversation id', async () => {
    const pool = poolWithWeights();
    const id = idWhereClientsDiffer(pool);
    const { selector, results } = setup();
    const a = await serve(selector, pool, alpha, id);
    const b = await serve(selector, pool, beta, id);
    expect(b).not.toBe(a);
    expect(b).toBe(hashChoice(pool, beta, id));
    expect(results).toEqual(['new', 'new']);
  });

  it('tries the account that recovers first when all are cooling down, and re-pins only once one serves', async () => {
    const store = new MemoryStickyStore(100);
    const pool = poolWithWeights();
    const { selector } = setup(store);
    const pinned = await serve(selector, pool, alpha, 'conv-all-cooling');
    const now = clock;
    for (const account of pool.accounts) account.coolingUntil = now + (account === pinned ? 30_000 : 10_000);
    const soonest = pool.accounts.filter((a) => a !== pinned).sort((x, y) => x.name.localeCompare(y.name))[0]!;
    soonest.coolingUntil = now + 5_000;
    const selection = await select(selector, pool, alpha, 'conv-all-cooling');
    expect(selection.account).toBe(soonest);
    await settle();
    const key = conversationKey('mock', alpha.name, 'conv-all-cooling');
    expect(await store.get(key, TTL)).toBe(pinned.name); // not moved yet: nothing healthy to move to
    selection.onServed!(soonest);
    await settle();
    expect(await store.get(key, TTL)).toBe(soonest.name);
  });

  it('keeps a conversation on its account, as a hit, when that account is the pool\'s only one and it is cooling down', async () => {
    const pool = poolWithWeights({ only: 1 });
    const { selector, results } = setup();
    const first = await serve(selector, pool, alpha, 'conv-single');
    first.coolingUntil = clock + 60_000;
    expect(await serve(selector, pool, alpha, 'conv-single')).toBe(first);
    expect(results).toEqual(['new', 'hit']);
  });

  it('falls back to the hash choice when the store fails, without throwing', async () => {
    const pool = poolWithWeights();
    const { selector, results } = setup(failingStore);
    for (let i = 0; i < 3; i++) {
      const selection = await select(selector, pool, alpha, 'conv-down');
      expect(selection.account).toBe(hashChoice(pool, alpha, 'conv-down'));
      selection.onServed!(pool.accounts.find((a) => a !== selection.account)!); // a failed repin is swallowed
    }
    await settle();
    expect(results).toEqual(['fallback', 'fallback', 'fallback']);
  });

  it('routes by its local copy of the pins while the shared store fails, and writes them back to a store that lost them', async () => {
    const pool = poolWithWeights();
    const local = new MemoryStickyStore(100);
    const shared = new MemoryStickyStore(100);
    const up = new StickySelector({ store: shared, local, ttlSeconds: TTL });
    const first = await up.select(pool, alpha, 'conv-local');
    const moved = pool.accounts.find((a) => a !== first.account)!;
    first.onServed!(moved); // a failover moved the conversation away from its hash choice
    await settle();

    const down = new StickySelector({ store: failingStore, local, ttlSeconds: TTL });
    for (let i = 0; i < 3; i++) expect(await serve(down, pool, alpha, 'conv-local')).toBe(moved);

    const emptied = new MemoryStickyStore(100); // a restarted Redis, without persistence
    const back = new StickySelector({ store: emptied, local, ttlSeconds: TTL });
    expect(await serve(back, pool, alpha, 'conv-local')).toBe(moved);
    expect(await emptied.get(conversationKey('mock', alpha.name, 'conv-local'), TTL)).toBe(moved.name);
  });
});
