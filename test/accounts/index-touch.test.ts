// A pin served again and again within a second is touched in its key's index once, not per request; a
// moved pin is written at once. A clock the test moves, a real in-memory store that counts the writes.
import { describe, expect, it } from 'vitest';
import type { ClientKey } from '../../src/auth/client-keys.js';
import type { UpstreamPool } from '../../src/accounts/pool.js';
import { INDEX_TOUCH_INTERVAL_MS, StickySelector } from '../../src/accounts/sticky-selector.js';
import { MemoryStickyStore } from '../../src/accounts/sticky/memory-store.js';
import { poolWithWeights } from '../helpers/pools.js';

class CountingStore extends MemoryStickyStore {
  sets = 0;
  touches = 0;
  override async set(key: string, account: string, ttlSeconds: number): Promise<void> {
    this.sets++;
    return super.set(key, account, ttlSeconds);
  }
  override async touch(): Promise<void> {
    this.touches++;
    return super.touch();
  }
}

const alpha: ClientKey = { name: 'team-alpha', allowedModels: undefined, config: { name: 'team-alpha' } };

describe('touching a pin in its key index', () => {
  it('happens at most once per interval for a pin served again, and a new pin is written at once', async () => {
    let clock = Date.UTC(2026, 10, 22, 10, 30, 0);
    const store = new CountingStore(100);
    const selector = new StickySelector({ store, local: new MemoryStickyStore(100), ttlSeconds: 3600, now: () => clock });
    const pool: UpstreamPool = poolWithWeights();
    const serve = async (id: string): Promise<void> => {
      const selection = await selector.select(pool, alpha, id);
      selection.onServed?.(selection.account);
      await new Promise((r) => setImmediate(r));
    };

    await serve('burst');
    expect([store.sets, store.touches]).toEqual([1, 0]);
    for (let i = 0; i < 20; i++) await serve('burst');
    expect(store.touches).toBe(0);
    clock += INDEX_TOUCH_INTERVAL_MS;
    await serve('burst');
    await serve('burst');
    expect([store.sets, store.touches]).toEqual([1, 1]);
    await serve('another');
    expect(store.sets).toBe(2);
  });
});
