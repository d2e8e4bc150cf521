import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SYNC_INTERVAL_MS } from '../../src/keys/registry.js';
import { admin, ADMINS, chat, eventually } from '../helpers/admin.js';
import { CLIENT_KEY, startGateway, testConfig, type RunningGateway } from '../helpers/gateway.js';
import { startMockUpstream, type MockUpstream } from '../helpers/mock-upstream.js';
import { startPostgres, type PostgresServer } from '../helpers/postgres.js';
import { startRedis, type RedisServer } from '../helpers/redis.js';

/** The bound: a change made through one instance is in force on every instance within this. */
const PROPAGATION_MS = 2_000;

type Key = { id: string; key: string };

const ok = (gw: RunningGateway, key: string) => async () => (await chat(gw.baseURL, key)).status === 200;

describe('two gateway instances sharing PostgreSQL and Redis', () => {
  let pg: PostgresServer;
  let redis: RedisServer;
  let upstream: MockUpstream;
  let a: RunningGateway;
  let b: RunningGateway;
  const config = () => testConfig(upstream.url, { admins: ADMINS, database: { url: pg.url }, redis: { url: redis.url } });

  beforeAll(async () => {
    [pg, redis, upstream] = await Promise.all([startPostgres(), startRedis(), startMockUpstream()]);
    a = await startGateway(config());
    b = await startGateway(config());
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await upstream?.close();
    await redis?.stop();
    await pg?.remove();
  });

  const refused = (gw: RunningGateway, key: string) => async () => (await chat(gw.baseURL, key)).status === 401;

  it('a key created through one works on the other within 2 s, and revoked through one is refused by the other within 2 s', async () => {
    const created = await admin<Key>(a.url, 'POST', '/admin/keys', { name: 'shared' });
    expect(await eventually(ok(b, created.body.key), 'the new key to work on B')).toBeLessThan(PROPAGATION_MS);
    await admin(a.url, 'DELETE', `/admin/keys/${created.body.id}`);
    expect((await chat(a.baseURL, created.body.key)).status).toBe(401);
    expect(await eventually(refused(b, created.body.key), 'the revoked key to be refused on B')).toBeLessThan(PROPAGATION_MS);
  });

  it('a rotated key: the new secret works on both, the old one until its grace period ends', async () => {
    const created = await admin<Key>(a.url, 'POST', '/admin/keys', { name: 'rotating' });
    await eventually(ok(b, created.body.key), 'the key to work on B');
    const graceSeconds = 2;
    const rotated = await admin<Key>(a.url, 'POST', `/admin/keys/${created.body.id}/rotate`, { graceSeconds });
    const rotatedAt = Date.now();
    expect(rotated.status).toBe(200);
    expect(rotated.body.key).not.toBe(created.body.key);
    await eventually(ok(b, rotated.body.key), 'the new secret to work on B');
    expect((await chat(b.baseURL, created.body.key)).status).toBe(200);
    await eventually(refused(b, created.body.key), 'the old secret to be refused on B once the grace is over', 10_000);
    expect(Date.now() - rotatedAt).toBeGreaterThanOrEqual(graceSeconds * 1000 - SYNC_INTERVAL_MS);
    expect((await chat(a.baseURL, created.body.key)).status).toBe(401);
  });

  it('keeps serving known keys while PostgreSQL is down; admin writes answer 503, then succeed once it is back', async () => {
    const created = await admin<Key>(a.url, 'POST', '/admin/keys', { name: 'under-load' });
    await eventually(ok(b, created.body.key), 'the key to work on B');
    const failures: string[] = [];
    let running = true;
    let served = 0;
    const load = Promise.all(
      [a, b].flatMap((gw) =>
        [created.body.key, CLIENT_KEY].map(async (key) => {
          while (running) {
            const answer = await chat(gw.baseURL, key);
            if (answer.status === 200) served++;
            else failures.push(`${answer.status} ${answer.code}`);
          }
        }),
      ),
    );
    await pg.stop();
    const down = await admin(a.url, 'POST', '/admin/keys', { name: 'while-down' });
    expect(down.status).toBe(503);
    expect(down.body).toMatchObject({ error: { code: 'store_unavailable' } });
    const health = await (await fetch(`${b.url}/healthz`)).json();
    expect(health).toMatchObject({ status: 'ok', store: { engine: 'postgres' } });
    await pg.start();
    await eventually(async () => (await admin(a.url, 'POST', '/admin/keys', { name: 'after-restart' })).status === 201, 'admin writes to succeed again', 15_000);
    running = false;
    await load;
    expect(failures).toEqual([]);
    expect(served).toBeGreaterThan(0);
  });
});

describe('an instance that starts while PostgreSQL is down', () => {
  it('starts, serves its config keys, and loads the API keys once the database answers', async () => {
    const [pg, upstream] = await Promise.all([startPostgres(), startMockUpstream()]);
    const config = testConfig(upstream.url, { admins: ADMINS, database: { url: pg.url } });
    const first = await startGateway(config);
    const created = await admin<Key>(first.url, 'POST', '/admin/keys', { name: 'stored' });
    await first.close();
    await pg.stop();

    const late = await startGateway(config);
    try {
      expect(late.logs.text.some((line) => line.includes('STORE UNAVAILABLE'))).toBe(true);
      expect((await chat(late.baseURL, CLIENT_KEY)).status).toBe(200);
      expect((await chat(late.baseURL, created.body.key)).status).toBe(401);
      expect(await (await fetch(`${late.url}/healthz`)).json()).toMatchObject({ status: 'ok', store: { state: 'connecting' } });
      await pg.start();
      await eventually(ok(late, created.body.key), 'the API key to load', 10_000);
      expect(await (await fetch(`${late.url}/healthz`)).json()).toMatchObject({ store: { state: 'ready' } });
    } finally {
      await late.close();
      await upstream.close();
      await pg.remove();
    }
  });
});
