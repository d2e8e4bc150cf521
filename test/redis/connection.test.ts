// The shared Redis connection and its circuit breaker, against real redis-server processes.
import { performance } from 'node:perf_hooks';
import type { FastifyBaseLogger } from 'fastify';
import { pino } from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { redisFromUrl } from '../../src/config/redis-schema.js';
import { createRedisConnection, reconnectDelay } from '../../src/redis/client.js';
import { RedisTimeoutError, RedisUnavailableError, type RedisConnection } from '../../src/redis/connection.js';
import { BREAKER_MIN_FAILURES } from '../../src/redis/failure-window.js';
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

/** `timeoutMs` is generous unless a test is about it: a busy test machine can stall a process for a while. */
function connect(url: string, timeoutMs = 1_000, breakerMs = BREAKER_MS): { connection: RedisConnection; logs: LogCapture } {
  const logs = captureLogs();
  const log = pino({ level: 'info' }, logs) as unknown as FastifyBaseLogger;
  const connection = createRedisConnection({ ...redisFromUrl(url), timeoutMs, breakerMs }, log);
  opened.push(connection);
  return { connection, logs };
}

const count = (logs: LogCapture, msg: string): number => logs.lines.filter((l) => l.msg === msg).length;

/** Resolves once the client has failed to connect `attempts` more times (ioredis reports each as an error). */
function failedConnects(connection: RedisConnection, attempts: number): Promise<void> {
  return new Promise((resolve) => {
    let failed = 0;
    const onError = (): void => {
      if (++failed < attempts) return;
      connection.client.off('error', onError);
      resolve();
    };
    connection.client.on('error', onError);
  });
}

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
    await failedConnects(connection, 3);
    expect(count(logs, OUTAGE)).toBe(1);
    expect(count(logs, RECOVERY)).toBe(0);

    await server.start();
    await vi.waitFor(async () => expect(await connection.run((c) => c.ping())).toBe('PONG'), { timeout: 5_000, interval: 50 });
    expect(count(logs, OUTAGE)).toBe(1);
    expect(count(logs, RECOVERY)).toBe(1);
  });

  it('gives up on a slow Redis after timeoutMs, and once failures pile up does not ask it for breakerMs', async () => {
    const server = await startRedis();
    servers.push(server);
    const { connection, logs } = connect(server.url, TIMEOUT_MS);
    await vi.waitFor(() => expect(connection.ready).toBe(true));

    await sendCommand(server.port, 'CLIENT PAUSE 3000 ALL');
    const slow = await Promise.all(Array.from({ length: BREAKER_MIN_FAILURES }, () => timed(connection.run((c) => c.ping()))));
    for (const { error, ms } of slow) {
      expect(error).toBeInstanceOf(RedisTimeoutError); // given up by the gateway's timer, not failed by Redis
      expect(ms).toBeLessThan(1_000); // gave up long before the pause ended (loose for busy machines)
    }

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

  it('does not open the breaker for one slow reply among good ones (a stall of this process, not of Redis)', async () => {
    const server = await startRedis();
    servers.push(server);
    const { connection, logs } = connect(server.url, 200);
    await vi.waitFor(() => expect(connection.ready).toBe(true));
    for (let i = 0; i < 20; i++) await connection.run((c) => c.ping());
    await sendCommand(server.port, 'CLIENT PAUSE 600 ALL');
    expect((await timed(connection.run((c) => c.ping()))).error).toBeInstanceOf(RedisTimeoutError);
    expect(connection.available).toBe(true);
    await vi.waitFor(async () => expect(await connection.run((c) => c.ping())).toBe('PONG'), { timeout: 5_000, interval: 50 });
    expect(count(logs, OUTAGE)).toBe(0);
  });

  it('is closed again only by a successful probe, not by a late reply to a command sent before it opened', async () => {
    const server = await startRedis();
    servers.push(server);
    // Wide margins: the failures time out at 1 s, the pause ends at 1.5 s, the late command gives up at 1.8 s.
    const { connection } = connect(server.url, 1_000, 3_000);
    await vi.waitFor(() => expect(connection.ready).toBe(true));
    await sendCommand(server.port, 'CLIENT PAUSE 1500 ALL');
    const failures = Array.from({ length: BREAKER_MIN_FAILURES }, () => connection.run((c) => c.ping()).catch((e: unknown) => e));
    await new Promise((resolve) => setTimeout(resolve, 800));
    const late = connection.run((c) => c.ping());
    for (const failure of await Promise.all(failures)) expect(failure).toBeInstanceOf(RedisTimeoutError);
    expect(connection.available).toBe(false); // opened by the failures
    expect(await late).toBe('PONG'); // answered once the pause ended, after the breaker opened
    expect(connection.available).toBe(false);
    await expect(connection.run((c) => c.ping())).rejects.toBeInstanceOf(RedisUnavailableError);
    // After breakerMs, one probe goes through; its success closes the breaker.
    await vi.waitFor(async () => expect(await connection.run((c) => c.ping())).toBe('PONG'), { timeout: 8_000, interval: 50 });
    expect(connection.available).toBe(true);
  });

  it('passes reply errors on without opening the breaker, out-of-memory ones included', async () => {
    const server = await startRedis();
    servers.push(server);
    const { connection, logs } = connect(server.url);
    await vi.waitFor(() => expect(connection.ready).toBe(true));
    await connection.run((c) => c.set('gw:test:string', 'x'));
    await expect(connection.run((c) => c.lpush('gw:test:string', 'y'))).rejects.toThrow(/WRONGTYPE/);
    expect(connection.available).toBe(true);
    expect(await connection.run((c) => c.get('gw:test:string'))).toBe('x');
    await sendCommand(server.port, 'CONFIG SET maxmemory 1');
    for (let i = 0; i < 10; i++) await expect(connection.run((c) => c.set('gw:test:oom', 'x'))).rejects.toThrow(/^OOM/);
    await sendCommand(server.port, 'CONFIG SET maxmemory 0');
    expect(connection.available).toBe(true);
    expect(count(logs, OUTAGE)).toBe(0);
  });

  it('is built without error while Redis is down, fails fast, and logs that once', async () => {
    const port = await getFreePort();
    const { connection, logs } = connect(`redis://127.0.0.1:${port}`);
    for (let i = 0; i < 10; i++) {
      const { error } = await timed(connection.run((c) => c.ping()));
      expect(error).toBeInstanceOf(RedisUnavailableError); // refused without waiting for a connection
    }
    await failedConnects(connection, 3);
    expect(count(logs, OUTAGE)).toBe(1);
  });
});
