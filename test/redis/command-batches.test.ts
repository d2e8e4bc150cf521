// How the shared connection writes: the commands of one turn of the event loop in one write, a later turn's
// without waiting for the earlier replies, and held-back writes along with the next command. A real
// redis-server behind a relay that records the connection's writes.
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { RedisConnection } from '../../src/redis/connection.js';
import { commandsIn, startTappedRedis, type RedisTap, type TappedRedis } from '../helpers/redis-tap.js';


describe('command batches', () => {
  let tapped: TappedRedis;
  let tap: RedisTap;
  let redis: RedisConnection;

  beforeAll(async () => {
    tapped = await startTappedRedis();
    ({ tap, redis } = tapped);
  });
  afterEach(() => tap.release());
  afterAll(async () => {
    await tapped.close();
  });

  it('sends the commands asked for in one turn in one write', async () => {
    const before = tap.writes.length;
    const replies = await Promise.all([redis.run((c) => c.set('batch:a', '1')), redis.run((c) => c.incr('batch:n')), redis.run((c) => c.get('batch:a'))]);
    expect(replies).toEqual(['OK', 1, '1']);
    const sent = tap.writes.slice(before);
    expect(sent).toHaveLength(1);
    expect(commandsIn(sent[0]!)).toBe(3);
  });

  it('sends a later turn’s commands while the replies to an earlier one are still awaited', async () => {
    const before = tap.writes.length;
    tap.hold();
    const first = redis.run((c) => c.incr('batch:first'));
    await vi.waitFor(() => expect(tap.writes.length).toBe(before + 1), { timeout: 5_000, interval: 5 });
    const second = redis.run((c) => c.incr('batch:second'));
    // Written although the first reply has not come back: one batch does not queue behind another.
    await vi.waitFor(() => expect(tap.writes.length).toBe(before + 2), { timeout: 5_000, interval: 5 });
    tap.release();
    expect(await Promise.all([first, second])).toEqual([1, 1]);
  });

  it('sends what a write-behind holds with the next command, and within its bound when no command comes', async () => {
    let held: string[] = [];
    const written: Promise<unknown>[] = [];
    redis.addWriteBehind(() => {
      for (const value of held) written.push(redis.run((c) => c.rpush('batch:behind', value)));
      held = [];
    });

    held.push('rides-along');
    redis.writeWithin(60_000);
    const before = tap.writes.length;
    expect(await redis.run((c) => c.ping())).toBe('PONG');
    expect(tap.writes.slice(before)).toHaveLength(1);
    expect(commandsIn(tap.writes[before]!)).toBe(2);
    await Promise.all(written);

    held.push('on-its-own');
    redis.writeWithin(20);
    await vi.waitFor(() => expect(written).toHaveLength(2), { timeout: 5_000, interval: 5 });
    await Promise.all(written);
    expect(await redis.run((c) => c.lrange('batch:behind', 0, -1))).toEqual(['rides-along', 'on-its-own']);
  });
});
