// The leased budget store (limits.admission: lease) on a real Redis: a share of what is left held under
// the instance's field of the key's held hash, reservations admitted from it without a command, costs
// written exactly, the unused part given back when idle and on close, and a dead instance's lease lapsing.
import type { FastifyBaseLogger } from 'fastify';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LeasedBudgetStore } from '../../src/spend/leased-budget-store.js';
import { redisBackends, scriptCalls, type RedisBackend } from '../helpers/redis-connection.js';

const silent = pino({ level: 'silent' }) as unknown as FastifyBaseLogger;
const NOON = Date.UTC(2026, 11, 30, 12, 0, 0);
const BUDGET = { day: 1_000_000 };

describe('leased budgets on Redis', () => {
  let backend: RedisBackend;
  let store: LeasedBudgetStore;
  let peer: LeasedBudgetStore;
  beforeAll(async () => {
    backend = await redisBackends[0]![1]();
    store = new LeasedBudgetStore(backend.redis, silent, 0.1, 600_000);
    peer = new LeasedBudgetStore(backend.redis, silent, 0.5, 600_000);
  });
  afterAll(async () => {
    await Promise.all([store.close(), peer.close()]);
    await backend.close();
  });
  const heldKey = (keyName: string): string => `${backend.redis.keyPrefix}spend:{${keyName}}:held`;

  it('takes a share of what is left with its first reservation and admits the next from it without a command', async () => {
    expect((await store.reserve('shared', BUDGET, 10_000, NOON)).allowed).toBe(true);
    // The reservation, and a tenth of the 990,000 left beside it.
    expect(await store.held('shared')).toBe(10_000 + 99_000);
    const before = await scriptCalls(backend.redis);
    for (let i = 0; i < 4; i++) expect((await store.reserve('shared', BUDGET, 10_000, NOON)).allowed).toBe(true);
    expect(await scriptCalls(backend.redis)).toBe(before);
    // Past half of the share: admitted from what is left, and a tenth of what is left now taken in the background.
    expect((await store.reserve('shared', BUDGET, 10_000, NOON)).allowed).toBe(true);
    await expect.poll(() => store.held('shared')).toBe(109_000 + 89_100);
  });

  it('writes the costs exactly, and gives back the unused part when idle for a renewal period and on close', async () => {
    const decisions = await Promise.all([1, 2, 3].map(() => store.reserve('costs', BUDGET, 10_000, NOON)));
    expect(decisions.every((d) => d.allowed)).toBe(true);
    for (const micros of [7_000, 12_000, 9_999]) store.settle('costs', 10_000, micros, NOON);
    // Counted here at once; in Redis once written.
    expect(await store.spent('costs', NOON)).toEqual({ day: 28_999, month: 28_999 });
    await store.flush();
    expect(await peer.spent('costs', NOON)).toEqual({ day: 28_999, month: 28_999 });
    expect(await store.held('costs')).toBeGreaterThan(0);
    store.renew(); // used since the last renewal: kept
    store.renew(); // idle: its room goes back
    await expect.poll(() => store.held('costs')).toBe(0);
  });

  it('never holds more, over every instance, than the budget has left', async () => {
    const budget = { day: 100_000 };
    const decided = await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 === 0 ? store : peer).reserve('tight', budget, 30_000, NOON)));
    expect(decided.filter((d) => d.allowed).length).toBeLessThanOrEqual(3);
    expect(await store.held('tight')).toBeLessThanOrEqual(100_000);
    // Later requests on either instance: admitted from a lease or by Redis, never past the budget.
    const more = await Promise.all(Array.from({ length: 6 }, (_, i) => (i % 2 === 0 ? peer : store).reserve('tight', budget, 10_000, NOON)));
    const held = decided.filter((d) => d.allowed).length * 30_000 + more.filter((d) => d.allowed).length * 10_000;
    expect(held).toBeLessThanOrEqual(100_000);
  });

  it("stops counting a dead instance's lease once its hold has lapsed", async () => {
    expect((await peer.reserve('orphaned', BUDGET, 10_000, NOON)).allowed).toBe(true);
    expect(await store.held('orphaned')).toBeGreaterThan(10_000);
    // As if the peer died and its hold's time ran out.
    await backend.redis.run((client) => client.hset(heldKey('orphaned'), `${peer.instanceId}:t`, 1));
    expect(await store.held('orphaned')).toBe(0);
  });
});
