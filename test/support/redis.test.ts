import { afterEach, describe, expect, it } from 'vitest';
import { Cluster, Redis } from 'ioredis';
import { startRedis, startRedisCluster, type RedisCluster, type RedisServer } from '../helpers/redis.js';

const cleanups: (() => Promise<unknown>)[] = [];

afterEach(async () => {
  // Run in reverse: clients first, then the servers they talk to.
  for (const fn of cleanups.splice(0).reverse()) {
    await fn().catch(() => undefined);
  }
});

function client(url: string): Redis {
  const c = new Redis(url, { lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
  c.on('error', () => undefined);
  cleanups.push(async () => c.disconnect());
  return c;
}

describe('startRedis', () => {
  it('starts a real server, survives a crash and restarts on the same port', async () => {
    const server: RedisServer = await startRedis();
    cleanups.push(() => server.stop());
    expect(server.url).toBe(`redis://127.0.0.1:${server.port}`);

    const c1 = client(server.url);
    await c1.connect();
    await c1.set('greeting', 'hello');
    expect(await c1.get('greeting')).toBe('hello');
    await c1.quit();

    await server.kill();
    const c2 = client(server.url);
    await expect(c2.connect()).rejects.toThrow(/ECONNREFUSED|Connection is closed/);

    await server.start();
    const c3 = client(server.url);
    await c3.connect();
    expect(await c3.ping()).toBe('PONG');
    // No persistence: the crash lost the data.
    expect(await c3.get('greeting')).toBeNull();
    await c3.quit();

    await server.stop();
    const c4 = client(server.url);
    await expect(c4.connect()).rejects.toThrow(/ECONNREFUSED|Connection is closed/);
  });

  it('gives each server its own port', async () => {
    const [a, b] = await Promise.all([startRedis(), startRedis()]);
    cleanups.push(() => a.stop(), () => b.stop());
    expect(a.port).not.toBe(b.port);
  });
});

describe('startRedisCluster', () => {
  it('starts a 3-node cluster whose slots span every node', async () => {
    const cluster: RedisCluster = await startRedisCluster();
    cleanups.push(() => cluster.stop());
    expect(cluster.nodes).toHaveLength(3);
    expect(cluster.urls).toEqual(cluster.nodes.map((n) => `redis://${n.host}:${n.port}`));

    const rc = new Cluster(cluster.nodes, { clusterRetryStrategy: () => null });
    rc.on('error', () => undefined);
    cleanups.push(async () => rc.disconnect());

    const keys = Array.from({ length: 30 }, (_, i) => `key:${i}`);
    for (const k of keys) await rc.set(k, `value-${k}`);
    for (const k of keys) expect(await rc.get(k)).toBe(`value-${k}`);

    // The keys landed on more than one node (so several slot owners were used).
    const sizes: number[] = [];
    for (const n of cluster.nodes) {
      const direct = client(`redis://${n.host}:${n.port}`);
      await direct.connect();
      sizes.push(await direct.dbsize());
      await direct.quit();
    }
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(keys.length);
    expect(sizes.filter((s) => s > 0).length).toBe(3);

    await rc.quit();
  });
});
