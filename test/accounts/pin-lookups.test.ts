// Lookups of one pin sent at the same time share one Redis command and one answer; a lookup sent after the
// answer asks again. A real Redis.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisStickyStore } from '../../src/accounts/sticky/redis-store.js';
import { connectRedis, type RedisBackend } from '../helpers/redis-connection.js';
import { startRedis } from '../helpers/redis.js';

async function scriptCalls(backend: RedisBackend): Promise<number> {
  const info = await backend.redis.run((c) => c.info('commandstats'));
  let calls = 0;
  for (const m of info.matchAll(/^cmdstat_(?:evalsha|eval):calls=(\d+)/gm)) calls += Number(m[1]);
  return calls;
}

describe('pin lookups in Redis', () => {
  let backend: RedisBackend;
  let store: RedisStickyStore;

  beforeAll(async () => {
    const server = await startRedis();
    backend = await connectRedis({ url: server.url }, () => server.stop());
    store = new RedisStickyStore(backend.redis, 1_000);
  });
  afterAll(async () => {
    await backend.close();
  });

  it('share one command when they are on their way together, and ask again afterwards', async () => {
    await store.set('mock:team:conv', 'acct-b', 3600, 'team');
    await store.get('other', 3600); // the script is loaded: EVALSHA from here on
    const before = await scriptCalls(backend);
    expect(await Promise.all([1, 2, 3, 4].map(() => store.get('mock:team:conv', 3600)))).toEqual(['acct-b', 'acct-b', 'acct-b', 'acct-b']);
    expect(await scriptCalls(backend)).toBe(before + 1);

    await store.set('mock:team:conv', 'acct-c', 3600, 'team');
    expect(await store.get('mock:team:conv', 3600)).toBe('acct-c');
  });
});
