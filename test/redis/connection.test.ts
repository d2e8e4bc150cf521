// The shared Redis connection and its circuit breaker, against real redis-server processes.
import { performance } from 'node:perf_hooks';
import type { FastifyBaseLogger } from 'fastify';
import { pino } from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { redisFromUrl } from '../../src/config/schema.js';
import { createRedisConnection, reconnectDelay, RedisTimeoutError, RedisUnavailableError, type RedisConnection } from '../../src/redis/connection.js';
import { captureLogs, type LogCapture } from '../helpers/gateway.js';
import { getFreePort, sendCommand, startRedis, type RedisServer } from '../helpers/redis.js';

const OUTAGE = 'redis unavailable: routing without it until it is back';
const RECOVERY = 'redis available again';
const TIMEOUT_MS = 50;
const BREAKER_MS = 300;

const opened: RedisConnection[] = [];
const servers: RedisServer[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((c) => c.close()));
  await Promise.all(servers.splice(0).map((s) => s.stop()));
});

/** `timeoutMs` is generous unless a test is about it: a busy test machine can stall a process for 50 ms. */
function connect(url: string, timeoutMs = 1_000): { connection: RedisConnection; logs: LogCapture } {
  const logs = captureLogs();
  const log = pino({ level: 'info' }, logs) as unknown as FastifyBaseLogger;
  const connection = createRedisConnection({ ...redisFromUrl(url), timeoutMs, breakerMs: BREAKER_MS }, log);
  opened.push(connection);
  return { connection, logs };
}

const count = (logs: LogCapture, msg: string): number => logs.lines.filter((l) => l.msg === msg).length;

async function timed<T>(promise: Promise<T>): Promise<{ ms: number; error: unknown }> {
  const start = performance.now();
  try {
    await promise;
    return { ms: performance.now() - start, error: undefined };
  } catch (error) {
    return { ms: performance.now() - start, error };
  }
}

describe('RedisConnection', () => {
  it('backs off reconnects from 100 ms, doubling, capped at 1 s', () => {
    expect([1, 2, 3, 4, 5, 6, 50].map(reconnectDelay)).toEqual([100, 200, 400, 800, 1000, 1000, 1000]);
  });

  it('fails every command at once while Redis is killed, logs the outage once, and recovers by itself', async () => {
    const server = await startRedis();
    servers.push(server);
    const { connection, logs } = connect(server.url);
    await vi.waitFor(() => expect(connection.ready).toBe(true));
    expect(await connection.run((c) => c.ping())).toBe('PONG');

    await server.kill();
    for (let i = 0; i < 50; i++) {
      const { ms, error } = await timed(connection.run((c) => c.ping()));
      expect(error).toBeInstanceOf(Error);
      expect(ms).toBeLessThan(500); // milliseconds in fact: nothing waits for a dead Redis (loose for busy machines)
    }
    expect((await timed(connection.run((c) => c.ping()))).error).toBeInstanceOf(RedisUnavailableError);
    await new Promise((r) => setTimeout(r, 600)); // several reconnect attempts fail meanwhile
    expect(count(logs, OUTAGE)).toBe(1);
    expect(count(logs, RECOVERY)).toBe(0);

    await server.start();
    await vi.waitFor(async () => expect(await connection.run((c) => c.ping())).toBe('PONG'), { timeout: 5_000, interval: 50 });
    expect(count(logs, OUTAGE)).toBe(1);
    expect(count(logs, RECOVERY)).toBe(1);
  });

  it('gives up on a slow Redis after timeoutMs, then does not ask it for breakerMs', async () => {
    const server = await startRedis();
    servers.push(server);
    const { connection, logs } = connect(server.url, TIMEOUT_MS);
    await vi.waitFor(() => expect(connection.ready).toBe(true));

    await sendCommand(server.port, 'CLIENT PAUSE 2000 ALL');
    const slow = await timed(connection.run((c) => c.ping()));
    expect(slow.error).toBeInstanceOf(RedisTimeoutError); // given up by the gateway's timer, not failed by Redis
    expect(slow.ms).toBeLessThan(1_000); // gave up long before the pause ended (loose for busy machines)

    // The breaker is open: commands are refused without being sent (the error says so), and none waits.
    const refused = await Promise.all(Array.from({ length: 20 }, () => timed(connection.run((c) => c.ping()))));
    for (const { error } of refused) expect(error).toBeInstanceOf(RedisUnavailableError);
    expect(connection.available).toBe(false);
    expect(count(logs, OUTAGE)).toBe(1);

    // Once the pause is over and the breaker lets a probe through, Redis is used again.
    await vi.waitFor(async () => expect(await connection.run((c) => c.ping())).toBe('PONG'), { timeout: 8_000, interval: 50 });
    expect(connection.available).toBe(true);
    expect(count(logs, OUTAGE)).toBe(1);
    expect(count(logs, RECOVERY)).toBe(1);
  });

  it('passes reply errors on without opening the breaker', async () => {
    const server = await startRedis();
    servers.push(server);
    const { connection, logs } = connect(server.url);
    await vi.waitFor(() => expect(connection.ready).toBe(true));
    await connection.run((c) => c.set('gw:test:string', 'x'));
    await expect(connection.run((c) => c.lpush('gw:test:string', 'y'))).rejects.toThrow(/WRONGTYPE/);
    expect(connection.available).toBe(true);
    expect(await connection.run((c) => c.get('gw:test:string'))).toBe('x');
    expect(count(logs, OUTAGE)).toBe(0);
  });

  it('is built without error while Redis is down, fails fast, and logs that once', async () => {
    const port = await getFreePort();
    const { connection, logs } = connect(`redis://127.0.0.1:${port}`);
    for (let i = 0; i < 10; i++) {
      const { error } = await timed(connection.run((c) => c.ping()));
      expect(error).toBeInstanceOf(RedisUnavailableError); // refused without waiting for a connection
    }
    await new Promise((r) => setTimeout(r, 500));
    expect(count(logs, OUTAGE)).toBe(1);
  });
});
